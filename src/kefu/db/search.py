"""Substring search in SQL: what the user typed, matched literally."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

ESCAPE = "\\"


def contains(column: Any, text: str) -> sa.ColumnElement[bool]:
    """`column` contains `text`, case-insensitively, with `%` and `_` meaning themselves:
    a customer searching for "50%" or "a_b" must not match every row (the LIKE
    wildcards are escaped, and so is the escape character)."""
    escaped = text.replace(ESCAPE, ESCAPE * 2).replace("%", ESCAPE + "%").replace("_", ESCAPE + "_")
    result: sa.ColumnElement[bool] = column.ilike(f"%{escaped}%", escape=ESCAPE)
    return result
