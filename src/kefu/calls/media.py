"""The seam between calls (core) and the media server (the `voice` connector, LiveKit).

Core never imports LiveKit: it asks the voice connector, found through
`kefu.connectors.find("voice")`, for rooms, tokens, recordings and SIP legs through
`MediaGateway`, and the connector's webhook hands what the media server reports back to
core as `MediaEvent`s (`kefu.calls.service.handle_media_event`). Tests of either side
replace the other with a fake that speaks only this module.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal, Protocol, runtime_checkable

import msgspec

from kefu.connectors.base import InboxView

MediaEventKind = Literal[
    "room_started",
    "room_finished",
    "participant_joined",
    "participant_left",
    "dtmf",  # a SIP caller's key (LiveKit `sip_dtmf`), or the widget keypad
    "egress_started",
    "egress_ended",
]


class MediaEvent(msgspec.Struct, frozen=True, kw_only=True):
    """One thing the media server says happened, already verified and de-duplicated
    by event id by the connector. `room` names the call (`Call.room`)."""

    kind: MediaEventKind
    event_id: str
    room: str
    at: datetime
    participant: str | None = None  # the participant identity we minted (see `token`)
    digit: str | None = None  # "0"-"9", "*", "#"
    egress_id: str | None = None
    file_location: str | None = None  # where the finished recording is
    duration_s: float | None = None
    error: str | None = None  # egress failure, in the media server's words


RecordingKind = Literal["call", "voicemail"]  # the whole room, or the caller's track only


class MediaUnavailable(Exception):
    """The media server could not be reached or refused; `reason` is said to people."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@runtime_checkable
class MediaGateway(Protocol):
    """What the voice connector does for core. Every method raises `MediaUnavailable`
    when the media server cannot do it."""

    def server_url(self, inbox: InboxView) -> str:
        """The URL browsers connect to (wss://…), from the inbox config."""
        ...

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
        """A short-lived token for one participant of one room, no more rights than asked."""
        ...

    async def create_room(self, inbox: InboxView, room: str, *, empty_timeout_s: int) -> None: ...

    async def delete_room(self, inbox: InboxView, room: str) -> None: ...

    async def remove_participant(self, inbox: InboxView, room: str, identity: str) -> None: ...

    async def start_recording(
        self,
        inbox: InboxView,
        room: str,
        *,
        kind: RecordingKind,
        call_id: uuid.UUID,
        participant: str | None = None,
    ) -> str:
        """Start an audio-only egress; answers the egress id. `egress_ended` reports the file."""
        ...

    async def stop_recording(self, inbox: InboxView, egress_id: str) -> None: ...

    async def dial_out(self, inbox: InboxView, room: str, *, number: str, identity: str) -> None:
        """Bring a phone number into the room (LiveKit `create_sip_participant`)."""
        ...


class CallPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """The call-handling part of a voice inbox's config, as core reads it. The voice
    connector's config Struct carries these same fields (with their limits) so the admin
    sets them in the inbox form; core reads them with `msgspec.convert(inbox.config,
    CallPolicy)`, ignoring the connector's own fields."""

    ring_strategy: Literal["one", "all"] = "one"  # one agent at a time, or the whole group
    ring_timeout_s: int = 20  # then RINGNOANSWER and the next agent
    max_wait_s: int = 300  # in queue; then `on_max_wait`
    on_max_wait: Literal["voicemail", "callback"] = "voicemail"
    wrap_up_s: int = 30  # after-call work before the agent gets the next call
    record: bool = False
    recording_notice: bool = True  # say "this call is recorded" before recording starts
    voicemail_max_s: int = 120
