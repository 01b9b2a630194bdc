"""inbox secrets sealed at rest; inboxes can be archived; widget visitors can be blocked
(their tokens revoked).

Every inbox's `secrets` is sealed with the key derived from KEFU_SECRET_KEY
(kefu.secretbox, AES-256-GCM with a key id). Rows made by hand or before the channels
declared their settings may hold secrets in `config`: the secret names each channel
declared at this revision are moved out of `config` first. Down opens them again
(needs the same key) and drops `archived_at`.

Revision ID: 0006_secrets
Revises: 0003_bot_first_rules
Create Date: 2026-12-02 05:40:00
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006_secrets"
down_revision: str | None = "0003_bot_first_rules"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
inboxes = sa.table(
    "inboxes",
    sa.column("id", sa.Uuid),
    sa.column("kind", sa.String),
    sa.column("config", JSON),
    sa.column("secrets", JSON),
)
# Each channel's secrets_type fields at this revision (not read from the connectors,
# which may move on).
SECRET_NAMES = {
    "web": ("identity_secret",),
    "api": ("signing_secret",),
    "wechat": ("secret", "token", "encoding_aes_key", "previous_encoding_aes_key"),
}


def _keyring() -> Any:
    from kefu.secretbox import ring

    return ring()


def _rows() -> list[Any]:
    return list(op.get_bind().execute(sa.select(inboxes)).all())


def upgrade() -> None:
    with op.batch_alter_table("inboxes") as batch:
        batch.add_column(sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("web_visitors") as batch:
        batch.add_column(
            sa.Column("tokens_valid_after", sa.DateTime(timezone=True), nullable=True)
        )
        batch.add_column(sa.Column("blocked_at", sa.DateTime(timezone=True), nullable=True))
    keys = _keyring()
    bind = op.get_bind()
    for row in _rows():
        config = dict(row.config or {})
        plain = keys.open(dict(row.secrets or {}))
        for name in SECRET_NAMES.get(row.kind, ()):
            if name in config:
                value = config.pop(name)
                if value and not plain.get(name):
                    plain[name] = value
        bind.execute(
            inboxes.update()
            .where(inboxes.c.id == row.id)
            .values(config=config, secrets=keys.seal(plain))
        )


def downgrade() -> None:
    keys = _keyring()
    bind = op.get_bind()
    for row in _rows():
        bind.execute(
            inboxes.update()
            .where(inboxes.c.id == row.id)
            .values(secrets=keys.open(dict(row.secrets or {})))
        )
    with op.batch_alter_table("web_visitors") as batch:
        batch.drop_column("blocked_at")
        batch.drop_column("tokens_valid_after")
    with op.batch_alter_table("inboxes") as batch:
        batch.drop_column("archived_at")
