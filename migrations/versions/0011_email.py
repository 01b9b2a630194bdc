"""e-mail: IMAP cursors (UIDVALIDITY + last UID per folder), every Message-ID stored or
sent with its thread, and mails set aside (failed / ignored) with the reason

Revision ID: 0011_email
Revises: 0003_bot_first_rules
Create Date: 2026-12-02 05:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_email"
down_revision: str | None = "0010_handoffs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _inbox_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["inbox_id"], ["inboxes.id"], name=op.f(f"fk_{table}_inbox_id_inboxes"), ondelete="CASCADE"
    )


ACTIVE = "status != 'resolved'"


def _active_index(*columns: object) -> None:
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_index("uq_conversations_active")
    op.create_index(
        "uq_conversations_active",
        "conversations",
        list(columns),  # type: ignore[arg-type]
        unique=True,
        sqlite_where=sa.text(ACTIVE),
        postgresql_where=sa.text(ACTIVE),
    )


def upgrade() -> None:
    # One open conversation per contact, inbox and thread: an e-mail customer may have
    # several threads open at once (thread_key is NULL, so '' here, for other channels).
    _active_index("inbox_id", "contact_id", sa.text("coalesce(thread_key, '')"))
    op.create_table(
        "mail_cursors",
        sa.Column("inbox_id", sa.Uuid(), nullable=False),
        sa.Column("folder", sa.String(length=200), nullable=False),
        sa.Column("uidvalidity", sa.BigInteger(), nullable=False),
        sa.Column("last_uid", sa.BigInteger(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        _inbox_fk("mail_cursors"),
        sa.PrimaryKeyConstraint("inbox_id", "folder", name=op.f("pk_mail_cursors")),
    )
    op.create_table(
        "mail_messages",
        sa.Column("inbox_id", sa.Uuid(), nullable=False),
        sa.Column("message_id", sa.String(length=255), nullable=False),
        sa.Column("thread_key", sa.String(length=64), nullable=False),
        sa.Column("conversation_id", sa.Uuid(), nullable=True),
        sa.Column("kefu_message_id", sa.Uuid(), nullable=True),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("sender", sa.String(length=254), nullable=False),
        sa.Column("subject", sa.String(length=998), nullable=False),
        sa.Column("subject_key", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _inbox_fk("mail_messages"),
        sa.PrimaryKeyConstraint("inbox_id", "message_id", name=op.f("pk_mail_messages")),
    )
    with op.batch_alter_table("mail_messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_mail_messages_subject",
            ["inbox_id", "sender", "subject_key", "created_at"],
            unique=False,
        )
        batch_op.create_index(
            "ix_mail_messages_conversation", ["conversation_id", "created_at"], unique=False
        )
        batch_op.create_index("ix_mail_messages_kefu_message", ["kefu_message_id"], unique=False)
    op.create_table(
        "mail_items",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("inbox_id", sa.Uuid(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("message_id", sa.String(length=255), nullable=True),
        sa.Column("uidvalidity", sa.BigInteger(), nullable=True),
        sa.Column("uid", sa.BigInteger(), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _inbox_fk("mail_items"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_items")),
    )
    with op.batch_alter_table("mail_items", schema=None) as batch_op:
        batch_op.create_index("ix_mail_items_inbox", ["inbox_id", "created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("mail_items", schema=None) as batch_op:
        batch_op.drop_index("ix_mail_items_inbox")
    op.drop_table("mail_items")
    with op.batch_alter_table("mail_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_mail_messages_kefu_message")
        batch_op.drop_index("ix_mail_messages_conversation")
        batch_op.drop_index("ix_mail_messages_subject")
    op.drop_table("mail_messages")
    op.drop_table("mail_cursors")
    _active_index("inbox_id", "contact_id")
