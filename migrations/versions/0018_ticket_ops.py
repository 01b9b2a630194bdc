"""Ticket operations: watchers, links (merge, split, related), custom fields, type,
pending reminders, SLA warnings and escalation actions

Revision ID: 0018_ticket_ops
Revises: 0016_reports
Create Date: 2026-12-03 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0018_ticket_ops"
down_revision: str | None = "0016_reports"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
WHEN = sa.DateTime(timezone=True)


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column],
        [f"{target}.id"],
        name=op.f(f"fk_{table}_{column}_{target}"),
        ondelete=ondelete,
    )


def upgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("type", sa.String(length=16), nullable=True))
        batch_op.add_column(
            sa.Column("custom", JSON, nullable=False, server_default=sa.text("'{}'"))
        )
        batch_op.add_column(sa.Column("merged_into_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("remind_at", WHEN, nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_tickets_merged_into_id_tickets"),
            "tickets",
            ["merged_into_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_index(
            "ix_tickets_remind",
            ["remind_at"],
            unique=False,
            sqlite_where=sa.text("remind_at IS NOT NULL"),
            postgresql_where=sa.text("remind_at IS NOT NULL"),
        )
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.alter_column("custom", server_default=None)

    with op.batch_alter_table("sla_policies", schema=None) as batch_op:
        batch_op.add_column(sa.Column("warn_before_s", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("actions", JSON, nullable=False, server_default=sa.text("'{}'"))
        )
    with op.batch_alter_table("sla_policies", schema=None) as batch_op:
        batch_op.alter_column("actions", server_default=None)

    op.create_table(
        "ticket_watchers",
        sa.Column("ticket_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        _fk("ticket_watchers", "ticket_id", "tickets", "CASCADE"),
        _fk("ticket_watchers", "user_id", "users", "CASCADE"),
        _fk("ticket_watchers", "workspace_id", "workspaces", "CASCADE"),
        sa.PrimaryKeyConstraint("ticket_id", "user_id", name=op.f("pk_ticket_watchers")),
    )
    op.create_index(op.f("ix_ticket_watchers_user_id"), "ticket_watchers", ["user_id"])
    op.create_index(op.f("ix_ticket_watchers_workspace_id"), "ticket_watchers", ["workspace_id"])

    op.create_table(
        "ticket_links",
        sa.Column("ticket_id", sa.Uuid(), nullable=False),
        sa.Column("other_id", sa.Uuid(), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        _fk("ticket_links", "ticket_id", "tickets", "CASCADE"),
        _fk("ticket_links", "other_id", "tickets", "CASCADE"),
        _fk("ticket_links", "workspace_id", "workspaces", "CASCADE"),
        sa.PrimaryKeyConstraint("ticket_id", "other_id", name=op.f("pk_ticket_links")),
    )
    op.create_index(op.f("ix_ticket_links_other_id"), "ticket_links", ["other_id"])
    op.create_index(op.f("ix_ticket_links_workspace_id"), "ticket_links", ["workspace_id"])

    op.create_table(
        "ticket_fields",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("label_zh", sa.String(length=200), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("options", JSON, nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("max_length", sa.Integer(), nullable=True),
        sa.Column("min_value", sa.Double(), nullable=True),
        sa.Column("max_value", sa.Double(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        _fk("ticket_fields", "workspace_id", "workspaces", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_fields")),
        sa.UniqueConstraint("workspace_id", "key", name=op.f("uq_ticket_fields_workspace_id_key")),
    )


def downgrade() -> None:
    op.drop_table("ticket_fields")
    op.drop_index(op.f("ix_ticket_links_workspace_id"), table_name="ticket_links")
    op.drop_index(op.f("ix_ticket_links_other_id"), table_name="ticket_links")
    op.drop_table("ticket_links")
    op.drop_index(op.f("ix_ticket_watchers_workspace_id"), table_name="ticket_watchers")
    op.drop_index(op.f("ix_ticket_watchers_user_id"), table_name="ticket_watchers")
    op.drop_table("ticket_watchers")
    with op.batch_alter_table("sla_policies", schema=None) as batch_op:
        batch_op.drop_column("actions")
        batch_op.drop_column("warn_before_s")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index("ix_tickets_remind")
        batch_op.drop_constraint(op.f("fk_tickets_merged_into_id_tickets"), type_="foreignkey")
        batch_op.drop_column("remind_at")
        batch_op.drop_column("merged_into_id")
        batch_op.drop_column("custom")
        batch_op.drop_column("type")
