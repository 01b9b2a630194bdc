from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

import msgspec

from kefu.connectors.base import ChannelSchema
from kefu.model import NO_NUL, ChannelKind

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=NO_NUL)]
# A plain string, not ChannelKind: a kind kefu has no connector for is refused by the
# service with a reason ("no connector is installed for sms inboxes"), not a type error.
Kind = Annotated[str, msgspec.Meta(min_length=1, max_length=32)]
Config = Annotated[dict[str, Any], msgspec.Meta(max_length=100)]


class InboxCreate(msgspec.Struct, frozen=True, kw_only=True):
    """`config` holds the channel's public settings and its secrets side by side, as the
    form sends them; the channel's declaration says which is which."""

    kind: Kind
    name: Name
    config: Config = msgspec.field(default_factory=dict)
    default_group_id: uuid.UUID | None = None


class InboxUpdate(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """`config`, when given, replaces the public settings; a secret that is absent or
    "" keeps its stored value, and `null` clears an optional one."""

    name: Name | None = None
    config: Config | None = None
    default_group_id: uuid.UUID | None = None
    active: bool | None = None


class InboxOut(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """An inbox as admins see it: secrets are reported only as the names that are set.
    `generated_secrets` appears once, in the answer to create and to rotate: kefu keeps
    no way to show a generated secret again."""

    id: uuid.UUID
    kind: ChannelKind
    name: str
    public_key: str
    config: dict[str, Any]
    secrets_set: list[str]
    default_group_id: uuid.UUID | None
    active: bool
    webhook_url: str | None
    created_at: datetime
    generated_secrets: dict[str, str] | None = None
    # Archived inboxes take no new messages and are out of routing; only they may be
    # deleted while they have conversations.
    archived_at: datetime | None = None
    # In the answer to GET /api/v1/inboxes/{id}: what deleting it would remove.
    conversation_count: int | None = None


class ItemsInboxes(msgspec.Struct, frozen=True):
    items: list[InboxOut]


class ItemsChannels(msgspec.Struct, frozen=True):
    items: list[ChannelSchema]


class ConnectionTestOut(msgspec.Struct, frozen=True):
    ok: bool
    message: str
