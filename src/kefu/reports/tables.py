"""The roll-up: one row per workspace-local day × dimension, holding a mergeable state
(counters and raw durations, see kefu.reports.compute), and the cursor that says which
events the rows already include."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from kefu.db.tables import Base
from kefu.model import new_id, utcnow


class ReportDay(Base):
    __tablename__ = "report_days"
    workspace_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    # "all" (key ""), "agent", "group", "channel", "inbox".
    dim: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    state: Mapped[dict[str, Any]] = mapped_column(default=dict)


class ReportCursor(Base):
    __tablename__ = "report_cursors"
    workspace_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    # The newest event id folded in; events are re-read from a margin before it, so one
    # committed late by a slow transaction (a smaller id) is still seen.
    last_event_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    refreshed_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReportSchedule(Base):
    """A summary e-mailed to supervisors: which reports, to whom, how often, at which
    local hour (the workspace's time zone), through which e-mail inbox."""

    __tablename__ = "report_schedules"
    __table_args__ = (sa.Index("ix_report_schedules_due", "enabled", "next_run_at"),)
    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=new_id)
    workspace_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(sa.String(200))
    # "daily" (yesterday), "weekly" (last ISO week), "monthly" (last month).
    frequency: Mapped[str] = mapped_column(sa.String(16))
    hour: Mapped[int] = mapped_column(default=8)  # local hour it is sent at
    weekday: Mapped[int] = mapped_column(default=0)  # weekly: 0 = Monday
    day_of_month: Mapped[int] = mapped_column(default=1)  # monthly: 1..28
    metrics: Mapped[list[Any]] = mapped_column(default=list)
    recipient_ids: Mapped[list[Any]] = mapped_column(default=list)
    inbox_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("inboxes.id", ondelete="CASCADE"))
    attach_xlsx: Mapped[bool] = mapped_column(default=True)
    enabled: Mapped[bool] = mapped_column(default=True)
    next_run_at: Mapped[datetime]
    last_sent_at: Mapped[datetime | None]
    last_period: Mapped[str | None] = mapped_column(sa.String(32))
    last_error: Mapped[str | None] = mapped_column(sa.String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
