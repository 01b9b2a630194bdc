"""A reply's client id is idempotent within its conversation, a customer's within the
inbox: the one inbox-wide unique constraint becomes two partial unique indexes, so the
console may reuse a client id in another conversation and still get a new message

Revision ID: 0012_reply_idempotency
Revises: 0011_email
Create Date: 2026-12-02 06:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_reply_idempotency"
down_revision: str | None = "0011_email"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INBOUND = "direction IN ('in', 'event')"
REPLY = "direction IN ('out', 'note')"


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_constraint("uq_messages_inbox_id_client_message_id", type_="unique")
    op.create_index(
        "uq_messages_inbound_client_id",
        "messages",
        ["inbox_id", "client_message_id"],
        unique=True,
        sqlite_where=sa.text(INBOUND),
        postgresql_where=sa.text(INBOUND),
    )
    op.create_index(
        "uq_messages_reply_client_id",
        "messages",
        ["conversation_id", "client_message_id"],
        unique=True,
        sqlite_where=sa.text(REPLY),
        postgresql_where=sa.text(REPLY),
    )


def downgrade() -> None:
    op.drop_index("uq_messages_reply_client_id", table_name="messages")
    op.drop_index("uq_messages_inbound_client_id", table_name="messages")
    # The inbox-wide constraint cannot hold a client id used twice in one inbox: the
    # later replies forget theirs (only idempotency of a resend is lost).
    op.execute(
        "UPDATE messages SET client_message_id = NULL"
        " WHERE direction IN ('out', 'note') AND client_message_id IS NOT NULL AND EXISTS ("
        "SELECT 1 FROM messages AS earlier WHERE earlier.inbox_id = messages.inbox_id"
        " AND earlier.client_message_id = messages.client_message_id"
        " AND earlier.id < messages.id)"
    )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_unique_constraint(
            "uq_messages_inbox_id_client_message_id", ["inbox_id", "client_message_id"]
        )
