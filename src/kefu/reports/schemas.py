from __future__ import annotations

import uuid
from datetime import datetime

import msgspec


class QueueRow(msgspec.Struct, frozen=True, kw_only=True):
    group_id: uuid.UUID | None
    group_name: str | None
    queued: int
    longest_wait_seconds: float


class AgentRow(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    name: str
    role: str
    presence: str
    presence_since: datetime
    load: int
    capacity: int


class InProgressRow(msgspec.Struct, frozen=True, kw_only=True):
    conversation_id: uuid.UUID
    contact_name: str | None
    channel: str
    status: str
    priority: int
    assignee_id: uuid.UUID | None
    assignee_name: str | None
    group_id: uuid.UUID | None
    group_name: str | None
    # When the current wait or handling began: queued_at while queued, else assigned_at.
    since: datetime


class ServiceLevel(msgspec.Struct, frozen=True, kw_only=True):
    threshold_seconds: int
    # Conversations created today whose outcome is decided: answered, or waiting past
    # the threshold. One still inside the threshold counts nowhere yet.
    offered: int
    answered_within: int
    ratio: float | None


class Today(msgspec.Struct, frozen=True, kw_only=True):
    since: datetime
    created: int
    resolved: int
    transferred: int


class CallsNow(msgspec.Struct, frozen=True, kw_only=True):
    """Calls right now (issue 18): waiting, ringing, talking, on hold."""

    queued: int = 0
    ringing: int = 0
    talking: int = 0
    held: int = 0
    longest_wait_s: int = 0


class Board(msgspec.Struct, frozen=True, kw_only=True):
    generated_at: datetime
    queues: list[QueueRow]
    agents: list[AgentRow]
    in_progress: list[InProgressRow]
    service_level: ServiceLevel
    today: Today
    calls: CallsNow = msgspec.field(default_factory=CallsNow)
