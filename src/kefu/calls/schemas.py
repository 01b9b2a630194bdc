"""What the calls API reads and answers, with limits at the edge (no NUL, bounded
strings, the twelve telephone keys only)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec

from kefu.model import NO_NUL

Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=NO_NUL)]
Digit = Annotated[str, msgspec.Meta(pattern=r"^[0-9*#]$")]
# E.164-ish: what a SIP trunk dials; no letters, no spaces.
Number = Annotated[str, msgspec.Meta(min_length=3, max_length=32, pattern=r"^\+?[0-9]{3,31}$")]
NoteBody = Annotated[str, msgspec.Meta(min_length=1, max_length=10_000, pattern=NO_NUL)]

CallStatusName = Literal[
    "ivr",
    "queued",
    "ringing",
    "connected",
    "held",
    "wrap_up",
    "ended",
    "abandoned",
    "voicemail",
    "missed",
]
PhoneStateName = Literal["offline", "ready", "not_ready", "wrap_up", "busy"]


class CallContact(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    id: uuid.UUID | None
    name: str | None = None
    phone: str | None = None


class CallView(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    conversation_id: uuid.UUID
    inbox_id: uuid.UUID
    contact: CallContact
    direction: Literal["inbound", "outbound"]
    status: CallStatusName
    room: str
    ivr_path: list[str]
    group_id: uuid.UUID | None = None
    agent_id: uuid.UUID | None = None
    ringing_agent_ids: list[uuid.UUID] = msgspec.field(default_factory=list)
    queued_at: datetime | None = None
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    wait_s: int | None = None
    talk_s: int | None = None
    hold_s: int | None = None
    recording_url: str | None = None
    voicemail_url: str | None = None
    duration_s: int | None = None
    hangup_cause: str | None = None
    consult_agent_id: uuid.UUID | None = None
    # While queued: the place in the group's queue (1 = next) and the estimated wait
    # (kefu.calls.waiting says the formula); None otherwise.
    position: int | None = None
    estimated_wait_s: int | None = None
    created_at: datetime


class CallList(msgspec.Struct, frozen=True):
    items: list[CallView]


class PhoneStateIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    state: Literal["offline", "ready", "not_ready"]
    reason: Reason | None = None


class PhoneView(msgspec.Struct, frozen=True, kw_only=True):
    state: PhoneStateName
    reason: str | None = None
    since: datetime | None = None
    call: CallView | None = None


class Joined(msgspec.Struct, frozen=True, kw_only=True):
    """How a browser joins the call's room."""

    livekit_url: str
    token: str
    room: str


class TransferIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    agent_id: uuid.UUID | None = None
    group_id: uuid.UUID | None = None
    number: Number | None = None
    attended: bool = False


class ConferenceIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    number: Number


class DigitIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    digit: Digit


class NoteIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    body: NoteBody


class Prompt(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    text: str
    audio_url: str | None = None


class WidgetCall(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    call: CallView
    livekit_url: str | None = None
    token: str | None = None
    prompt: Prompt | None = None
