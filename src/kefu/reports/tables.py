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
from kefu.model import utcnow


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
