"""Filling {{variables}} in a quick reply: a pure function of the text and the values.

`{{contact.name}}` takes the value; `{{contact.name|您}}` falls back to the text after
the bar when the value is empty. A name we do not know stays as written, so a typo is
visible to the agent instead of silently vanishing from the customer's message.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

PATTERN = re.compile(r"\{\{\s*([a-z_]+(?:\.[a-z_]+)*)\s*(?:\|([^}]*))?\}\}")

KNOWN = (
    "contact.name",
    "contact.email",
    "contact.phone",
    "agent.name",
    "agent.email",
    "conversation.id",
    "inbox.name",
    "workspace.name",
)


def fill(text: str, values: Mapping[str, str | None]) -> tuple[str, list[str]]:
    """The text with variables replaced, and the known names that had no value nor
    fallback (left empty in the text)."""
    missing: list[str] = []

    def replace(match: re.Match[str]) -> str:
        name, fallback = match.group(1), match.group(2)
        if name not in KNOWN:
            return match.group(0)
        value = values.get(name)
        if value:
            return value
        if fallback is not None:
            return fallback.strip()
        missing.append(name)
        return ""

    return PATTERN.sub(replace, text), missing
