"""Routing's own tables: rules, business-hours calendars and the round-robin cursor.

Conditions, targets and calendar hours are stored as JSON in the shape of the msgspec
types in `rules` and `hours` (decoded with validation on every read), because they are
read whole and never queried by their parts.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from kefu.caching import watch
from kefu.db.tables import Base, SkillGroup
from kefu.model import new_id, utcnow


class RoutingRule(Base):
    __tablename__ = "routing_rules"
    __table_args__ = (sa.Index("ix_routing_rules_ws_priority", "workspace_id", "priority"),)
    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=new_id)
    workspace_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("workspaces.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(sa.String(200))
    # Higher runs first.
    priority: Mapped[int] = mapped_column(default=0)
    enabled: Mapped[bool] = mapped_column(default=True)
    # "all" or "any" of the conditions.
    match: Mapped[str] = mapped_column(sa.String(8), default="all")
    conditions: Mapped[list[Any]] = mapped_column(default=list)
    # {"kind": "group" | "agent" | "bot" | "leave_message", "group_id": ..., "agent_id": ...}
    target: Mapped[dict[str, Any]] = mapped_column(default=dict)
    set_priority: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class BusinessCalendar(Base):
    __tablename__ = "business_calendars"
    # The unique index also serves lookups by workspace.
    __table_args__ = (sa.UniqueConstraint("workspace_id", "name"),)
    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=new_id)
    workspace_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("workspaces.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(sa.String(200))
    timezone: Mapped[str] = mapped_column(sa.String(64), default="Asia/Shanghai")
    # {"mon": [{"start": "09:00", "end": "18:00"}], ...}
    weekly: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # [{"date": "2026-10-01", "name": "国庆节", "hours": []}, ...]
    special_days: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class RoutingCursor(Base):
    """Where round robin stopped in a group: the agent who got the last conversation.
    Written under the agent-row locks the assignment already holds."""

    __tablename__ = "routing_cursors"
    group_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("skill_groups.id", ondelete="CASCADE"), primary_key=True
    )
    workspace_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    last_agent_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


# speed: every process's copy of a workspace's routing configuration (routing.cache) is
# dropped when one of these rows is written, whichever code path writes it.
for _model in (RoutingRule, BusinessCalendar, SkillGroup):
    watch(_model, "routing")
