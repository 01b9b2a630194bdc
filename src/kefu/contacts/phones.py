"""Phone numbers as one identity: E.164 (`+8613800138000`), whatever way they were written.

SMS senders, voice callers and a contact's profile phone meet on this form, so
`13800138000`, `+86 138 0013 8000` and `008613800138000` are one person."""

from __future__ import annotations

import phonenumbers

# International call prefixes written instead of "+" (00 in China and most of the world).
_IDD = ("00",)


def to_e164(raw: str, region: str = "CN") -> str | None:
    """The number in E.164, or None when it is not a possible phone number. A number
    without a country code is read as one of `region` (ISO 3166 alpha-2)."""
    text = raw.strip()
    if not text or len(text) > 64:
        return None
    digits = "".join(c for c in text if c.isdigit())
    if not text.startswith("+"):
        for prefix in _IDD:
            if digits.startswith(prefix) and len(digits) > 10:
                text = "+" + digits[len(prefix) :]
                break
    try:
        number = phonenumbers.parse(text, region.upper() or None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
