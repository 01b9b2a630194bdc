"""An admin sets up an e-mail inbox in the console from the connector's schema form and
runs the test connection against a real Dovecot and an aiosmtpd server; an e-mail
conversation then shows the customer's new text (quotes stripped) with the subject.
Screenshots in zh-CN and en go to /tmp/shots/email/."""

from __future__ import annotations

import base64
import re
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from kefu.context import Kefu
from kefu.conversations.outbox import dispatch_due
from kefu.demo import Demo
from kefu.mail import store
from kefu.model import utcnow
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


INBOUND_TOKEN = "console-test-token-0123456789"


async def email_inbox(
    client: httpx.AsyncClient, workspace: Demo, name: str = "客服邮箱", **config: object
) -> str:
    """A new e-mail inbox taking mail by the raw-MIME endpoint; its id."""
    admin = await login_headers(client, login_of(workspace, "admin"))
    created = await client.post(
        "/api/v1/inboxes",
        json={
            "kind": "email",
            "name": name,
            "config": {"address": USER, "inbound_token": INBOUND_TOKEN, **config},
        },
        headers=admin,
    )
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


async def deliver(client: httpx.AsyncClient, inbox_id: str, msg: EmailMessage) -> dict[str, str]:
    """Hand the mail to the inbox as a relay would; the endpoint's answer."""
    posted = await client.post(
        f"/connectors/email/{inbox_id}/mime",
        content=bytes(msg),
        headers={"Authorization": f"Bearer {INBOUND_TOKEN}", "Content-Type": "message/rfc822"},
    )
    assert posted.status_code == 202, posted.text
    return dict(posted.json())


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
    inbox_id = await email_inbox(client, workspace)
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
    posted = await deliver(client, inbox_id, msg)
    conversation_id = posted["conversation_id"]
    page = await console_as(
        browser, live_server, workspace, "admin", locale, f"/inbox/{conversation_id}"
    )
    await expect(page.get_by_text("发票抬头写“喆达科技”就可以，谢谢！")).to_be_visible(
        timeout=WAIT_MS
    )
    await expect(page.get_by_text("您好，请问发票抬头写什么？")).to_have_count(0)
    await expect(page.get_by_text("original.eml").first).to_be_visible()
    await shot(page, f"conversation-{locale}")


class Tracker:
    """A loopback web server standing in for a sender's tracking pixel: it counts GETs."""

    PIXEL = base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
    )

    def __init__(self) -> None:
        self.hits = 0
        tracker = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                tracker.hits += 1
                self.send_response(200)
                self.send_header("content-type", "image/png")
                self.send_header("content-length", str(len(Tracker.PIXEL)))
                self.end_headers()
                self.wfile.write(Tracker.PIXEL)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/open.gif"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


FORMATTED = {
    "en": ("Show as formatted mail", "Remote images are blocked", "Show images"),
    "zh-CN": ("查看邮件原格式", "已阻止加载远程图片", "显示图片"),
}


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
async def test_an_html_mail_is_shown_sanitised_with_remote_images_blocked_until_asked(
    browser: Browser, live_server: str, client: httpx.AsyncClient, workspace: Demo, locale: str
) -> None:
    show, blocked, images = FORMATTED[locale]
    inbox_id = await email_inbox(client, workspace)
    tracker = Tracker()
    try:
        msg = EmailMessage()
        msg["From"] = "喆达商城 <shop@example.cn>"
        msg["To"] = USER
        msg["Subject"] = "订单 8842 已发货"
        msg["Message-ID"] = "<html-console-1@example.cn>"
        msg.set_content("订单 8842 已发货")
        msg.add_alternative(
            '<h2 style="color:#b35900">订单 8842 已发货 Order shipped</h2>'
            '<table border="1"><tr><td>快递</td><td><b>SF1234567</b></td></tr></table>'
            '<p onmouseover="document.title=1">物流 <a href="https://shop.example/t">查看</a></p>'
            '<script>document.title="pwned"</script>'
            f'<img src="cid:logo@shop" alt="logo"><img src="{tracker.url}" alt="pixel">',
            subtype="html",
        )
        msg.get_payload()[1].add_related(
            Tracker.PIXEL, maintype="image", subtype="png", cid="<logo@shop>"
        )
        posted = await deliver(client, inbox_id, msg)
        conversation_id = posted["conversation_id"]
        page = await console_as(
            browser, live_server, workspace, "lina", locale, f"/inbox/{conversation_id}"
        )
        await page.get_by_role("button", name=show).click(timeout=WAIT_MS)
        frame = page.frame_locator(".mailview-frame")
        await expect(frame.get_by_text("SF1234567")).to_be_visible(timeout=WAIT_MS)
        await expect(frame.get_by_alt_text("logo")).to_be_visible()
        # The inline image loaded from kefu; the sender's pixel did not.
        assert await frame.get_by_alt_text("logo").evaluate("i => i.naturalWidth") == 1
        await expect(page.get_by_text(blocked)).to_be_visible()
        await page.wait_for_timeout(500)
        assert tracker.hits == 0
        assert await page.title() != "pwned"
        await expect(page.get_by_text("message.html")).to_have_count(0)
        await shot(page, f"html-mail-{locale}")
        await page.get_by_role("button", name=images).click()
        await expect(frame.get_by_alt_text("pixel")).to_be_visible(timeout=WAIT_MS)
        for _ in range(50):
            if tracker.hits:
                break
            await page.wait_for_timeout(100)
        assert tracker.hits >= 1
        await shot(page, f"html-mail-images-{locale}")
    finally:
        tracker.close()


STATUS_WORDS = {
    "en": ("Edit: ", "Mailbox status", "The mailbox said", "Set aside"),
    "zh-CN": ("编辑: ", "邮箱状态", "邮箱服务器返回", "已搁置"),
}


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
async def test_the_inbox_page_shows_the_mailbox_error_and_the_mails_set_aside(
    browser: Browser,
    live_server: str,
    client: httpx.AsyncClient,
    kefu: Kefu,
    workspace: Demo,
    locale: str,
) -> None:
    edit, title, said, aside = STATUS_WORDS[locale]
    inbox_id = await email_inbox(client, workspace, "售后邮箱")
    msg = EmailMessage()
    msg["From"] = "朱镕基 <zhu@example.cn>"
    msg["To"] = USER
    msg["Subject"] = "自动回复：我正在休假"
    msg["Auto-Submitted"] = "auto-replied"
    msg.set_content("我 12 月 10 日回来。")
    posted = await deliver(client, inbox_id, msg)
    assert posted["status"] == "ignored"
    await store.record_error(
        kefu, uuid.UUID(inbox_id), "INBOX", "IMAP login failed: [AUTHENTICATIONFAILED]"
    )
    page = await console_as(browser, live_server, workspace, "admin", locale, "/admin/inboxes")
    await page.get_by_role("button", name=f"{edit}售后邮箱").click(timeout=WAIT_MS)
    panel = page.get_by_role("region", name=title)
    await expect(panel.get_by_role("alert")).to_contain_text(said, timeout=WAIT_MS)
    await expect(panel.get_by_role("alert")).to_contain_text("AUTHENTICATIONFAILED")
    await expect(panel.get_by_role("cell", name=re.compile(aside))).to_be_visible()
    # The reason is stored in English and said in the admin's language.
    reason = {"zh-CN": "自动回复或群发邮件（", "en": "automatic or bulk mail ("}[locale]
    await expect(panel.get_by_text(reason)).to_be_visible()
    await panel.scroll_into_view_if_needed()
    SHOTS.mkdir(parents=True, exist_ok=True)
    await panel.screenshot(path=str(SHOTS / f"mailbox-status-{locale}.png"))


FIELDS = {
    "en": ("E-mail reply", "Subject", "To", "Cc", "Send"),
    "zh-CN": ("邮件回复", "主题", "收件人", "抄送", "发送"),
}


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
async def test_the_composer_sets_subject_to_and_cc_of_an_email_reply(
    browser: Browser,
    live_server: str,
    client: httpx.AsyncClient,
    kefu: Kefu,
    workspace: Demo,
    locale: str,
) -> None:
    group, subject, to, cc, send = FIELDS[locale]
    with smtp_sink() as (sink, smtp_port):
        inbox_id = await email_inbox(
            client, workspace, smtp_host="127.0.0.1", smtp_port=smtp_port, smtp_security="none"
        )
        msg = EmailMessage()
        msg["From"] = "朱镕基 <zhu@example.cn>"
        msg["To"] = USER
        msg["Subject"] = "订单 8842 的发票"
        msg["Message-ID"] = "<composer-1@example.cn>"
        msg.set_content("请问发票什么时候开？")
        posted = await deliver(client, inbox_id, msg)
        conversation_id = posted["conversation_id"]
        page = await console_as(
            browser, live_server, workspace, "admin", locale, f"/inbox/{conversation_id}"
        )
        fields = page.get_by_role("group", name=group)
        await expect(fields.get_by_label(subject)).to_have_value(
            "Re: 订单 8842 的发票", timeout=WAIT_MS
        )
        await expect(fields.get_by_label(to)).to_have_value("zhu@example.cn")
        await fields.get_by_label(cc).fill("finance@example.cn")
        await page.locator(".composer textarea").fill("发票今天开好。")
        await shot(page, f"composer-fields-{locale}")
        await page.get_by_role("button", name=send, exact=True).click()
        for _ in range(100):  # the test app's dispatcher is off: send what is due
            await dispatch_due(kefu, utcnow())
            if sink.mails:
                break
            await page.wait_for_timeout(100)
        (sent,) = sink.mails
    assert sent["Subject"] == "Re: 订单 8842 的发票"
    assert sent["Cc"] == "finance@example.cn"
    assert sent["To"] == "zhu@example.cn"
