"""The audit log's one table, append-only."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from kefu.db.tables import Base
from kefu.model import new_id, utcnow


class AuditEntry(Base):
    """One admin action. The actor's name is kept as it was then: a later rename or
    removal does not rewrite history (hence no foreign key to users)."""

    __tablename__ = "audit_log"
    __table_args__ = (
        sa.Index("ix_audit_log_ws_at", "workspace_id", "at"),
        sa.Index("ix_audit_log_ws_action", "workspace_id", "action"),
        sa.Index("ix_audit_log_ws_object", "workspace_id", "object_id"),
        sa.Index("ix_audit_log_ws_actor", "workspace_id", "actor_id"),
    )
    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=new_id)
    workspace_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("workspaces.id", ondelete="CASCADE")
    )
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    actor_name: Mapped[str] = mapped_column(sa.String(200))
    action: Mapped[str] = mapped_column(sa.String(64))
    object_type: Mapped[str] = mapped_column(sa.String(64))
    object_id: Mapped[str | None] = mapped_column(sa.String(64))
    method: Mapped[str] = mapped_column(sa.String(8))
    path: Mapped[str] = mapped_column(sa.String(500))
    status: Mapped[int]
    ip: Mapped[str | None] = mapped_column(sa.String(64))
    user_agent: Mapped[str | None] = mapped_column(sa.String(500))
    # The request's field names, the values of a few harmless ones, other path parameters.
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
