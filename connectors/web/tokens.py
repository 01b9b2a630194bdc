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
from datetime import UTC, datetime, timedelta

import msgspec

_VERSION = "v2"


class BadToken(ValueError):
    pass


class VisitorToken(msgspec.Struct, frozen=True):
    inbox_id: uuid.UUID
    visitor_id: uuid.UUID
    issued_at: datetime


def _mac(secret_key: str, payload: str) -> str:
    digest = hmac.new(secret_key.encode(), f"kefu-visitor:{payload}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()


def sign_visitor(
    secret_key: str, inbox_id: uuid.UUID, visitor_id: uuid.UUID, issued_at: datetime
) -> str:
    """A token naming the visitor and when it was issued (milliseconds), so it can
    expire and be revoked (tokens issued before a visitor's `tokens_valid_after`)."""
    issued = int(issued_at.timestamp() * 1000)
    payload = f"{_VERSION}.{inbox_id.hex}.{visitor_id.hex}.{issued}"
    return f"{payload}.{_mac(secret_key, payload)}"


def read_visitor(secret_key: str, token: str, *, now: datetime, max_age: timedelta) -> VisitorToken:
    """The visitor of a token we signed that has not expired; `BadToken` for anything
    else (v1 tokens, which never expired, included)."""
    parts = token.split(".")
    if len(parts) != 5 or parts[0] != _VERSION:
        raise BadToken("not a kefu visitor token")
    payload = ".".join(parts[:4])
    if not hmac.compare_digest(_mac(secret_key, payload).encode(), _bytes(parts[4])):
        raise BadToken("visitor token signature does not match")
    try:
        inbox_id, visitor_id = uuid.UUID(hex=parts[1]), uuid.UUID(hex=parts[2])
        issued_at = datetime.fromtimestamp(int(parts[3]) / 1000, UTC)
    except (ValueError, OverflowError, OSError):
        raise BadToken("visitor token is malformed") from None
    if issued_at + max_age <= now:
        raise BadToken("visitor token has expired")
    return VisitorToken(inbox_id, visitor_id, issued_at)


def expires_at(issued_at: datetime, max_age: timedelta) -> datetime:
    # The token carries milliseconds; the expiry is said from what it carries.
    return datetime.fromtimestamp(int(issued_at.timestamp() * 1000) / 1000, UTC) + max_age


def identity_hash(identity_secret: str, user_id: str) -> str:
    return hmac.new(identity_secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()


def _bytes(given: str) -> bytes:
    """What the client sent, as bytes: compare_digest refuses a str with non-ASCII
    characters with a TypeError, which would be a 500 for a hostile token."""
    return given.encode("utf-8", "replace")


def identity_hash_matches(identity_secret: str, user_id: str, given: str) -> bool:
    expected = identity_hash(identity_secret, user_id).encode()
    return hmac.compare_digest(expected, _bytes(given.strip().lower()))
