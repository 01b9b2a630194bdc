"""Request and response types of the routing API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

from kefu.model import Int32
from kefu.routing.acd import GroupPolicy
from kefu.routing.hours import Interval, SpecialDay
from kefu.routing.rules import Condition, RoutingFacts, Target


class RuleIn(msgspec.Struct, frozen=True, kw_only=True):
    name: Annotated[str, msgspec.Meta(max_length=200)]
    target: Target
    priority: Int32 = 0
    enabled: bool = True
    match: Literal["all", "any"] = "all"
    conditions: Annotated[list[Condition], msgspec.Meta(max_length=50)] = msgspec.field(
        default_factory=list
    )
    set_priority: Int32 | None = None


class RuleOut(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    name: str
    target: Target
    priority: int
    enabled: bool
    match: str
    conditions: list[Condition]
    set_priority: int | None
    updated_at: datetime


class RuleList(msgspec.Struct, frozen=True):
    # In evaluation order.
    items: list[RuleOut]


Weekday = Annotated[str, msgspec.Meta(max_length=16)]
DayIntervals = Annotated[list[Interval], msgspec.Meta(max_length=24)]


class CalendarIn(msgspec.Struct, frozen=True, kw_only=True):
    name: Annotated[str, msgspec.Meta(max_length=200)]
    timezone: Annotated[str, msgspec.Meta(max_length=64)] = "Asia/Shanghai"
    weekly: Annotated[
        dict[
            Annotated[str, msgspec.Meta(max_length=16)],
            Annotated[list[Interval], msgspec.Meta(max_length=24)],
        ],
        msgspec.Meta(max_length=7),
    ] = msgspec.field(default_factory=dict)
    special_days: Annotated[list[SpecialDay], msgspec.Meta(max_length=400)] = msgspec.field(
        default_factory=list
    )


class CalendarOut(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    name: str
    timezone: str
    weekly: dict[str, list[Interval]]
    special_days: list[SpecialDay]
    open_now: bool
    next_open: datetime | None
    updated_at: datetime


class CalendarList(msgspec.Struct, frozen=True):
    items: list[CalendarOut]


class PolicyOut(msgspec.Struct, frozen=True, kw_only=True):
    group_id: uuid.UUID
    policy: GroupPolicy


class ExplainRequest(msgspec.Struct, frozen=True, kw_only=True):
    """Either an existing conversation, or facts to try rules against (what-if)."""

    conversation_id: uuid.UUID | None = None
    facts: RoutingFacts | None = None
    # Evaluate as of this moment (business hours); now when absent.
    at: datetime | None = None
    locale: str | None = None


class ReasonOut(msgspec.Struct, frozen=True, kw_only=True):
    code: str
    message: str
    field: str = ""
    op: str = ""
    expected: Any = None
    actual: Any = None


class RuleCheckOut(msgspec.Struct, frozen=True, kw_only=True):
    rule_id: uuid.UUID
    rule_name: str
    matched: bool
    reasons: list[ReasonOut]


class ExplainResponse(msgspec.Struct, frozen=True, kw_only=True):
    rule_id: uuid.UUID | None
    rule_name: str | None
    target: Target
    group_id: uuid.UUID | None
    # Who would get it now (None: it would wait), and why.
    agent_id: uuid.UUID | None
    agent_reason: str
    agent_reason_message: str
    queue_position: int | None
    estimated_wait_seconds: float | None
    summary: str
    # Every rule looked at, in order; the last one matched unless none did.
    checks: list[RuleCheckOut]
