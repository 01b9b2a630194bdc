"""Calls: the call rows (state, IVR, queue, legs' times, recording and voicemail) and
each agent's softphone state

Revision ID: 0017_calls
Revises: 0016_reports
Create Date: 2026-12-03 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0017_calls"
down_revision: str | None = "0016_reports"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TS = sa.DateTime(timezone=True)


def _fk(table: str, ondelete: str) -> sa.ForeignKey:
    return sa.ForeignKey(f"{table}.id", ondelete=ondelete)


def upgrade() -> None:
    op.create_table(
        "calls",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("workspace_id", sa.Uuid(), _fk("workspaces", "CASCADE"), nullable=False),
        sa.Column("conversation_id", sa.Uuid(), _fk("conversations", "CASCADE"), nullable=False),
        sa.Column("inbox_id", sa.Uuid(), _fk("inboxes", "CASCADE"), nullable=False),
        sa.Column("contact_id", sa.Uuid(), _fk("contacts", "SET NULL"), nullable=True),
        sa.Column("direction", sa.String(8), nullable=False),
        sa.Column("source", sa.String(8), nullable=False),
        sa.Column("room", sa.String(128), nullable=False, unique=True),
        sa.Column("caller_identity", sa.String(128), nullable=False),
        sa.Column("caller_number", sa.String(64), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("ivr_state", JSON, nullable=True),
        sa.Column("ivr_path", JSON, nullable=False),
        sa.Column("prompt", sa.Text(), nullable=True),
        sa.Column("entry", sa.String(200), nullable=True),
        sa.Column("group_id", sa.Uuid(), _fk("skill_groups", "SET NULL"), nullable=True),
        sa.Column("agent_id", sa.Uuid(), _fk("users", "SET NULL"), nullable=True),
        sa.Column("ringing_agent_id", sa.Uuid(), _fk("users", "SET NULL"), nullable=True),
        sa.Column("rung", JSON, nullable=False),
        sa.Column("tried", JSON, nullable=False),
        sa.Column("consult", JSON, nullable=True),
        sa.Column("timer_at", TS, nullable=True),
        sa.Column("ring_deadline_at", TS, nullable=True),
        sa.Column("queued_at", TS, nullable=True),
        sa.Column("answered_at", TS, nullable=True),
        sa.Column("held_since", TS, nullable=True),
        sa.Column("wrap_started_at", TS, nullable=True),
        sa.Column("ended_at", TS, nullable=True),
        sa.Column("hold_at_answer_s", sa.Integer(), nullable=False),
        sa.Column("wait_s", sa.Integer(), nullable=False),
        sa.Column("talk_s", sa.Integer(), nullable=False),
        sa.Column("hold_s", sa.Integer(), nullable=False),
        sa.Column("wrap_s", sa.Integer(), nullable=False),
        sa.Column("recording_egress_id", sa.String(128), nullable=True),
        sa.Column("recording_location", sa.String(2048), nullable=True),
        sa.Column("recording_duration_s", sa.Integer(), nullable=True),
        sa.Column("voicemail_egress_id", sa.String(128), nullable=True),
        sa.Column("voicemail_location", sa.String(2048), nullable=True),
        sa.Column("voicemail_duration_s", sa.Integer(), nullable=True),
        sa.Column("hangup_cause", sa.String(64), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_index(
        "ix_calls_ws_status", "calls", ["workspace_id", "status", "priority", "queued_at"]
    )
    op.create_index("ix_calls_ws_agent", "calls", ["workspace_id", "agent_id", "status"])
    op.create_index("ix_calls_conversation_id", "calls", ["conversation_id"])
    op.create_index(
        "ix_calls_timer",
        "calls",
        ["timer_at"],
        sqlite_where=sa.text("timer_at IS NOT NULL"),
        postgresql_where=sa.text("timer_at IS NOT NULL"),
    )
    op.create_table(
        "agent_phones",
        sa.Column("user_id", sa.Uuid(), _fk("users", "CASCADE"), primary_key=True),
        sa.Column("workspace_id", sa.Uuid(), _fk("workspaces", "CASCADE"), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(200), nullable=True),
        sa.Column("since", TS, nullable=False),
        sa.Column("call_id", sa.Uuid(), _fk("calls", "SET NULL"), nullable=True),
        sa.Column("wrap_until", TS, nullable=True),
        sa.Column("last_call_at", TS, nullable=True),
    )
    op.create_index("ix_agent_phones_ws_state", "agent_phones", ["workspace_id", "state"])


def downgrade() -> None:
    op.drop_index("ix_agent_phones_ws_state", table_name="agent_phones")
    op.drop_table("agent_phones")
    op.drop_index("ix_calls_timer", table_name="calls")
    op.drop_index("ix_calls_conversation_id", table_name="calls")
    op.drop_index("ix_calls_ws_agent", table_name="calls")
    op.drop_index("ix_calls_ws_status", table_name="calls")
    op.drop_table("calls")
