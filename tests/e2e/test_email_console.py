"""An admin sets up an e-mail inbox in the console from the connector's schema form and
runs the test connection against a real Dovecot and an aiosmtpd server; an e-mail
conversation then shows the customer's new text (quotes stripped) with the subject.
Screenshots in zh-CN and en go to /tmp/shots/email/."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from kefu.demo import Demo
from tests.conftest import login_headers, login_of
from tests.e2e.browsers import async_chromium, console_as
from tests.mail_servers import PASSWORD, USER, Dovecot, dovecot, smtp_sink

pytestmark = [pytest.mark.e2e]

SHOTS = Path("/tmp/shots/email")
WAIT_MS = 20_000

WORDS = {
    "en": {
        "new": "+ New inbox",
        "kind": "Kind",
        "email": "E-mail",
        "name": "Name",
        "create": "Create",
        "test": "Test connection",
        "address": "E-mail address",
        "imap": "IMAP server",
        "imap_port": "IMAP port",
        "imap_sec": "IMAP encryption",
        "none": "None (local tests only)",
        "imap_pw": "IMAP password",
        "smtp": "SMTP server",
        "smtp_port": "SMTP port",
        "smtp_sec": "SMTP encryption",
        "ok": "IMAP login works",
    },
    "zh-CN": {
        "new": "+ 新建渠道",
        "kind": "类型",
        "email": "电子邮件",
        "name": "名称",
        "create": "新建",
        "test": "测试连接",
        "address": "邮箱地址",
        "imap": "IMAP 服务器",
        "imap_port": "IMAP 端口",
        "imap_sec": "IMAP 加密方式",
        "none": "不加密（仅本地测试）",
        "imap_pw": "IMAP 密码",
        "smtp": "SMTP 服务器",
        "smtp_port": "SMTP 端口",
        "smtp_sec": "SMTP 加密方式",
        "ok": "IMAP 登录成功",
    },
}


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_chromium(console=True) as launched:
        yield launched


@pytest.fixture
def imap() -> Iterator[Dovecot]:
    with dovecot() as server:
        yield server


async def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
async def test_admin_sets_up_an_email_inbox_and_tests_the_connection(
    browser: Browser, live_server: str, workspace: Demo, imap: Dovecot, locale: str
) -> None:
    words = WORDS[locale]
    with smtp_sink() as (_, smtp_port):
        page = await console_as(browser, live_server, workspace, "admin", locale, "/admin/inboxes")
        await page.get_by_role("button", name=words["new"]).click()
        form = page.get_by_role("form")
        await form.get_by_label(words["kind"], exact=True).select_option(label=words["email"])
        await form.get_by_label(words["name"], exact=True).fill("客服邮箱 Support mail")
        await form.get_by_label(words["address"], exact=True).fill(USER)
        await form.get_by_label(words["imap"], exact=True).fill("127.0.0.1")
        await form.get_by_label(words["imap_port"], exact=True).fill(str(imap.port))
        await form.get_by_label(words["imap_sec"], exact=True).select_option(label=words["none"])
        await form.get_by_label(words["imap_pw"], exact=True).fill(PASSWORD)
        await form.get_by_label(words["smtp"], exact=True).fill("127.0.0.1")
        await form.get_by_label(words["smtp_port"], exact=True).fill(str(smtp_port))
        await form.get_by_label(words["smtp_sec"], exact=True).select_option(label=words["none"])
        await shot(page, f"inbox-form-{locale}")
        await form.get_by_role("button", name=words["create"], exact=True).click()
        editor = page.get_by_role("form", name="客服邮箱 Support mail")
        await expect(editor.get_by_role("button", name=words["test"])).to_be_visible(
            timeout=WAIT_MS
        )
        await editor.get_by_role("button", name=words["test"]).click()
        status = editor.get_by_role("status")
        await expect(status).to_contain_text(words["ok"], timeout=WAIT_MS)
        await expect(status).to_contain_text("SMTP")
        await shot(page, f"inbox-tested-{locale}")
        # A wrong password: the check says which login failed, in words.
        await editor.get_by_label(words["imap_pw"], exact=True).fill("wrong-password")
        await editor.get_by_role("button", name=re.compile("Save|保存")).click()
        await page.wait_for_timeout(1000)
        await editor.get_by_role("button", name=words["test"]).click()
        await expect(status).to_contain_text("IMAP", timeout=WAIT_MS)
        await expect(status).to_contain_text("✗")
        await shot(page, f"inbox-test-failed-{locale}")


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
async def test_an_email_conversation_shows_the_new_text_and_the_subject(
    browser: Browser, live_server: str, client: httpx.AsyncClient, workspace: Demo, locale: str
) -> None:
    admin = await login_headers(client, login_of(workspace, "admin"))
    created = await client.post(
        "/api/v1/inboxes",
        json={
            "kind": "email",
            "name": "客服邮箱",
            "config": {"address": USER, "inbound_token": "console-test-token-0123456789"},
        },
        headers=admin,
    )
    assert created.status_code == 201, created.text
    inbox_id = created.json()["id"]
    msg = EmailMessage()
    msg["From"] = "朱镕基 <zhu@example.cn>"
    msg["To"] = USER
    msg["Subject"] = "回复：订单 8842 的发票"
    msg["Message-ID"] = "<console-1@example.cn>"
    msg.set_content(
        "发票抬头写“喆达科技”就可以，谢谢！\n\n"
        '在 2024-03-05 15:20:11，"客服" <support@example.com> 写道：\n'
        "> 您好，请问发票抬头写什么？\n"
    )
    posted = await client.post(
        f"/connectors/email/{inbox_id}/mime",
        content=bytes(msg),
        headers={
            "Authorization": "Bearer console-test-token-0123456789",
            "Content-Type": "message/rfc822",
        },
    )
    assert posted.status_code == 202, posted.text
    conversation_id = posted.json()["conversation_id"]
    page = await console_as(
        browser, live_server, workspace, "admin", locale, f"/inbox/{conversation_id}"
    )
    await expect(page.get_by_text("发票抬头写“喆达科技”就可以，谢谢！")).to_be_visible(
        timeout=WAIT_MS
    )
    await expect(page.get_by_text("您好，请问发票抬头写什么？")).to_have_count(0)
    await expect(page.get_by_text("original.eml").first).to_be_visible()
    await shot(page, f"conversation-{locale}")
