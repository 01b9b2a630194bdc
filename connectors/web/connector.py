"""The web channel's connector. Delivery is a no-op: the visitor reads replies over the
websocket (published by the core after commit) or from the database when they come back,
so once the reply is committed there is nothing left to hand over."""

from __future__ import annotations

from kefu.connectors.base import InboxView
from kefu.model import ChannelKind, Outbound, SendResult


class WebConnector:
    kind = ChannelKind.web

    async def send(self, inbox: InboxView, outbound: Outbound) -> SendResult:
        return SendResult(channel_message_id=None)
