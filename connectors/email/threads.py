"""The parts of threading that need no database: subject keys, reply tokens, our ids.

A thread has a token (random, URL-safe). We put it where replies bring it back even
when a client rewrites In-Reply-To (Outlook does): in the Reply-To address
(`support+<token>@example.com`) and in each Message-ID we send
(`<kefu.<token>.<random>@example.com>`)."""

from __future__ import annotations

import re
import secrets
import uuid

from kefu.connectors.email.parse import Address, ParsedMail

_PREFIX = re.compile(
    r"^\s*(?:(?:re|aw|sv|vs|antw|odp|fwd?|fw|wg|tr|rv|enc|回复|回覆|答复|答覆|转发|轉寄|轉發)"
    r"\s*(?:\[\d+\]|\(\d+\))?\s*[:：]\s*|\[[^\]]{0,40}\]\s*)",
    re.IGNORECASE,
)
_TOKEN = re.compile(r"^[a-f0-9]{16}$")
_OUR_ID = re.compile(r"^kefu\.([A-Za-z0-9_-]{8,40})\.[A-Za-z0-9]+@", re.IGNORECASE)


def subject_key(subject: str) -> str:
    """The subject without reply/forward prefixes (English and Chinese, half- or
    full-width colons, repeated, `[list]` tags), case-folded, spaces collapsed."""
    rest = subject or ""
    while True:
        stripped = _PREFIX.sub("", rest, count=1)
        if stripped == rest:
            break
        rest = stripped
    return " ".join(rest.split()).casefold()[:200]


def new_token() -> str:
    # Lower-case hex: addresses are often lower-cased on the way back.
    return secrets.token_hex(8)


def reply_address(address: str, token: str) -> str:
    local, _, domain = address.partition("@")
    return f"{local}+{token}@{domain}"


def our_message_id(token: str, message_id: uuid.UUID, address: str) -> str:
    domain = address.partition("@")[2] or "kefu.invalid"
    return f"kefu.{token}.{message_id.hex}@{domain}"


def tokens_in(mail: ParsedMail, address: str) -> list[str]:
    """Thread tokens the mail carries back: in a `support+token@` recipient or in one of
    our Message-IDs it refers to."""
    local, _, domain = address.lower().partition("@")
    found: list[str] = []
    recipients: list[Address] = [*mail.to, *mail.cc]
    for each in recipients:
        name, _, host = each.address.partition("@")
        base, plus, token = name.partition("+")
        if plus and host == domain and base == local and _TOKEN.match(token):
            found.append(token)
    for ref in [*mail.in_reply_to, *reversed(mail.references)]:
        match = _OUR_ID.match(ref)
        if match:
            found.append(match.group(1))
    return list(dict.fromkeys(found))
