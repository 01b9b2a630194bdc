from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

import msgspec

from kefu.model import ChannelKind

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class InboxCreate(msgspec.Struct, frozen=True, kw_only=True):
    kind: ChannelKind
    name: Name
    config: dict[str, Any] = msgspec.field(default_factory=dict)
    default_group_id: uuid.UUID | None = None


class InboxUpdate(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    name: Name | None = None
    config: dict[str, Any] | None = None
    default_group_id: uuid.UUID | None = None
    active: bool | None = None


class InboxOut(msgspec.Struct, frozen=True, kw_only=True):
    """An inbox as admins see it: secrets are reported only as the names that are set."""

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


class ItemsInboxes(msgspec.Struct, frozen=True):
    items: list[InboxOut]
