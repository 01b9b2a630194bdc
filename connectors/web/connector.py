"""The web channel's connector. Delivery is a no-op: the visitor reads replies over the
websocket (published by the core after commit) or from the database when they come back,
so once the reply is committed there is nothing left to hand over."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from litestar.types import ControllerRouterHandler

from kefu.connectors.base import Capabilities, InboxView
from kefu.connectors.web import config
from kefu.connectors.web.config import WebConfig, WebSecrets
from kefu.errors import FieldError
from kefu.i18n import Text
from kefu.model import ChannelKind, Outbound, SendResult


class WebConnector:
    kind = ChannelKind.web
    label = Text("Website chat widget", "网站在线客服")
    config_type = WebConfig
    secrets_type = WebSecrets
    capabilities = Capabilities(media=True, typing=True, read_receipts=True)

    def webhook_path(self, inbox_id: uuid.UUID) -> None:
        return None  # the widget calls kefu's visitor API; nothing to paste anywhere

    def routes(self) -> Sequence[ControllerRouterHandler]:
        from kefu.connectors.web.api import ROUTES

        return ROUTES

    def check(self, public: WebConfig, secrets: WebSecrets) -> list[FieldError]:
        return config.check(public, secrets)

    async def send(self, inbox: InboxView, outbound: Outbound) -> SendResult:
        return SendResult(channel_message_id=None)
