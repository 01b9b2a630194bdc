"""conversation_mentions: colleagues @mentioned in notes (Mentions view, access).

Revision ID: 0010_handoffs
Revises: 0003_bot_first_rules
Create Date: 2026-12-02 05:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_handoffs"
down_revision: str | None = "0008_speed"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "conversation_mentions",
        sa.Column(
            "conversation_id",
            sa.Uuid(),
            sa.ForeignKey("conversations.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "user_id", sa.Uuid(), sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column(
            "workspace_id",
            sa.Uuid(),
            sa.ForeignKey("workspaces.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "message_id",
            sa.Uuid(),
            sa.ForeignKey("messages.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_conversation_mentions_user_id", "conversation_mentions", ["user_id"])
    op.create_index(
        "ix_conversation_mentions_workspace_id", "conversation_mentions", ["workspace_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_conversation_mentions_workspace_id", "conversation_mentions")
    op.drop_index("ix_conversation_mentions_user_id", "conversation_mentions")
    op.drop_table("conversation_mentions")
