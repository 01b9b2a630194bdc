from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Annotated

import msgspec

# No spaces or slashes: the composer finds a reply by the word after "/".
Shortcut = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[^\s/]+$")]
Title = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Body = Annotated[str, msgspec.Meta(min_length=1, max_length=5000)]


class Scope(enum.StrEnum):
    team = "team"
    personal = "personal"


class QuickReplyOut(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    shortcut: str
    title: str
    body: str
    scope: Scope
    owner_id: uuid.UUID | None
    updated_at: datetime


class QuickReplyCreate(msgspec.Struct, frozen=True, kw_only=True):
    shortcut: Shortcut
    title: Title
    body: Body
    scope: Scope = Scope.personal


class QuickReplyUpdate(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    shortcut: Shortcut | None = None
    title: Title | None = None
    body: Body | None = None


class QuickReplyPage(msgspec.Struct, frozen=True):
    items: list[QuickReplyOut]


class RenderRequest(msgspec.Struct, frozen=True, kw_only=True):
    conversation_id: uuid.UUID


class Rendered(msgspec.Struct, frozen=True, kw_only=True):
    body: str
    # Variables the text names that had no value here (shown so the agent can fill them).
    missing: list[str]
