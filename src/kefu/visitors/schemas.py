"""What leaves the visitors domain: a visitor as a frozen value, and a conversation and its
messages as the visitor may see them (no internal notes, no agents' ids)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Protocol

import msgspec

from kefu.model import Attachment


class Visitor(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    workspace_id: uuid.UUID
    inbox_id: uuid.UUID
    external_id: str | None
    verified: bool
    name: str | None
    email: str | None
    phone: str | None
    language: str | None
    entry_point: str | None
    page_url: str | None
    page_title: str | None
    referrer: str | None
    attributes: dict[str, Any]
    prechat_done: bool
    tokens_valid_after: datetime | None = None
    blocked: bool = False


class PageFacts(Protocol):
    """A page the widget reports (the connector's request type has the limits)."""

    @property
    def url(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def referrer(self) -> str: ...


class VisitorMessage(msgspec.Struct, frozen=True, kw_only=True):
    """A message as the visitor sees it: no internal ids of agents, no notes ever."""

    id: uuid.UUID
    conversation_id: uuid.UUID
    seq: int
    direction: str
    sender_kind: str
    sender_name: str | None
    type: str
    body: str
    attachments: list[Attachment]
    delivery_status: str
    client_message_id: str | None
    created_at: datetime


class ConversationView(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    status: str
    last_seq: int
    assignee_name: str | None
    assignee_avatar: str | None
    queue_position: int | None
    estimated_wait_seconds: int | None
    csat_score: int | None


class Thread(msgspec.Struct, frozen=True, kw_only=True):
    conversation: ConversationView | None
    messages: list[VisitorMessage]


class PageViewOut(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    url: str
    title: str
    referrer: str
    started_at: datetime
    seconds_on_page: int | None
