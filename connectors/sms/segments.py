"""How many characters and billed segments an SMS is, as the carrier counts them.

GSM-7 (the 3GPP TS 23.038 default alphabet) carries 160 characters in one SMS and 153
per part of a long one; characters of its extension table (`^{}\\[~]|€` and form feed)
take two. Anything else is UCS-2: 70, then 67 per part, counted in UTF-16 units (an
emoji is two). A Chinese signature 【签名】 is part of the text the customer receives,
so it is counted (and, not being GSM-7, makes the message UCS-2)."""

from __future__ import annotations

import math
from typing import Literal

import msgspec

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")


class Count(msgspec.Struct, frozen=True):
    encoding: Literal["gsm7", "ucs2"]
    chars: int
    segments: int


def signed(text: str, signature: str = "") -> str:
    return f"【{signature}】{text}" if signature else text


def count(text: str, signature: str = "") -> Count:
    """Characters (as billed) and segments of `text` sent with `signature` (no 【】)."""
    full = signed(text, signature)
    if all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in full):
        units = sum(2 if c in GSM7_EXTENSION else 1 for c in full)
        single, part = 160, 153
        encoding: Literal["gsm7", "ucs2"] = "gsm7"
    else:
        units = len(full.encode("utf-16-le")) // 2
        single, part = 70, 67
        encoding = "ucs2"
    if units == 0:
        return Count(encoding, 0, 0)
    return Count(encoding, units, 1 if units <= single else math.ceil(units / part))
