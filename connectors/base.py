"""The Connector protocol: how a channel leaves kefu.

A connector verifies and parses what its channel sends (in its own HTTP handler, which
ends in `kefu.conversations.ingest`) and delivers `Outbound` values handed to it by the
outbox dispatcher. It never writes to the database itself.
"""

from __future__ import annotations

from typing import Any, Protocol

from kefu.model import ChannelKind, Outbound, SendResult


class DeliveryError(Exception):
    """A send that did not go through. `retryable` says whether the outbox should try
    again later; `reason` is shown to the agent when it finally fails, so write it for
    a person ("WeChat allows replies for 48 h after the customer's last message")."""

    def __init__(self, reason: str, *, retryable: bool = True) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


class InboxView(Protocol):
    """What a connector may read of its inbox row."""

    @property
    def id(self) -> Any: ...
    @property
    def kind(self) -> str: ...
    @property
    def config(self) -> dict[str, Any]: ...
    @property
    def secrets(self) -> dict[str, Any]: ...


class Connector(Protocol):
    kind: ChannelKind

    async def send(self, inbox: InboxView, outbound: Outbound) -> SendResult:
        """Deliver one reply; raise `DeliveryError` when the channel refuses it."""
        ...


class Registry:
    """Connectors by channel kind; `create_app` fills one from settings, tests swap parts."""

    def __init__(self) -> None:
        self._by_kind: dict[ChannelKind, Connector] = {}

    def register(self, connector: Connector) -> None:
        self._by_kind[connector.kind] = connector

    async def aclose(self) -> None:
        """Close connectors that hold clients (HTTP pools)."""
        for connector in self._by_kind.values():
            close = getattr(connector, "aclose", None)
            if close is not None:
                await close()

    def get(self, kind: ChannelKind | str) -> Connector:
        try:
            return self._by_kind[ChannelKind(kind)]
        except (KeyError, ValueError):
            raise DeliveryError(
                f"no connector is configured for {kind} inboxes", retryable=False
            ) from None
