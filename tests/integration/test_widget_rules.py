"""Pure rules of the widget back end (no database): visitor tokens, identify hashes,
content sniffing and rate-limit buckets."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from kefu.connectors.web import tokens, uploads
from kefu.ratelimit import Buckets, Rule

DAY = timedelta(days=1)


def test_a_visitor_token_names_its_inbox_and_visitor_and_cannot_be_altered() -> None:
    inbox, visitor = uuid.uuid4(), uuid.uuid4()
    now = datetime.now(UTC)
    token = tokens.sign_visitor("secret", inbox, visitor, now)
    read = tokens.read_visitor("secret", token, now=now, max_age=DAY)
    assert (read.inbox_id, read.visitor_id) == (inbox, visitor)
    assert abs(read.issued_at - now) < timedelta(milliseconds=1)
    other = uuid.uuid4()
    forged = token.replace(visitor.hex, other.hex)
    with pytest.raises(tokens.BadToken):
        tokens.read_visitor("secret", forged, now=now, max_age=DAY)
    with pytest.raises(tokens.BadToken):
        tokens.read_visitor("another-installation", token, now=now, max_age=DAY)
    with pytest.raises(tokens.BadToken):
        tokens.read_visitor("secret", "v2.x.y.z.w", now=now, max_age=DAY)


def test_a_visitor_token_expires_and_its_issue_time_cannot_be_moved() -> None:
    inbox, visitor = uuid.uuid4(), uuid.uuid4()
    issued = datetime(2026, 12, 1, tzinfo=UTC)
    token = tokens.sign_visitor("secret", inbox, visitor, issued)
    tokens.read_visitor("secret", token, now=issued + DAY - timedelta(seconds=1), max_age=DAY)
    with pytest.raises(tokens.BadToken, match="expired"):
        tokens.read_visitor("secret", token, now=issued + DAY, max_age=DAY)
    later = str(int((issued + DAY).timestamp() * 1000))
    moved = token.replace(str(int(issued.timestamp() * 1000)), later)
    with pytest.raises(tokens.BadToken, match="signature"):
        tokens.read_visitor("secret", moved, now=issued + DAY, max_age=DAY * 2)
    assert tokens.expires_at(issued, DAY) == issued + DAY


def test_a_v1_token_that_never_expired_is_no_longer_accepted() -> None:
    v1 = f"v1.{uuid.uuid4().hex}.{uuid.uuid4().hex}.mac"
    with pytest.raises(tokens.BadToken):
        tokens.read_visitor("secret", v1, now=datetime.now(UTC), max_age=DAY)


def test_identify_hash_is_hex_hmac_sha256_of_the_user_id() -> None:
    # RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
    expected = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    assert tokens.identity_hash("Jefe", "what do ya want for nothing?") == expected
    assert tokens.identity_hash_matches("Jefe", "what do ya want for nothing?", expected.upper())
    assert not tokens.identity_hash_matches("Jefe", "someone else", expected)


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (b"\x89PNG\r\n\x1a\n....", "image/png"),
        (b"\xff\xd8\xff\xe0JFIF", "image/jpeg"),
        (b"GIF89a....", "image/gif"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"%PDF-1.7\n", "application/pdf"),
        ("订单号 12345\n".encode(), "text/plain"),
        (b"MZ\x90\x00\x03\x00\x00\x00", None),  # a Windows executable named cat.png
        (b"\x7fELF\x02\x01\x01\x00", None),
        (b"", None),
    ],
)
def test_files_are_typed_by_their_first_bytes(head: bytes, kind: str | None) -> None:
    assert uploads.sniff(head) == kind


def test_stored_names_never_come_from_the_visitor(tmp_path: object) -> None:
    key = uploads.store(str(tmp_path), b"%PDF-1.4", "application/pdf")
    found = uploads.locate(str(tmp_path), key)
    assert found is not None and found[1] == "application/pdf"
    assert uploads.locate(str(tmp_path), "../../etc/passwd") is None
    assert uploads.clean_name("../../evil.exe", "image/png") == "evil.exe.png"
    assert uploads.clean_name("photo.JPG", "image/jpeg") == "photo.JPG"


def test_a_bucket_allows_its_burst_then_refills_over_time() -> None:
    buckets = Buckets()
    rule = Rule(burst=2, per_second=1.0)
    assert [buckets.take("ip", rule, now=100.0) for _ in range(3)] == [0.0, 0.0, 1.0]
    assert buckets.take("ip", rule, now=100.5) == pytest.approx(0.5)
    assert buckets.take("ip", rule, now=101.5) == 0.0
    assert buckets.take("another-ip", rule, now=100.0) == 0.0
