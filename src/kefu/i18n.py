"""Text a person reads, in every locale kefu speaks, chosen when it is rendered.

Messages live next to the code that says them (`Text(en=..., zh=...)`), not in a key
catalogue: a reader sees both sentences where the error is raised, and a missing
translation is a type error, not a blank. `problems.py` renders errors in the request's
`Accept-Language`; structs sent to the console carry both (`Text.both()`), because the
console switches language without asking the server again.
"""

from __future__ import annotations

from typing import Literal

import msgspec

Locale = Literal["zh-CN", "en"]
LOCALES: tuple[Locale, ...] = ("zh-CN", "en")
DEFAULT_LOCALE: Locale = "en"


class Text:
    """One sentence in English and Simplified Chinese; `{name}` placeholders are filled
    by `format`. `str()` gives English, for logs and exceptions' `args`."""

    __slots__ = ("en", "zh")

    def __init__(self, en: str, zh: str) -> None:
        self.en = en
        self.zh = zh

    def format(self, **values: object) -> Text:
        return Text(self.en.format(**values), self.zh.format(**values))

    def render(self, locale: str) -> str:
        return self.zh if locale.lower().startswith("zh") else self.en

    def both(self) -> Label:
        return Label(en=self.en, zh_cn=self.zh)

    def __str__(self) -> str:
        return self.en

    def __repr__(self) -> str:
        return f"Text({self.en!r}, {self.zh!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Text) and (self.en, self.zh) == (other.en, other.zh)

    def __hash__(self) -> int:
        return hash((self.en, self.zh))


class Label(msgspec.Struct, frozen=True, kw_only=True, rename={"zh_cn": "zh-CN"}):
    """A `Text` on the wire: `{"en": ..., "zh-CN": ...}`."""

    en: str
    zh_cn: str


def locale_of(accept_language: str | None) -> Locale:
    """The best of our locales for an `Accept-Language` header (RFC 9110 §12.5.4),
    honouring q-values; English when nothing matches."""
    if not accept_language:
        return DEFAULT_LOCALE
    best: tuple[float, Locale] | None = None
    for position, part in enumerate(accept_language.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        tag = tag.strip().lower()
        locale: Locale | None = (
            "zh-CN" if tag.startswith("zh") else "en" if tag.startswith("en") else None
        )
        if locale is None or quality <= 0:
            continue
        # Equal quality: the earlier tag wins (subtract a hair by position).
        score = quality - position * 1e-6
        if best is None or score > best[0]:
            best = (score, locale)
    return best[1] if best else DEFAULT_LOCALE
