"""Channel opt-outs: a contact who texted STOP / 退订 to an SMS inbox is not messaged
there until they text START / 订阅

Revision ID: 0013_sms
Revises: 0012_reply_idempotency
Create Date: 2026-12-02 14:25:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_sms"
down_revision: str | None = "0012_reply_idempotency"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "channel_opt_outs",
        sa.Column("inbox_id", sa.Uuid(), nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("keyword", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["inbox_id"], ["inboxes.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("inbox_id", "contact_id"),
    )
    op.create_index("ix_channel_opt_outs_contact_id", "channel_opt_outs", ["contact_id"])
    op.create_index("ix_channel_opt_outs_workspace_id", "channel_opt_outs", ["workspace_id"])


def downgrade() -> None:
    op.drop_index("ix_channel_opt_outs_workspace_id", table_name="channel_opt_outs")
    op.drop_index("ix_channel_opt_outs_contact_id", table_name="channel_opt_outs")
    op.drop_table("channel_opt_outs")
