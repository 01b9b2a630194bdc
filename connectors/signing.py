"""HMAC-SHA256 webhook signatures, the same both ways: `X-Kefu-Timestamp` carries unix
seconds and `X-Kefu-Signature` is `sha256=` + hex(HMAC(secret, "{timestamp}.{body}")).
Signing the timestamp with the body is what makes a replayed request detectable."""

from __future__ import annotations

import hashlib
import hmac
import time

TIMESTAMP_HEADER = "x-kefu-timestamp"
SIGNATURE_HEADER = "x-kefu-signature"


class SignatureError(Exception):
    pass


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def signed_headers(secret: str, body: bytes, now: float | None = None) -> dict[str, str]:
    timestamp = int(time.time() if now is None else now)
    return {
        "X-Kefu-Timestamp": str(timestamp),
        "X-Kefu-Signature": sign(secret, timestamp, body),
        "Content-Type": "application/json",
    }


def verify(
    secret: str,
    body: bytes,
    timestamp: str | None,
    signature: str | None,
    *,
    tolerance: int,
    now: float | None = None,
) -> None:
    """Raise `SignatureError` with a reason a sender can fix."""
    if not timestamp or not signature:
        raise SignatureError("X-Kefu-Timestamp and X-Kefu-Signature headers are required")
    try:
        ts = int(timestamp)
    except ValueError:
        raise SignatureError("X-Kefu-Timestamp must be unix seconds") from None
    current = time.time() if now is None else now
    if abs(current - ts) > tolerance:
        raise SignatureError(
            f"timestamp is {int(current - ts)} s away from now; "
            f"more than {tolerance} s is refused as a replay"
        )
    # Bytes: compare_digest refuses a str with non-ASCII (a hostile header) with a TypeError.
    if not hmac.compare_digest(
        sign(secret, ts, body).encode(), signature.encode("utf-8", "replace")
    ):
        raise SignatureError("signature does not match the body")
