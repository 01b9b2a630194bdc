"""The voice connector as kefu's MediaGateway, against the LiveKit stand-in: the real
livekit-api client speaking Twirp with protobuf bodies, each call's grant checked from its
bearer token, and tokens kefu mints read back with livekit-api's own TokenVerifier."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import jwt
import pytest
from livekit import api

from kefu.calls.media import MediaGateway, MediaUnavailable
from kefu.channel_state.inboxes import ChannelInbox
from kefu.connectors.voice.connector import VoiceConnector
from kefu.connectors.voice.standin import LiveKitStandIn, create_standin
from kefu.outbound import OutboundClient
from kefu.settings import Settings
from tests.conftest import LOOPBACK_ALLOWED
from tests.servers import free_port, serve

ROOM = "call-0196f0c2-0000-7000-8000-000000000001"


def voice_inbox(standin: LiveKitStandIn, url: str, **config: Any) -> ChannelInbox:
    return ChannelInbox(
        id=uuid.uuid4(),
        workspace_id=uuid.uuid4(),
        kind="voice",
        name="热线",
        public_key="k",
        config={
            "livekit_url": url.replace("http://", "ws://"),
            "api_key": standin.api_key,
            "sip_trunk_id": "ST_trunk1",
            **config,
        },
        secrets={"api_secret": standin.api_secret},
        default_group_id=None,
        active=True,
    )


@pytest.fixture
async def livekit() -> AsyncIterator[tuple[LiveKitStandIn, str]]:
    standin = LiveKitStandIn()
    async with serve(create_standin(standin), lifespan="off") as url:
        yield standin, url


@pytest.fixture
async def gateway() -> AsyncIterator[VoiceConnector]:
    connector = VoiceConnector(OutboundClient(Settings(outbound_allow=LOOPBACK_ALLOWED)))
    yield connector
    await connector.aclose()


def test_the_connector_is_a_media_gateway() -> None:
    assert isinstance(VoiceConnector(), MediaGateway)


async def test_rooms_open_and_close_on_livekit(
    livekit: tuple[LiveKitStandIn, str], gateway: VoiceConnector
) -> None:
    standin, url = livekit
    inbox = voice_inbox(standin, url)
    await gateway.create_room(inbox, ROOM, empty_timeout_s=30)
    assert standin.rooms[ROOM].empty_timeout == 30
    assert standin.rooms[ROOM].max_participants == 10
    await gateway.delete_room(inbox, ROOM)
    assert ROOM not in standin.rooms
    await gateway.delete_room(inbox, ROOM)  # already gone: done, not an error
    assert standin.calls == [("RoomService", "CreateRoom"), ("RoomService", "DeleteRoom")]


async def test_a_participant_token_admits_to_one_room_with_the_microphone_only(
    livekit: tuple[LiveKitStandIn, str], gateway: VoiceConnector
) -> None:
    standin, url = livekit
    inbox = voice_inbox(standin, url)
    token = gateway.token(inbox, room=ROOM, identity="caller-1", name="王先生", ttl_s=120)
    claims = api.TokenVerifier(standin.api_key, standin.api_secret).verify(token)
    assert (claims.identity, claims.name) == ("caller-1", "王先生")
    video = claims.video
    assert video is not None
    assert (video.room_join, video.room, video.can_subscribe) == (True, ROOM, True)
    assert video.can_publish_sources == ["microphone"]
    assert video.can_publish_data is False and video.can_update_own_metadata is False
    assert not (video.room_admin or video.room_create or video.room_list or video.room_record)
    raw = jwt.decode(token, options={"verify_signature": False})
    assert raw["exp"] - raw["nbf"] == 120 and raw["iss"] == standin.api_key
    assert "sip" not in raw
    listen_only = gateway.token(
        inbox, room=ROOM, identity="supervisor-1", name="组长", can_publish=False, ttl_s=10**6
    )
    listener = api.TokenVerifier(standin.api_key, standin.api_secret).verify(listen_only)
    assert listener.video is not None and listener.video.can_publish is False
    assert listener.video.can_publish_sources == []
    assert listener.video.hidden is True and video.hidden is None
    raw = jwt.decode(listen_only, options={"verify_signature": False})
    assert raw["exp"] - raw["nbf"] == 3600  # capped
    with pytest.raises(jwt.InvalidSignatureError):
        api.TokenVerifier(standin.api_key, "another-secret-entirely-0123456789abcdef").verify(token)


async def test_a_participant_token_cannot_administer_rooms(
    livekit: tuple[LiveKitStandIn, str], gateway: VoiceConnector
) -> None:
    standin, url = livekit
    token = gateway.token(voice_inbox(standin, url), room=ROOM, identity="caller-1", name="x")
    async with httpx.AsyncClient() as http:
        refused = await http.post(
            f"{url}/twirp/livekit.RoomService/CreateRoom",
            content=api.CreateRoomRequest(name="call-other").SerializeToString(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/protobuf"},
        )
    assert refused.status_code == 403
    assert refused.json()["code"] == "permission_denied"
    assert standin.rooms == {}


async def test_a_call_is_recorded_audio_only_to_the_recording_folder(
    livekit: tuple[LiveKitStandIn, str], gateway: VoiceConnector
) -> None:
    standin, url = livekit
    inbox = voice_inbox(standin, url, recording_path="/srv/recordings/")
    call_id = uuid.uuid4()
    await gateway.create_room(inbox, ROOM, empty_timeout_s=30)
    egress_id = await gateway.start_recording(inbox, ROOM, kind="call", call_id=call_id)
    request = standin.egresses[egress_id].room_composite
    assert request.room_name == ROOM and request.audio_only is True
    (output,) = request.file_outputs
    assert output.file_type == api.OGG
    assert output.filepath.startswith(f"/srv/recordings/{inbox.id}/{call_id}-call-")
    assert output.filepath.endswith(".ogg")
    await gateway.stop_recording(inbox, egress_id)
    assert standin.egresses[egress_id].status == api.EGRESS_ENDING
    await gateway.stop_recording(inbox, egress_id)  # already stopping: done


async def test_a_voicemail_records_the_callers_microphone_track_alone(
    livekit: tuple[LiveKitStandIn, str], gateway: VoiceConnector
) -> None:
    standin, url = livekit
    inbox = voice_inbox(standin, url)
    await gateway.create_room(inbox, ROOM, empty_timeout_s=30)
    caller = standin.join(ROOM, "caller-1")
    standin.join(ROOM, "ivr-1")
    call_id = uuid.uuid4()
    egress_id = await gateway.start_recording(
        inbox, ROOM, kind="voicemail", call_id=call_id, participant="caller-1"
    )
    track = standin.egresses[egress_id].track
    assert track.track_id == caller.tracks[0].sid
    assert track.file.filepath.startswith(f"/recordings/{inbox.id}/{call_id}-voicemail-")
    with pytest.raises(MediaUnavailable) as gone:
        await gateway.start_recording(
            inbox, ROOM, kind="voicemail", call_id=call_id, participant="caller-who-hung-up"
        )
    assert "participant not found" in gone.value.reason


async def test_dialling_out_brings_the_number_into_the_room(
    livekit: tuple[LiveKitStandIn, str], gateway: VoiceConnector
) -> None:
    standin, url = livekit
    inbox = voice_inbox(standin, url, caller_number="+861012345678")
    await gateway.create_room(inbox, ROOM, empty_timeout_s=30)
    await gateway.dial_out(inbox, ROOM, number="+8613800138000", identity="phone-1")
    (sent,) = standin.sip_calls
    assert (sent.sip_trunk_id, sent.sip_call_to, sent.sip_number) == (
        "ST_trunk1",
        "+8613800138000",
        "+861012345678",
    )
    assert "phone-1" in standin.participants[ROOM]
    await gateway.transfer_out(inbox, ROOM, identity="phone-1", number="+8613900139000")
    assert standin.transfers[0].transfer_to == "tel:+8613900139000"
    await gateway.remove_participant(inbox, ROOM, "phone-1")  # already gone: done
    with pytest.raises(MediaUnavailable) as bad:
        await gateway.dial_out(inbox, ROOM, number="13800138000", identity="phone-2")
    assert "E.164" in bad.value.reason
    no_trunk = voice_inbox(standin, url, sip_trunk_id="")
    with pytest.raises(MediaUnavailable) as refused:
        await gateway.dial_out(no_trunk, ROOM, number="+8613800138000", identity="phone-2")
    assert "no outbound SIP trunk" in refused.value.reason
    assert len(standin.sip_calls) == 1


async def test_a_wrong_secret_is_said_as_such(
    livekit: tuple[LiveKitStandIn, str], gateway: VoiceConnector
) -> None:
    standin, url = livekit
    inbox = voice_inbox(standin, url)
    wrong = ChannelInbox(
        **{**_fields(inbox), "secrets": {"api_secret": "not-the-secret-at-all-0123456789abcdef"}}
    )
    with pytest.raises(MediaUnavailable) as refused:
        await gateway.create_room(wrong, ROOM, empty_timeout_s=30)
    assert "refused the API key or secret" in refused.value.reason
    assert "拒绝" in refused.value.reason
    check = await gateway.test_connection(wrong)
    assert check.ok is False and "refused the API key or secret" in check.message.en
    assert standin.rooms == {}


async def test_livekit_unreachable_is_media_unavailable_with_the_reason(
    gateway: VoiceConnector,
) -> None:
    standin = LiveKitStandIn()
    inbox = voice_inbox(standin, f"http://127.0.0.1:{free_port()}")
    started = time.monotonic()
    with pytest.raises(MediaUnavailable) as down:
        await gateway.create_room(inbox, ROOM, empty_timeout_s=30)
    assert "could not be reached to open the call's room" in down.value.reason
    assert "无法连接 LiveKit" in down.value.reason
    assert time.monotonic() - started < 5  # refused at once, not retried for seconds
    check = await gateway.test_connection(inbox)
    assert check.ok is False and "could not be reached to list rooms" in check.message.en


async def test_a_private_livekit_address_needs_the_outbound_allow_list(
    livekit: tuple[LiveKitStandIn, str],
) -> None:
    standin, url = livekit
    strict = VoiceConnector(OutboundClient(Settings()))
    try:
        with pytest.raises(MediaUnavailable) as refused:
            await strict.create_room(voice_inbox(standin, url), ROOM, empty_timeout_s=30)
    finally:
        await strict.aclose()
    assert "KEFU_OUTBOUND_ALLOW" in refused.value.reason
    assert standin.calls == []


async def test_test_connection_lists_rooms(
    livekit: tuple[LiveKitStandIn, str], gateway: VoiceConnector
) -> None:
    standin, url = livekit
    standin.join("call-a", "caller-a")
    check = await gateway.test_connection(voice_inbox(standin, url))
    assert check.ok is True
    assert "1 rooms open" in check.message.en and "1 个房间" in check.message.zh
    assert standin.calls == [("RoomService", "ListRooms")]


async def test_incomplete_settings_are_media_unavailable(gateway: VoiceConnector) -> None:
    standin = LiveKitStandIn()
    inbox = voice_inbox(standin, "http://127.0.0.1:1")
    no_secret = ChannelInbox(**{**_fields(inbox), "secrets": {}})
    with pytest.raises(MediaUnavailable) as missing:
        gateway.token(no_secret, room=ROOM, identity="a", name="a")
    assert "no API secret" in missing.value.reason
    no_url = ChannelInbox(**{**_fields(inbox), "config": {"api_key": "k"}})
    with pytest.raises(MediaUnavailable) as incomplete:
        gateway.server_url(no_url)
    assert "incomplete" in incomplete.value.reason


def _fields(inbox: ChannelInbox) -> dict[str, Any]:
    return {f: getattr(inbox, f) for f in inbox.__struct_fields__}
