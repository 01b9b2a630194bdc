"""Calls core (issue 18): every transition of a call through the service, with its
`call.*` event-log rows; ring timeout, rejection, wrap-up, an agent dropping, max wait,
the IVR, transfers; the race of two answers; the HTTP API (tenancy, bad input, audit)
and the widget's call button. The media server is the fake voice connector."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from kefu.calls import service
from kefu.calls.media import MediaEvent
from kefu.calls.tables import AgentPhone, Call
from kefu.context import Kefu
from kefu.db.tables import ConversationEventRow, GroupMember, Inbox
from kefu.demo import Demo
from kefu.errors import Conflict
from kefu.model import ChannelKind, ContactFacts, Identity, utcnow
from kefu.settings import Settings
from tests.conftest import login_headers, login_of, running_kefu
from tests.fake_voice import FakeVoice


@pytest.fixture
async def media(kefu: Kefu) -> FakeVoice:
    fake = FakeVoice()
    kefu.connectors.register(fake)
    return fake


async def _voice_inbox(kefu: Kefu, demo: Demo, config: dict[str, Any] | None = None) -> uuid.UUID:
    async with kefu.db.transaction() as session:
        inbox = Inbox(
            workspace_id=demo.workspace_id,
            kind=ChannelKind.voice,
            name="Hotline 热线",
            public_key=f"voice-{uuid.uuid4().hex[:8]}",
            config={"livekit_url": "wss://media.test", "wrap_up_s": 30, **(config or {})},
            secrets={},
            default_group_id=demo.groups["presales"],
        )
        session.add(inbox)
        await session.flush()
        # Both demo agents answer pre-sales calls.
        tom = _id(demo, "tom")
        session.add(
            GroupMember(
                group_id=demo.groups["presales"], user_id=tom, workspace_id=demo.workspace_id
            )
        )
        return inbox.id


@pytest.fixture
async def inbox(kefu: Kefu, workspace: Demo, media: FakeVoice) -> uuid.UUID:
    return await _voice_inbox(kefu, workspace)


def _id(demo: Demo, local: str) -> uuid.UUID:
    return next(login.id for login in demo.logins if login.email.startswith(local + "@"))


async def _ready(kefu: Kefu, demo: Demo, *names: str) -> None:
    for name in names:
        await service.set_phone_state(kefu, demo.workspace_id, _id(demo, name), "ready", None)


async def _dial(kefu: Kefu, inbox_id: uuid.UUID, number: str = "+8613800000001") -> uuid.UUID:
    started = await service.start_call(
        kefu,
        inbox_id,
        identity=Identity(kind="phone", value=number),
        contact=ContactFacts(name="张三", phone=number),
        source="sip",
        caller_identity=f"sip-{number}",
        caller_number=number,
        room=f"sip-room-{uuid.uuid4().hex[:8]}",
    )
    return started.call.id


async def _row(kefu: Kefu, call_id: uuid.UUID) -> Call:
    async with kefu.db.session() as session:
        call = await session.get(Call, call_id)
        assert call is not None
        return call


async def _phone(kefu: Kefu, user_id: uuid.UUID) -> AgentPhone:
    async with kefu.db.session() as session:
        phone = await session.get(AgentPhone, user_id)
        assert phone is not None
        return phone


async def _log(kefu: Kefu, call_id: uuid.UUID) -> list[str]:
    async with kefu.db.session() as session:
        rows = await session.scalars(
            sa.select(ConversationEventRow)
            .where(ConversationEventRow.type.like("call.%"))
            .order_by(ConversationEventRow.created_at, ConversationEventRow.id)
        )
        return [r.type for r in rows if r.data.get("call_id") == str(call_id)]


async def _phone_log(kefu: Kefu, user_id: uuid.UUID) -> list[str]:
    async with kefu.db.session() as session:
        rows = await session.scalars(
            sa.select(ConversationEventRow.type)
            .where(
                ConversationEventRow.actor_id == user_id,
                ConversationEventRow.type.in_(
                    ["call.agentlogin", "call.agentlogoff", "call.pause", "call.unpause"]
                ),
            )
            .order_by(ConversationEventRow.created_at, ConversationEventRow.id)
        )
        return list(rows)


def _later(seconds: int) -> Any:
    return utcnow() + timedelta(seconds=seconds)


# ---------------------------------------------------------------------------
# the queue and the agents


async def test_a_call_rings_a_ready_agent_who_answers(
    kefu: Kefu, workspace: Demo, inbox: uuid.UUID, media: FakeVoice
) -> None:
    lina = _id(workspace, "lina")
    await _ready(kefu, workspace, "lina")
    call_id = await _dial(kefu, inbox)
    call = await _row(kefu, call_id)
    assert call.status == "ringing" and call.ringing_agent_id == lina
    assert call.group_id == workspace.groups["presales"]
    joined = await service.answer(kefu, workspace.workspace_id, lina, call_id)
    assert joined.room == call.room and joined.livekit_url == "wss://media.test"
    assert {"room": call.room, "identity": f"agent-{lina}"} in media.tokens
    call = await _row(kefu, call_id)
    assert call.status == "connected" and call.agent_id == lina
    assert await _log(kefu, call_id) == ["call.enterqueue", "call.connect"]
    phone = await service.phone_of(kefu, lina)
    assert phone.state == "busy" and phone.call is not None and phone.call.id == call_id


async def test_a_call_waits_until_an_agent_is_ready(
    kefu: Kefu, workspace: Demo, inbox: uuid.UUID
) -> None:
    call_id = await _dial(kefu, inbox)
    assert (await _row(kefu, call_id)).status == "queued"
    await _ready(kefu, workspace, "tom")
    call = await _row(kefu, call_id)
    assert call.status == "ringing" and call.ringing_agent_id == _id(workspace, "tom")


async def test_phone_states_log_login_pause_unpause_logoff(kefu: Kefu, workspace: Demo) -> None:
    lina = _id(workspace, "lina")
    ws = workspace.workspace_id
    await service.set_phone_state(kefu, ws, lina, "ready", None)
    view = await service.set_phone_state(kefu, ws, lina, "not_ready", "lunch 午饭")
    assert view.state == "not_ready" and view.reason == "lunch 午饭"
    await service.set_phone_state(kefu, ws, lina, "ready", None)
    assert (await service.set_phone_state(kefu, ws, lina, "offline", None)).state == "offline"
    assert await _phone_log(kefu, lina) == [
        "call.agentlogin",
        "call.pause",
        "call.unpause",
        "call.agentlogoff",
    ]


async def test_ring_timeout_logs_ringnoanswer_and_rings_the_next_agent(
    kefu: Kefu, workspace: Demo, inbox: uuid.UUID
) -> None:
    await _ready(kefu, workspace, "lina", "tom")
    call_id = await _dial(kefu, inbox)
    first = (await _row(kefu, call_id)).ringing_agent_id
    assert first is not None
    await service.sweep_once(kefu, now=_later(21))
    call = await _row(kefu, call_id)
    assert call.status == "ringing"
    assert call.ringing_agent_id not in (None, first)
    assert (await _phone(kefu, first)).call_id is None
    assert await _log(kefu, call_id) == ["call.enterqueue", "call.ringnoanswer"]


async def test_a_rejected_call_rings_the_next_agent(
    kefu: Kefu, workspace: Demo, inbox: uuid.UUID
) -> None:
    await _ready(kefu, workspace, "lina", "tom")
    call_id = await _dial(kefu, inbox)
    first = (await _row(kefu, call_id)).ringing_agent_id
    assert first is not None
    await service.act(kefu, workspace.workspace_id, first, call_id, "reject")
    call = await _row(kefu, call_id)
    assert call.status == "ringing" and call.ringing_agent_id != first


async def test_only_the_rung_agent_may_answer(
    kefu: Kefu, workspace: Demo, inbox: uuid.UUID
) -> None:
    await _ready(kefu, workspace, "lina")
    call_id = await _dial(kefu, inbox)
    with pytest.raises(Conflict):
        await service.answer(kefu, workspace.workspace_id, _id(workspace, "tom"), call_id)
    assert (await _row(kefu, call_id)).status == "ringing"


async def test_an_agent_gets_one_call_at_a_time_whatever_the_chat_capacity(
    kefu: Kefu, workspace: Demo, inbox: uuid.UUID
) -> None:
    await _ready(kefu, workspace, "lina")
    first = await _dial(kefu, inbox, "+8613800000001")
    second = await _dial(kefu, inbox, "+8613800000002")
    assert (await _row(kefu, first)).status == "ringing"
    assert (await _row(kefu, second)).status == "queued"


async def test_hold_hangup_wrap_up_then_the_next_call(
    kefu: Kefu, workspace: Demo, inbox: uuid.UUID, media: FakeVoice
) -> None:
    lina = _id(workspace, "lina")
    ws = workspace.workspace_id
    await _ready(kefu, workspace, "lina")
    call_id = await _dial(kefu, inbox, "+8613800000001")
    await service.answer(kefu, ws, lina, call_id)
    assert (await service.act(kefu, ws, lina, call_id, "hold")).status == "held"
    assert (await service.act(kefu, ws, lina, call_id, "unhold")).status == "connected"
    view = await service.act(kefu, ws, lina, call_id, "hangup")
    assert view.status == "wrap_up" and view.hangup_cause == "agent_hangup"
    assert (await _row(kefu, call_id)).room in media.deleted
    assert (await service.phone_of(kefu, lina)).state == "wrap_up"
    # In wrap-up no call rings her.
    waiting = await _dial(kefu, inbox, "+8613800000002")
    assert (await _row(kefu, waiting)).status == "queued"
    await service.sweep_once(kefu, now=_later(31))
    assert (await _row(kefu, call_id)).status == "ended"
    assert (await _phone(kefu, lina)).state == "ready"
    assert (await _row(kefu, waiting)).ringing_agent_id == lina
    assert await _log(kefu, call_id) == [
        "call.enterqueue",
        "call.connect",
        "call.completeagent",
        "call.wrapup",
    ]


async def test_ending_wrap_up_early(kefu: Kefu, workspace: Demo, inbox: uuid.UUID) -> None:
    lina = _id(workspace, "lina")
    ws = workspace.workspace_id
    await _ready(kefu, workspace, "lina")
    call_id = await _dial(kefu, inbox)
    await service.answer(kefu, ws, lina, call_id)
    await service.act(kefu, ws, lina, call_id, "hangup")
    assert (await service.end_wrap_up(kefu, ws, lina)).state == "ready"
    assert (await _row(kefu, call_id)).status == "ended"
    with pytest.raises(Conflict):
        await service.end_wrap_up(kefu, ws, lina)


async def test_the_caller_hanging_up_while_waiting_is_an_abandon(
    kefu: Kefu, workspace: Demo, inbox: uuid.UUID
) -> None:
    call_id = await _dial(kefu, inbox)
    call = await _row(kefu, call_id)
    await service.handle_media_event(
        kefu,
        MediaEvent(
            kind="participant_left",
            event_id="e1",
            room=call.room,
            at=utcnow(),
            participant=call.caller_identity,
        ),
    )
    call = await _row(kefu, call_id)
    assert call.status == "abandoned" and call.ended_at is not None
    assert await _log(kefu, call_id) == ["call.enterqueue", "call.abandon"]


async def test_the_caller_hanging_up_mid_call_completes_it(
    kefu: Kefu, workspace: Demo, inbox: uuid.UUID
) -> None:
    lina = _id(workspace, "lina")
    await _ready(kefu, workspace, "lina")
    call_id = await _dial(kefu, inbox)
    await service.answer(kefu, workspace.workspace_id, lina, call_id)
    call = await _row(kefu, call_id)
    event = MediaEvent(
        kind="participant_left",
        event_id="e2",
        room=call.room,
        at=utcnow(),
        participant=call.caller_identity,
    )
    await service.handle_media_event(kefu, event)
    assert (await _row(kefu, call_id)).status == "wrap_up"
    assert (await _log(kefu, call_id))[-1] == "call.completecaller"


async def test_an_agent_who_drops_puts_the_call_back_at_the_front(
    kefu: Kefu, workspace: Demo, inbox: uuid.UUID
) -> None:
    lina, tom = _id(workspace, "lina"), _id(workspace, "tom")
    ws = workspace.workspace_id
    await _ready(kefu, workspace, "lina")
    call_id = await _dial(kefu, inbox, "+8613800000001")
    await service.answer(kefu, ws, lina, call_id)
    later = await _dial(kefu, inbox, "+8613800000002")
    call = await _row(kefu, call_id)
    await service.handle_media_event(
        kefu,
        MediaEvent(
            kind="participant_left",
            event_id="e3",
            room=call.room,
            at=utcnow(),
            participant=f"agent-{lina}",
        ),
    )
    call = await _row(kefu, call_id)
    assert call.status == "queued" and call.agent_id is None
    phone = await _phone(kefu, lina)
    assert phone.state == "not_ready" and phone.call_id is None
    # Tom comes: the dropped call, not the one that arrived later, rings him.
    await _ready(kefu, workspace, "tom")
    assert (await _row(kefu, call_id)).ringing_agent_id == tom
    assert (await _row(kefu, later)).status == "queued"


async def test_max_wait_goes_to_voicemail_and_the_message_is_stored(
    kefu: Kefu, workspace: Demo, inbox: uuid.UUID, media: FakeVoice
) -> None:
    call_id = await _dial(kefu, inbox)
    await service.sweep_once(kefu, now=_later(301))
    call = await _row(kefu, call_id)
    assert call.status == "voicemail" and call.voicemail_egress_id == "EG_0"
    assert media.recordings[0]["kind"] == "voicemail"
    assert media.recordings[0]["participant"] == call.caller_identity
    await service.handle_media_event(
        kefu,
        MediaEvent(
            kind="egress_ended",
            event_id="e4",
            room=call.room,
            at=utcnow(),
            egress_id="EG_0",
            file_location="https://files.test/vm.ogg",
            duration_s=12.4,
        ),
    )
    view = await service.get_view(kefu, workspace.workspace_id, call_id)
    assert view.voicemail_url == "https://files.test/vm.ogg" and view.duration_s == 12
    assert await _log(kefu, call_id) == [
        "call.enterqueue",
        "call.exitwithtimeout",
        "call.voicemail",
    ]


# ---------------------------------------------------------------------------
# the IVR

PROMPT = {"prompt_zh": "您好，售前请按1，售后请按2", "prompt_en": "Sales 1, service 2"}


def _tree(demo: Demo) -> dict[str, Any]:
    return {
        "menu": {
            "greeting": PROMPT,
            "timeout_s": 5,
            "max_retries": 1,
            "on_max_retries": {"kind": "voicemail"},
            "options": {
                "1": {
                    "kind": "route",
                    "group_id": str(demo.groups["presales"]),
                    "entry": "ivr:sales",
                },
                "2": {
                    "kind": "route",
                    "group_id": str(demo.groups["aftersales"]),
                    "entry": "ivr:service",
                },
            },
        }
    }


async def test_a_key_in_the_ivr_queues_the_call_for_its_group(
    kefu: Kefu, workspace: Demo, media: FakeVoice
) -> None:
    inbox_id = await _voice_inbox(kefu, workspace, {"ivr": _tree(workspace)})
    await _ready(kefu, workspace, "tom")
    started = await service.start_call(
        kefu,
        inbox_id,
        identity=Identity(kind="phone", value="+8613800000009"),
        source="widget",
        locale="en",
    )
    assert started.call.status == "ivr"
    assert started.prompt is not None and started.prompt.text == "Sales 1, service 2"
    assert started.joined is not None and started.joined.token.startswith("token:call-")
    view, _ = await service.press(kefu, started.call.id, "2")
    assert view.status == "ringing" and view.ivr_path == ["2"]
    assert view.group_id == workspace.groups["aftersales"]
    assert view.ringing_agent_ids == [_id(workspace, "tom")]


async def test_silence_in_the_ivr_runs_out_to_voicemail(
    kefu: Kefu, workspace: Demo, media: FakeVoice
) -> None:
    inbox_id = await _voice_inbox(kefu, workspace, {"ivr": _tree(workspace)})
    call_id = await _dial(kefu, inbox_id)
    await service.sweep_once(kefu, now=_later(6))  # one retry
    assert (await _row(kefu, call_id)).status == "ivr"
    await service.sweep_once(kefu, now=_later(12))  # past max_retries
    assert (await _row(kefu, call_id)).status == "voicemail"


async def test_a_bad_key_is_a_retry_with_the_invalid_prompt(
    kefu: Kefu, workspace: Demo, media: FakeVoice
) -> None:
    inbox_id = await _voice_inbox(kefu, workspace, {"ivr": _tree(workspace)})
    call_id = await _dial(kefu, inbox_id)
    view, prompt = await service.press(kefu, call_id, "9")
    assert view.status == "ivr" and prompt is not None
    assert prompt.text.startswith("抱歉")


# ---------------------------------------------------------------------------
# transfers


async def test_a_blind_transfer_to_an_agent_rings_them_and_wraps_the_first_up(
    kefu: Kefu, workspace: Demo, inbox: uuid.UUID, media: FakeVoice
) -> None:
    lina, tom = _id(workspace, "lina"), _id(workspace, "tom")
    ws = workspace.workspace_id
    await _ready(kefu, workspace, "lina")
    call_id = await _dial(kefu, inbox)
    await service.answer(kefu, ws, lina, call_id)
    with pytest.raises(Conflict):  # Tom's phone is off
        await service.transfer(
            kefu, ws, lina, call_id, agent_id=tom, group_id=None, number=None, attended=False
        )
    await _ready(kefu, workspace, "tom")
    view = await service.transfer(
        kefu, ws, lina, call_id, agent_id=tom, group_id=None, number=None, attended=False
    )
    assert view.status == "ringing" and view.ringing_agent_ids == [tom]
    assert (await _phone(kefu, lina)).state == "wrap_up"
    await service.answer(kefu, ws, tom, call_id)
    assert (await _row(kefu, call_id)).agent_id == tom
    assert "call.transfer" in await _log(kefu, call_id)


async def test_an_attended_transfer_consults_then_completes(
    kefu: Kefu, workspace: Demo, inbox: uuid.UUID
) -> None:
    lina, tom = _id(workspace, "lina"), _id(workspace, "tom")
    ws = workspace.workspace_id
    await _ready(kefu, workspace, "lina")
    call_id = await _dial(kefu, inbox)
    await service.answer(kefu, ws, lina, call_id)
    await _ready(kefu, workspace, "tom")
    view = await service.transfer(
        kefu, ws, lina, call_id, agent_id=tom, group_id=None, number=None, attended=True
    )
    assert view.status == "held" and view.consult_agent_id == tom
    cancelled = await service.cancel_transfer(kefu, ws, lina, call_id)
    assert cancelled.status == "connected" and (await _phone(kefu, tom)).call_id is None
    await service.transfer(
        kefu, ws, lina, call_id, agent_id=tom, group_id=None, number=None, attended=True
    )
    done = await service.complete_transfer(kefu, ws, lina, call_id)
    assert done.status == "connected" and done.agent_id == tom
    assert "call.attendedtransfer" in await _log(kefu, call_id)


async def test_a_transfer_to_a_number_dials_it_and_the_call_leaves(
    kefu: Kefu, workspace: Demo, inbox: uuid.UUID, media: FakeVoice
) -> None:
    lina = _id(workspace, "lina")
    ws = workspace.workspace_id
    await _ready(kefu, workspace, "lina")
    call_id = await _dial(kefu, inbox)
    await service.answer(kefu, ws, lina, call_id)
    view = await service.transfer(
        kefu, ws, lina, call_id, agent_id=None, group_id=None, number="+8610123456", attended=False
    )
    assert view.status == "ended" and view.hangup_cause == "transferred_external"
    assert media.dialled == [(view.room, "+8610123456")]


# ---------------------------------------------------------------------------
# exactly one of two answers wins, across processes


@pytest.mark.engine_sensitive
async def test_two_answers_at_once_connect_exactly_one_agent(
    kefu: Kefu, workspace: Demo, settings: Settings, media: FakeVoice
) -> None:
    inbox_id = await _voice_inbox(kefu, workspace, {"ring_strategy": "all"})
    lina, tom = _id(workspace, "lina"), _id(workspace, "tom")
    await _ready(kefu, workspace, "lina", "tom")
    call_id = await _dial(kefu, inbox_id)
    assert sorted(
        (await service.get_view(kefu, workspace.workspace_id, call_id)).ringing_agent_ids
    ) == sorted([lina, tom])
    # A second process: its own engine and pool on the same database.
    async with running_kefu(settings) as other:
        other.connectors.register(media)
        results = await asyncio.gather(
            service.answer(kefu, workspace.workspace_id, lina, call_id),
            service.answer(other, workspace.workspace_id, tom, call_id),
            return_exceptions=True,
        )
    won = [r for r in results if not isinstance(r, BaseException)]
    lost = [r for r in results if isinstance(r, BaseException)]
    assert len(won) == 1 and len(lost) == 1 and isinstance(lost[0], Conflict), results
    call = await _row(kefu, call_id)
    assert call.status == "connected" and call.agent_id in (lina, tom)
    loser = tom if call.agent_id == lina else lina
    assert (await _phone(kefu, loser)).call_id is None
    assert (await _log(kefu, call_id)).count("call.connect") == 1


# ---------------------------------------------------------------------------
# HTTP


@pytest.fixture
async def staff(client: httpx.AsyncClient, workspace: Demo) -> dict[str, dict[str, str]]:
    return {
        name: await login_headers(client, login_of(workspace, name))
        for name in ("lina", "tom", "supervisor")
    }


async def test_the_softphone_over_http(
    client: httpx.AsyncClient,
    kefu: Kefu,
    workspace: Demo,
    inbox: uuid.UUID,
    staff: dict[str, dict[str, str]],
) -> None:
    lina = staff["lina"]
    assert (await client.get("/api/v1/phone/me", headers=lina)).json()["state"] == "offline"
    response = await client.put("/api/v1/phone/state", json={"state": "ready"}, headers=lina)
    assert response.status_code == 200 and response.json()["state"] == "ready"
    call_id = await _dial(kefu, inbox)
    listed = (await client.get("/api/v1/calls?status=ringing", headers=lina)).json()["items"]
    assert [c["id"] for c in listed] == [str(call_id)]
    assert listed[0]["contact"]["name"] == "张三"
    answered = await client.post(f"/api/v1/calls/{call_id}/answer", headers=lina)
    assert answered.status_code == 200 and set(answered.json()) == {"livekit_url", "token", "room"}
    again = await client.post(f"/api/v1/calls/{call_id}/answer", headers=staff["tom"])
    assert again.status_code == 409
    note = await client.post(
        f"/api/v1/calls/{call_id}/notes", json={"body": "客户要退货"}, headers=lina
    )
    assert note.status_code == 201 and note.json()["direction"] == "note"
    detail = (await client.get(f"/api/v1/calls/{call_id}", headers=lina)).json()
    assert detail["status"] == "connected" and detail["agent_id"] == login_id(workspace, "lina")
    board = (await client.get("/api/v1/reports/board", headers=staff["supervisor"])).json()
    assert board["calls"]["talking"] == 1
    hung = await client.post(f"/api/v1/calls/{call_id}/hangup", headers=lina)
    assert hung.json()["status"] == "wrap_up"
    ended = await client.post(f"/api/v1/calls/{call_id}/wrap-up/end", headers=lina)
    assert ended.json()["state"] == "ready"


def login_id(demo: Demo, local: str) -> str:
    return str(_id(demo, local))


@pytest.mark.engine_sensitive
async def test_bad_input_is_a_4xx_and_changes_nothing(
    client: httpx.AsyncClient,
    kefu: Kefu,
    workspace: Demo,
    inbox: uuid.UUID,
    staff: dict[str, dict[str, str]],
) -> None:
    lina = staff["lina"]
    await client.put("/api/v1/phone/state", json={"state": "ready"}, headers=lina)
    call_id = await _dial(kefu, inbox)
    await client.post(f"/api/v1/calls/{call_id}/answer", headers=lina)
    bad = [
        ("PUT", "/api/v1/phone/state", {"state": "busy"}),
        ("PUT", "/api/v1/phone/state", {"state": "not_ready", "reason": "a\x00b"}),
        ("PUT", "/api/v1/phone/state", {"state": "not_ready", "reason": "x" * 201}),
        ("POST", f"/api/v1/calls/{call_id}/dtmf", {"digit": "12"}),
        ("POST", f"/api/v1/calls/{call_id}/transfer", {"number": "call me"}),
        ("POST", f"/api/v1/calls/{call_id}/transfer", {}),
        (
            "POST",
            f"/api/v1/calls/{call_id}/transfer",
            {"agent_id": login_id(workspace, "tom"), "number": "+861012345"},
        ),
        ("POST", f"/api/v1/calls/{call_id}/transfer", {"group_id": str(uuid.uuid4())}),
        ("POST", f"/api/v1/calls/{call_id}/notes", {"body": ""}),
        ("POST", f"/api/v1/calls/{call_id}/unhold", None),
    ]
    for method, url, body in bad:
        response = await client.request(method, url, json=body, headers=lina)
        assert 400 <= response.status_code < 500, (url, body, response.status_code, response.text)
    assert (await client.get("/api/v1/calls?status=nope", headers=lina)).status_code == 400
    call = await _row(kefu, call_id)
    assert call.status == "connected" and call.agent_id == _id(workspace, "lina")
    assert (await _phone(kefu, _id(workspace, "lina"))).state == "ready"


async def test_another_workspace_cannot_see_or_touch_a_call(
    client: httpx.AsyncClient,
    kefu: Kefu,
    workspace: Demo,
    other_workspace: Demo,
    inbox: uuid.UUID,
) -> None:
    call_id = await _dial(kefu, inbox)
    outsider = await login_headers(client, login_of(other_workspace, "lina"))
    assert (await client.get(f"/api/v1/calls/{call_id}", headers=outsider)).status_code == 404
    assert (await client.get("/api/v1/calls", headers=outsider)).json()["items"] == []
    for action in ("answer", "hangup", "hold", "reject"):
        response = await client.post(f"/api/v1/calls/{call_id}/{action}", headers=outsider)
        assert response.status_code == 404, action
    assert (await _row(kefu, call_id)).status == "queued"


async def test_transfers_are_audited(
    client: httpx.AsyncClient,
    kefu: Kefu,
    workspace: Demo,
    inbox: uuid.UUID,
    staff: dict[str, dict[str, str]],
) -> None:
    lina = staff["lina"]
    await client.put("/api/v1/phone/state", json={"state": "ready"}, headers=lina)
    call_id = await _dial(kefu, inbox)
    await client.post(f"/api/v1/calls/{call_id}/answer", headers=lina)
    response = await client.post(
        f"/api/v1/calls/{call_id}/transfer",
        json={"group_id": str(workspace.groups["aftersales"])},
        headers=lina,
    )
    assert response.status_code == 200 and response.json()["status"] == "queued"
    audit = await client.get(
        "/api/v1/audit?action=call.transfer",
        headers=await login_headers(client, login_of(workspace, "admin")),
    )
    assert audit.status_code == 200, audit.text
    entries = audit.json()["items"]
    assert [e["object_id"] for e in entries] == [str(call_id)]


# ---------------------------------------------------------------------------
# the widget's call button


async def _visitor(client: httpx.AsyncClient, demo: Demo) -> dict[str, str]:
    response = await client.post("/api/v1/widget/sessions", json={"inbox": demo.widget_key})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


async def _link_widget(kefu: Kefu, demo: Demo, voice_inbox: uuid.UUID) -> None:
    async with kefu.db.transaction() as session:
        widget = await session.get(Inbox, demo.inbox_id)
        assert widget is not None
        widget.config = {**widget.config, "voice_inbox_id": str(voice_inbox)}


async def test_the_widget_call_button(
    client: httpx.AsyncClient, kefu: Kefu, workspace: Demo, inbox: uuid.UUID, media: FakeVoice
) -> None:
    visitor = await _visitor(client, workspace)
    off = await client.post("/api/v1/widget/calls", headers=visitor)
    assert off.status_code == 503 and off.json()["reason"] == "voice_off"
    await _link_widget(kefu, workspace, inbox)
    nobody = await client.post("/api/v1/widget/calls", headers=visitor)
    assert nobody.status_code == 503 and nobody.json()["reason"] == "nobody_available"
    await _ready(kefu, workspace, "lina")
    media.down = True
    down = await client.post("/api/v1/widget/calls", headers=visitor)
    assert down.status_code == 503 and down.json()["reason"] == "media_unavailable"
    async with kefu.db.session() as session:
        assert await session.scalar(sa.select(sa.func.count()).select_from(Call)) == 0
    media.down = False
    started = await client.post("/api/v1/widget/calls", headers=visitor)
    assert started.status_code == 200, started.text
    body = started.json()
    assert body["livekit_url"] == "wss://media.test" and body["token"].startswith("token:call-")
    assert body["call"]["status"] == "ringing"
    call_id = body["call"]["id"]
    stranger = await _visitor(client, workspace)
    assert (
        await client.post(f"/api/v1/widget/calls/{call_id}/hangup", headers=stranger)
    ).status_code == 404
    bad = await client.post(
        f"/api/v1/widget/calls/{call_id}/dtmf", json={"digit": "A"}, headers=visitor
    )
    assert bad.status_code == 400
    hung = await client.post(f"/api/v1/widget/calls/{call_id}/hangup", headers=visitor)
    assert hung.status_code == 200 and hung.json()["call"]["status"] == "abandoned"
    assert (await _phone(kefu, _id(workspace, "lina"))).call_id is None


async def test_call_ringing_reaches_the_rung_agent_socket_scope(
    kefu: Kefu, workspace: Demo, inbox: uuid.UUID
) -> None:
    received: list[bytes] = []
    async with kefu.events.plugin.start_subscription(
        [f"workspace:{workspace.workspace_id}"]
    ) as sub:
        await _ready(kefu, workspace, "lina")
        await _dial(kefu, inbox)

        async def first_ringing() -> None:
            async for raw in sub.iter_events():
                received.append(raw)
                if b'"call.ringing"' in raw:
                    return

        await asyncio.wait_for(first_ringing(), timeout=10)
    import msgspec

    event = msgspec.json.decode(received[-1])
    assert event["type"] == "call" and event["kind"] == "call.ringing"
    assert event["agent_ids"] == [str(_id(workspace, "lina"))]
    assert event["call"]["status"] == "ringing"


_unused: AsyncIterator[None] | None = None


async def test_agent_sockets_hear_only_the_calls_that_concern_them(
    kefu: Kefu, workspace: Demo
) -> None:
    from kefu.model import Role
    from kefu.people.auth import AuthUser
    from kefu.realtime.ws import _Scope

    def user(local: str, role: Role) -> AuthUser:
        return AuthUser(
            id=_id(workspace, local),
            workspace_id=workspace.workspace_id,
            role=role,
            name=local,
            email=login_of(workspace, local),
            session_id=uuid.uuid4(),
        )

    event = {"type": "call", "kind": "call.ringing", "agent_ids": [login_id(workspace, "lina")]}
    assert await _Scope(kefu, user("lina", Role.agent)).allows(event)
    assert not await _Scope(kefu, user("tom", Role.agent)).allows(event)
    assert await _Scope(kefu, user("supervisor", Role.supervisor)).allows(event)


async def test_the_webhook_finds_the_inbox_of_a_room(
    kefu: Kefu, workspace: Demo, inbox: uuid.UUID
) -> None:
    call_id = await _dial(kefu, inbox)
    assert await service.inbox_of_room(kefu, (await _row(kefu, call_id)).room) == inbox
    assert await service.inbox_of_room(kefu, "call-unknown") is None


@pytest.mark.engine_sensitive
async def test_two_processes_serving_the_queue_never_ring_an_agent_twice(
    kefu: Kefu, workspace: Demo, inbox: uuid.UUID, settings: Settings, media: FakeVoice
) -> None:
    calls = [await _dial(kefu, inbox, f"+86138000000{n:02d}") for n in range(6)]
    before = {c: (await _row(kefu, c)).version for c in calls}
    async with kefu.db.transaction() as session:
        for name in ("lina", "tom"):
            session.add(
                AgentPhone(
                    user_id=_id(workspace, name),
                    workspace_id=workspace.workspace_id,
                    state="ready",
                    since=utcnow(),
                )
            )
    async with running_kefu(settings) as other:
        other.connectors.register(media)
        rang = await asyncio.gather(
            service.serve(kefu, workspace.workspace_id),
            service.serve(other, workspace.workspace_id),
        )
    assert sum(rang) == 2
    rows = [await _row(kefu, c) for c in calls]
    ringing = [r.ringing_agent_id for r in rows if r.status == "ringing"]
    assert sorted(ringing) == sorted([_id(workspace, "lina"), _id(workspace, "tom")])
    # Offering a call bumps its version, so an answer or timer that read it before fails.
    assert all(r.version == before[r.id] + 1 for r in rows if r.status == "ringing")


async def test_an_admin_gives_the_widget_its_voice_inbox_and_only_a_voice_inbox(
    client: httpx.AsyncClient,
    kefu: Kefu,
    workspace: Demo,
    other_workspace: Demo,
    inbox: uuid.UUID,
    media: FakeVoice,
) -> None:
    admin = await login_headers(client, login_of(workspace, "admin"))
    url = f"/api/v1/inboxes/{workspace.inbox_id}"
    current = (await client.get(url, headers=admin)).json()["config"]
    foreign = await _voice_inbox(kefu, other_workspace)
    for wrong in (str(workspace.inbox_id), str(foreign), str(uuid.uuid4())):
        refused = await client.patch(
            url,
            json={"config": {**current, "voice_inbox_id": wrong}},
            headers={**admin, "Accept-Language": "zh-CN"},
        )
        assert refused.status_code == 422, refused.text
        (error,) = refused.json()["errors"]
        assert error["field"] == "config.voice_inbox_id"
        assert "本工作区没有该语音收件箱" in error["message"]
    saved = await client.patch(
        url, json={"config": {**current, "voice_inbox_id": str(inbox)}}, headers=admin
    )
    assert saved.status_code == 200, saved.text
    assert saved.json()["config"]["voice_inbox_id"] == str(inbox)
    # The setting is what the widget reads: a visitor now gets the call button's answer.
    await _ready(kefu, workspace, "lina")
    started = await client.post("/api/v1/widget/calls", headers=await _visitor(client, workspace))
    assert started.status_code == 200, started.text


# ---------------------------------------------------------------------------
# place in the queue and estimated wait (kefu.calls.waiting)


async def _in_wrap_up(kefu: Kefu, demo: Demo, *names: str) -> None:
    """Phones on but not taking a call now: they count as agents, nothing rings."""
    async with kefu.db.transaction() as session:
        for name in names:
            session.add(
                AgentPhone(
                    user_id=_id(demo, name),
                    workspace_id=demo.workspace_id,
                    state="wrap_up",
                    wrap_until=_later(3600),
                )
            )


async def test_a_queued_call_carries_its_position_and_estimated_wait(
    client: httpx.AsyncClient, kefu: Kefu, workspace: Demo, inbox: uuid.UUID
) -> None:
    first, second, third = [await _dial(kefu, inbox, f"+86138000000{n:02d}") for n in (1, 2, 3)]
    views = [
        await service.get_view(kefu, workspace.workspace_id, c) for c in (first, second, third)
    ]
    # No answered call yet: 60 s a place, one agent assumed.
    assert [(v.position, v.estimated_wait_s) for v in views] == [(1, 60), (2, 120), (3, 180)]
    # Two agents on the phone, and the group's answered calls of the last day waited
    # 90 s on average (one answered two days ago does not count).
    await _in_wrap_up(kefu, workspace, "lina", "tom")
    old = [await _dial(kefu, inbox, f"+86139000000{n:02d}") for n in (1, 2)]
    async with kefu.db.transaction() as session:
        for call_id, wait, ago in ((first, 80, 0), (old[0], 100, 0), (old[1], 5000, 2)):
            row = await session.get(Call, call_id)
            assert row is not None
            row.status, row.wait_s = "ended", wait
            row.answered_at = utcnow() - timedelta(days=ago)
    view = await service.get_view(kefu, workspace.workspace_id, second)
    assert (view.position, view.estimated_wait_s) == (1, 45)  # ceil(1 × 90 / 2)
    view = await service.get_view(kefu, workspace.workspace_id, third)
    assert (view.position, view.estimated_wait_s) == (2, 90)
    # A front-of-queue call (an agent dropped it) is ahead of everyone.
    async with kefu.db.transaction() as session:
        row = await session.get(Call, third)
        assert row is not None
        row.priority = service.FRONT
    assert (await service.get_view(kefu, workspace.workspace_id, second)).position == 2
    # Off the queue: no position.
    ended = await service.get_view(kefu, workspace.workspace_id, first)
    assert ended.position is None and ended.estimated_wait_s is None
    listed = (
        await client.get(
            "/api/v1/calls?status=queued",
            headers=await login_headers(client, login_of(workspace, "supervisor")),
        )
    ).json()["items"]
    assert {(c["id"], c["position"]) for c in listed} == {(str(third), 1), (str(second), 2)}


async def test_the_widget_reads_its_place_in_the_queue(
    client: httpx.AsyncClient, kefu: Kefu, workspace: Demo, inbox: uuid.UUID
) -> None:
    await _link_widget(kefu, workspace, inbox)
    await _in_wrap_up(kefu, workspace, "lina")  # signed in, not free: the call waits
    await _dial(kefu, inbox)
    visitor = await _visitor(client, workspace)
    started = await client.post("/api/v1/widget/calls", headers=visitor)
    assert started.status_code == 200, started.text
    call = started.json()["call"]
    assert call["status"] == "queued" and call["position"] == 2
    read = await client.get(f"/api/v1/widget/calls/{call['id']}", headers=visitor)
    assert read.status_code == 200
    assert read.json()["call"]["position"] == 2 and read.json()["call"]["estimated_wait_s"] == 120
    stranger = await _visitor(client, workspace)
    assert (
        await client.get(f"/api/v1/widget/calls/{call['id']}", headers=stranger)
    ).status_code == 404


# ---------------------------------------------------------------------------
# supervisors listen in


async def test_a_supervisor_listens_in_unheard_and_audited(
    client: httpx.AsyncClient,
    kefu: Kefu,
    workspace: Demo,
    inbox: uuid.UUID,
    media: FakeVoice,
    staff: dict[str, dict[str, str]],
) -> None:
    await _ready(kefu, workspace, "lina")
    call_id = await _dial(kefu, inbox)
    early = await client.post(f"/api/v1/calls/{call_id}/listen", headers=staff["supervisor"])
    assert early.status_code == 409  # ringing: nothing to listen to yet
    await service.answer(kefu, workspace.workspace_id, _id(workspace, "lina"), call_id)
    agent = await client.post(f"/api/v1/calls/{call_id}/listen", headers=staff["tom"])
    assert agent.status_code == 403
    heard = await client.post(f"/api/v1/calls/{call_id}/listen", headers=staff["supervisor"])
    assert heard.status_code == 200, heard.text
    row = await _row(kefu, call_id)
    supervisor = _id(workspace, "supervisor")
    assert heard.json()["room"] == row.room
    assert media.listen_only == [f"listener-{supervisor}"]
    assert {"room": row.room, "identity": f"listener-{supervisor}"} in media.tokens
    # The listener leaving the room changes nothing about the call.
    await service.handle_media_event(
        kefu,
        MediaEvent(
            kind="participant_left",
            event_id="ev-listener",
            room=row.room,
            at=utcnow(),
            participant=f"listener-{supervisor}",
        ),
    )
    assert (await _row(kefu, call_id)).status == "connected"
    other = await client.post(f"/api/v1/calls/{uuid.uuid4()}/listen", headers=staff["supervisor"])
    assert other.status_code == 404
    audit = await client.get(
        "/api/v1/audit?action=call.listen",
        headers=await login_headers(client, login_of(workspace, "admin")),
    )
    assert [e["object_id"] for e in audit.json()["items"]] == [str(call_id)]
