"""Voice in the console, in Chromium against the real server (calls service + voice
connector) with the LiveKit stand-in as the media server: only the browser's room
connection is the fake (tests/e2e/fake_media.py). An agent signs in to the phone, a SIP
caller goes through the IVR and rings them, the toast shows who and which keys; answer,
mute, hold, keypad, a note, hang-up, wrap-up; the call in the timeline; the supervisor's
board; and the admin's IVR editor saving `config.ivr` and showing problems by field.
Screenshots in zh-CN and en go to /tmp/shots/voice/."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from livekit import api
from playwright.async_api import Browser, Page, expect

from kefu.calls import service
from kefu.connectors.voice.standin import LiveKitStandIn, create_standin
from kefu.context import Kefu
from kefu.demo import Demo
from kefu.ivr.menu import IvrTree, Route, Submenu
from tests.conftest import login_headers, login_of
from tests.e2e.browsers import async_chromium, console_as
from tests.e2e.fake_media import FAKE_MEDIA, MEDIA_ARGS, mic_requests, rooms
from tests.servers import serve

pytestmark = [pytest.mark.e2e]

SHOTS = Path("/tmp/shots/voice")
WAIT_MS = 20_000
WEBHOOK = "/connectors/livekit/webhook"
CALLER = "+8613800138000"

W = {
    "en": {
        "phone": "Phone",
        "ready": "Ready",
        "answer": "Answer",
        "connected": "Connected",
        "mute": "Mute",
        "unmute": "Unmute",
        "hold": "Hold",
        "resume": "Resume",
        "held": "On hold",
        "keypad": "Keypad",
        "key5": "Key 5",
        "note": "Call note (goes on the conversation)",
        "save_note": "Save note",
        "hangup": "Hang up",
        "wrap": "Wrap-up:",
        "next": "Ready for the next call",
        "duration": "talked",
        "st_wrap": "Wrap-up",
        "st_ended": "Ended",
        "calls_now": "Calls now",
        "transfer": "Transfer call",
        "how": "How",
        "attended": "Consult first (attended)",
        "colleague": "Colleague",
        "consult": "Call to consult",
        "consulting": "Consulting Tom Chen 陈涛",
        "back": "Back to the caller",
        "complete": "Complete transfer",
        "edit": "Edit: 客服热线 Hotline",
        "ivr_on": "Callers go through an IVR menu",
        "add": "+ Add option",
        "save": "Save",
        "greeting_zh": "Main menu: Greeting (Chinese)",
        "required": "Write this prompt (both languages are needed).",
        "invalid": "The IVR menu is not valid",
        "off": "Callers out of hours get",
        "off_voicemail": "Straight to voicemail",
        "entry": "Main menu: key 1: Entry",
        "group": "Main menu: key 1: Group",
    },
    "zh-CN": {
        "phone": "电话",
        "ready": "就绪",
        "answer": "接听",
        "connected": "通话中",
        "mute": "静音",
        "unmute": "取消静音",
        "hold": "保持",
        "resume": "恢复通话",
        "held": "保持中",
        "keypad": "拨号盘",
        "key5": "按键 5",
        "note": "通话备注（记入会话）",
        "save_note": "保存备注",
        "hangup": "挂断",
        "wrap": "话后处理：",
        "next": "就绪，接下一通",
        "duration": "通话",
        "st_wrap": "话后处理",
        "st_ended": "已结束",
        "calls_now": "实时通话",
        "transfer": "转接来电",
        "how": "方式",
        "attended": "先咨询再转（咨询转接）",
        "colleague": "同事",
        "consult": "呼叫咨询",
        "consulting": "正在咨询 Tom Chen 陈涛",
        "back": "返回来电者",
        "complete": "完成转接",
        "edit": "编辑: 客服热线 Hotline",
        "ivr_on": "来电先进入语音导航菜单",
        "add": "+ 添加选项",
        "save": "保存",
        "greeting_zh": "主菜单: 欢迎语 (中文)",
        "required": "请填写提示语（中英文都需要）。",
        "invalid": "IVR 菜单无效",
        "off": "非工作时间来电处理",
        "off_voicemail": "直接转语音留言",
        "entry": "主菜单: 按键 1: 入口",
        "group": "主菜单: 按键 1: 技能组",
    },
}


async def phone_state_is(client: httpx.AsyncClient, headers: dict[str, str], state: str) -> None:
    """The server's phone state reaches `state`: the console's select shows a choice
    before its save has answered, so the server is asked until it agrees (or time runs out)."""
    seen = None
    for _ in range(WAIT_MS // 50):
        seen = (await client.get("/api/v1/phone/me", headers=headers)).json()["state"]
        if seen == state:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"phone state stayed {seen!r}, expected {state!r}")


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_chromium(console=True, extra_args=tuple(MEDIA_ARGS)) as launched:
        yield launched


@pytest.fixture
async def livekit() -> AsyncIterator[tuple[LiveKitStandIn, str]]:
    standin = LiveKitStandIn()
    async with serve(create_standin(standin), lifespan="off") as url:
        yield standin, url


def user_id(demo: Demo, local: str) -> uuid.UUID:
    return next(login.id for login in demo.logins if login.email.startswith(local + "@"))


async def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def ivr_tree(demo: Demo) -> dict[str, Any]:
    return {
        "menu": {
            "greeting": {"prompt_zh": "售前请按 1。", "prompt_en": "For sales press 1."},
            "options": {
                "1": {
                    "kind": "route",
                    "group_id": str(demo.groups["presales"]),
                    "entry": "sales",
                }
            },
        }
    }


async def voice_inbox(
    client: httpx.AsyncClient,
    demo: Demo,
    standin: LiveKitStandIn,
    url: str,
    ivr: dict[str, Any] | None = None,
    **policy: Any,
) -> uuid.UUID:
    admin = await login_headers(client, login_of(demo, "admin"))
    config: dict[str, Any] = {
        "livekit_url": url.replace("http://", "ws://"),
        "api_key": standin.api_key,
        "api_secret": standin.api_secret,
        **policy,
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
    return uuid.UUID(response.json()["id"])


async def sip_caller(client: httpx.AsyncClient, standin: LiveKitStandIn) -> str:
    """A phone caller LiveKit's SIP dispatch put in a room: LiveKit's signed webhook."""
    room = f"sip-_{CALLER}_{uuid.uuid4().hex[:6]}"
    phone = standin.join(room, f"sip_{CALLER}", sip=True)
    phone.attributes["sip.phoneNumber"] = CALLER
    sent, headers = standin.webhook("participant_joined", room=room, participant=phone)
    response = await client.post(WEBHOOK, content=sent, headers=headers)
    assert response.status_code == 200, response.text
    return room


async def only_call(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    items = (await client.get("/api/v1/calls", headers=headers)).json()["items"]
    assert len(items) == 1, items
    return dict(items[0])


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
async def test_an_agent_takes_a_phone_call_from_the_toast_to_wrap_up(
    browser: Browser,
    live_server: str,
    client: httpx.AsyncClient,
    kefu: Kefu,
    workspace: Demo,
    livekit: tuple[LiveKitStandIn, str],
    locale: str,
) -> None:
    w = W[locale]
    standin, url = livekit
    await voice_inbox(client, workspace, standin, url, ivr=ivr_tree(workspace))
    lina = await login_headers(client, login_of(workspace, "lina"))
    page = await console_as(
        browser, live_server, workspace, "lina", locale, "/inbox", init_script=FAKE_MEDIA
    )
    phone = page.get_by_role("combobox", name=w["phone"], exact=True)
    await phone.select_option(label=w["ready"])
    await expect(phone).to_have_value("ready", timeout=WAIT_MS)
    await phone_state_is(client, lina, "ready")

    # The caller dials in and presses 1 in the IVR (what the SIP worker hands core).
    await sip_caller(client, standin)
    admin = await login_headers(client, login_of(workspace, "admin"))
    call = await only_call(client, admin)
    assert call["status"] == "ivr"
    await service.press(kefu, uuid.UUID(call["id"]), "1", workspace_id=workspace.workspace_id)

    toast = page.get_by_role("alertdialog")
    await expect(toast).to_be_visible(timeout=WAIT_MS)
    await expect(toast.get_by_test_id("ivr-path")).to_have_text("1")
    await expect(toast).to_contain_text(CALLER)
    assert await mic_requests(page) == 0  # nothing asked for the microphone yet
    await shot(page, f"incoming-{locale}")

    await toast.get_by_role("button", name=w["answer"]).click()
    status = page.get_by_test_id("call-status")
    await expect(status).to_contain_text(w["connected"], timeout=WAIT_MS)
    assert await mic_requests(page) == 1
    await page.wait_for_function("() => window.__fakeRooms.length === 1")
    (room,) = await rooms(page)
    assert room["url"] == url.replace("http://", "ws://") and room["micKind"] == "audio"
    claims = api.TokenVerifier(standin.api_key, standin.api_secret).verify(room["token"])
    call = await only_call(client, admin)
    assert call["status"] == "connected" and call["agent_id"] == str(user_id(workspace, "lina"))
    assert claims.video is not None and claims.video.room == call["room"]

    await page.get_by_role("button", name=w["mute"], exact=True).click()
    await expect(page.get_by_role("button", name=w["unmute"])).to_have_attribute(
        "aria-pressed", "true"
    )
    (room,) = await rooms(page)
    assert room["muted"] == [True] and room["micEnabled"] is False
    await page.get_by_role("button", name=w["unmute"]).click()

    await page.get_by_role("button", name=w["hold"], exact=True).click()
    await expect(status).to_contain_text(w["held"], timeout=WAIT_MS)
    assert (await only_call(client, admin))["status"] == "held"
    await page.get_by_role("button", name=w["resume"]).click()
    await expect(status).to_contain_text(w["connected"], timeout=WAIT_MS)
    assert (await only_call(client, admin))["status"] == "connected"

    await page.get_by_role("button", name=w["keypad"], exact=True).click()
    await page.get_by_role("button", name=w["key5"]).click()
    note = f"客户要发票 invoice please {locale}"
    await page.get_by_label(w["note"]).fill(note)
    await page.get_by_role("button", name=w["save_note"]).click()
    await shot(page, f"on-call-{locale}")
    conversation = call["conversation_id"]
    async with httpx.AsyncClient(base_url=live_server) as http:

        async def notes() -> list[str]:
            page_ = await http.get(f"/api/v1/conversations/{conversation}/messages", headers=lina)
            return [m["body"] for m in page_.json()["items"] if m["direction"] == "note"]

        for _ in range(50):
            if note in await notes():
                break
            await page.wait_for_timeout(100)
        assert note in await notes()

    await page.get_by_role("button", name=w["hangup"]).click()
    wrap = page.get_by_test_id("wrap-up")
    await expect(wrap).to_contain_text(w["wrap"], timeout=WAIT_MS)
    (room,) = await rooms(page)
    assert room["disconnected"] is True and room["micLive"] == "ended"
    await phone_state_is(client, lina, "wrap_up")
    # The call is on the conversation's timeline with its duration.
    item = page.locator(f'li[data-call="{call["id"]}"]')
    await expect(item).to_be_visible(timeout=WAIT_MS)
    await expect(item).to_contain_text(w["st_wrap"], timeout=WAIT_MS)
    await expect(item.get_by_test_id("call-duration")).to_contain_text(w["duration"])
    await shot(page, f"wrap-up-{locale}")

    await page.get_by_role("button", name=w["next"]).click()
    await expect(wrap).to_be_hidden(timeout=WAIT_MS)
    await phone_state_is(client, lina, "ready")
    await expect(item).to_contain_text(w["st_ended"], timeout=WAIT_MS)
    assert (await only_call(client, admin))["status"] == "ended"


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
async def test_the_board_shows_calls_waiting_and_ringing(
    browser: Browser,
    live_server: str,
    client: httpx.AsyncClient,
    kefu: Kefu,
    workspace: Demo,
    livekit: tuple[LiveKitStandIn, str],
    locale: str,
) -> None:
    w = W[locale]
    standin, url = livekit
    await voice_inbox(client, workspace, standin, url)
    # Nobody is ready: the first caller waits in the queue.
    await sip_caller(client, standin)
    page = await console_as(browser, live_server, workspace, "supervisor", locale, "/board")
    tile = page.get_by_test_id("board-calls")
    await expect(tile).to_contain_text(w["calls_now"], timeout=WAIT_MS)
    await expect(tile.get_by_test_id("calls-queued")).to_have_text("1", timeout=WAIT_MS)
    # An agent signs in to the phone: the waiting call rings them, live on the board.
    await service.set_phone_state(
        kefu, workspace.workspace_id, user_id(workspace, "lina"), "ready", None
    )
    await expect(tile.get_by_test_id("calls-ringing")).to_have_text("1", timeout=WAIT_MS)
    await expect(tile.get_by_test_id("calls-queued")).to_have_text("0")
    await shot(page, f"board-calls-{locale}")


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
async def test_the_admin_edits_the_ivr_and_sees_problems_by_field(
    browser: Browser,
    live_server: str,
    client: httpx.AsyncClient,
    workspace: Demo,
    livekit: tuple[LiveKitStandIn, str],
    locale: str,
) -> None:
    w = W[locale]
    standin, url = livekit
    inbox = await voice_inbox(client, workspace, standin, url)
    page = await console_as(browser, live_server, workspace, "admin", locale, "/admin/inboxes")
    await page.get_by_role("button", name=w["edit"]).click()
    editor = page.get_by_test_id("ivr-editor")
    await editor.get_by_label(w["ivr_on"]).check()
    # Key 1 routes to pre-sales with the entry routing rules see; off hours, voicemail.
    await editor.get_by_role("button", name=w["add"]).click()
    await editor.get_by_label(w["group"]).select_option(str(workspace.groups["presales"]))
    await editor.get_by_label(w["entry"]).fill("sales")
    await editor.get_by_label(w["off"], exact=True).select_option(label=w["off_voicemail"])
    # A blank prompt is marked beside its field before anything is sent.
    greeting = editor.get_by_label(w["greeting_zh"])
    await greeting.fill("")
    await expect(editor.locator('[data-ivr-field="menu.greeting.prompt_zh"]')).to_have_text(
        w["required"]
    )
    # Saved anyway: the server refuses it, and says so on the IVR, nothing stored.
    await page.get_by_role("button", name=w["save"], exact=True).click()
    await expect(editor.get_by_test_id("ivr-server-errors")).to_contain_text(
        w["invalid"], timeout=WAIT_MS
    )
    await page.set_viewport_size({"width": 1440, "height": 2600})  # the whole editor in view
    await shot(page, f"ivr-errors-{locale}")
    admin = await login_headers(client, login_of(workspace, "admin"))
    stored = (await client.get(f"/api/v1/inboxes/{inbox}", headers=admin)).json()["config"]
    assert stored.get("ivr") is None
    await greeting.fill("您好，售前请按 1，人工服务请按 0。")
    await page.get_by_role("button", name=w["save"], exact=True).click()
    await expect(editor.get_by_test_id("ivr-server-errors")).to_be_hidden(timeout=WAIT_MS)
    for _ in range(50):
        stored = (await client.get(f"/api/v1/inboxes/{inbox}", headers=admin)).json()["config"]
        if stored.get("ivr"):
            break
        await page.wait_for_timeout(100)
    tree = msgspec.convert(stored["ivr"], IvrTree)
    route = tree.menu.options["1"]
    assert isinstance(route, Route) and route.entry == "sales"
    assert route.group_id == workspace.groups["presales"]
    assert tree.menu.greeting.prompt_zh == "您好，售前请按 1，人工服务请按 0。"
    assert not isinstance(tree.menu.options.get("0"), Submenu)
    assert tree.off_hours is not None and tree.off_hours.__class__.__name__ == "Voicemail"
    await shot(page, f"ivr-saved-{locale}")


async def answered_call(
    browser: Browser,
    live_server: str,
    client: httpx.AsyncClient,
    kefu: Kefu,
    demo: Demo,
    livekit: tuple[LiveKitStandIn, str],
    locale: str,
    **policy: Any,
) -> tuple[Page, dict[str, Any], dict[str, str]]:
    """Li Na ready in the console, a phone caller straight to the queue, answered."""
    standin, url = livekit
    await voice_inbox(client, demo, standin, url, **policy)
    page = await console_as(
        browser, live_server, demo, "lina", locale, "/inbox", init_script=FAKE_MEDIA
    )
    phone = page.get_by_role("combobox", name=W[locale]["phone"], exact=True)
    await phone.select_option(label=W[locale]["ready"])
    await expect(phone).to_have_value("ready", timeout=WAIT_MS)
    await phone_state_is(client, await login_headers(client, login_of(demo, "lina")), "ready")
    await sip_caller(client, standin)
    await page.get_by_role("alertdialog").get_by_role("button", name=W[locale]["answer"]).click()
    await expect(page.get_by_test_id("call-status")).to_contain_text(
        W[locale]["connected"], timeout=WAIT_MS
    )
    await page.wait_for_function("() => window.__fakeRooms.length === 1")
    admin = await login_headers(client, login_of(demo, "admin"))
    return page, await only_call(client, admin), admin


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
async def test_an_attended_transfer_consults_then_goes_back_or_completes(
    browser: Browser,
    live_server: str,
    client: httpx.AsyncClient,
    kefu: Kefu,
    workspace: Demo,
    livekit: tuple[LiveKitStandIn, str],
    locale: str,
) -> None:
    w = W[locale]
    tom = user_id(workspace, "tom")
    await service.set_phone_state(kefu, workspace.workspace_id, tom, "ready", None)
    page, call, admin = await answered_call(
        browser, live_server, client, kefu, workspace, livekit, locale
    )

    async def consult() -> None:
        await page.get_by_role("button", name=w["transfer"], exact=True).click()
        dialog = page.get_by_role("dialog")
        await dialog.get_by_label(w["how"]).select_option(label=w["attended"])
        await dialog.get_by_role("combobox", name=w["colleague"]).select_option(str(tom))
        await dialog.get_by_role("button", name=w["consult"]).click()
        await expect(page.locator(".consult")).to_contain_text(w["consulting"], timeout=WAIT_MS)

    # The first consult from the keyboard: Alt+X opens the call's transfer dialog.
    await page.keyboard.press("Alt+X")
    dialog = page.get_by_role("dialog")
    await dialog.get_by_label(w["how"]).select_option(label=w["attended"])
    await dialog.get_by_role("combobox", name=w["colleague"]).select_option(str(tom))
    await dialog.get_by_role("button", name=w["consult"]).click()
    await expect(page.locator(".consult")).to_contain_text(w["consulting"], timeout=WAIT_MS)
    held = await only_call(client, admin)
    assert held["status"] == "held" and held["consult_agent_id"] == str(tom)
    await shot(page, f"consulting-{locale}")
    await page.get_by_role("button", name=w["back"]).click()
    await expect(page.locator(".consult")).to_be_hidden(timeout=WAIT_MS)
    back = await only_call(client, admin)
    assert back["consult_agent_id"] is None and back["agent_id"] == str(user_id(workspace, "lina"))

    await consult()
    await page.get_by_role("button", name=w["complete"]).click()
    await expect(page.get_by_test_id("call-status")).to_be_hidden(timeout=WAIT_MS)
    (room,) = await rooms(page)
    assert room["disconnected"] is True
    moved = await only_call(client, admin)
    assert moved["agent_id"] == str(tom) and moved["id"] == call["id"]


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
async def test_a_recorded_call_plays_from_the_timeline(
    browser: Browser,
    live_server: str,
    client: httpx.AsyncClient,
    kefu: Kefu,
    workspace: Demo,
    livekit: tuple[LiveKitStandIn, str],
    locale: str,
) -> None:
    standin, _ = livekit
    page, call, admin = await answered_call(
        browser, live_server, client, kefu, workspace, livekit, locale, record=True
    )
    await page.get_by_role("button", name=W[locale]["hangup"]).click()
    await expect(page.get_by_test_id("wrap-up")).to_be_visible(timeout=WAIT_MS)
    # LiveKit's egress of the room finishes and says where the file is.
    (egress_id,) = [e.egress_id for e in standin.egresses.values() if e.room_name == call["room"]]
    info = standin.end_egress(egress_id, duration_s=61.0)
    sent, headers = standin.webhook("egress_ended", room=call["room"], egress=info)
    assert (await client.post(WEBHOOK, content=sent, headers=headers)).status_code == 200
    recording = (await only_call(client, admin))["recording_url"]
    assert recording
    # The timeline reads the call again on the next call event (the agent ends wrap-up).
    await page.get_by_role("button", name=W[locale]["next"]).click()
    player = page.locator(f'li[data-call="{call["id"]}"] audio')
    await expect(player).to_have_attribute("src", f"{live_server}{recording}", timeout=WAIT_MS)
    await shot(page, f"recording-{locale}")


LISTEN = {
    "en": {"listen": "Listen", "listening": "Listening", "stop": "Stop listening"},
    "zh-CN": {"listen": "监听", "listening": "监听中", "stop": "停止监听"},
}


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
async def test_a_supervisor_listens_in_from_the_board(
    browser: Browser,
    live_server: str,
    client: httpx.AsyncClient,
    kefu: Kefu,
    workspace: Demo,
    livekit: tuple[LiveKitStandIn, str],
    locale: str,
) -> None:
    said = LISTEN[locale]
    standin, url = livekit
    await voice_inbox(client, workspace, standin, url)
    await service.set_phone_state(
        kefu, workspace.workspace_id, user_id(workspace, "lina"), "ready", None
    )
    await sip_caller(client, standin)
    lina = await login_headers(client, login_of(workspace, "lina"))
    call = await only_call(client, lina)
    assert (await client.post(f"/api/v1/calls/{call['id']}/answer", headers=lina)).is_success
    page = await console_as(
        browser, live_server, workspace, "supervisor", locale, "/board", init_script=FAKE_MEDIA
    )
    tile = page.get_by_test_id("board-calls")
    await expect(tile.get_by_test_id("calls-talking")).to_have_text("1", timeout=WAIT_MS)
    row = tile.get_by_test_id("talking-calls").locator(f"li[data-call='{call['id']}']")
    await row.get_by_role("button", name=said["listen"]).click()
    await expect(row.get_by_role("status")).to_have_text(said["listening"], timeout=WAIT_MS)
    assert await mic_requests(page) == 0  # listening never asks for the microphone
    (room,) = await rooms(page)
    assert room["micKind"] is None
    claims = api.TokenVerifier(standin.api_key, standin.api_secret).verify(room["token"])
    assert claims.identity == f"listener-{user_id(workspace, 'supervisor')}"
    assert claims.video is not None and claims.video.room == call["room"]
    assert claims.video.can_publish is False and claims.video.hidden is True
    await shot(page, f"board-listen-{locale}")
    await row.get_by_role("button", name=said["stop"]).click()
    await expect(row.get_by_role("button", name=said["listen"])).to_be_visible()
    (room,) = await rooms(page)
    assert room["disconnected"] is True
