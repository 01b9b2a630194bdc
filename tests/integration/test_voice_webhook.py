"""LiveKit's webhook at /connectors/livekit/webhook: signed by the stand-in exactly as
LiveKit signs (bare JWT, sha256 of the raw body), verified with livekit-api's
WebhookReceiver against the voice inbox whose API key issued it, parsed into MediaEvents
and handed to core once. Core is a fake here that speaks only kefu.calls.media."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from livekit import api

from kefu.calls.media import MediaEvent
from kefu.connectors.voice.connector import VoiceConnector
from kefu.connectors.voice.standin import LiveKitStandIn
from kefu.connectors.voice.webhook import dtmf_event, to_media_event
from kefu.context import Kefu
from kefu.demo import Demo
from kefu.errors import Conflict
from tests.conftest import login_headers, login_of

URL = "/connectors/livekit/webhook"
ROOM = "call-0196f0c2-0000-7000-8000-000000000002"


class FakeCore:
    def __init__(self) -> None:
        self.events: list[MediaEvent] = []
        self.fail_next = False

    async def __call__(self, kefu: Kefu, event: MediaEvent) -> None:
        if self.fail_next:
            self.fail_next = False
            raise Conflict("the call row is locked; try again")
        self.events.append(event)


@pytest.fixture
def standin() -> LiveKitStandIn:
    return LiveKitStandIn()


@pytest.fixture
async def core(kefu: Kefu) -> FakeCore:
    fake = FakeCore()
    connector = kefu.connectors.find("voice")
    assert isinstance(connector, VoiceConnector)
    connector.on_media_event = fake
    return fake


async def _voice_inbox(
    client: httpx.AsyncClient, workspace: Demo, standin: LiveKitStandIn, **config: Any
) -> str:
    admin = await login_headers(client, login_of(workspace, "admin"))
    response = await client.post(
        "/api/v1/inboxes",
        json={
            "kind": "voice",
            "name": "客服热线",
            "config": {
                "livekit_url": "wss://livekit.example.com",
                "api_key": standin.api_key,
                "api_secret": standin.api_secret,
                **config,
            },
        },
        headers=admin,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


@pytest.fixture
async def inbox_id(client: httpx.AsyncClient, workspace: Demo, standin: LiveKitStandIn) -> str:
    return await _voice_inbox(client, workspace, standin)


async def test_room_participant_and_egress_events_reach_core(
    client: httpx.AsyncClient, standin: LiveKitStandIn, core: FakeCore, inbox_id: str
) -> None:
    standin.join(ROOM, "caller-1")
    caller = standin.participants[ROOM]["caller-1"]
    egress = api.EgressInfo(
        egress_id="EG_1", room_name=ROOM, status=api.EGRESS_ACTIVE, started_at=1
    )
    standin.egresses["EG_1"] = egress
    sent = [
        standin.webhook("room_started", room=ROOM),
        standin.webhook("participant_joined", room=ROOM, participant=caller),
        standin.webhook("egress_started", room=ROOM, egress=egress),
    ]
    egress.file_results.append(
        api.FileInfo(location="/recordings/x-call.ogg", duration=61_500_000_000)
    )
    egress.status = api.EGRESS_COMPLETE
    sent.append(standin.webhook("egress_ended", room=ROOM, egress=egress))
    sent.append(standin.webhook("participant_left", room=ROOM, participant=caller))
    sent.append(standin.webhook("room_finished", room=ROOM))
    for body, headers in sent:
        response = await client.post(URL, content=body, headers=headers)
        assert response.status_code == 200, response.text
        assert response.json()["handled"] is True
    kinds = [(e.kind, e.room, e.participant) for e in core.events]
    assert kinds == [
        ("room_started", ROOM, None),
        ("participant_joined", ROOM, "caller-1"),
        ("egress_started", ROOM, None),
        ("egress_ended", ROOM, None),
        ("participant_left", ROOM, "caller-1"),
        ("room_finished", ROOM, None),
    ]
    ended = core.events[3]
    assert (ended.egress_id, ended.file_location, ended.duration_s, ended.error) == (
        "EG_1",
        "/recordings/x-call.ogg",
        61.5,
        None,
    )
    assert all(e.at.tzinfo is not None for e in core.events)
    assert len({e.event_id for e in core.events}) == 6


@pytest.mark.engine_sensitive
async def test_a_replayed_webhook_is_refused_and_handed_over_once(
    client: httpx.AsyncClient, standin: LiveKitStandIn, core: FakeCore, inbox_id: str
) -> None:
    body, headers = standin.webhook("room_started", room=ROOM)
    first = await client.post(URL, content=body, headers=headers)
    assert first.status_code == 200, first.text
    again = await client.post(URL, content=body, headers=headers)
    assert again.status_code == 401
    assert "already received" in again.json()["detail"]
    resigned = await client.post(URL, content=body, headers=standin.sign(body))
    assert resigned.status_code == 401  # a fresh signature does not make it a new event
    assert len(core.events) == 1


@pytest.mark.engine_sensitive
async def test_forged_webhooks_are_refused_and_change_nothing(
    client: httpx.AsyncClient, standin: LiveKitStandIn, core: FakeCore, inbox_id: str
) -> None:
    body, headers = standin.webhook("room_started", room=ROOM, event_id="EV_forged")
    wrong_secret = standin.sign(body, secret="someone-elses-secret-0123456789abcdef")
    unknown_key = standin.sign(body, api_key="APInobody", secret="x" * 40)
    expired = standin.sign(body, ttl=timedelta(minutes=-5))
    tampered = body.replace(ROOM.encode(), b"call-somewhere-else")
    attempts = [
        (body, {}),
        (body, {"Authorization": "not a token"}),
        (body, wrong_secret),
        (body, unknown_key),
        (body, expired),
        (tampered, headers),
    ]
    reasons = []
    for content, sent_headers in attempts:
        response = await client.post(URL, content=content, headers=sent_headers)
        assert response.status_code == 401, (sent_headers, response.text)
        reasons.append(response.json()["detail"])
    assert "Authorization is missing" in reasons[0]
    assert "not a LiveKit webhook token" in reasons[1]
    assert "no voice inbox with API key" in reasons[2]
    assert "APInobody" in reasons[3]
    assert "expired" in reasons[4]
    assert "sha256" in reasons[5]
    odd_key = standin.sign(body, api_key="APInobody\u0000<script>", secret="x" * 40)
    refused = await client.post(URL, content=body, headers=odd_key)
    assert refused.status_code == 401
    assert refused.json()["detail"] == "the webhook token names no API key"
    huge = await client.post(URL, content=b"{" + b" " * 300_000 + b"}", headers=headers)
    assert huge.status_code == 413
    assert core.events == []
    # Nothing was remembered: the genuine delivery of the same event id is still taken.
    genuine = await client.post(URL, content=body, headers=headers)
    assert genuine.status_code == 200, genuine.text
    assert [e.event_id for e in core.events] == ["EV_forged"]


async def test_the_refusal_is_said_in_chinese_too(
    client: httpx.AsyncClient, standin: LiveKitStandIn, core: FakeCore, inbox_id: str
) -> None:
    body, _ = standin.webhook("room_started", room=ROOM)
    response = await client.post(URL, content=body, headers={"Accept-Language": "zh-CN"})
    assert response.status_code == 401
    assert "缺少 Authorization" in response.json()["detail"]


async def test_a_failure_in_core_lets_livekits_retry_through(
    client: httpx.AsyncClient, standin: LiveKitStandIn, core: FakeCore, inbox_id: str
) -> None:
    body, headers = standin.webhook("room_finished", room=ROOM)
    core.fail_next = True
    failed = await client.post(URL, content=body, headers=headers)
    assert failed.status_code == 409
    retried = await client.post(URL, content=body, headers=headers)
    assert retried.status_code == 200, retried.text
    assert [e.kind for e in core.events] == ["room_finished"]


async def test_events_no_call_needs_are_answered_and_not_handed_over(
    client: httpx.AsyncClient, standin: LiveKitStandIn, core: FakeCore, inbox_id: str
) -> None:
    body, headers = standin.webhook("track_published", room=ROOM)
    response = await client.post(URL, content=body, headers=headers)
    assert response.status_code == 200
    assert response.json() == {"ok": True, "event": "track_published", "handled": False}
    assert core.events == []


async def test_two_inboxes_on_one_livekit_server_share_the_webhook(
    client: httpx.AsyncClient,
    workspace: Demo,
    standin: LiveKitStandIn,
    core: FakeCore,
    inbox_id: str,
) -> None:
    other = LiveKitStandIn(api_key="APIother", api_secret="other-secret-" + "y" * 30)
    await _voice_inbox(client, workspace, other)
    for signer in (standin, other):
        body, headers = signer.webhook("room_started", room=ROOM)
        response = await client.post(URL, content=body, headers=headers)
        assert response.status_code == 200, response.text
    assert len(core.events) == 2


async def test_a_disabled_inbox_no_longer_verifies_webhooks(
    client: httpx.AsyncClient,
    workspace: Demo,
    standin: LiveKitStandIn,
    core: FakeCore,
    inbox_id: str,
) -> None:
    admin = await login_headers(client, login_of(workspace, "admin"))
    patched = await client.patch(
        f"/api/v1/inboxes/{inbox_id}", json={"active": False}, headers=admin
    )
    assert patched.status_code == 200, patched.text
    body, headers = standin.webhook("room_started", room=ROOM)
    response = await client.post(URL, content=body, headers=headers)
    assert response.status_code == 401
    assert core.events == []


async def test_a_bad_voice_config_is_refused_with_the_field(
    client: httpx.AsyncClient, workspace: Demo, standin: LiveKitStandIn
) -> None:
    admin = await login_headers(client, login_of(workspace, "admin"))
    response = await client.post(
        "/api/v1/inboxes",
        json={
            "kind": "voice",
            "name": "热线",
            "config": {
                "livekit_url": "https://not-a-websocket",
                "api_key": standin.api_key,
                "api_secret": "short",
                "ring_timeout_s": 1,
                "ivr": {"menu": {"greeting": "no"}},
            },
        },
        headers=admin,
    )
    assert response.status_code == 422, response.text
    fields = {e["field"] for e in response.json()["errors"]}
    assert {
        "config.livekit_url",
        "config.api_secret",
        "config.ring_timeout_s",
        "config.ivr",
    } <= fields


async def test_a_finished_recording_is_played_to_the_inboxs_staff_only(
    client: httpx.AsyncClient,
    kefu: Kefu,
    workspace: Demo,
    other_workspace: Demo,
    standin: LiveKitStandIn,
    core: FakeCore,
    inbox_id: str,
) -> None:
    # The egress server writes into the inbox's folder of its recording path, which is
    # kefu's media_dir/voice on a shared disk.
    name = "0196f0c2-call-20261203T090000Z.ogg"
    folder = Path(kefu.settings.media_dir) / "voice" / inbox_id
    folder.mkdir(parents=True)
    (folder / name).write_bytes(b"OggS" + bytes(60))
    egress = api.EgressInfo(egress_id="EG_7", room_name=ROOM, status=api.EGRESS_COMPLETE)
    egress.file_results.append(
        api.FileInfo(location=f"/recordings/{inbox_id}/{name}", duration=3_000_000_000)
    )
    body, headers = standin.webhook("egress_ended", room=ROOM, egress=egress)
    assert (await client.post(URL, content=body, headers=headers)).status_code == 200
    (ended,) = core.events
    assert ended.file_location == f"/media/voice/{inbox_id}/{name}"
    staff = await login_headers(client, login_of(workspace, "lina"))
    played = await client.get(ended.file_location, headers=staff)
    assert played.status_code == 200
    assert played.headers["content-type"].startswith("audio/ogg")
    assert played.content.startswith(b"OggS")
    stranger = await login_headers(client, login_of(other_workspace, "admin"))
    assert (await client.get(ended.file_location, headers=stranger)).status_code == 404
    # A file outside the inbox's folder is left as LiveKit named it, never mapped.
    elsewhere = api.EgressInfo(egress_id="EG_8", room_name=ROOM, status=api.EGRESS_COMPLETE)
    elsewhere.file_results.append(api.FileInfo(location=f"/recordings/{uuid.uuid4()}/{name}"))
    body, headers = standin.webhook("egress_ended", room=ROOM, egress=elsewhere)
    assert (await client.post(URL, content=body, headers=headers)).status_code == 200
    assert core.events[1].file_location == elsewhere.file_results[0].location


def test_sip_dtmf_codes_become_telephone_keys() -> None:
    from datetime import UTC, datetime

    at = datetime.now(UTC)
    keys = [
        dtmf_event(event_id=f"d{n}", room=ROOM, participant="sip-1", code=n, at=at)
        for n in range(13)
    ]
    assert [k.digit if k else None for k in keys] == [
        *"0123456789",
        "*",
        "#",
        None,
    ]


def test_an_aborted_connection_is_a_participant_leaving() -> None:
    event = api.WebhookEvent(
        event="participant_connection_aborted",
        id="EV_1",
        created_at=1_764_000_000,
        room=api.Room(name=ROOM),
        participant=api.ParticipantInfo(identity="caller-9"),
    )
    media = to_media_event(event)
    assert media is not None
    assert (media.kind, media.participant, media.at.year) == ("participant_left", "caller-9", 2025)


def test_a_failed_egress_carries_livekits_words() -> None:
    event = api.WebhookEvent(
        event="egress_ended",
        id="EV_2",
        egress_info=api.EgressInfo(
            egress_id="EG_9", room_name=ROOM, status=api.EGRESS_FAILED, error="no space left"
        ),
    )
    media = to_media_event(event)
    assert media is not None
    assert (media.error, media.file_location, media.room) == ("no space left", None, ROOM)


@pytest.mark.engine_sensitive
async def test_event_ids_are_forgotten_once_no_replay_can_verify(kefu: Kefu, inbox_id: str) -> None:
    import sqlalchemy as sa

    from kefu.channel_state import receipts
    from kefu.db.tables import InboundReceipt
    from kefu.model import utcnow

    inbox = uuid.UUID(inbox_id)
    for key in ("livekit:EV_old", "livekit:EV_new", "wechat:old_unsubscribe", "livekit_x"):
        assert await receipts.claim(kefu, inbox, key)
    async with kefu.db.transaction() as session:
        await session.execute(
            sa.update(InboundReceipt)
            .where(
                InboundReceipt.key.in_(["livekit:EV_old", "wechat:old_unsubscribe", "livekit_x"])
            )
            .values(created_at=utcnow() - timedelta(days=2))
        )
    forgotten = await receipts.prune(kefu, "livekit:", utcnow() - timedelta(days=1))
    assert forgotten == 1
    async with kefu.db.session() as session:
        kept = set((await session.scalars(sa.select(InboundReceipt.key))).all())
    assert kept == {"livekit:EV_new", "wechat:old_unsubscribe", "livekit_x"}
    connector = kefu.connectors.find("voice")
    assert isinstance(connector, VoiceConnector)
    jobs = connector.background(asyncio.Event())
    assert len(jobs) == 1
    for job in jobs:
        job.close()  # not run here: the server's lifespan runs it
