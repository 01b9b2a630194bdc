"""`MediaGateway` on LiveKit's server API (`livekit-api`, Twirp over HTTP).

Every call signs its own short request token with the inbox's key and secret (the SDK
asks for the one grant the call needs). The HTTP client is aiohttp (what the SDK speaks);
the address it connects to passes kefu's outbound check first (`kefu.outbound`: a LiveKit
server on a private network must be listed in `KEFU_OUTBOUND_ALLOW`, as compose.yaml
does), and again at every DNS answer through `CheckedResolver`, so a second answer cannot
swap in another address. Whatever LiveKit cannot do becomes `MediaUnavailable` with a
reason a person can act on; core decides what the caller is offered instead."""

from __future__ import annotations

import re
import socket
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import aiohttp
import httpx
from aiohttp.abc import AbstractResolver, ResolveResult
from livekit import api

from kefu.calls.media import MediaUnavailable, RecordingKind
from kefu.connectors.base import ConnectionCheck, InboxView
from kefu.connectors.config import as_struct, say
from kefu.connectors.voice.config import VoiceConfig, api_url_of
from kefu.i18n import Text
from kefu.outbound import OutboundClient, OutboundRefused

T = TypeVar("T")

MIN_TTL_S = 10
MAX_TTL_S = 3600  # a token only admits; LiveKit keeps a joined participant's session alive
MAX_PARTICIPANTS = 10  # caller, agent, consulted agent, supervisor, SIP legs, egress
SIP_ROOM_PREFIX = "sip-"  # anything but kefu's own `call-` rooms (see webhook.sip_caller)
E164 = re.compile(r"^\+[1-9][0-9]{4,14}$")
# Twirp codes that mean "already done" for the idempotent calls (delete, remove, stop).
_GONE = frozenset({api.ServerErrorCode.NOT_FOUND, api.ServerErrorCode.FAILED_PRECONDITION})


def both(text: Text) -> str:
    return f"{text.en} / {text.zh}"


class CheckedResolver(AbstractResolver):
    """aiohttp's DNS answers, each checked by kefu's outbound rules (no DNS rebinding)."""

    def __init__(self, outbound: OutboundClient) -> None:
        self.outbound = outbound

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        try:
            address = await self.outbound.address_for(httpx.URL(f"http://{host}:{port or 80}/"))
        except OutboundRefused as exc:
            raise OSError(exc.reason.en) from None
        kind = socket.AF_INET6 if ":" in address else socket.AF_INET
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=kind,
                proto=socket.IPPROTO_TCP,
                flags=socket.AI_NUMERICHOST,
            )
        ]

    async def close(self) -> None:
        return None


class LiveKitGateway:
    """The `MediaGateway` half of the voice connector."""

    def __init__(self, outbound: OutboundClient, *, timeout_s: float = 10.0) -> None:
        self.outbound = outbound
        self.timeout_s = timeout_s
        self._session: aiohttp.ClientSession | None = None

    def _http(self) -> aiohttp.ClientSession:
        # Made on first use, inside the running loop; one pool for the process.
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout_s),
                connector=aiohttp.TCPConnector(resolver=CheckedResolver(self.outbound)),
            )
        return self._session

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    # -- settings ---------------------------------------------------------------------

    @staticmethod
    def settings(inbox: InboxView) -> tuple[VoiceConfig, str]:
        try:
            config = as_struct(VoiceConfig, inbox.config)
        except (TypeError, ValueError):
            raise MediaUnavailable(
                both(
                    Text(
                        "the voice inbox's LiveKit settings are incomplete",
                        "语音收件箱的 LiveKit 设置不完整",
                    )
                )
            ) from None
        secret = str(inbox.secrets.get("api_secret") or "")
        if not secret:
            raise MediaUnavailable(
                both(Text("the voice inbox has no API secret", "语音收件箱缺少 API Secret"))
            )
        return config, secret

    def server_url(self, inbox: InboxView) -> str:
        return self.settings(inbox)[0].livekit_url

    # -- tokens -----------------------------------------------------------------------

    def token(
        self,
        inbox: InboxView,
        *,
        room: str,
        identity: str,
        name: str,
        can_publish: bool = True,
        can_subscribe: bool = True,
        ttl_s: int = 600,
    ) -> str:
        """A token for one room only: join it, publish the microphone (nothing else) if
        asked, subscribe if asked; no room admin, recording, listing or data rights.
        Listen-only participants are hidden."""
        config, secret = self.settings(inbox)
        grants = api.VideoGrants(
            room_join=True,
            room=room,
            can_publish=can_publish,
            can_subscribe=can_subscribe,
            # DTMF from the widget goes through kefu's HTTP API, not data packets.
            can_publish_data=False,
            can_publish_sources=["microphone"] if can_publish else [],
            can_update_own_metadata=False,
            # One who may only listen (a supervisor listening in) is not shown to the
            # others in the room.
            hidden=True if not can_publish else None,
        )
        ttl = max(MIN_TTL_S, min(MAX_TTL_S, ttl_s))
        return (
            api.AccessToken(config.api_key, secret)
            .with_identity(identity)
            .with_name(name[:128])
            .with_ttl(timedelta(seconds=ttl))
            .with_grants(grants)
            .to_jwt()
        )

    # -- the server API ---------------------------------------------------------------

    async def _call(
        self,
        inbox: InboxView,
        what: Text,
        act: Callable[[api.LiveKitAPI], Awaitable[T]],
        *,
        gone_is_done: bool = False,
    ) -> T | None:
        config, secret = self.settings(inbox)
        url = api_url_of(config)
        try:
            # The literal-address case: aiohttp asks no resolver for an IP, so check here.
            await self.outbound.address_for(httpx.URL(url))
            client = api.LiveKitAPI(
                url, config.api_key, secret, session=self._http(), failover=False
            )
            return await act(client)
        except OutboundRefused as exc:
            raise MediaUnavailable(both(exc.reason)) from None
        except api.ServerError as exc:
            if gone_is_done and exc.code in _GONE:
                return None
            raise MediaUnavailable(both(_refusal(what, exc))) from None
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise MediaUnavailable(
                both(
                    say(
                        "LiveKit at {url} could not be reached to {what} ({error})",
                        "无法连接 LiveKit（{url}），未能{what}（{error}）",
                        url=url,
                        what=what,
                        error=_short(exc),
                    )
                )
            ) from None

    async def create_room(self, inbox: InboxView, room: str, *, empty_timeout_s: int) -> None:
        request = api.CreateRoomRequest(
            name=room,
            empty_timeout=max(1, empty_timeout_s),
            departure_timeout=max(1, empty_timeout_s),
            max_participants=MAX_PARTICIPANTS,
        )
        await self._call(inbox, _WHAT["create"], lambda lk: lk.room.create_room(request))

    async def delete_room(self, inbox: InboxView, room: str) -> None:
        await self._call(
            inbox,
            _WHAT["delete"],
            lambda lk: lk.room.delete_room(api.DeleteRoomRequest(room=room)),
            gone_is_done=True,
        )

    async def remove_participant(self, inbox: InboxView, room: str, identity: str) -> None:
        await self._call(
            inbox,
            _WHAT["remove"],
            lambda lk: lk.room.remove_participant(
                api.RoomParticipantIdentity(room=room, identity=identity)
            ),
            gone_is_done=True,
        )

    async def start_recording(
        self,
        inbox: InboxView,
        room: str,
        *,
        kind: RecordingKind,
        call_id: uuid.UUID,
        participant: str | None = None,
    ) -> str:
        """The whole call: a room-composite egress, audio only, to an Ogg file. A
        voicemail: a track egress of the caller's microphone track alone. Both write into
        the inbox's folder under `recording_path`, on the egress server's disk."""
        config, _ = self.settings(inbox)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        # One folder per inbox: kefu serves `<recording_path>/<inbox id>/…` to that
        # inbox's staff as /media/voice/<inbox id>/… (see `webhook.playable`).
        path = f"{config.recording_path.rstrip('/')}/{inbox.id}/{call_id}-{kind}-{stamp}.ogg"
        if kind == "call":
            composite = api.RoomCompositeEgressRequest(
                room_name=room,
                audio_only=True,
                file_outputs=[api.EncodedFileOutput(file_type=api.OGG, filepath=path)],
            )
            info = await self._call(
                inbox,
                _WHAT["record"],
                lambda lk: lk.egress.start_room_composite_egress(composite),
            )
        else:
            if not participant:
                raise MediaUnavailable(
                    both(Text("no caller to record a voicemail of", "没有可录制留言的来电者"))
                )
            info = await self._call(
                inbox,
                _WHAT["record"],
                lambda lk: _record_track(lk, room, participant, path),
            )
        assert info is not None
        return info.egress_id

    async def stop_recording(self, inbox: InboxView, egress_id: str) -> None:
        await self._call(
            inbox,
            _WHAT["stop"],
            lambda lk: lk.egress.stop_egress(api.StopEgressRequest(egress_id=egress_id)),
            gone_is_done=True,
        )

    async def dial_out(self, inbox: InboxView, room: str, *, number: str, identity: str) -> None:
        config, _ = self.settings(inbox)
        if not config.sip_trunk_id:
            raise MediaUnavailable(
                both(
                    Text(
                        "this voice inbox has no outbound SIP trunk, so it cannot call numbers",
                        "此语音收件箱未配置外呼 SIP 中继，无法拨打电话号码",
                    )
                )
            )
        _require_phone(number)
        request = api.CreateSIPParticipantRequest(
            sip_trunk_id=config.sip_trunk_id,
            sip_call_to=number,
            sip_number=config.caller_number,
            room_name=room,
            participant_identity=identity,
            participant_name=number,
            play_dialtone=False,
        )
        await self._call(inbox, _WHAT["dial"], lambda lk: lk.sip.create_sip_participant(request))

    async def transfer_out(
        self, inbox: InboxView, room: str, *, identity: str, number: str
    ) -> None:
        """Hand a SIP caller to an outside number (`transfer_sip_participant`, SIP REFER):
        the call leaves LiveKit and kefu."""
        _require_phone(number)
        request = api.TransferSIPParticipantRequest(
            participant_identity=identity, room_name=room, transfer_to=f"tel:{number}"
        )
        await self._call(
            inbox, _WHAT["transfer"], lambda lk: lk.sip.transfer_sip_participant(request)
        )

    async def ensure_sip_line(self, inbox: InboxView) -> tuple[str, str]:
        """Make the inbox's phone number reach kefu: an inbound trunk for the number and
        a dispatch rule putting each caller in a room of their own (`sip-…`, which the
        webhook turns into a call). Finds what exists; answers (trunk id, rule id)."""
        config, _ = self.settings(inbox)
        number = config.caller_number
        if not number:
            raise MediaUnavailable(
                both(
                    Text(
                        "set the inbox's phone number first: it names the trunk",
                        "请先填写收件箱的电话号码：中继以它命名",
                    )
                )
            )

        async def ensure(lk: api.LiveKitAPI) -> tuple[str, str]:
            trunks = await lk.sip.list_inbound_trunk(
                api.ListSIPInboundTrunkRequest(numbers=[number])
            )
            if trunks.items:
                trunk_id = trunks.items[0].sip_trunk_id
            else:
                made = await lk.sip.create_inbound_trunk(
                    api.CreateSIPInboundTrunkRequest(
                        trunk=api.SIPInboundTrunkInfo(name=f"kefu {number}", numbers=[number])
                    )
                )
                trunk_id = made.sip_trunk_id
            rules = await lk.sip.list_dispatch_rule(
                api.ListSIPDispatchRuleRequest(trunk_ids=[trunk_id])
            )
            if rules.items:
                return trunk_id, rules.items[0].sip_dispatch_rule_id
            rule = await lk.sip.create_dispatch_rule(
                api.CreateSIPDispatchRuleRequest(
                    rule=api.SIPDispatchRule(
                        dispatch_rule_individual=api.SIPDispatchRuleIndividual(
                            room_prefix=SIP_ROOM_PREFIX
                        )
                    ),
                    trunk_ids=[trunk_id],
                    name=f"kefu {number}",
                )
            )
            return trunk_id, rule.sip_dispatch_rule_id

        found = await self._call(inbox, _WHAT["sip"], ensure)
        assert found is not None
        return found

    async def test_connection(self, inbox: InboxView) -> ConnectionCheck:
        """List rooms with the inbox's key and secret: what fails here fails every call."""
        try:
            rooms = await self._call(
                inbox, _WHAT["list"], lambda lk: lk.room.list_rooms(api.ListRoomsRequest())
            )
        except MediaUnavailable as exc:
            en, _, zh = exc.reason.partition(" / ")
            return ConnectionCheck(False, Text(en, zh or en))
        count = len(rooms.rooms) if rooms is not None else 0
        return ConnectionCheck(
            True,
            say(
                "LiveKit answered with the key and secret ({n} rooms open).",
                "LiveKit 已用此 Key 与 Secret 应答（当前 {n} 个房间）。",
                n=count,
            ),
        )


def _require_phone(number: str) -> None:
    if not E164.match(number):
        raise MediaUnavailable(
            both(
                say(
                    "{number} is not a phone number in E.164 (+8613800138000)",
                    "{number} 不是 E.164 格式的电话号码（+8613800138000）",
                    number=number[:20],
                )
            )
        )


async def _record_track(lk: api.LiveKitAPI, room: str, identity: str, path: str) -> api.EgressInfo:
    who = await lk.room.get_participant(api.RoomParticipantIdentity(room=room, identity=identity))
    audio = [t.sid for t in who.tracks if t.type == api.AUDIO]
    if not audio:
        raise MediaUnavailable(
            both(
                Text(
                    "the caller has no microphone track to record a voicemail from",
                    "来电者没有可录制留言的麦克风音轨",
                )
            )
        )
    return await lk.egress.start_track_egress(
        api.TrackEgressRequest(
            room_name=room, track_id=audio[0], file=api.DirectFileOutput(filepath=path)
        )
    )


_WHAT = {
    "create": Text("open the call's room", "创建通话房间"),
    "delete": Text("close the call's room", "关闭通话房间"),
    "remove": Text("remove a participant", "移出参与者"),
    "record": Text("start recording", "开始录音"),
    "stop": Text("stop recording", "停止录音"),
    "dial": Text("call the number", "拨打该号码"),
    "transfer": Text("transfer the call", "转接通话"),
    "list": Text("list rooms", "列出房间"),
    "sip": Text("set up the phone line", "设置电话线路"),
}


def _refusal(what: Text, exc: api.ServerError) -> Text:
    message = (exc.message or "").strip()[:200]
    if exc.code in (api.ServerErrorCode.UNAUTHENTICATED, api.ServerErrorCode.PERMISSION_DENIED):
        return say(
            "LiveKit refused the API key or secret when asked to {what} ({message})",
            "LiveKit 拒绝了 API Key 或 Secret，未能{what}（{message}）",
            what=what,
            message=message or exc.code,
        )
    sip = getattr(exc, "sip_status_code", None)
    if sip:
        return say(
            "the phone network answered {code} {status} when asked to {what}",
            "电话网络返回 {code} {status}，未能{what}",
            what=what,
            code=sip,
            status=getattr(exc, "sip_status", "") or "",
        )
    return say(
        "LiveKit could not {what}: {code} {message}",
        "LiveKit 未能{what}：{code} {message}",
        what=what,
        code=exc.code,
        message=message,
    )


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    name = type(exc).__name__
    return f"{name}: {text[:120]}" if text else name
