"""Two console screens for APIs that had none: an agent blocks a website visitor from the
contact panel (a confirm, then a visible blocked state; the visitor's new widget session
is refused with 403) and unblocks them; an e-mail conversation shows its subject in the
header and before the preview line of the list. Screenshots in zh-CN and en go to
/tmp/shots/fixes2/."""

from __future__ import annotations

from collections.abc import AsyncIterator
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Dialog, Page, expect

from kefu.demo import Demo
from tests.conftest import login_headers, login_of
from tests.e2e.browsers import async_chromium, console_as
from tests.integration.test_widget_api import say, start

pytestmark = [pytest.mark.e2e]

SHOTS = Path("/tmp/shots/fixes2")
WAIT_MS = 20_000

WORDS = {
    "en": {
        "panel": "Customer panel",
        "block": "Block visitor",
        "unblock": "Unblock",
        "blocked": "Blocked: this visitor cannot chat",
        "confirm": "Block this visitor?",
        "subject": "Subject:",
        "all": "All",
    },
    "zh-CN": {
        "panel": "客户面板",
        "block": "屏蔽访客",
        "unblock": "解除屏蔽",
        "blocked": "已屏蔽：该访客无法聊天",
        "confirm": "确定屏蔽该访客？",
        "subject": "主题：",
        "all": "全部",
    },
}


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_chromium(console=True) as launched:
        yield launched


async def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"{name}.png"))


async def new_session(client: httpx.AsyncClient, demo: Demo, token: str) -> httpx.Response:
    return await client.post(
        "/api/v1/widget/sessions", json={"inbox": demo.widget_key, "token": token}
    )


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
async def test_an_agent_blocks_a_website_visitor_and_unblocks_them(
    browser: Browser, live_server: str, client: httpx.AsyncClient, workspace: Demo, locale: str
) -> None:
    words = WORDS[locale]
    visitor = await start(client, workspace)
    sent = await say(client, visitor, f"你好，我想问一下价格（{locale}）")
    assert sent.status_code == 200, sent.text
    conversation_id = sent.json()["conversation_id"]
    # An agent (the API admits every staff role), not only an admin.
    page = await console_as(
        browser, live_server, workspace, "lina", locale, f"/inbox/{conversation_id}"
    )
    side = page.get_by_role("complementary")
    block = side.get_by_role("button", name=words["block"], exact=True)
    await expect(block).to_be_visible(timeout=WAIT_MS)
    await expect(side.get_by_text(words["blocked"])).to_have_count(0)

    # Dismissing the confirm blocks nobody.
    asked: list[str] = []

    async def dismiss(dialog: Dialog) -> None:
        asked.append(dialog.message)
        await dialog.dismiss()

    page.once("dialog", dismiss)
    await block.click()
    await expect(block).to_be_visible()
    assert asked and words["confirm"] in asked[0]
    assert (await new_session(client, workspace, visitor["token"])).status_code == 200

    async def accept(dialog: Dialog) -> None:
        await dialog.accept()

    page.once("dialog", accept)
    await block.click()
    await expect(side.get_by_text(words["blocked"])).to_be_visible(timeout=WAIT_MS)
    unblock = side.get_by_role("button", name=words["unblock"], exact=True)
    await expect(unblock).to_be_visible()
    await shot(page, f"visitor-blocked-{locale}")

    # The visitor's widget cannot start a new session, and the state survives a reload.
    refused = await new_session(client, workspace, visitor["token"])
    assert refused.status_code == 403, refused.text
    await page.reload()
    await expect(side.get_by_text(words["blocked"])).to_be_visible(timeout=WAIT_MS)

    await unblock.click()
    await expect(block).to_be_visible(timeout=WAIT_MS)
    await expect(side.get_by_text(words["blocked"])).to_have_count(0)
    await shot(page, f"visitor-unblocked-{locale}")
    # Unblocked, the browser chats again (its revoked token makes it a new visitor).
    again = await new_session(client, workspace, visitor["token"])
    assert again.status_code == 200, again.text
    await expect(page.locator(".toast.error")).to_have_count(0)


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
async def test_an_email_conversation_shows_its_subject_in_the_header_and_the_list(
    browser: Browser, live_server: str, client: httpx.AsyncClient, workspace: Demo, locale: str
) -> None:
    words = WORDS[locale]
    admin = await login_headers(client, login_of(workspace, "admin"))
    token = "subject-test-token-0123456789"
    created = await client.post(
        "/api/v1/inboxes",
        json={
            "kind": "email",
            "name": "客服邮箱",
            "config": {"address": "support@example.com", "inbound_token": token},
        },
        headers=admin,
    )
    assert created.status_code == 201, created.text
    subject = f"订单 8842 的发票抬头 ({locale})"
    msg = EmailMessage()
    msg["From"] = "朱镕基 <zhu@example.cn>"
    msg["To"] = "support@example.com"
    msg["Subject"] = subject
    msg["Message-ID"] = f"<subject-{locale}@example.cn>"
    msg.set_content("发票抬头写“喆达科技”就可以，谢谢！")
    posted = await client.post(
        f"/connectors/email/{created.json()['id']}/mime",
        content=bytes(msg),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "message/rfc822"},
    )
    assert posted.status_code == 202, posted.text
    conversation_id = posted.json()["conversation_id"]
    page = await console_as(
        browser, live_server, workspace, "admin", locale, f"/inbox/{conversation_id}"
    )
    header = page.locator("header.conv-head")
    await expect(header.locator(".conv-subject")).to_have_text(
        f"{words['subject']} {subject}", timeout=WAIT_MS
    )
    await page.locator(f'nav.views button:has(span:text-is("{words["all"]}"))').click()
    item = page.locator(f"button[data-conversation='{conversation_id}'] .row3")
    await expect(item).to_have_text(f"{subject} · 发票抬头写“喆达科技”就可以，谢谢！")
    await expect(item.locator(".subject")).to_have_text(subject)
    # The subject is kefu's own bookkeeping, not one of the site's attributes.
    await expect(page.locator(".site-attrs")).to_have_count(0)
    await shot(page, f"email-subject-{locale}")
