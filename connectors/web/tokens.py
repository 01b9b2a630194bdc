"""Visitor tokens and identity hashes: pure functions over secrets, no I/O.

A visitor token names one visitor of one inbox and is signed with the installation's
secret key, so a browser can keep it (localStorage) and present it again to see its own
history, and nobody can forge one for another visitor or another inbox.

`identify` hashes follow the usual desk convention: the host site's back end computes
HMAC-SHA256(inbox identity secret, user id) as lower-case hex and hands it to the page.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid

_VERSION = "v1"


class BadToken(ValueError):
    pass


def _mac(secret_key: str, payload: str) -> str:
    digest = hmac.new(secret_key.encode(), f"kefu-visitor:{payload}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()


def sign_visitor(secret_key: str, inbox_id: uuid.UUID, visitor_id: uuid.UUID) -> str:
    payload = f"{_VERSION}.{inbox_id.hex}.{visitor_id.hex}"
    return f"{payload}.{_mac(secret_key, payload)}"


def read_visitor(secret_key: str, token: str) -> tuple[uuid.UUID, uuid.UUID]:
    """(inbox_id, visitor_id) of a token we signed; `BadToken` for anything else."""
    parts = token.split(".")
    if len(parts) != 4 or parts[0] != _VERSION:
        raise BadToken("not a kefu visitor token")
    payload = ".".join(parts[:3])
    if not hmac.compare_digest(_mac(secret_key, payload).encode(), _bytes(parts[3])):
        raise BadToken("visitor token signature does not match")
    try:
        return uuid.UUID(hex=parts[1]), uuid.UUID(hex=parts[2])
    except ValueError:
        raise BadToken("visitor token is malformed") from None


def identity_hash(identity_secret: str, user_id: str) -> str:
    return hmac.new(identity_secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()


def _bytes(given: str) -> bytes:
    """What the client sent, as bytes: compare_digest refuses a str with non-ASCII
    characters with a TypeError, which would be a 500 for a hostile token."""
    return given.encode("utf-8", "replace")


def identity_hash_matches(identity_secret: str, user_id: str, given: str) -> bool:
    expected = identity_hash(identity_secret, user_id).encode()
    return hmac.compare_digest(expected, _bytes(given.strip().lower()))
