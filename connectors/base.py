"""The Connector protocol: everything kefu knows about a channel, declared by the channel.

A connector is one package under `connectors/`. It declares its `kind` and `label`, its
settings as two msgspec Structs (`config_type` public, `secrets_type` write-only; see
`kefu.connectors.config`), its webhook path and HTTP routes, its capabilities, and how it
delivers `Outbound` values handed to it by the outbox dispatcher. It verifies and parses
what its channel sends and hands `Inbound` values to `kefu.conversations`; it never
writes core rows itself. The core (`inboxes/`, `app.py`) asks the `Registry` and imports
no channel.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Coroutine, Sequence
from typing import Any, Protocol, runtime_checkable

import msgspec
from litestar.types import ControllerRouterHandler

from kefu.connectors.config import FieldSpec, fields_of
from kefu.errors import FieldError
from kefu.i18n import Label, Text
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


class Capabilities(msgspec.Struct, frozen=True, kw_only=True):
    """What the channel can do beyond text, so the console offers only what works.
    `reply_window_hours`: replies are accepted only this long after the customer's
    last message (None: no window). `opt_out`: customers can unsubscribe from the inbox
    (SMS STOP), so replies are checked against `kefu.conversations.optout` first."""

    reply_window_hours: int | None = None
    media: bool = False
    typing: bool = False
    read_receipts: bool = False
    voice: bool = False
    opt_out: bool = False


class ConnectionCheck(msgspec.Struct, frozen=True):
    """The outcome of `test_connection`, said so an admin knows what to fix."""

    ok: bool
    message: Text


class NoSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The settings of a channel that has none (or no secrets)."""


@runtime_checkable
class ConnectionTester(Protocol):
    """Optional: a connector that can prove its settings work (`POST .../test`)."""

    async def test_connection(self, inbox: InboxView) -> ConnectionCheck: ...


class Connector(Protocol):
    # Read-only members: a connector declares them as class attributes.
    @property
    def kind(self) -> ChannelKind: ...
    @property
    def label(self) -> Text: ...
    @property
    def config_type(self) -> type[msgspec.Struct]:
        """Public settings: shown in the form and in every inbox response."""
        ...

    @property
    def secrets_type(self) -> type[msgspec.Struct]:
        """Write-only settings: stored in `Inbox.secrets`, read back only as names."""
        ...

    @property
    def capabilities(self) -> Capabilities: ...

    def webhook_path(self, inbox_id: uuid.UUID) -> str | None:
        """Where the channel posts to kefu for this inbox (None: no webhook)."""
        ...

    def routes(self) -> Sequence[ControllerRouterHandler]:
        """The HTTP handlers this channel adds to the app (webhooks, its own API)."""
        ...

    def check(self, config: Any, secrets: Any) -> list[FieldError]:
        """Rules across fields (`config.<name>` paths), after each field passed its own."""
        ...

    async def send(self, inbox: InboxView, outbound: Outbound) -> SendResult:
        """Deliver one reply; raise `DeliveryError` when the channel refuses it."""
        ...


class ChannelSchema(msgspec.Struct, frozen=True, kw_only=True):
    """One channel as the console's inbox form sees it (`GET /api/v1/channels`)."""

    kind: ChannelKind
    label: Label
    webhook: bool
    can_test: bool
    capabilities: Capabilities
    fields: list[FieldSpec]


def schema_of(connector: Connector) -> ChannelSchema:
    return ChannelSchema(
        kind=connector.kind,
        label=connector.label.both(),
        webhook=connector.webhook_path(uuid.UUID(int=0)) is not None,
        can_test=isinstance(connector, ConnectionTester),
        capabilities=connector.capabilities,
        fields=fields_of(connector.config_type, secret=False)
        + fields_of(connector.secrets_type, secret=True),
    )


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

    def background(self, stop: asyncio.Event) -> list[Coroutine[Any, Any, None]]:
        """Work connectors run beside the server (e-mail's IMAP worker), until `stop`."""
        jobs: list[Coroutine[Any, Any, None]] = []
        for connector in self._by_kind.values():
            more = getattr(connector, "background", None)
            if more is not None:
                jobs.extend(more(stop))
        return jobs

    def find(self, kind: ChannelKind | str) -> Connector | None:
        try:
            return self._by_kind.get(ChannelKind(kind))
        except ValueError:
            return None

    def get(self, kind: ChannelKind | str) -> Connector:
        """The connector that delivers to `kind` inboxes (the outbox's question)."""
        found = self.find(kind)
        if found is None:
            raise DeliveryError(f"no connector is configured for {kind} inboxes", retryable=False)
        return found

    def kinds(self) -> list[ChannelKind]:
        return list(self._by_kind)

    def routes(self) -> list[ControllerRouterHandler]:
        """Every connector's HTTP handlers, for `create_app` to mount (once each)."""
        mounted: list[ControllerRouterHandler] = []
        for connector in self._by_kind.values():
            for handler in connector.routes():
                if handler not in mounted:
                    mounted.append(handler)
        return mounted

    def schemas(self) -> list[ChannelSchema]:
        return [schema_of(c) for c in self._by_kind.values()]
