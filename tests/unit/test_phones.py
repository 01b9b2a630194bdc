"""One person, however their phone number was written."""

from __future__ import annotations

import pytest

from kefu.contacts.phones import to_e164


@pytest.mark.parametrize(
    "raw",
    ["13800138000", "+86 138 0013 8000", "008613800138000", "+86-138-0013-8000", " 138 0013 8000 "],
)
def test_chinese_mobile_written_every_way_is_one_identity(raw: str) -> None:
    assert to_e164(raw) == "+8613800138000"


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("+1 415 555 0100", "CN", "+14155550100"),
        ("(415) 555-0100", "US", "+14155550100"),
        ("0014155550100", "CN", "+14155550100"),
        ("020 7946 0958", "GB", "+442079460958"),
    ],
)
def test_other_countries_and_regions(raw: str, region: str, expected: str) -> None:
    assert to_e164(raw, region) == expected


@pytest.mark.parametrize("raw", ["", "   ", "hello", "12", "+", "1" * 70, "+86 1"])
def test_not_a_phone_number_is_none(raw: str) -> None:
    assert to_e164(raw) is None
