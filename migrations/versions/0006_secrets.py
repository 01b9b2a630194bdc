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

import base64
import hashlib
import json
import os
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy.dialects import postgresql

revision: str = "0006_secrets"
down_revision: str | None = "0003_bot_first_rules"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
AAD = b"kefu.inboxes.secrets"
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


class _Keys:
    """The sealed format as of this revision (kefu.secretbox v1), kept here so the
    revision runs against any later code: AES-256-GCM, key HKDF-SHA256(secret_key),
    `{"$sealed": 1, "kid": ..., "data": base64url(nonce + ciphertext)}`."""

    def __init__(self, secret_key: str, previous: list[str]) -> None:
        self.primary = self._kid(secret_key)
        self.keys = {self._kid(k): AESGCM(self._derive(k)) for k in [*previous, secret_key]}

    @staticmethod
    def _derive(secret_key: str) -> bytes:
        return HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"kefu inbox secrets v1"
        ).derive(secret_key.encode())

    def _kid(self, secret_key: str) -> str:
        return hashlib.sha256(b"kefu-key-id:" + self._derive(secret_key)).hexdigest()[:12]

    def seal(self, values: dict[str, Any]) -> dict[str, Any]:
        nonce = os.urandom(12)
        plain = json.dumps(values, ensure_ascii=False, separators=(",", ":")).encode()
        data = self.keys[self.primary].encrypt(nonce, plain, AAD)
        return {
            "$sealed": 1,
            "kid": self.primary,
            "data": base64.urlsafe_b64encode(nonce + data).decode(),
        }

    def open(self, stored: dict[str, Any]) -> dict[str, Any]:
        if stored.get("$sealed") != 1:
            return dict(stored)
        key = self.keys.get(str(stored.get("kid")))
        if key is None:
            raise RuntimeError(
                f"inbox secrets sealed with key {stored.get('kid')}, which is not configured"
            )
        raw = base64.urlsafe_b64decode(str(stored["data"]))
        opened: dict[str, Any] = json.loads(key.decrypt(raw[:12], raw[12:], AAD))
        return opened


def _keyring() -> _Keys:
    attributes = op.get_context().config.attributes  # type: ignore[union-attr]
    return _Keys(attributes["secret_key"], list(attributes.get("previous_secret_keys", [])))


def _rows() -> list[Any]:
    return list(op.get_bind().execute(sa.select(inboxes)).all())


def upgrade() -> None:
    with op.batch_alter_table("inboxes") as batch:
        batch.add_column(sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("web_visitors") as batch:
        batch.add_column(sa.Column("tokens_valid_after", sa.DateTime(timezone=True), nullable=True))
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
