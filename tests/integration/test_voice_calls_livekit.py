"""Calls through the real voice connector and the real calls service, with the LiveKit
stand-in as the media server: the widget's call button opens a room on LiveKit and hands
the caller a token LiveKit accepts; LiveKit's signed webhooks end the call; a SIP caller
LiveKit dispatched into a room of its own becomes an inbound call; LiveKit unreachable is
the widget's 503 with nothing written."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
import sqlalchemy as sa
from livekit import api

from kefu.calls.media import MediaUnavailable
from kefu.calls.service import get_view
from kefu.calls.tables import Call
from kefu.connectors.voice.cli import sip_setup
from kefu.connectors.voice.standin import LiveKitStandIn, create_standin
from kefu.context import Kefu
from kefu.demo import Demo
from tests.conftest import login_headers, login_of
from tests.integration.test_calls import _link_widget, _ready, _visitor
from tests.servers import free_port, serve

URL = "/connectors/livekit/webhook"


@pytest.fixture
async def livekit() -> AsyncIterator[tuple[LiveKitStandIn, str]]:
    standin = LiveKitStandIn()
    async with serve(create_standin(standin), lifespan="off") as url:
        yield standin, url


async def _voice_inbox(
    client: httpx.AsyncClient, demo: Demo, standin: LiveKitStandIn, url: str, **config: str
) -> uuid.UUID:
    admin = await login_headers(client, login_of(demo, "admin"))
    response = await client.post(
        "/api/v1/inboxes",
        json={
            "kind": "voice",
            "name": "客服热线 Hotline",
            "default_group_id": str(demo.groups["presales"]),
            "config": {
                "livekit_url": url.replace("http://", "ws://"),
                "api_key": standin.api_key,
                "api_secret": standin.api_secret,
                **config,
            },
        },
        headers=admin,
    )
    assert response.status_code == 201, response.text
    return uuid.UUID(response.json()["id"])


async def _calls(kefu: Kefu) -> list[Call]:
    async with kefu.db.session() as session:
        return list((await session.scalars(sa.select(Call))).all())


@pytest.mark.engine_sensitive
async def test_a_widget_call_runs_on_livekit_and_ends_by_its_webhook(
    client: httpx.AsyncClient,
    kefu: Kefu,
    workspace: Demo,
    livekit: tuple[LiveKitStandIn, str],
) -> None:
    standin, url = livekit
    inbox = await _voice_inbox(client, workspace, standin, url)
    await _link_widget(kefu, workspace, inbox)
    await _ready(kefu, workspace, "lina")
    visitor = await _visitor(client, workspace)
    started = await client.post("/api/v1/widget/calls", headers=visitor)
    assert started.status_code == 200, started.text
    body = started.json()
    room = body["call"]["room"]
    assert room in standin.rooms and body["livekit_url"] == url.replace("http://", "ws://")
    claims = api.TokenVerifier(standin.api_key, standin.api_secret).verify(body["token"])
    assert claims.video is not None and claims.video.room == room
    assert claims.video.room_join and not claims.video.room_admin

    # The caller's browser joins, then closes the tab: LiveKit says so.
    caller = standin.join(room, claims.identity)
    for event in ("participant_joined", "participant_left"):
        sent, headers = standin.webhook(event, room=room, participant=caller)
        response = await client.post(URL, content=sent, headers=headers)
        assert response.status_code == 200, response.text
    view = await get_view(kefu, workspace.workspace_id, uuid.UUID(body["call"]["id"]))
    assert view.status == "abandoned"
    # A replay of the hang-up changes nothing more.
    again = await client.post(URL, content=sent, headers=headers)
    assert again.status_code == 401
    assert [c.status for c in await _calls(kefu)] == ["abandoned"]


async def test_livekit_unreachable_offers_chat_and_writes_nothing(
    client: httpx.AsyncClient, kefu: Kefu, workspace: Demo
) -> None:
    standin = LiveKitStandIn()
    inbox = await _voice_inbox(client, workspace, standin, f"http://127.0.0.1:{free_port()}")
    await _link_widget(kefu, workspace, inbox)
    await _ready(kefu, workspace, "lina")
    down = await client.post("/api/v1/widget/calls", headers=await _visitor(client, workspace))
    assert down.status_code == 503, down.text
    assert down.json()["reason"] == "media_unavailable"
    assert await _calls(kefu) == []


@pytest.mark.engine_sensitive
async def test_a_sip_caller_dispatched_by_livekit_becomes_an_inbound_call(
    client: httpx.AsyncClient,
    kefu: Kefu,
    workspace: Demo,
    livekit: tuple[LiveKitStandIn, str],
) -> None:
    standin, url = livekit
    inbox = await _voice_inbox(client, workspace, standin, url)
    await _ready(kefu, workspace, "lina")
    phone = standin.join("sip-_+8613800138000_x7Yq", "sip_+8613800138000", sip=True)
    phone.attributes["sip.phoneNumber"] = "+8613800138000"
    phone.attributes["sip.callID"] = "SCL_abc123"
    sent, headers = standin.webhook(
        "participant_joined", room="sip-_+8613800138000_x7Yq", participant=phone
    )
    response = await client.post(URL, content=sent, headers=headers)
    assert response.status_code == 200, response.text
    replay = await client.post(URL, content=sent, headers=headers)
    assert replay.status_code == 401
    (call,) = await _calls(kefu)
    assert (call.inbox_id, call.source, call.caller_number) == (
        inbox,
        "sip",
        "+8613800138000",
    )
    assert call.room == "sip-_+8613800138000_x7Yq" and call.caller_identity == "sip_+8613800138000"
    assert call.status in ("queued", "ringing")
    # A number kefu itself dials into a call room is not a new call.
    dialled = standin.join("call-" + str(call.id), "phone-1", sip=True)
    sent, headers = standin.webhook(
        "participant_joined", room="call-" + str(call.id), participant=dialled
    )
    assert (await client.post(URL, content=sent, headers=headers)).status_code == 200
    assert len(await _calls(kefu)) == 1


async def test_a_sip_caller_reaches_the_line_whose_number_they_dialled(
    client: httpx.AsyncClient,
    kefu: Kefu,
    workspace: Demo,
    livekit: tuple[LiveKitStandIn, str],
) -> None:
    standin, url = livekit
    await _voice_inbox(client, workspace, standin, url, caller_number="+861066660000")
    support = await _voice_inbox(client, workspace, standin, url, caller_number="+861088880000")
    room = "sip-_+8613900139000_Qw3r"
    phone = standin.join(room, "sip_+8613900139000", sip=True)
    phone.attributes.update(
        {"sip.phoneNumber": "13900139000", "sip.trunkPhoneNumber": "+861088880000"}
    )
    sent, headers = standin.webhook("participant_joined", room=room, participant=phone)
    response = await client.post(URL, content=sent, headers=headers)
    assert response.status_code == 200, response.text
    (call,) = await _calls(kefu)
    assert (call.inbox_id, call.caller_number) == (support, "+8613900139000")


async def test_the_inbox_test_button_lists_rooms_on_livekit(
    client: httpx.AsyncClient, workspace: Demo, livekit: tuple[LiveKitStandIn, str]
) -> None:
    standin, url = livekit
    inbox = await _voice_inbox(client, workspace, standin, url)
    admin = await login_headers(client, login_of(workspace, "admin"))
    checked = await client.post(
        f"/api/v1/inboxes/{inbox}/test", headers={**admin, "Accept-Language": "zh-CN"}
    )
    assert checked.status_code == 200, checked.text
    assert checked.json() == {
        "ok": True,
        "message": "LiveKit 已用此 Key 与 Secret 应答（当前 0 个房间）。",
    }
    assert standin.calls == [("RoomService", "ListRooms")]


async def test_livekits_own_webhooks_follow_the_calls_it_is_asked_to_make(
    client: httpx.AsyncClient,
    kefu: Kefu,
    workspace: Demo,
    live_server: str,
    livekit: tuple[LiveKitStandIn, str],
) -> None:
    # The stand-in posts what LiveKit would over real HTTP to kefu's served webhook,
    # after answering the API call that caused it.
    standin, url = livekit
    standin.webhook_url = f"{live_server}{URL}"
    inbox = await _voice_inbox(client, workspace, standin, url)
    await _link_widget(kefu, workspace, inbox)
    await _ready(kefu, workspace, "lina")
    visitor = await _visitor(client, workspace)
    started = await client.post("/api/v1/widget/calls", headers=visitor)
    assert started.status_code == 200, started.text
    call_id = started.json()["call"]["id"]
    await standin.settle()
    assert standin.delivered == [("room_started", 200)]
    hung = await client.post(f"/api/v1/widget/calls/{call_id}/hangup", headers=visitor)
    assert hung.status_code == 200, hung.text
    await standin.settle()
    assert standin.delivered == [("room_started", 200), ("room_finished", 200)]
    view = await get_view(kefu, workspace.workspace_id, uuid.UUID(call_id))
    assert view.status == "abandoned"  # the webhook after the hang-up changed nothing


async def test_sip_setup_makes_the_inbox_number_reach_kefu_once(
    client: httpx.AsyncClient,
    kefu: Kefu,
    workspace: Demo,
    livekit: tuple[LiveKitStandIn, str],
) -> None:
    standin, url = livekit
    inbox = await _voice_inbox(client, workspace, standin, url, caller_number="+861088880000")
    first = await sip_setup(kefu.settings, inbox)
    again = await sip_setup(kefu.settings, inbox)
    assert first == again  # found, not made twice
    (trunk,) = standin.trunks
    (rule,) = standin.rules
    assert list(trunk.numbers) == ["+861088880000"]
    assert first == (trunk.sip_trunk_id, rule.sip_dispatch_rule_id)
    assert list(rule.trunk_ids) == [trunk.sip_trunk_id]
    assert rule.rule.dispatch_rule_individual.room_prefix == "sip-"
    no_number = await _voice_inbox(client, workspace, standin, url)
    with pytest.raises(MediaUnavailable) as missing:
        await sip_setup(kefu.settings, no_number)
    assert "phone number first" in missing.value.reason
    with pytest.raises(LookupError):
        await sip_setup(kefu.settings, uuid.uuid4())
