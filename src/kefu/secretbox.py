"""Inbox secrets sealed at rest (AES-256-GCM), opened only inside the server.

The key is derived (HKDF-SHA256) from `KEFU_SECRET_KEY`; a sealed value names the key
that sealed it by a short id, so after `KEFU_SECRET_KEY` changes the old values still open
when the old key is listed in `KEFU_PREVIOUS_SECRET_KEYS`, and each is sealed with the new
key at its next write (`kefu secrets reseal` does them all at once).

`SealedJSON` is the column type of `Inbox.secrets`: every write through SQLAlchemy seals,
every read opens, so no code path (the API, the demo seed, a test writing rows) can store
a secret in the clear. A row that is not sealed (written before migration 0006) opens as
it is; the migration seals them all.

The keyring is per process: `use(settings)` is called when a `Kefu` is built; code that
reads inboxes without one (command-line tools) gets the keyring of `settings.load()`."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy.dialects import postgresql
from sqlalchemy.types import TypeDecorator

from kefu.settings import Settings

SEALED = "$sealed"
_VERSION = 1
_INFO = b"kefu inbox secrets v1"
_AAD = b"kefu.inboxes.secrets"


class SecretsUnreadable(Exception):
    """A sealed value whose key is not configured, or that was tampered with."""


def _derive(secret_key: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(
        secret_key.encode()
    )


def key_id(secret_key: str) -> str:
    """A short, stable name of the key (reveals nothing about it)."""
    return hashlib.sha256(b"kefu-key-id:" + _derive(secret_key)).hexdigest()[:12]


class Keyring:
    """The key that seals (`primary`) and every key that may still open."""

    def __init__(self, secret_key: str, previous: Iterable[str] = ()) -> None:
        if not secret_key:
            raise ValueError("sealing secrets needs a secret key")
        self.primary = key_id(secret_key)
        self.keys: dict[str, AESGCM] = {self.primary: AESGCM(_derive(secret_key))}
        for old in previous:
            if old:
                self.keys.setdefault(key_id(old), AESGCM(_derive(old)))

    @classmethod
    def of(cls, settings: Settings) -> Keyring:
        previous = [k.strip() for k in settings.previous_secret_keys.split(",")]
        return cls(settings.secret_key, previous)

    def merged(self, other: Keyring) -> Keyring:
        """`other` seals from now on; this ring's keys still open."""
        for kid, key in self.keys.items():
            other.keys.setdefault(kid, key)
        return other

    def seal(self, values: dict[str, Any]) -> dict[str, Any]:
        if is_sealed(values):
            return values
        nonce = os.urandom(12)
        plain = json.dumps(values, ensure_ascii=False, separators=(",", ":")).encode()
        sealed = self.keys[self.primary].encrypt(nonce, plain, _AAD)
        return {
            SEALED: _VERSION,
            "kid": self.primary,
            "data": base64.urlsafe_b64encode(nonce + sealed).decode(),
        }

    def open(self, stored: dict[str, Any]) -> dict[str, Any]:
        if not is_sealed(stored):
            return dict(stored)
        key = self.keys.get(str(stored.get("kid")))
        if key is None:
            raise SecretsUnreadable(
                f"inbox secrets were sealed with key {stored.get('kid')}, which is not "
                "configured: set KEFU_PREVIOUS_SECRET_KEYS to the old KEFU_SECRET_KEY"
            )
        raw = base64.urlsafe_b64decode(str(stored["data"]))
        try:
            plain = key.decrypt(raw[:12], raw[12:], _AAD)
        except InvalidTag:
            raise SecretsUnreadable("inbox secrets do not open with their key") from None
        opened = json.loads(plain)
        assert isinstance(opened, dict)
        return opened

    def needs_reseal(self, stored: dict[str, Any]) -> bool:
        return not is_sealed(stored) or stored.get("kid") != self.primary


def is_sealed(stored: Any) -> bool:
    return isinstance(stored, dict) and stored.get(SEALED) == _VERSION


_ring: Keyring | None = None


def use(settings: Settings) -> Keyring:
    """Seal with `settings`' key from now on (keys used before still open)."""
    global _ring
    fresh = Keyring.of(settings)
    _ring = _ring.merged(fresh) if _ring is not None else fresh
    return _ring


def ring() -> Keyring:
    if _ring is None:
        from kefu.settings import load

        return use(load())
    return _ring


class SealedJSON(TypeDecorator[dict[str, Any]]):
    """A JSON column whose value is sealed on write and opened on read."""

    impl = sa.JSON
    cache_ok = True

    def load_dialect_impl(self, dialect: sa.Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.JSONB())
        return dialect.type_descriptor(sa.JSON())

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> Any:
        if value is None:
            return None
        return ring().seal(dict(value))

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> Any:
        if value is None:
            return None
        return ring().open(value)
