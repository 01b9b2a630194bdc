"""The quick_replies table. A team reply has no owner; a personal one belongs to the
agent who wrote it. Shortcuts are unique within their scope."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from kefu.db.tables import Base
from kefu.model import new_id, utcnow

TEAM = "owner_id IS NULL"
PERSONAL = "owner_id IS NOT NULL"


class QuickReply(Base):
    __tablename__ = "quick_replies"
    __table_args__ = (
        # Two partial indexes because NULL owners never collide in a plain unique index.
        sa.Index(
            "uq_quick_replies_team_shortcut",
            "workspace_id",
            "shortcut",
            unique=True,
            sqlite_where=sa.text(TEAM),
            postgresql_where=sa.text(TEAM),
        ),
        sa.Index(
            "uq_quick_replies_personal_shortcut",
            "workspace_id",
            "owner_id",
            "shortcut",
            unique=True,
            sqlite_where=sa.text(PERSONAL),
            postgresql_where=sa.text(PERSONAL),
        ),
    )
    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=new_id)
    workspace_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    owner_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE")
    )
    shortcut: Mapped[str] = mapped_column(sa.String(64))
    title: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
