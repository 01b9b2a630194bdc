"""Every routing-facing state of the chat widget rendered in zh-CN and en, in Chromium:
first in the queue, served by an agent, resolved, identity required, leave a message
(thanks alone, then the agent's answer live), and the bot's label after a reload.
Screenshots in /tmp/shots/handoffs/ (look at both languages)."""

# ruff: noqa: F811  (the widget module's fixtures are imported and then requested by name)
from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from kefu.context import Kefu
from kefu.db.tables import Inbox
from kefu.demo import Demo
from kefu.knowledge import bot, entries, io
from kefu.routing import bot_first
from tests.conftest import login_headers, login_of
from tests.e2e.test_widget import (  # noqa: F401  (the widget module's fixtures, reused)
    LABELS,
    WAIT_MS,
    Server,
    agent_online,
    app,
    browser,
    chromium,
    client,
    kefu,
    server,
    visitor_page,
    workspace,
)

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]
LOCALES = ["zh-CN", "en"]
SHOTS = Path("/tmp/shots/handoffs")
SAID = {
    "zh-CN": {
        "first": "您目前排在第 1 位",
        "assigned": "客服 李娜 Li Na 正在为您服务。",
        "resolved": "本次对话已结束",
        "blocked": "请先登录本网站再咨询客服。",
        "bot": "智能助手",
        "question": "如何申请退款",
        "answer": "已为您留言的问题找到答案：请在订单页申请退款。",
    },
    "en": {
        "first": "You are number 1 in the queue.",
        "assigned": "李娜 Li Na is helping you.",
        "resolved": "This conversation was resolved.",
        "blocked": "Please sign in on this site to chat with us.",
        "bot": "Assistant",
        "question": "how can i get my money back for an order",
        "answer": "We found the answer to your message: request the refund on the order page.",
    },
}


async def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"{name}.png"))


async def configure(kefu: Kefu, demo: Demo, **config: object) -> None:
    async with kefu.db.transaction() as session:
        inbox = await session.get(Inbox, demo.inbox_id)
        assert inbox is not None
        inbox.config = {**(inbox.config or {}), **config}


async def write(page: Page, locale: str, text: str) -> None:
    t = LABELS[locale]
    await page.get_by_role("button", name=t["open"]).click()
    await page.get_by_role("textbox", name=t["input"]).fill(text)
    await page.get_by_role("button", name=t["send"], exact=True).click()


@pytest.mark.parametrize("locale", LOCALES)
async def test_queue_assigned_and_resolved(
    browser: Browser,
    server: Server,
    client: httpx.AsyncClient,
    kefu: Kefu,
    workspace: Demo,
    locale: str,
) -> None:
    said = SAID[locale]
    await configure(kefu, workspace, offline_mode="chat")  # nobody online: wait in line
    page = await visitor_page(browser, server, workspace, locale)
    await write(page, locale, "hello" if locale == "en" else "你好")
    header = page.locator(".titles p[role=status]")
    # Alone in the queue: number 1, never "1 person ahead of you".
    await expect(header).to_have_text(said["first"] + ("" if locale == "en" else "，请稍候。"))
    await expect(header).not_to_contain_text("前面还有")
    await shot(page, f"widget-queue-{locale}")

    agent = await agent_online(client, workspace)
    conversation_id = (await client.get("/api/v1/conversations", headers=agent)).json()["items"][0][
        "id"
    ]
    lina = next(x.id for x in workspace.logins if x.email.startswith("lina@"))
    taken = await client.post(
        f"/api/v1/conversations/{conversation_id}/assign",
        json={"assignee_id": str(lina)},
        headers=agent,
    )
    assert taken.status_code in (200, 201), taken.text
    await expect(header).to_have_text(said["assigned"], timeout=WAIT_MS)
    await shot(page, f"widget-assigned-{locale}")

    resolved = await client.post(f"/api/v1/conversations/{conversation_id}/resolve", headers=agent)
    assert resolved.status_code in (200, 201), resolved.text
    await expect(header).to_contain_text(said["resolved"], timeout=WAIT_MS)
    await shot(page, f"widget-resolved-{locale}")


@pytest.mark.parametrize("locale", LOCALES)
async def test_leave_a_message_thanks_alone_then_the_answer_live(
    browser: Browser,
    server: Server,
    client: httpx.AsyncClient,
    workspace: Demo,
    locale: str,
) -> None:
    t = LABELS[locale]
    said = SAID[locale]
    page = await visitor_page(browser, server, workspace, locale)
    await page.get_by_role("button", name=t["open"]).click()
    await page.get_by_label(t["email"]).fill("zhao@example.com")
    await page.get_by_label(t["body"]).fill(
        "invoice please" if locale == "en" else "请把发票寄给我"
    )
    await shot(page, f"widget-leave-form-{locale}")
    await page.get_by_role("button", name=t["leave"]).click()
    await expect(page.get_by_text(t["thanks"])).to_be_visible(timeout=WAIT_MS)
    # The thanks alone: no queue place beside it.
    await page.wait_for_timeout(1000)  # the socket's conversation frame has arrived by now
    await expect(page.locator(".titles p[role=status]")).to_have_text("")
    await shot(page, f"widget-left-{locale}")

    admin = await login_headers(client, login_of(workspace, "admin"))
    conversation_id = (await client.get("/api/v1/conversations", headers=admin)).json()["items"][0][
        "id"
    ]
    answered = await client.post(
        f"/api/v1/conversations/{conversation_id}/messages",
        json={"body": said["answer"]},
        headers=admin,
    )
    assert answered.status_code in (200, 201), answered.text
    log = page.get_by_role("log", name=t["log"])
    await expect(log.get_by_text(said["answer"])).to_be_visible(timeout=WAIT_MS)
    await shot(page, f"widget-left-answered-{locale}")


@pytest.mark.parametrize("locale", LOCALES)
async def test_identity_required(
    browser: Browser, server: Server, kefu: Kefu, workspace: Demo, locale: str
) -> None:
    await configure(kefu, workspace, identity_mandatory=True)
    page = await visitor_page(browser, server, workspace, locale)
    await page.get_by_role("button", name=LABELS[locale]["open"]).click()
    await expect(page.get_by_role("alert")).to_have_text(SAID[locale]["blocked"])
    await shot(page, f"widget-blocked-{locale}")


@pytest.mark.parametrize("locale", LOCALES)
async def test_bot_messages_keep_their_label_after_a_reload(
    browser: Browser, server: Server, kefu: Kefu, workspace: Demo, locale: str
) -> None:
    said = SAID[locale]
    async with kefu.db.transaction() as session:
        await bot_first.start_with_bot(session, workspace.workspace_id, workspace.inbox_id)
    await entries.import_entries(kefu, workspace.workspace_id, io.read_folder(io.SAMPLES))
    if bot.on_ingest not in kefu.after_ingest:
        kefu.after_ingest.append(bot.on_ingest)
    await configure(kefu, workspace, offline_mode="chat")
    page = await visitor_page(browser, server, workspace, locale)
    await write(page, locale, said["question"])
    log = page.get_by_role("log", name=LABELS[locale]["log"])
    bot_said = log.locator(".msg.out:not(.greeting)").last
    await expect(bot_said.locator(".who")).to_have_text(said["bot"], timeout=WAIT_MS)
    await page.reload()
    await page.get_by_role("button", name=LABELS[locale]["open"]).click()
    await expect(log.locator(".msg.out:not(.greeting)").last.locator(".who")).to_have_text(
        said["bot"], timeout=WAIT_MS
    )
    await shot(page, f"widget-bot-after-reload-{locale}")
