"""An admin points a website widget at an e-mail inbox for its left messages, at a voice
inbox for its calls, and turns on web-form tickets, in the console's inbox form (zh-CN and
en); each choice offers only the workspace's inboxes of that kind. Screenshots go to /tmp/shots/intake-console-*.png."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, expect

from kefu.context import Kefu
from kefu.demo import Demo
from kefu.inboxes.schemas import InboxCreate
from kefu.inboxes.service import create_inbox
from kefu.model import ChannelKind
from tests.conftest import login_headers, login_of
from tests.e2e.browsers import async_chromium, console_as

pytestmark = [pytest.mark.e2e]

SHOTS = Path("/tmp/shots")
WAIT_MS = 15_000
WORDS = {
    "en": {
        "edit": "Edit: 演示商城网站 Demo shop website",
        "reply": "Answer left messages by e-mail from",
        "ticket": "A left message opens a ticket",
        "voice": "Calls from the widget go to",
        "save": "Save",
        "saved": "Saved",
    },
    "zh-CN": {
        "edit": "编辑: 演示商城网站 Demo shop website",
        "reply": "留言通过此邮箱回复",
        "ticket": "留言自动创建工单",
        "voice": "窗口语音通话接入",
        "save": "保存",
        "saved": "已保存",
    },
}


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_chromium(console=True) as launched:
        yield launched


@pytest.mark.parametrize("locale", ["en", "zh-CN"])
async def test_the_widget_form_chooses_the_email_inbox_that_answers_left_messages(
    browser: Browser,
    live_server: str,
    client: httpx.AsyncClient,
    kefu: Kefu,
    workspace: Demo,
    locale: str,
) -> None:
    words = WORDS[locale]
    mail = await create_inbox(
        kefu,
        workspace.workspace_id,
        InboxCreate(
            kind=ChannelKind.email,
            name="售后邮箱 After-sales mail",
            config={"address": "aftersales@example.com", "inbound_token": "t" * 32},
        ),
    )
    voice = await create_inbox(
        kefu,
        workspace.workspace_id,
        InboxCreate(
            kind=ChannelKind.voice,
            name="客服热线 Hotline",
            config={
                "livekit_url": "wss://media.example.com",
                "api_key": "APIkefu",
                "api_secret": "s" * 32,
            },
        ),
    )
    page = await console_as(browser, live_server, workspace, "admin", locale, "/admin/inboxes")
    await page.get_by_role("button", name=words["edit"]).click()
    form = page.locator("form.inbox-form")
    choice = form.get_by_label(words["reply"], exact=True)
    # Only e-mail inboxes are offered (and "none").
    await expect(choice.locator("option")).to_have_count(2, timeout=WAIT_MS)
    await expect(choice.locator("option").nth(1)).to_have_text("售后邮箱 After-sales mail")
    await choice.select_option(str(mail.id))
    calls = form.get_by_label(words["voice"], exact=True)
    await expect(calls.locator("option")).to_have_count(2, timeout=WAIT_MS)
    await expect(calls.locator("option").nth(1)).to_have_text("客服热线 Hotline")
    await calls.select_option(str(voice.id))
    await form.get_by_label(words["ticket"], exact=True).check()
    await choice.scroll_into_view_if_needed()
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"intake-console-{locale}.png"))
    await form.get_by_role("button", name=words["save"], exact=True).click()
    await expect(page.get_by_text(words["saved"])).to_be_visible(timeout=WAIT_MS)

    admin = await login_headers(client, login_of(workspace, "admin"))
    web = (await client.get(f"/api/v1/inboxes/{workspace.inbox_id}", headers=admin)).json()
    assert web["config"]["reply_email_inbox_id"] == str(mail.id)
    assert web["config"]["leave_message_ticket"] is True
    assert web["config"]["voice_inbox_id"] == str(voice.id)


@pytest.mark.parametrize(
    ("locale", "said"),
    [("zh-CN", "退信：5.1.1 550 5.1.1 mailbox does not exist"), ("en", "bounced: 5.1.1 550")],
)
async def test_a_mailed_widget_reply_that_bounces_is_marked_failed_live_in_the_agents_language(
    browser: Browser,
    live_server: str,
    client: httpx.AsyncClient,
    kefu: Kefu,
    workspace: Demo,
    locale: str,
    said: str,
) -> None:
    from kefu.conversations.outbox import dispatch_due
    from kefu.model import utcnow
    from tests.integration.test_intake import (
        VISITOR,
        agent,
        bounce_of,
        email_inbox,
        leave,
        post_mime,
        web_settings,
    )
    from tests.integration.test_widget_api import start
    from tests.mail_servers import smtp_sink

    with smtp_sink() as (sink, port):
        mail_inbox = await email_inbox(kefu, workspace, port)
        await web_settings(
            kefu, workspace, reply_email_inbox_id=str(mail_inbox), reply_email_after_seconds=0
        )
        session = await start(client, workspace)
        conversation_id = (await leave(client, session, "请回电 / call me back"))["conversation_id"]
        from kefu.conversations.actions import reply

        await reply(kefu, uuid.UUID(conversation_id), agent(workspace), "好的 / sure")
        await dispatch_due(kefu, utcnow())
        (sent,) = sink.mails
    page = await console_as(
        browser, live_server, workspace, "admin", locale, f"/inbox/{conversation_id}"
    )
    # The reply in the timeline (the conversation list's preview shows it too).
    await expect(page.locator("p.text", has_text="好的 / sure")).to_be_visible(timeout=WAIT_MS)
    emailed = {"zh-CN": "回复已发邮件至 ", "en": "Reply e-mailed to "}[locale] + VISITOR
    await expect(page.get_by_text(emailed)).to_be_visible(timeout=WAIT_MS)
    await post_mime(client, mail_inbox, bounce_of(str(sent["Message-ID"]).strip(), VISITOR))
    await expect(page.get_by_role("alert").filter(has_text=said)).to_be_visible(timeout=WAIT_MS)
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"intake-bounce-{locale}.png"))
