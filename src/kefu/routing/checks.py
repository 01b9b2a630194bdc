"""What is wrong with an admin's routing input, said per field so the console can show
each message beside its input. Pure data: the validators return these, `admin.py` turns
them into one `Invalid` (the joined sentences as its detail, one FieldError per field)."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from kefu.errors import FieldError, Invalid
from kefu.i18n import Text


class Problem(msgspec.Struct, frozen=True):
    """`field` is the path as the console sends it (`conditions[0].value`,
    `weekly.mon[0].end`); `where` names it in a sentence read without the form
    ("condition 1 (channel regex)"), None when the message already says it."""

    field: str
    message: Text
    where: Text | None = None

    def sentence(self) -> Text:
        if self.where is None:
            return self.message
        return Text(f"{self.where.en}: {self.message.en}", f"{self.where.zh}：{self.message.zh}")


def sentences(problems: Sequence[Problem]) -> list[str]:
    """The English sentences, as the validators returned them before they had fields."""
    return [p.sentence().en for p in problems]


def refuse(problems: Sequence[Problem]) -> None:
    """Raise one Invalid naming every problem; nothing when there are none."""
    if not problems:
        return
    said = [p.sentence() for p in problems]
    raise Invalid(
        Text("; ".join(s.en for s in said), "；".join(s.zh for s in said)),
        errors=[FieldError(p.field, p.message) for p in problems],
    )
