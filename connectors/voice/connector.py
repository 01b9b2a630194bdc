"""The voice connector: a voice inbox's settings, LiveKit as kefu's `MediaGateway`, and
LiveKit's webhook. Core finds it with `kefu.connectors.find("voice")` and talks to it
only through `kefu.calls.media`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from datetime import timedelta
from typing import Any

import msgspec
from litestar.types import ControllerRouterHandler

from kefu.calls.media import MediaEvent
from kefu.connectors.base import Capabilities, DeliveryError, InboxView
from kefu.connectors.voice.config import VoiceConfig, VoiceSecrets, check
from kefu.connectors.voice.gateway import LiveKitGateway
from kefu.context import Kefu
from kefu.errors import FieldError
from kefu.i18n import Text
from kefu.model import ChannelKind, ContactFacts, Identity, Outbound, SendResult, utcnow
from kefu.outbound import OutboundClient

PHONE_IDENTITY = "phone"  # the identity kind SMS uses too: one contact per number
# LiveKit signs a webhook for five minutes; an event id kept a day outlives any replay
# that could still verify, so older ones are forgotten (hourly).
EVENT_MEMORY = timedelta(days=1)
PRUNE_EVERY_S = 3600.0
log = logging.getLogger("kefu.connectors.voice")


async def forget_old_events(kefu: Kefu, stop: asyncio.Event) -> None:
    from kefu.channel_state.receipts import prune
    from kefu.connectors.voice.webhook import RECEIPT_PREFIX

    while not stop.is_set():
        try:
            await prune(kefu, RECEIPT_PREFIX, utcnow() - EVENT_MEMORY)
        except Exception:  # a busy database: try again next hour
            log.exception("could not forget old LiveKit event ids")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), PRUNE_EVERY_S)


MediaEventHandler = Callable[[Kefu, MediaEvent], Awaitable[object]]
# A SIP caller reached a room LiveKit's dispatch rule made: (kefu, inbox, caller).
SipCallHandler = Callable[[Kefu, uuid.UUID, "SipCaller"], Awaitable[object]]


class SipCaller(msgspec.Struct, frozen=True, kw_only=True):
    """A phone caller LiveKit put in a room of its own (an inbound SIP call)."""

    room: str
    identity: str  # the SIP participant's identity in the room
    number: str | None  # E.164, when the caller's number is known and valid
    call_id: str  # LiveKit's `sip.callID`, the stable name of this phone call
    dialled: str | None = None  # the inbox's number the caller dialled (E.164)


async def core_handler(kefu: Kefu, event: MediaEvent) -> object:
    """`kefu.calls.service.handle_media_event`, imported when the first event arrives
    (the calls service imports much of the core; the registry loads connectors early)."""
    from kefu.calls.service import handle_media_event

    await handle_media_event(kefu, event)
    return None


async def core_sip_call(kefu: Kefu, inbox_id: uuid.UUID, caller: SipCaller) -> object:
    """`kefu.calls.service.start_call` for a phone caller, in the room LiveKit made."""
    from kefu.calls.service import start_call

    identity = (
        Identity(PHONE_IDENTITY, caller.number)
        if caller.number
        else Identity("sip", caller.call_id or caller.identity)
    )
    return await start_call(
        kefu,
        inbox_id,
        identity=identity,
        contact=ContactFacts(phone=caller.number) if caller.number else None,
        source="sip",
        caller_identity=caller.identity,
        caller_number=caller.number,
        room=caller.room,
    )


class VoiceConnector(LiveKitGateway):
    kind = ChannelKind.voice
    label = Text("Voice (LiveKit)", "语音（LiveKit）")
    config_type = VoiceConfig
    secrets_type = VoiceSecrets
    capabilities = Capabilities(voice=True)

    def __init__(
        self,
        outbound: OutboundClient | None = None,
        *,
        timeout_s: float = 10.0,
        on_media_event: MediaEventHandler = core_handler,
        on_sip_call: SipCallHandler = core_sip_call,
    ) -> None:
        super().__init__(outbound or OutboundClient(), timeout_s=timeout_s)
        # Tests replace the core side with a fake that speaks only `kefu.calls.media`.
        self.on_media_event = on_media_event
        self.on_sip_call = on_sip_call
        self.kefu: Kefu | None = None  # set by `install`, for the background job

    def background(self, stop: asyncio.Event) -> list[Coroutine[Any, Any, None]]:
        """Forgets webhook event ids once no replay of them can verify any more."""
        return [forget_old_events(self.kefu, stop)] if self.kefu is not None else []

    def webhook_path(self, inbox_id: uuid.UUID) -> str:
        # One URL for the deployment: LiveKit's server has one webhook address, and the
        # token's API key picks the inbox.
        return "/connectors/livekit/webhook"

    def routes(self) -> Sequence[ControllerRouterHandler]:
        from kefu.connectors.voice.webhook import LiveKitWebhook

        return [LiveKitWebhook]

    def check(self, public: VoiceConfig, secrets: VoiceSecrets) -> list[FieldError]:
        return check(public, secrets)

    async def hand_over(self, kefu: Kefu, inbox_id: uuid.UUID, event: MediaEvent) -> None:
        """A verified, first-seen event of this inbox, to core."""
        await self.on_media_event(kefu, event)

    async def sip_caller_arrived(self, kefu: Kefu, inbox_id: uuid.UUID, caller: SipCaller) -> None:
        """A phone call LiveKit's SIP service dispatched into a room of its own."""
        await self.on_sip_call(kefu, inbox_id, caller)

    async def send(self, inbox: InboxView, outbound: Outbound) -> SendResult:
        raise DeliveryError(
            "a phone call carries no text: reply by SMS or e-mail, or call back / "
            "通话无法发送文字：请改用短信或邮件回复，或回电",
            retryable=False,
        )
