"""What the tickets API takes and answers. Every string has the length of its column."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Annotated, Any

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
    type: TicketType | None = None
    # Custom fields to set by key (null clears one), checked against the definitions.
    custom: CustomValues | None = None
    # A pending ticket reopens at this time (the sweep).
    remind_at: When | None = None
    clear: Annotated[
        list[
            Annotated[
                str,
                msgspec.Meta(
                    pattern="^(assignee_id|department_id|category|due_at|type|remind_at)$"
                ),
            ]
        ],
        msgspec.Meta(max_length=6),
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
    type: str | None = None
    custom: dict[str, Any] = msgspec.field(default_factory=dict)
    merged_into_id: uuid.UUID | None = None
    remind_at: datetime | None = None
    watcher_ids: list[uuid.UUID] = msgspec.field(default_factory=list)
    links: list[LinkOut] = msgspec.field(default_factory=list)


class TicketPage(msgspec.Struct, frozen=True):
    items: list[TicketOut]
    next: str | None


class ActionKind(enum.StrEnum):
    notify_assignee = "notify_assignee"
    notify_supervisors = "notify_supervisors"
    raise_priority = "raise_priority"
    reassign = "reassign"


class SlaAction(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    kind: ActionKind
    # reassign: to this department (skill group) and/or this agent.
    group_id: uuid.UUID | None = None
    agent_id: uuid.UUID | None = None


SlaActionList = Annotated[list[SlaAction], msgspec.Meta(max_length=8)]


class SlaActions(msgspec.Struct, frozen=True, kw_only=True):
    warning: SlaActionList = msgspec.field(default_factory=list)
    breach: SlaActionList = msgspec.field(default_factory=list)


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
    warn_before_s: Seconds | None = None
    actions: SlaActions = msgspec.field(default_factory=SlaActions)


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
    warn_before_s: int | None = None
    actions: SlaActions = msgspec.field(default_factory=SlaActions)


class SlaPolicyList(msgspec.Struct, frozen=True):
    items: list[SlaPolicyOut]


# ---------------------------------------------------------------------------
# ticket operations (issue 17, second part): type, custom fields, watchers, links,
# reminders, bulk edits, merge and split, SLA warnings and escalation actions


class TicketType(enum.StrEnum):
    question = "question"
    incident = "incident"
    problem = "problem"
    task = "task"


FieldKey = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")]
# A custom field's value as the client sends it; the field's definition says which of
# these it must be (fields.check).
FieldValue = str | int | float | bool | None
CustomValues = Annotated[dict[FieldKey, FieldValue], msgspec.Meta(max_length=50)]


class FieldKind(enum.StrEnum):
    text = "text"
    number = "number"
    date = "date"
    list = "list"
    checkbox = "checkbox"


Option = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
Limit = Annotated[float, msgspec.Meta(ge=-1e12, le=1e12)]


class TicketFieldIn(msgspec.Struct, frozen=True, kw_only=True):
    key: FieldKey
    label: Title
    label_zh: Title | None = None
    kind: FieldKind
    options: Annotated[list[Option], msgspec.Meta(max_length=100)] = msgspec.field(
        default_factory=list
    )
    required: bool = False
    # text: at most this many characters (default and ceiling 5000).
    max_length: Annotated[int, msgspec.Meta(ge=1, le=5000)] | None = None
    # number: the allowed range.
    min_value: Limit | None = None
    max_value: Limit | None = None
    position: Annotated[int, msgspec.Meta(ge=-1000, le=1000)] = 0


class TicketFieldOut(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    key: str
    label: str
    label_zh: str | None
    kind: FieldKind
    options: list[str]
    required: bool
    max_length: int | None
    min_value: float | None
    max_value: float | None
    position: int


class TicketFieldList(msgspec.Struct, frozen=True):
    items: list[TicketFieldOut]


class LinkKind(enum.StrEnum):
    related = "related"
    split_from = "split_from"
    split_into = "split_into"
    merged_from = "merged_from"
    merged_into = "merged_into"


class LinkOut(msgspec.Struct, frozen=True, kw_only=True):
    ticket_id: uuid.UUID
    number: str
    title: str
    status: StatusKind
    kind: LinkKind


class TicketExtras(msgspec.Struct, frozen=True, kw_only=True):
    """The parts of a ticket page that live beside the ticket row."""

    watcher_ids: list[uuid.UUID] = msgspec.field(default_factory=list)
    links: list[LinkOut] = msgspec.field(default_factory=list)


class BulkSet(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What a bulk action sets on every ticket it names. `assignee_id` null (with
    `unassign`) clears the assignee."""

    assignee_id: uuid.UUID | None = None
    unassign: bool = False
    status: StatusKind | None = None
    priority: Priority | None = None
    add_tags: Tags = msgspec.field(default_factory=list)
    remove_tags: Tags = msgspec.field(default_factory=list)


class BulkIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    ids: Annotated[list[uuid.UUID], msgspec.Meta(min_length=1, max_length=100)]
    set: BulkSet


class BulkResult(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    id: uuid.UUID
    # "updated" | "unchanged" | "not_found" | "invalid" | "conflict"
    outcome: str
    version: int | None = None
    reason: str | None = None


class BulkOut(msgspec.Struct, frozen=True, kw_only=True):
    updated: int
    failed: int
    results: list[BulkResult]


class WatcherIn(msgspec.Struct, frozen=True, kw_only=True):
    user_id: uuid.UUID


class LinkIn(msgspec.Struct, frozen=True, kw_only=True):
    other_id: uuid.UUID


class MergeIn(msgspec.Struct, frozen=True, kw_only=True):
    """Merge `source_id` into the ticket of the path (the one that stays)."""

    source_id: uuid.UUID


class SplitIn(msgspec.Struct, frozen=True, kw_only=True):
    comment_id: uuid.UUID
    title: Title | None = None


class TicketBreach(msgspec.Struct, frozen=True, kw_only=True):
    """One row of the supervisor board's ticket panel."""

    id: uuid.UUID
    number: str
    title: str
    priority: Priority
    assignee_id: uuid.UUID | None
    department_id: uuid.UUID | None
    due_at: datetime
    # Negative: breached this many seconds ago.
    remaining_s: int
