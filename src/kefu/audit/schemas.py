from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import msgspec

from kefu.i18n import Label


class AuditOut(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    at: datetime
    actor_id: uuid.UUID | None
    actor_name: str
    action: str
    # The action in words, in both languages (the console switches without asking again).
    label: Label
    object_type: str
    object_id: str | None
    method: str
    path: str
    status: int
    ip: str | None
    user_agent: str | None
    details: dict[str, Any]


class AuditPage(msgspec.Struct, frozen=True):
    items: list[AuditOut]
    # Pass as `cursor` for the next (older) page; null on the last page.
    next: str | None


class ActionOut(msgspec.Struct, frozen=True):
    action: str
    label: Label


class ItemsActions(msgspec.Struct, frozen=True):
    items: list[ActionOut]
