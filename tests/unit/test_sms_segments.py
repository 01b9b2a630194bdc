"""SMS length as the customer is billed: GSM-7 160/153, UCS-2 70/67, signature counted."""

from __future__ import annotations

import pytest

from kefu.connectors.sms.segments import count


@pytest.mark.parametrize(
    ("text", "signature", "encoding", "chars", "segments"),
    [
        ("", "", "gsm7", 0, 0),
        ("Hello", "", "gsm7", 5, 1),
        ("a" * 160, "", "gsm7", 160, 1),
        ("a" * 161, "", "gsm7", 161, 2),
        ("a" * 306, "", "gsm7", 306, 2),
        ("a" * 307, "", "gsm7", 307, 3),
        ("{}", "", "gsm7", 4, 1),  # extension table: two each
        ("€" * 80, "", "gsm7", 160, 1),
        ("€" * 80 + "a", "", "gsm7", 161, 2),
        ("a" * 159 + "[", "", "gsm7", 161, 2),
        ("Ça coûte 5€", "", "ucs2", 11, 1),  # û is not GSM-7
        ("你好", "", "ucs2", 2, 1),
        ("好" * 70, "", "ucs2", 70, 1),
        ("好" * 71, "", "ucs2", 71, 2),
        ("好" * 134, "", "ucs2", 134, 2),
        ("好" * 135, "", "ucs2", 135, 3),
        ("😀", "", "ucs2", 2, 1),  # an emoji is two UTF-16 units
        ("好" * 64, "腾讯云", "ucs2", 69, 1),  # 【腾讯云】 is 5 characters
        ("好" * 66, "腾讯云", "ucs2", 71, 2),
        ("Hi", "Acme", "ucs2", 8, 1),  # 【】 are not GSM-7
    ],
)
def test_count(text: str, signature: str, encoding: str, chars: int, segments: int) -> None:
    result = count(text, signature)
    assert (result.encoding, result.chars, result.segments) == (encoding, chars, segments)
