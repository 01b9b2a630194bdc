"""The calls tables. A call's history is the `events` log (`call.*` rows, the queue
vocabulary of `calls.machine`); `calls` holds its current state and `agent_phones` each
agent's softphone (signed in or not, ready or not, the call they are on).

Concurrency: a call row carries `version` (SQLAlchemy's version counter), so every
transition is a conditional UPDATE on the version it read: two processes answering the
same call both try, exactly one UPDATE matches and the other gets a conflict. An agent's
voice capacity is 1: `agent_phones.call_id` is the one call offered to or held by the
agent, set only while the row is locked and empty."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from kefu.db.tables import Base
from kefu.model import new_id, utcnow

WAITING_STATUSES = ("ivr", "queued", "ringing")
LIVE_STATUSES = ("ivr", "queued", "ringing", "connected", "held", "wrap_up", "voicemail")


class Call(Base):
    __tablename__ = "calls"
    __table_args__ = (
        # The queue: waiting calls in queue order, per workspace.
        sa.Index("ix_calls_ws_status", "workspace_id", "status", "priority", "queued_at"),
        sa.Index("ix_calls_ws_agent", "workspace_id", "agent_id", "status"),
        # The sweep: every call with a deadline (ring timeout, max wait, IVR timeout,
        # voicemail cap), one indexed range scan.
        sa.Index(
            "ix_calls_timer",
            "timer_at",
            sqlite_where=sa.text("timer_at IS NOT NULL"),
            postgresql_where=sa.text("timer_at IS NOT NULL"),
        ),
    )
    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=new_id)
    workspace_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("workspaces.id", ondelete="CASCADE")
    )
    conversation_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    inbox_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("inboxes.id", ondelete="CASCADE"))
    contact_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("contacts.id", ondelete="SET NULL")
    )
    direction: Mapped[str] = mapped_column(sa.String(8), default="inbound")
    # "widget" or "sip": how the caller reached us.
    source: Mapped[str] = mapped_column(sa.String(8), default="widget")
    # The media server's room, `call-<id>`, and the caller's participant identity in it.
    room: Mapped[str] = mapped_column(sa.String(128), unique=True)
    caller_identity: Mapped[str] = mapped_column(sa.String(128))
    caller_number: Mapped[str | None] = mapped_column(sa.String(64))
    status: Mapped[str] = mapped_column(sa.String(16), default="ivr")
    # Higher is served first: a call whose agent dropped goes back to the front.
    priority: Mapped[int] = mapped_column(default=0)
    # Where the caller is in the IVR (`ivr.engine.State` as JSON) and the keys taken.
    ivr_state: Mapped[dict[str, Any] | None]
    ivr_path: Mapped[list[Any]] = mapped_column(default=list)
    # The last prompt the caller was given (shown in the widget, spoken to SIP callers).
    prompt: Mapped[str | None] = mapped_column(sa.Text)
    entry: Mapped[str | None] = mapped_column(sa.String(200))
    group_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("skill_groups.id", ondelete="SET NULL")
    )
    agent_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    # Ring one: the agent being rung. Ring all: None, and `rung` holds who is.
    ringing_agent_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    rung: Mapped[list[Any]] = mapped_column(default=list)
    # Agents who let it ring out or rejected it in this wait (tried next time last).
    tried: Mapped[list[Any]] = mapped_column(default=list)
    # An attended transfer in progress: {"agent_id": ..., "since": ...}.
    consult: Mapped[dict[str, Any] | None]
    timer_at: Mapped[datetime | None]
    ring_deadline_at: Mapped[datetime | None]
    queued_at: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]
    held_since: Mapped[datetime | None]
    wrap_started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    hold_at_answer_s: Mapped[int] = mapped_column(default=0)
    wait_s: Mapped[int] = mapped_column(default=0)
    talk_s: Mapped[int] = mapped_column(default=0)
    hold_s: Mapped[int] = mapped_column(default=0)
    wrap_s: Mapped[int] = mapped_column(default=0)
    recording_egress_id: Mapped[str | None] = mapped_column(sa.String(128))
    recording_location: Mapped[str | None] = mapped_column(sa.String(2048))
    recording_duration_s: Mapped[int | None]
    voicemail_egress_id: Mapped[str | None] = mapped_column(sa.String(128))
    voicemail_location: Mapped[str | None] = mapped_column(sa.String(2048))
    voicemail_duration_s: Mapped[int | None]
    hangup_cause: Mapped[str | None] = mapped_column(sa.String(64))
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    __mapper_args__ = {"version_id_col": version}


class AgentPhone(Base):
    """One agent's softphone. No row: signed out (offline)."""

    __tablename__ = "agent_phones"
    __table_args__ = (sa.Index("ix_agent_phones_ws_state", "workspace_id", "state"),)
    user_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    workspace_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("workspaces.id", ondelete="CASCADE")
    )
    # ready | not_ready | wrap_up | offline
    state: Mapped[str] = mapped_column(sa.String(16), default="offline")
    reason: Mapped[str | None] = mapped_column(sa.String(200))
    since: Mapped[datetime] = mapped_column(default=utcnow)
    # The call offered to (ringing) or held by (talking, wrap-up) this agent.
    call_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("calls.id", ondelete="SET NULL")
    )
    wrap_until: Mapped[datetime | None]
    # For longest-idle distribution: when the agent last got a call.
    last_call_at: Mapped[datetime | None]
