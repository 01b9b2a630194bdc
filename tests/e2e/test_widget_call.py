"""The widget's call button in Chromium against the real server (calls service, voice
connector) with the LiveKit stand-in as the media server; only the browser's room
connection is the fake (tests/e2e/fake_media.py). The microphone is asked for only on
the click; the caller's token is one LiveKit accepts for the call's room; the IVR prompt
is shown and the keypad answers it; mute and hang-up; nobody to answer is a 503 whose
reason the widget says, offering the chat or a message instead. Screenshots in zh-CN and
en go to /tmp/shots/voice/."""

# ruff: noqa: F811  (the widget module's fixtures are imported and then requested by name)
from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from livekit import api
from playwright.async_api import Browser, Page, expect

from kefu.calls import service
from kefu.connectors.voice.standin import LiveKitStandIn, create_standin
from kefu.context import Kefu
from kefu.db.tables import Inbox
from kefu.demo import Demo
from kefu.model import ContactFacts, Identity
from tests.conftest import login_headers, login_of
from tests.e2e.browsers import async_chromium
from tests.e2e.fake_media import FAKE_MEDIA, MEDIA_ARGS, mic_requests, rooms
from tests.e2e.test_widget import (  # noqa: F401  (the widget module's fixtures, reused)
    LABELS,
    WAIT_MS,
    Server,
    agent_online,
    app,
    browser,
    client,
    kefu,
    server,
    workspace,
)
from tests.servers import serve

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]
SHOTS = Path("/tmp/shots/voice")
LOCALES = ["zh-CN", "en"]

SAID = {
    "en": {
        "call": "Call us",
        "ringing": "Calling an agent…",
        "connected": "Connected",
        "mute": "Mute",
        "unmute": "Unmute",
        "keypad": "Keypad",
        "key1": "Key 1",
        "hangup": "Hang up",
        "ended": "Call ended",
        "nobody": "Nobody can take calls right now.",
        "chat": "Chat with us instead",
        "message": "Leave a message",
        "greeting": "For sales press 1.",
    },
    "zh-CN": {
        "call": "语音通话",
        "ringing": "正在呼叫客服…",
        "connected": "通话中",
        "mute": "静音",
        "unmute": "取消静音",
        "keypad": "拨号盘",
        "key1": "按键 1",
        "hangup": "挂断",
        "ended": "通话已结束",
        "nobody": "目前没有客服可以接听电话。",
        "chat": "改用文字咨询",
        "message": "留言",
        "greeting": "售前请按 1。",
    },
}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def chromium() -> AsyncIterator[Browser]:
    """The module's Chromium, with a fake microphone that needs no permission prompt."""
    async with async_chromium(extra_args=tuple(MEDIA_ARGS)) as launched:
        yield launched


@pytest_asyncio.fixture(loop_scope="module")
async def livekit() -> AsyncIterator[tuple[LiveKitStandIn, str]]:
    standin = LiveKitStandIn()
    async with serve(create_standin(standin), lifespan="off") as url:
        yield standin, url


async def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"{name}.png"))


def user_id(demo: Demo, local: str) -> uuid.UUID:
    return next(login.id for login in demo.logins if login.email.startswith(local + "@"))


async def voice_line(
    client: httpx.AsyncClient,
    kefu: Kefu,
    demo: Demo,
    livekit: tuple[LiveKitStandIn, str],
    ivr: dict[str, Any] | None = None,
) -> uuid.UUID:
    """A voice inbox on the stand-in, and the widget's inbox naming it (`voice_inbox_id`,
    the key kefu.calls.api reads; written directly, as the calls tests do)."""
    standin, url = livekit
    admin = await login_headers(client, login_of(demo, "admin"))
    config: dict[str, Any] = {
        "livekit_url": url.replace("http://", "ws://"),
        "api_key": standin.api_key,
        "api_secret": standin.api_secret,
    }
    if ivr is not None:
        config["ivr"] = ivr
    response = await client.post(
        "/api/v1/inboxes",
        json={
            "kind": "voice",
            "name": "客服热线 Hotline",
            "default_group_id": str(demo.groups["presales"]),
            "config": config,
        },
        headers=admin,
    )
    assert response.status_code == 201, response.text
    voice = uuid.UUID(response.json()["id"])
    async with kefu.db.transaction() as session:
        widget = await session.get(Inbox, demo.inbox_id)
        assert widget is not None
        widget.config = {**widget.config, "voice_inbox_id": str(voice)}
    return voice


async def caller_page(browser: Browser, server: Server, demo: Demo, locale: str) -> Page:
    context = await browser.new_context(locale=locale)
    await context.add_init_script(FAKE_MEDIA)
    page = await context.new_page()
    await page.goto(f"{server.url}/?inbox={demo.widget_key}&entry=e2e")
    await page.get_by_role("button", name=LABELS[locale]["open"]).click()
    return page


async def calls(client: httpx.AsyncClient, demo: Demo) -> list[dict[str, Any]]:
    admin = await login_headers(client, login_of(demo, "admin"))
    return list((await client.get("/api/v1/calls", headers=admin)).json()["items"])


@pytest.mark.parametrize("locale", LOCALES)
async def test_a_visitor_calls_is_answered_mutes_and_hangs_up(
    browser: Browser,
    server: Server,
    client: httpx.AsyncClient,
    kefu: Kefu,
    workspace: Demo,
    livekit: tuple[LiveKitStandIn, str],
    locale: str,
) -> None:
    said = SAID[locale]
    standin, _ = livekit
    await voice_line(client, kefu, workspace, livekit)
    await agent_online(client, workspace)
    await service.set_phone_state(
        kefu, workspace.workspace_id, user_id(workspace, "lina"), "ready", None
    )
    page = await caller_page(browser, server, workspace, locale)
    button = page.get_by_role("button", name=said["call"])
    await expect(button).to_be_visible(timeout=WAIT_MS)
    assert await mic_requests(page) == 0  # not asked before the click
    await button.click()
    status = page.locator(".call-status")
    await expect(status).to_have_text(said["ringing"], timeout=WAIT_MS)
    assert await mic_requests(page) == 1
    await page.wait_for_function("() => window.__fakeRooms.length === 1")
    (room,) = await rooms(page)
    (call,) = await calls(client, workspace)
    claims = api.TokenVerifier(standin.api_key, standin.api_secret).verify(room["token"])
    assert claims.video is not None and claims.video.room == call["room"]
    assert room["micKind"] == "audio" and call["status"] == "ringing"

    # Li Na answers; LiveKit tells the caller's room she joined.
    lina = await login_headers(client, login_of(workspace, "lina"))
    answered = await client.post(f"/api/v1/calls/{call['id']}/answer", headers=lina)
    assert answered.status_code == 200, answered.text
    await page.evaluate("() => window.__fakeRooms[0].peer('agent-lina', true)")
    await expect(status).to_have_text(said["connected"], timeout=WAIT_MS)
    await expect(page.locator(".call-timer")).to_be_visible()

    await page.get_by_role("button", name=said["mute"], exact=True).click()
    await expect(page.get_by_role("button", name=said["unmute"])).to_have_attribute(
        "aria-pressed", "true"
    )
    (room,) = await rooms(page)
    assert room["muted"] == [True] and room["micEnabled"] is False
    await page.get_by_role("button", name=said["keypad"]).click()
    await expect(page.get_by_role("button", name=said["key1"])).to_be_visible()
    await shot(page, f"widget-call-connected-{locale}")

    await page.get_by_role("button", name=said["hangup"]).click()
    await expect(status).to_have_text(said["ended"], timeout=WAIT_MS)
    (room,) = await rooms(page)
    assert room["disconnected"] is True and room["micLive"] == "ended"
    for _ in range(50):
        (call,) = await calls(client, workspace)
        if call["status"] != "connected":
            break
        await page.wait_for_timeout(100)
    assert call["status"] in ("wrap_up", "ended")
    await expect(page.get_by_role("button", name=said["chat"])).to_be_visible()
    await shot(page, f"widget-call-ended-{locale}")


@pytest.mark.parametrize("locale", LOCALES)
async def test_the_ivr_prompt_is_shown_and_the_keypad_answers_it(
    browser: Browser,
    server: Server,
    client: httpx.AsyncClient,
    kefu: Kefu,
    workspace: Demo,
    livekit: tuple[LiveKitStandIn, str],
    locale: str,
) -> None:
    said = SAID[locale]
    tree = {
        "menu": {
            "greeting": {"prompt_zh": "售前请按 1。", "prompt_en": "For sales press 1."},
            "options": {
                "1": {
                    "kind": "route",
                    "group_id": str(workspace.groups["presales"]),
                    "entry": "sales",
                }
            },
        }
    }
    await voice_line(client, kefu, workspace, livekit, ivr=tree)
    await agent_online(client, workspace)
    await service.set_phone_state(
        kefu, workspace.workspace_id, user_id(workspace, "lina"), "ready", None
    )
    page = await caller_page(browser, server, workspace, locale)
    await page.get_by_role("button", name=said["call"]).click()
    prompt = page.locator(".call-prompt")
    await expect(prompt).to_have_text(said["greeting"], timeout=WAIT_MS)
    await shot(page, f"widget-call-ivr-{locale}")
    await page.get_by_role("button", name=said["keypad"]).click()
    await page.get_by_role("button", name=said["key1"]).click()
    await expect(page.locator(".call-status")).to_have_text(said["ringing"], timeout=WAIT_MS)
    (call,) = await calls(client, workspace)
    assert call["ivr_path"] == ["1"] and call["status"] == "ringing"
    assert call["group_id"] == str(workspace.groups["presales"])


@pytest.mark.parametrize("locale", LOCALES)
async def test_nobody_to_answer_says_why_and_offers_chat_or_a_message(
    browser: Browser,
    server: Server,
    client: httpx.AsyncClient,
    kefu: Kefu,
    workspace: Demo,
    livekit: tuple[LiveKitStandIn, str],
    locale: str,
) -> None:
    said = SAID[locale]
    await voice_line(client, kefu, workspace, livekit)
    await agent_online(client, workspace)  # chat is open; nobody is signed in to a phone
    page = await caller_page(browser, server, workspace, locale)
    await page.get_by_role("button", name=said["call"]).click()
    await expect(page.get_by_role("alert").filter(has_text=said["nobody"])).to_be_visible(
        timeout=WAIT_MS
    )
    assert await rooms(page) == []  # no room joined, the microphone given back
    assert await calls(client, workspace) == []
    await shot(page, f"widget-call-unavailable-{locale}")
    await page.get_by_role("button", name=said["message"]).click()
    await expect(page.get_by_label(LABELS[locale]["body"])).to_be_visible(timeout=WAIT_MS)


async def test_no_call_button_without_a_voice_inbox(
    browser: Browser, server: Server, client: httpx.AsyncClient, workspace: Demo
) -> None:
    await agent_online(client, workspace)
    page = await caller_page(browser, server, workspace, "en")
    await expect(page.get_by_role("textbox", name=LABELS["en"]["input"])).to_be_enabled(
        timeout=WAIT_MS
    )
    await expect(page.get_by_role("button", name=SAID["en"]["call"])).to_be_hidden()


PLACE = {
    "en": (
        "You are number 2 in the queue, about 2 min",
        "You are number 1 in the queue, about 1 min",
    ),
    "zh-CN": ("您目前排在第 2 位，预计等待约 2 分钟", "您目前排在第 1 位，预计等待约 1 分钟"),
}


@pytest.mark.parametrize("locale", LOCALES)
async def test_a_waiting_caller_sees_their_place_and_the_wait(
    browser: Browser,
    server: Server,
    client: httpx.AsyncClient,
    kefu: Kefu,
    workspace: Demo,
    livekit: tuple[LiveKitStandIn, str],
    locale: str,
) -> None:
    voice = await voice_line(client, kefu, workspace, livekit)
    await agent_online(client, workspace)
    # Li Na has the phone on but is not ready: calls wait. A phone caller is ahead.
    await service.set_phone_state(
        kefu, workspace.workspace_id, user_id(workspace, "lina"), "not_ready", None
    )
    ahead = await service.start_call(
        kefu,
        voice,
        identity=Identity(kind="phone", value="+8613800000009"),
        contact=ContactFacts(phone="+8613800000009"),
        source="sip",
        caller_identity="sip-+8613800000009",
        caller_number="+8613800000009",
        room=f"sip-room-{uuid.uuid4().hex[:8]}",
    )
    page = await caller_page(browser, server, workspace, locale)
    await page.get_by_role("button", name=SAID[locale]["call"]).click()
    place = page.locator(".call-queue")
    second, first = PLACE[locale]
    await expect(place).to_have_text(second, timeout=WAIT_MS)
    await shot(page, f"widget-call-queued-{locale}")
    # The caller ahead hangs up: the window, asking every few seconds, moves up.
    await service.caller_hung_up(kefu, ahead.call.id)
    await expect(place).to_have_text(first, timeout=WAIT_MS)
    await page.get_by_role("button", name=SAID[locale]["hangup"]).click()
    await expect(place).to_be_hidden(timeout=WAIT_MS)
