"""The tickets tables. A ticket's history is the `events` log (ticket.* rows); these
tables hold its current state, its comments, its conversations and the per-workspace
number counter. The SLA columns (`sla_next_due_at`, `sla_state`) are a cache of what
`sla.clocks` computes from the log, kept so the "breaching soon" view and the sweep are
one indexed range scan."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from kefu.db.tables import Base
from kefu.model import new_id, utcnow

OPEN_KINDS = "status_kind NOT IN ('resolved', 'closed')"


class TicketCounter(Base):
    """The last number handed out per workspace and year. Allocation is one
    INSERT ... ON CONFLICT DO UPDATE ... RETURNING: the row lock serialises two creates,
    so they never share a number (the unique index on tickets is the backstop)."""

    __tablename__ = "ticket_counters"
    workspace_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(default=0)


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        sa.UniqueConstraint("workspace_id", "number"),
        sa.Index("ix_tickets_ws_status", "workspace_id", "status_kind", "id"),
        sa.Index("ix_tickets_ws_assignee", "workspace_id", "assignee_id", "status_kind"),
        sa.Index("ix_tickets_ws_department", "workspace_id", "department_id", "status_kind"),
        # "Breaching soon" and the sweep: open tickets by their next SLA due time.
        sa.Index(
            "ix_tickets_sla_due",
            "workspace_id",
            "sla_next_due_at",
            sqlite_where=sa.text("sla_next_due_at IS NOT NULL"),
            postgresql_where=sa.text("sla_next_due_at IS NOT NULL"),
        ),
        # The sweep: every workspace's tickets with a target about to fall due.
        sa.Index(
            "ix_tickets_sla_check",
            "sla_check_at",
            sqlite_where=sa.text("sla_check_at IS NOT NULL"),
            postgresql_where=sa.text("sla_check_at IS NOT NULL"),
        ),
        # The sweep: pending tickets whose reminder time has come (they reopen).
        sa.Index(
            "ix_tickets_remind",
            "remind_at",
            sqlite_where=sa.text("remind_at IS NOT NULL"),
            postgresql_where=sa.text("remind_at IS NOT NULL"),
        ),
    )
    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=new_id)
    workspace_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("workspaces.id", ondelete="CASCADE")
    )
    # "2026-000123"; shown as "#2026-000123".
    number: Mapped[str] = mapped_column(sa.String(16))
    title: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    contact_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("contacts.id", ondelete="SET NULL"), index=True
    )
    # Departments are skill groups.
    department_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("skill_groups.id", ondelete="SET NULL")
    )
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    # The status's name (a built-in kind or a workspace's custom status) and its kind.
    status: Mapped[str] = mapped_column(sa.String(32), default="new")
    status_kind: Mapped[str] = mapped_column(sa.String(20), default="new")
    priority: Mapped[str] = mapped_column(sa.String(8), default="normal")
    category: Mapped[str | None] = mapped_column(sa.String(64))
    # question | incident | problem | task (schemas.TicketType); None: not set.
    type: Mapped[str | None] = mapped_column(sa.String(16))
    # Custom field values by the field's key, validated against `TicketField` rows.
    custom: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Set when this ticket was merged into another (it is closed then, and points there).
    merged_into_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("tickets.id", ondelete="SET NULL")
    )
    # A pending ticket reopens at this time (the sweep's pending reminder).
    remind_at: Mapped[datetime | None]
    tags: Mapped[list[Any]] = mapped_column(default=list)
    # The channel of the conversation it came from: SLA policies match on it.
    channel: Mapped[str | None] = mapped_column(sa.String(16))
    due_at: Mapped[datetime | None]
    # Optimistic concurrency: a PATCH names the version it read; a stale one is a 409.
    version: Mapped[int] = mapped_column(default=1)
    sla_policy_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("sla_policies.id", ondelete="SET NULL")
    )
    # Cache of clock.clocks: the earliest due time of an unfinished target (breached
    # ones included: the "breaching soon" order), the earliest one not yet breached (when
    # the sweep looks next), and {"targets", "clocks", "recorded"} so each outcome is
    # written once.
    sla_next_due_at: Mapped[datetime | None]
    sla_check_at: Mapped[datetime | None]
    sla_state: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The clock inputs (created / status / public comment, as clock.ClockEvent) copied
    # from the ticket.* events written with them: the SLA clocks replay this, one row
    # read instead of a scan of the events table by a JSON key.
    clock_log: Mapped[list[Any]] = mapped_column(default=list)
    # The last changes by version ({"version", "fields", "actor_id", "at"}): a stale
    # PATCH's 409 says what changed since the version it read.
    recent_changes: Mapped[list[Any]] = mapped_column(default=list)
    # Rotated to revoke every progress link handed out so far.
    progress_nonce: Mapped[str] = mapped_column(sa.String(32))
    # The customer's rating (1..5) from the progress page once resolved (ticket.rated).
    csat_score: Mapped[int | None]
    resolved_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class TicketConversation(Base):
    __tablename__ = "ticket_conversations"
    ticket_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True
    )
    conversation_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    workspace_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TicketComment(Base):
    __tablename__ = "ticket_comments"
    __table_args__ = (sa.Index("ix_ticket_comments_ticket", "ticket_id", "created_at"),)
    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=new_id)
    workspace_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    ticket_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("tickets.id", ondelete="CASCADE"))
    # "agent" | "customer"
    author_kind: Mapped[str] = mapped_column(sa.String(16))
    author_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    author_name: Mapped[str | None] = mapped_column(sa.String(200))
    public: Mapped[bool] = mapped_column(default=False)
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SlaPolicy(Base):
    """Targets in business seconds for tickets matching `conditions` (all must hold);
    the lowest `position` that matches wins. At a breach the sweep writes `ticket.sla`
    and, when `raise_priority`, moves the ticket up one priority."""

    __tablename__ = "sla_policies"
    __table_args__ = (sa.Index("ix_sla_policies_ws_position", "workspace_id", "position"),)
    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=new_id)
    workspace_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("workspaces.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(sa.String(200))
    position: Mapped[int] = mapped_column(default=0)
    enabled: Mapped[bool] = mapped_column(default=True)
    # {"priority": [...], "department_id": [...], "vip_level_min": n, "channel": [...],
    #  "category": [...]}; a key left out matches every ticket.
    conditions: Mapped[dict[str, Any]] = mapped_column(default=dict)
    first_response_s: Mapped[int | None]
    next_response_s: Mapped[int | None]
    resolution_s: Mapped[int | None]
    calendar_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("business_calendars.id", ondelete="SET NULL")
    )
    raise_priority: Mapped[bool] = mapped_column(default=True)
    # A warning this many business seconds before a target falls due (None: no warning).
    warn_before_s: Mapped[int | None]
    # {"warning": [action, ...], "breach": [action, ...]}; an action is
    # {"kind": notify_assignee | notify_supervisors | raise_priority | reassign,
    #  "group_id"?, "agent_id"?} (schemas.SlaAction).
    actions: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class TicketWatcher(Base):
    """A colleague who hears of every change of the ticket, public or internal."""

    __tablename__ = "ticket_watchers"
    ticket_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    workspace_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TicketLink(Base):
    """A link between two tickets, stored once per direction so either side reads it
    with one indexed lookup. `kind`: related | split_from | split_into | merged_from |
    merged_into."""

    __tablename__ = "ticket_links"
    ticket_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True
    )
    other_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    workspace_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(sa.String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TicketField(Base):
    """A custom field an admin defines for the workspace's tickets."""

    __tablename__ = "ticket_fields"
    __table_args__ = (sa.UniqueConstraint("workspace_id", "key"),)
    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=new_id)
    workspace_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("workspaces.id", ondelete="CASCADE")
    )
    key: Mapped[str] = mapped_column(sa.String(64))
    label: Mapped[str] = mapped_column(sa.String(200))
    label_zh: Mapped[str | None] = mapped_column(sa.String(200))
    # text | number | date | list | checkbox
    kind: Mapped[str] = mapped_column(sa.String(16))
    options: Mapped[list[Any]] = mapped_column(default=list)
    required: Mapped[bool] = mapped_column(default=False)
    max_length: Mapped[int | None]
    min_value: Mapped[float | None]
    max_value: Mapped[float | None]
    position: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
