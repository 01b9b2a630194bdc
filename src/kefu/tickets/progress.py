"""The customer's progress link `/t/<token>`: the ticket id and an HMAC over it and the
ticket's nonce, under the app's secret key. Unguessable without the key; rotating the
nonce revokes every link handed out so far. A wrong or revoked token finds nothing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid

from kefu.settings import Settings
from kefu.tickets.tables import Ticket

SIG_BYTES = 16


def new_nonce() -> str:
    return secrets.token_hex(16)


def _sig(secret_key: str, ticket_id: uuid.UUID, nonce: str) -> bytes:
    key = hashlib.sha256(b"kefu-ticket-progress:" + secret_key.encode()).digest()
    return hmac.new(key, ticket_id.bytes + nonce.encode(), hashlib.sha256).digest()[:SIG_BYTES]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def token(settings: Settings, ticket: Ticket) -> str:
    return token_of(settings, ticket.id, ticket.progress_nonce)


def token_of(settings: Settings, ticket_id: uuid.UUID, nonce: str) -> str:
    return _b64(ticket_id.bytes + _sig(settings.secret_key, ticket_id, nonce))


def url(settings: Settings, ticket: Ticket) -> str:
    return url_of(settings, ticket.id, ticket.progress_nonce)


def url_of(settings: Settings, ticket_id: uuid.UUID, nonce: str) -> str:
    return f"{settings.public_url.rstrip('/')}/t/{token_of(settings, ticket_id, nonce)}"


def ticket_id_of(value: str) -> uuid.UUID | None:
    """The ticket a token names (not yet checked: `verify` with the row's nonce)."""
    if len(value) != 43:
        return None
    try:
        raw = base64.urlsafe_b64decode(value + "=")
    except ValueError:
        return None
    if len(raw) != 16 + SIG_BYTES:
        return None
    return uuid.UUID(bytes=raw[:16])


def verify(settings: Settings, value: str, ticket: Ticket) -> bool:
    try:
        raw = base64.urlsafe_b64decode(value + "=")
    except ValueError:
        return False
    return hmac.compare_digest(
        raw[16:], _sig(settings.secret_key, ticket.id, ticket.progress_nonce)
    )
