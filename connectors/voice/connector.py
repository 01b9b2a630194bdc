"""The voice connector: a voice inbox's settings, LiveKit as kefu's `MediaGateway`, and
LiveKit's webhook. Core finds it with `kefu.connectors.find("voice")` and talks to it
only through `kefu.calls.media`."""

from __future__ import annotations

import importlib
import uuid
from collections.abc import Awaitable, Callable, Sequence

from litestar.types import ControllerRouterHandler

from kefu.calls.media import MediaEvent
from kefu.connectors.base import Capabilities, DeliveryError, InboxView
from kefu.connectors.voice.config import VoiceConfig, VoiceSecrets, check
from kefu.connectors.voice.gateway import LiveKitGateway
from kefu.context import Kefu
from kefu.errors import FieldError
from kefu.i18n import Text
from kefu.model import ChannelKind, Outbound, SendResult
from kefu.outbound import OutboundClient

MediaEventHandler = Callable[[Kefu, MediaEvent], Awaitable[object]]


async def core_handler(kefu: Kefu, event: MediaEvent) -> object:
    """`kefu.calls.service.handle_media_event`, looked up when the first event arrives
    (the calls service imports the connector registry, not the other way round)."""
    service = importlib.import_module("kefu.calls.service")
    handle: MediaEventHandler = service.handle_media_event
    return await handle(kefu, event)


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
    ) -> None:
        super().__init__(outbound or OutboundClient(), timeout_s=timeout_s)
        # Tests replace the core side with a fake that speaks only `kefu.calls.media`.
        self.on_media_event = on_media_event

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

    async def send(self, inbox: InboxView, outbound: Outbound) -> SendResult:
        raise DeliveryError(
            "a phone call carries no text: reply by SMS or e-mail, or call back / "
            "通话无法发送文字：请改用短信或邮件回复，或回电",
            retryable=False,
        )
