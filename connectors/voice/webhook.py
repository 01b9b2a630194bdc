"""LiveKit's webhooks: `POST /connectors/livekit/webhook`, one URL for the deployment.

LiveKit signs each webhook as an access token in `Authorization` (a bare JWT, issued by
the API key, HS256 with the API secret, valid five minutes) whose `sha256` claim is the
base64 SHA-256 of the raw body (`Content-Type: application/webhook+json`, protobuf
JSON). The token's issuer names the key, so the inbox is the active voice inbox with that
`api_key` whose secret verifies the token (`livekit.api.WebhookReceiver`). A forged
token, a body changed after signing, an expired token and a second delivery of an event
id already taken are all 401, and nothing changes. The event is then parsed into a
`MediaEvent` and handed to core (`kefu.calls.service.handle_media_event`); the event id
is remembered through `kefu.channel_state.receipts` before, and forgotten again if core
fails, so LiveKit's retry is taken.

DTMF does not come this way: a SIP caller's keys are `sip_dtmf` data packets inside the
room, which only a participant of the room receives (see `dtmf_event`)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import jwt
import msgspec
from google.protobuf.json_format import ParseError
from litestar import Controller, Request, post
from livekit import api

from kefu import ratelimit
from kefu.calls.media import MediaEvent, MediaEventKind
from kefu.channel_state import receipts
from kefu.channel_state.inboxes import ChannelInbox, active_inboxes
from kefu.contacts.phones import to_e164
from kefu.context import Kefu
from kefu.errors import KefuError, TooLarge, Unauthorized
from kefu.i18n import Text
from kefu.model import ChannelKind
from kefu.validation import storable_value

if TYPE_CHECKING:
    from kefu.connectors.voice.connector import SipCaller, VoiceConnector

BODY_MAX = 256 * 1024  # an event is a few kB; LiveKit's biggest carry a room and a track
ID_MAX = 200
NAME_MAX = 255  # room names and identities we mint are far shorter
RECEIPT_PREFIX = "livekit:"
API_KEY = re.compile(r"[A-Za-z0-9_-]{1,64}")  # as the inbox form's `api_key` allows
# Rooms kefu opens are `call-<call id>` (widget calls, dial-out); a SIP caller in any
# other room was put there by LiveKit's dispatch rule and is a new inbound call.
KEFU_ROOM_PREFIX = "call-"

# LiveKit's event names, as kefu's kinds; the rest (tracks, ingress) changes no call.
KINDS: dict[str, MediaEventKind] = {
    "room_started": "room_started",
    "room_finished": "room_finished",
    "participant_joined": "participant_joined",
    "participant_left": "participant_left",
    # The participant never finished connecting: for a call, the same as leaving.
    "participant_connection_aborted": "participant_left",
    "egress_started": "egress_started",
    "egress_ended": "egress_ended",
}
# `sip_dtmf` codes: 0-9 are the digits, 10 is *, 11 is #.
DTMF_KEYS = {**{n: str(n) for n in range(10)}, 10: "*", 11: "#"}


class Answer(msgspec.Struct, frozen=True, kw_only=True):
    ok: bool = True
    event: str
    handled: bool


def _refuse(en: str, zh: str) -> Unauthorized:
    return Unauthorized(Text(en, zh))


def issuer_of(token: str) -> str:
    """The API key a token claims to be issued by (checked afterwards, never trusted)."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False, "verify_exp": False})
    except jwt.PyJWTError:
        raise _refuse(
            "Authorization is not a LiveKit webhook token (a JWT)",
            "Authorization 不是 LiveKit 回调令牌（JWT）",
        ) from None
    issuer = claims.get("iss") if isinstance(claims, dict) else None
    # Said back in a refusal, so only what an API key can look like.
    if not isinstance(issuer, str) or not API_KEY.fullmatch(issuer):
        raise _refuse("the webhook token names no API key", "回调令牌未注明 API Key")
    return issuer


def verify(
    inboxes: list[ChannelInbox], body: bytes, authorization: str | None
) -> tuple[ChannelInbox, api.WebhookEvent]:
    """The inbox whose key and secret signed this body, and the event; 401 otherwise."""
    token = (authorization or "").strip()
    if token.lower().startswith("bearer "):
        token = token[7:].strip()
    if not token:
        raise _refuse(
            "Authorization is missing: LiveKit signs every webhook",
            "缺少 Authorization：LiveKit 的每个回调都带签名",
        )
    issuer = issuer_of(token)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise KefuError("malformed body: not UTF-8 JSON") from None
    expired = False
    for inbox in inboxes:
        secret = str(inbox.secrets.get("api_secret") or "")
        if inbox.config.get("api_key") != issuer or not secret:
            continue
        receiver = api.WebhookReceiver(api.TokenVerifier(issuer, secret))
        try:
            return inbox, receiver.receive(text, token)
        except jwt.ExpiredSignatureError:
            expired = True
        except jwt.PyJWTError:
            continue  # another inbox with this key may hold the secret that signed it
        except ParseError:
            raise KefuError("malformed body: not a LiveKit webhook event") from None
        except Exception:  # the receiver raises a bare Exception for the hash
            # Signed by this inbox's secret, but the body is not the one signed (or the
            # token has no sha256, or one that is not base64).
            raise _refuse(
                "the body does not match the sha256 its token signs",
                "回调内容与令牌中签名的 sha256 不符",
            ) from None
    if expired:
        raise _refuse(
            "the webhook token has expired: a replay, or a clock far off",
            "回调令牌已过期：可能是重放，或时钟偏差过大",
        )
    raise _refuse(
        f"no voice inbox with API key {issuer} signed this webhook",
        f"没有 API Key 为 {issuer} 的语音收件箱签发此回调",
    )


def _bounded(value: str, field: str, limit: int = NAME_MAX) -> str:
    if len(value) > limit or not storable_value(value):
        raise KefuError(f"malformed body: {field} is too long or holds unstorable text")
    return value


def _at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC) if seconds > 0 else datetime.now(UTC)


def playable(location: str, inbox: ChannelInbox | None) -> str:
    """Where staff play a finished file: a file egress wrote into this inbox's folder of
    `recording_path` (the egress server and kefu share that disk as kefu's
    `media_dir/voice`) is `/media/voice/<inbox id>/<file>`; anything else (an object
    store's URL, a folder kefu cannot see) as LiveKit reported it."""
    if inbox is None:
        return location
    base = str(inbox.config.get("recording_path") or "/recordings").rstrip("/") + "/"
    rest = location[len(base) :] if location.startswith(base) else ""
    inbox_part, _, name = rest.partition("/")
    if inbox_part != str(inbox.id) or not name or ".." in name.split("/"):
        return location
    return f"/media/voice/{inbox.id}/{name}"


def to_media_event(event: api.WebhookEvent, inbox: ChannelInbox | None = None) -> MediaEvent | None:
    """kefu's `MediaEvent` for the events calls care about; None for the rest."""
    kind = KINDS.get(event.event)
    if kind is None:
        return None
    event_id = _bounded(event.id, "id", ID_MAX)
    if not event_id:
        raise KefuError("malformed body: the event has no id")
    at = _at(event.created_at)
    if kind in ("egress_started", "egress_ended"):
        info = event.egress_info
        file_location = None
        duration_s = None
        if info.file_results:
            result = info.file_results[0]
            file_location = playable(
                _bounded(result.location or result.filename, "location", 2000), inbox
            )
            duration_s = result.duration / 1e9 if result.duration else None
        failed = info.status in (api.EGRESS_FAILED, api.EGRESS_ABORTED)
        return MediaEvent(
            kind=kind,
            event_id=event_id,
            room=_bounded(info.room_name or event.room.name, "room"),
            at=at,
            egress_id=_bounded(info.egress_id, "egress_id", ID_MAX),
            file_location=file_location or None,
            duration_s=duration_s,
            error=_bounded(info.error or "egress failed", "error", 2000) if failed else None,
        )
    participant = None
    if kind in ("participant_joined", "participant_left"):
        participant = _bounded(event.participant.identity, "participant")
    return MediaEvent(
        kind=kind,
        event_id=event_id,
        room=_bounded(event.room.name, "room"),
        at=at,
        participant=participant,
    )


def dtmf_event(
    *, event_id: str, room: str, participant: str, code: int, at: datetime
) -> MediaEvent | None:
    """A `sip_dtmf` packet (code 0-11) as kefu's `MediaEvent`, for a worker that sits in
    the room; None for a code that is no telephone key."""
    digit = DTMF_KEYS.get(code)
    if digit is None:
        return None
    return MediaEvent(
        kind="dtmf", event_id=event_id, room=room, at=at, participant=participant, digit=digit
    )


def sip_caller(event: api.WebhookEvent, region: str = "CN") -> SipCaller | None:
    """The phone caller of a `participant_joined`, when LiveKit's SIP service dispatched
    them into a room kefu did not open; None for everyone else."""
    from kefu.connectors.voice.connector import SipCaller

    who = event.participant
    if event.event != "participant_joined" or who.kind != api.ParticipantInfo.SIP:
        return None
    if event.room.name.startswith(KEFU_ROOM_PREFIX):
        return None  # a number kefu dialled into one of its own calls
    raw = who.attributes.get("sip.phoneNumber", "")[:64]
    dialled = who.attributes.get("sip.trunkPhoneNumber", "")[:64]
    return SipCaller(
        room=_bounded(event.room.name, "room"),
        identity=_bounded(who.identity, "participant"),
        number=to_e164(raw, region) if raw else None,
        call_id=_bounded(who.attributes.get("sip.callID", ""), "sip.callID", ID_MAX),
        dialled=to_e164(dialled, region) if dialled else None,
    )


def line_of(inboxes: list[ChannelInbox], signer: ChannelInbox, caller: SipCaller) -> ChannelInbox:
    """The inbox a phone caller reached: of the inboxes on the same LiveKit server (same
    key and secret as the one that verified the webhook), the one whose number was
    dialled; the verifying one when no number matches (one hotline per server)."""
    same_server = [
        i
        for i in inboxes
        if i.config.get("api_key") == signer.config.get("api_key")
        and i.secrets.get("api_secret") == signer.secrets.get("api_secret")
    ]
    for inbox in same_server:
        if caller.dialled and inbox.config.get("caller_number") == caller.dialled:
            return inbox
    return signer


def _connector(kefu: Kefu) -> VoiceConnector:
    from kefu.connectors.voice.connector import VoiceConnector

    found = kefu.connectors.find(ChannelKind.voice)
    assert isinstance(found, VoiceConnector)
    return found


class LiveKitWebhook(Controller):
    path = "/connectors/livekit"
    tags = ["connectors"]
    # Before the signature is checked there is no inbox to count against: count the
    # sender's address (LiveKit posts from a few), then the inbox once verified.
    guards = (ratelimit.per_ip("webhook_per_inbox"),)

    @post("/webhook", status_code=200)
    async def webhook(self, kefu: Kefu, request: Request[Any, Any, Any]) -> Answer:
        body = await request.body()
        if len(body) > BODY_MAX:
            raise TooLarge(f"a LiveKit webhook is at most {BODY_MAX} bytes")
        inboxes = await active_inboxes(kefu, ChannelKind.voice)
        inbox, event = verify(inboxes, body, request.headers.get("authorization"))
        await ratelimit.check(
            kefu, (f"webhook_per_inbox:inbox_id:{inbox.id}", kefu.rate_limits.webhook_per_inbox)
        )
        media = to_media_event(event, inbox)
        if media is None:
            return Answer(event=event.event[:64], handled=False)
        key = RECEIPT_PREFIX + media.event_id
        if not await receipts.claim(kefu, inbox.id, key):
            raise _refuse(
                f"event {media.event_id} was already received: a replay",
                f"事件 {media.event_id} 已接收过：重放",
            )
        caller = sip_caller(event)
        try:
            if caller is not None:
                line = line_of(inboxes, inbox, caller)
                await _connector(kefu).sip_caller_arrived(kefu, line.id, caller)
            else:
                await _connector(kefu).hand_over(kefu, inbox.id, media)
        except BaseException:
            await receipts.release(kefu, inbox.id, key)
            raise
        return Answer(event=event.event, handled=True)
