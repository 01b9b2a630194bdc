"""A local stand-in for a LiveKit server's API, for tests and the demo (no LiveKit server
can run on these machines).

It speaks Twirp as LiveKit does: `POST /twirp/livekit.RoomService/<Method>`,
`livekit.Egress/<Method>`, `livekit.SIP/<Method>` with protobuf bodies
(`application/protobuf`; `application/json` is read as protobuf JSON too), answers
protobuf, and errors as Twirp's JSON `{"code", "msg"}` with its HTTP status. Every call
needs `Authorization: Bearer <JWT>` signed with the key and secret (checked with
livekit-api's `TokenVerifier`) carrying the grant LiveKit asks for that method:
`roomCreate` to create or delete rooms, `roomList` to list them, `roomAdmin` for the named
room to read or remove its participants, `roomRecord` for egress, `sip.call` to dial and
`sip.admin` for trunks and rules. A missing grant is `permission_denied` (403), a bad
token `unauthenticated` (401).

The state is a few dicts: rooms, their participants (each with one microphone track),
egresses. `join`, `leave`, `end_egress` play what media would do, and `webhook` makes the
event LiveKit would post; given a `webhook_url`, the API calls post their own events
there (room_started, participant_joined/left, room_finished, egress_started) after they
are answered. Webhooks are signed exactly as LiveKit signs them (protobuf JSON body; a bare
JWT in `Authorization`, issued by the key, five minutes valid, whose `sha256` claim is the
base64 SHA-256 of the body)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import jwt
from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message
from litestar import Litestar, Request, Response, post
from livekit import api

WEBHOOK_TTL = timedelta(minutes=5)  # what LiveKit's notifier gives its tokens
_STATUS = {
    "unauthenticated": 401,
    "permission_denied": 403,
    "not_found": 404,
    "invalid_argument": 400,
    "malformed": 400,
    "already_exists": 409,
    "failed_precondition": 412,
    "bad_route": 404,
    "unavailable": 503,
}


class Twirp(Exception):
    def __init__(self, code: str, msg: str) -> None:
        super().__init__(msg)
        self.code = code
        self.msg = msg


@dataclass
class LiveKitStandIn:
    api_key: str = "APIstandin"
    api_secret: str = "standin-secret-0123456789abcdef0123456789"
    rooms: dict[str, api.Room] = field(default_factory=dict)
    participants: dict[str, dict[str, api.ParticipantInfo]] = field(default_factory=dict)
    egresses: dict[str, api.EgressInfo] = field(default_factory=dict)
    sip_calls: list[api.CreateSIPParticipantRequest] = field(default_factory=list)
    transfers: list[api.TransferSIPParticipantRequest] = field(default_factory=list)
    trunks: list[api.SIPInboundTrunkInfo] = field(default_factory=list)
    rules: list[api.SIPDispatchRuleInfo] = field(default_factory=list)
    calls: list[tuple[str, str]] = field(default_factory=list)  # (service, method) served
    # (service, method) -> a Twirp error code to answer instead, once
    fail_next: dict[tuple[str, str], str] = field(default_factory=dict)
    # Where LiveKit posts its webhooks (None: nowhere). Posted after the API call that
    # caused them has been answered, as LiveKit does; `delivered` has (event, status).
    webhook_url: str | None = None
    delivered: list[tuple[str, int]] = field(default_factory=list)
    _pending: list[asyncio.Task[None]] = field(default_factory=list)
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    async def settle(self) -> None:
        """Wait until every webhook sent so far has been answered."""
        while self._pending:
            await self._pending.pop(0)

    def post_later(self, event: str, **what: Any) -> None:
        """Post `event`'s webhook to `webhook_url` in the background."""
        if self.webhook_url is None:
            return
        body, headers = self.webhook(event, **what)
        url = self.webhook_url

        async def send() -> None:
            async with httpx.AsyncClient(timeout=10) as client:
                answer = await client.post(url, content=body, headers=headers)
            self.delivered.append((event, answer.status_code))

        self._pending.append(asyncio.get_running_loop().create_task(send()))

    def _id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._ids):012d}"

    # -- what media would do ----------------------------------------------------------

    def join(self, room: str, identity: str, *, sip: bool = False) -> api.ParticipantInfo:
        """A participant connects and publishes its microphone."""
        if room not in self.rooms:
            self.rooms[room] = api.Room(sid=self._id("RM"), name=room, creation_time=_now())
        track = api.TrackInfo(
            sid=self._id("TR"), type=api.AUDIO, source=api.MICROPHONE, name="microphone"
        )
        info = api.ParticipantInfo(
            sid=self._id("PA"),
            identity=identity,
            state=api.ParticipantInfo.ACTIVE,
            tracks=[track],
            joined_at=_now(),
            kind=api.ParticipantInfo.SIP if sip else api.ParticipantInfo.STANDARD,
        )
        self.participants.setdefault(room, {})[identity] = info
        self.rooms[room].num_participants = len(self.participants[room])
        return info

    def leave(self, room: str, identity: str) -> api.ParticipantInfo:
        info = self.participants[room].pop(identity)
        self.rooms[room].num_participants = len(self.participants[room])
        return info

    def end_egress(
        self, egress_id: str, *, duration_s: float = 42.0, error: str = ""
    ) -> api.EgressInfo:
        """The egress finishes (or fails with `error`) and its file is written."""
        info = self.egresses[egress_id]
        info.status = api.EGRESS_FAILED if error else api.EGRESS_COMPLETE
        info.error = error
        info.ended_at = time.time_ns()
        path = (
            info.room_composite.file_outputs[0].filepath if info.room_composite.file_outputs else ""
        )
        path = path or info.track.file.filepath
        if not error:
            info.file_results.append(
                api.FileInfo(
                    filename=path,
                    location=path,
                    duration=int(duration_s * 1e9),
                    size=int(duration_s * 8000),
                    started_at=info.started_at,
                    ended_at=info.ended_at,
                )
            )
        return info

    # -- webhooks, signed as LiveKit signs them ---------------------------------------

    def webhook(
        self,
        event: str,
        *,
        room: str,
        participant: api.ParticipantInfo | None = None,
        egress: api.EgressInfo | None = None,
        event_id: str | None = None,
        secret: str | None = None,
        api_key: str | None = None,
        ttl: timedelta = WEBHOOK_TTL,
    ) -> tuple[bytes, dict[str, str]]:
        """(body, headers) of the webhook LiveKit would post for `event`. `secret` and
        `api_key` let a test sign with the wrong ones."""
        message = api.WebhookEvent(
            event=event,
            id=event_id or f"EV_{next(self._ids):012d}",
            created_at=int(time.time()),
            room=self.rooms.get(room) or api.Room(name=room, sid=self._id("RM")),
        )
        if participant is not None:
            message.participant.CopyFrom(participant)
        if egress is not None:
            message.egress_info.CopyFrom(egress)
        body = json_format.MessageToJson(message, indent=None).encode()
        return body, self.sign(body, secret=secret, api_key=api_key, ttl=ttl)

    def sign(
        self,
        body: bytes,
        *,
        secret: str | None = None,
        api_key: str | None = None,
        ttl: timedelta = WEBHOOK_TTL,
    ) -> dict[str, str]:
        digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
        token = (
            api.AccessToken(api_key or self.api_key, secret or self.api_secret)
            .with_ttl(ttl)
            .with_sha256(digest)
            .to_jwt()
        )
        return {"Authorization": token, "Content-Type": "application/webhook+json"}

    # -- the API ----------------------------------------------------------------------

    def claims(self, authorization: str | None) -> api.access_token.Claims:
        header = authorization or ""
        if not header.startswith("Bearer "):
            raise Twirp("unauthenticated", "no authorization header")
        try:
            return api.TokenVerifier(self.api_key, self.api_secret).verify(header[7:])
        except jwt.PyJWTError as exc:
            raise Twirp("unauthenticated", f"invalid token: {exc}") from None

    def room_of(self, name: str) -> api.Room:
        found = self.rooms.get(name)
        if found is None:
            raise Twirp("not_found", "requested room does not exist")
        return found

    def participant_of(self, room: str, identity: str) -> api.ParticipantInfo:
        self.room_of(room)
        found = self.participants.get(room, {}).get(identity)
        if found is None:
            raise Twirp("not_found", "participant not found")
        return found


Handler = Callable[[LiveKitStandIn, Any, api.access_token.Claims], Message]


def _need(ok: bool | None, what: str) -> None:
    if not ok:
        raise Twirp("permission_denied", f"permissions denied: {what}")


def _room_admin(claims: api.access_token.Claims, room: str) -> None:
    video = claims.video
    _need(video is not None and video.room_admin and video.room == room, f"roomAdmin on {room}")


def _create_room(lk: LiveKitStandIn, req: api.CreateRoomRequest, claims: Any) -> Message:
    _need(claims.video.room_create, "roomCreate")
    if not req.name:
        raise Twirp("invalid_argument", "room name is required")
    room = lk.rooms.get(req.name)
    if room is None:
        room = api.Room(
            sid=lk._id("RM"),
            name=req.name,
            empty_timeout=req.empty_timeout,
            departure_timeout=req.departure_timeout,
            max_participants=req.max_participants,
            creation_time=_now(),
            metadata=req.metadata,
        )
        lk.rooms[req.name] = room
        lk.participants.setdefault(req.name, {})
        lk.post_later("room_started", room=req.name)
    return room


def _list_rooms(lk: LiveKitStandIn, req: api.ListRoomsRequest, claims: Any) -> Message:
    _need(claims.video.room_list, "roomList")
    names = set(req.names)
    return api.ListRoomsResponse(rooms=[r for n, r in lk.rooms.items() if not names or n in names])


def _delete_room(lk: LiveKitStandIn, req: api.DeleteRoomRequest, claims: Any) -> Message:
    _need(claims.video.room_create, "roomCreate")
    lk.room_of(req.room)
    for who in list(lk.participants.get(req.room, {}).values()):
        lk.post_later("participant_left", room=req.room, participant=who)
    lk.post_later("room_finished", room=req.room)
    del lk.rooms[req.room]
    lk.participants.pop(req.room, None)
    return api.DeleteRoomResponse()


def _get_participant(lk: LiveKitStandIn, req: api.RoomParticipantIdentity, claims: Any) -> Message:
    _room_admin(claims, req.room)
    return lk.participant_of(req.room, req.identity)


def _list_participants(
    lk: LiveKitStandIn, req: api.ListParticipantsRequest, claims: Any
) -> Message:
    _room_admin(claims, req.room)
    lk.room_of(req.room)
    return api.ListParticipantsResponse(participants=list(lk.participants[req.room].values()))


def _remove_participant(
    lk: LiveKitStandIn, req: api.RoomParticipantIdentity, claims: Any
) -> Message:
    _room_admin(claims, req.room)
    who = lk.participant_of(req.room, req.identity)
    lk.post_later("participant_left", room=req.room, participant=who)
    lk.leave(req.room, req.identity)
    return api.RemoveParticipantResponse()


def _egress(lk: LiveKitStandIn, room: str) -> api.EgressInfo:
    lk.room_of(room)
    return api.EgressInfo(
        egress_id=lk._id("EG"),
        room_id=lk.rooms[room].sid,
        room_name=room,
        status=api.EGRESS_STARTING,
        started_at=time.time_ns(),
    )


def _start_composite(
    lk: LiveKitStandIn, req: api.RoomCompositeEgressRequest, claims: Any
) -> Message:
    _need(claims.video.room_record, "roomRecord")
    if not req.file_outputs and not req.HasField("file"):
        raise Twirp("invalid_argument", "no outputs")
    info = _egress(lk, req.room_name)
    info.room_composite.CopyFrom(req)
    info.status = api.EGRESS_ACTIVE
    lk.egresses[info.egress_id] = info
    lk.post_later("egress_started", room=req.room_name, egress=info)
    return info


def _start_track(lk: LiveKitStandIn, req: api.TrackEgressRequest, claims: Any) -> Message:
    _need(claims.video.room_record, "roomRecord")
    tracks = {t.sid for p in lk.participants.get(req.room_name, {}).values() for t in p.tracks}
    info = _egress(lk, req.room_name)
    if req.track_id not in tracks:
        raise Twirp("not_found", "track not found")
    info.track.CopyFrom(req)
    info.status = api.EGRESS_ACTIVE
    lk.egresses[info.egress_id] = info
    lk.post_later("egress_started", room=req.room_name, egress=info)
    return info


def _stop_egress(lk: LiveKitStandIn, req: api.StopEgressRequest, claims: Any) -> Message:
    _need(claims.video.room_record, "roomRecord")
    info = lk.egresses.get(req.egress_id)
    if info is None:
        raise Twirp("not_found", "egress not found")
    if info.status not in (api.EGRESS_STARTING, api.EGRESS_ACTIVE):
        raise Twirp("failed_precondition", "egress is not active")
    info.status = api.EGRESS_ENDING
    return info


def _list_egress(lk: LiveKitStandIn, req: api.ListEgressRequest, claims: Any) -> Message:
    _need(claims.video.room_record, "roomRecord")
    return api.ListEgressResponse(
        items=[e for e in lk.egresses.values() if not req.room_name or e.room_name == req.room_name]
    )


def _create_sip_participant(
    lk: LiveKitStandIn, req: api.CreateSIPParticipantRequest, claims: Any
) -> Message:
    _need(claims.sip is not None and claims.sip.call, "sip.call")
    if not req.sip_trunk_id:
        raise Twirp("invalid_argument", "missing sip trunk id")
    if not req.sip_call_to:
        raise Twirp("invalid_argument", "missing sip callee")
    lk.sip_calls.append(req)
    info = lk.join(req.room_name, req.participant_identity, sip=True)
    lk.post_later("participant_joined", room=req.room_name, participant=info)
    return api.SIPParticipantInfo(
        participant_id=info.sid,
        participant_identity=info.identity,
        room_name=req.room_name,
        sip_call_id=lk._id("SCL"),
    )


def _transfer_sip_participant(
    lk: LiveKitStandIn, req: api.TransferSIPParticipantRequest, claims: Any
) -> Message:
    _need(claims.sip is not None and claims.sip.call, "sip.call")
    _room_admin(claims, req.room_name)
    lk.participant_of(req.room_name, req.participant_identity)
    lk.transfers.append(req)
    lk.leave(req.room_name, req.participant_identity)
    return api.TransferSIPParticipantResponse()


def _sip_admin(claims: Any) -> None:
    _need(claims.sip is not None and claims.sip.admin, "sip.admin")


def _list_trunks(lk: LiveKitStandIn, req: api.ListSIPInboundTrunkRequest, claims: Any) -> Message:
    _sip_admin(claims)
    wanted = set(req.numbers)
    return api.ListSIPInboundTrunkResponse(
        items=[t for t in lk.trunks if not wanted or wanted & set(t.numbers)]
    )


def _create_trunk(
    lk: LiveKitStandIn, req: api.CreateSIPInboundTrunkRequest, claims: Any
) -> Message:
    _sip_admin(claims)
    if not req.trunk.numbers:
        raise Twirp("invalid_argument", "an inbound trunk needs numbers")
    taken = {n for t in lk.trunks for n in t.numbers}
    if taken & set(req.trunk.numbers):
        raise Twirp("already_exists", "a trunk already has this number")
    trunk = api.SIPInboundTrunkInfo()
    trunk.CopyFrom(req.trunk)
    trunk.sip_trunk_id = lk._id("ST")
    lk.trunks.append(trunk)
    return trunk


def _list_rules(lk: LiveKitStandIn, req: api.ListSIPDispatchRuleRequest, claims: Any) -> Message:
    _sip_admin(claims)
    wanted = set(req.trunk_ids)
    return api.ListSIPDispatchRuleResponse(
        items=[r for r in lk.rules if not wanted or wanted & set(r.trunk_ids)]
    )


def _create_rule(lk: LiveKitStandIn, req: api.CreateSIPDispatchRuleRequest, claims: Any) -> Message:
    _sip_admin(claims)
    known = {t.sip_trunk_id for t in lk.trunks}
    if not set(req.trunk_ids) <= known:
        raise Twirp("not_found", "no such trunk")
    rule = api.SIPDispatchRuleInfo(
        sip_dispatch_rule_id=lk._id("SDR"), trunk_ids=list(req.trunk_ids), name=req.name
    )
    rule.rule.CopyFrom(req.rule)
    lk.rules.append(rule)
    return rule


ROUTES: dict[tuple[str, str], tuple[type[Message], Handler]] = {
    ("RoomService", "CreateRoom"): (api.CreateRoomRequest, _create_room),
    ("RoomService", "ListRooms"): (api.ListRoomsRequest, _list_rooms),
    ("RoomService", "DeleteRoom"): (api.DeleteRoomRequest, _delete_room),
    ("RoomService", "GetParticipant"): (api.RoomParticipantIdentity, _get_participant),
    ("RoomService", "ListParticipants"): (api.ListParticipantsRequest, _list_participants),
    ("RoomService", "RemoveParticipant"): (api.RoomParticipantIdentity, _remove_participant),
    ("Egress", "StartRoomCompositeEgress"): (api.RoomCompositeEgressRequest, _start_composite),
    ("Egress", "StartTrackEgress"): (api.TrackEgressRequest, _start_track),
    ("Egress", "StopEgress"): (api.StopEgressRequest, _stop_egress),
    ("Egress", "ListEgress"): (api.ListEgressRequest, _list_egress),
    ("SIP", "CreateSIPParticipant"): (api.CreateSIPParticipantRequest, _create_sip_participant),
    ("SIP", "TransferSIPParticipant"): (
        api.TransferSIPParticipantRequest,
        _transfer_sip_participant,
    ),
    ("SIP", "ListSIPInboundTrunk"): (api.ListSIPInboundTrunkRequest, _list_trunks),
    ("SIP", "CreateSIPInboundTrunk"): (api.CreateSIPInboundTrunkRequest, _create_trunk),
    ("SIP", "ListSIPDispatchRule"): (api.ListSIPDispatchRuleRequest, _list_rules),
    ("SIP", "CreateSIPDispatchRule"): (api.CreateSIPDispatchRuleRequest, _create_rule),
}


def _error(code: str, msg: str) -> Response[dict[str, str]]:
    return Response({"code": code, "msg": msg}, status_code=_STATUS.get(code, 500))


def create_standin(state: LiveKitStandIn) -> Litestar:
    @post("/twirp/{package_service:str}/{method:str}", status_code=200)
    async def twirp(
        request: Request[Any, Any, Any], package_service: str, method: str
    ) -> Response[Any]:
        package, _, service = package_service.partition(".")
        route = ROUTES.get((service, method)) if package == "livekit" else None
        if route is None:
            return _error("bad_route", f"no handler for {package_service}/{method}")
        kind, handler = route
        body = await request.body()
        json_body = request.headers.get("content-type", "").startswith("application/json")
        try:
            claims = state.claims(request.headers.get("authorization"))
            failure = state.fail_next.pop((service, method), None)
            if failure is not None:
                raise Twirp(failure, f"stand-in told to answer {failure}")
            try:
                message = (
                    json_format.Parse(body.decode(), kind()) if json_body else kind.FromString(body)
                )
            except (DecodeError, json_format.ParseError, UnicodeDecodeError):
                raise Twirp("malformed", "the body is not a " + kind.DESCRIPTOR.name) from None
            answer = handler(state, message, claims)
        except Twirp as exc:
            return _error(exc.code, exc.msg)
        state.calls.append((service, method))
        if json_body:
            return Response(
                json_format.MessageToJson(answer, indent=None).encode(),
                media_type="application/json",
            )
        return Response(answer.SerializeToString(), media_type="application/protobuf")

    return Litestar([twirp], debug=False)


def _now() -> int:
    return int(time.time())
