"""What the tickets API takes and answers. Every string has the length of its column."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Annotated

import msgspec

from kefu.model import INT32_MAX

Title = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Description = Annotated[str, msgspec.Meta(max_length=20000)]
Body = Annotated[str, msgspec.Meta(min_length=1, max_length=20000)]
Category = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Tag = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Tags = Annotated[list[Tag], msgspec.Meta(max_length=20)]
# Aware only: a naive time has no meaning across the customer's and the desk's zones.
When = Annotated[datetime, msgspec.Meta(tz=True)]
Version = Annotated[int, msgspec.Meta(ge=1, le=INT32_MAX)]


class StatusKind(enum.StrEnum):
    new = "new"
    open = "open"
    pending_customer = "pending_customer"
    pending_internal = "pending_internal"
    on_hold = "on_hold"
    resolved = "resolved"
    closed = "closed"


class Priority(enum.StrEnum):
    low = "low"
    normal = "normal"
    high = "high"
    urgent = "urgent"


PRIORITY_ORDER = list(Priority)


class TicketCreate(msgspec.Struct, frozen=True, kw_only=True):
    title: Title
    description: Description = ""
    contact_id: uuid.UUID | None = None
    priority: Priority = Priority.normal
    department_id: uuid.UUID | None = None
    assignee_id: uuid.UUID | None = None
    category: Category | None = None
    tags: Tags = msgspec.field(default_factory=list)
    due_at: When | None = None


class FromConversation(msgspec.Struct, frozen=True, kw_only=True):
    title: Title | None = None
    description: Description | None = None
    priority: Priority = Priority.normal
    department_id: uuid.UUID | None = None


class TicketPatch(msgspec.Struct, frozen=True, kw_only=True):
    """`version` is the one the client read; a field left out stays as it is. To clear
    the assignee, department, category or due date, name it in `clear`."""

    version: Version
    title: Title | None = None
    description: Description | None = None
    status: StatusKind | None = None
    priority: Priority | None = None
    department_id: uuid.UUID | None = None
    assignee_id: uuid.UUID | None = None
    category: Category | None = None
    tags: Tags | None = None
    due_at: When | None = None
    clear: Annotated[
        list[Annotated[str, msgspec.Meta(pattern="^(assignee_id|department_id|category|due_at)$")]],
        msgspec.Meta(max_length=4),
    ] = msgspec.field(default_factory=list)


class CommentCreate(msgspec.Struct, frozen=True, kw_only=True):
    body: Body
    public: bool = False


class CommentOut(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    author_kind: str
    author_id: uuid.UUID | None
    author_name: str | None
    public: bool
    body: str
    created_at: datetime


class ClockOut(msgspec.Struct, frozen=True, kw_only=True):
    target: str
    state: str
    due_at: datetime | None
    remaining_s: int


class TicketOut(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    number: str
    title: str
    description: str
    status: StatusKind
    priority: Priority
    contact_id: uuid.UUID | None
    department_id: uuid.UUID | None
    assignee_id: uuid.UUID | None
    category: str | None
    tags: list[str]
    channel: str | None
    due_at: datetime | None
    version: int
    sla_next_due_at: datetime | None
    progress_url: str
    conversation_ids: list[uuid.UUID]
    created_at: datetime
    updated_at: datetime
    clocks: list[ClockOut] = msgspec.field(default_factory=list)
    comments: list[CommentOut] = msgspec.field(default_factory=list)


class TicketPage(msgspec.Struct, frozen=True):
    items: list[TicketOut]
    next: str | None


Seconds = Annotated[int, msgspec.Meta(ge=60, le=INT32_MAX)]
Channel = Annotated[str, msgspec.Meta(min_length=1, max_length=16)]


class SlaConditions(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """All that are given must hold; an empty list or a missing key matches every ticket."""

    priority: Annotated[list[Priority], msgspec.Meta(max_length=4)] = msgspec.field(
        default_factory=list
    )
    department_id: Annotated[list[uuid.UUID], msgspec.Meta(max_length=50)] = msgspec.field(
        default_factory=list
    )
    channel: Annotated[list[Channel], msgspec.Meta(max_length=20)] = msgspec.field(
        default_factory=list
    )
    category: Annotated[list[Category], msgspec.Meta(max_length=50)] = msgspec.field(
        default_factory=list
    )
    vip_level_min: Annotated[int, msgspec.Meta(ge=0, le=100)] | None = None


class SlaPolicyIn(msgspec.Struct, frozen=True, kw_only=True):
    name: Title
    position: Annotated[int, msgspec.Meta(ge=-1000, le=1000)] = 0
    conditions: SlaConditions = msgspec.field(default_factory=SlaConditions)
    first_response_s: Seconds | None = None
    next_response_s: Seconds | None = None
    resolution_s: Seconds | None = None
    calendar_id: uuid.UUID | None = None
    raise_priority: bool = True


class SlaPolicyOut(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    name: str
    position: int
    enabled: bool
    conditions: SlaConditions
    first_response_s: int | None
    next_response_s: int | None
    resolution_s: int | None
    calendar_id: uuid.UUID | None
    raise_priority: bool


class SlaPolicyList(msgspec.Struct, frozen=True):
    items: list[SlaPolicyOut]
