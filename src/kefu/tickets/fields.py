"""Custom ticket fields: an admin defines them per workspace (text, number, date, list,
checkbox, each with its limits); a ticket's values are checked against them on every
write, so a value the definition refuses never reaches the row."""

from __future__ import annotations

import math
import uuid
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.context import Kefu
from kefu.db.scope import one_in_workspace
from kefu.errors import Conflict, FieldError, Invalid
from kefu.i18n import Text
from kefu.people.auth import AuthUser
from kefu.tickets.schemas import (
    FieldKind,
    FieldValue,
    TicketFieldIn,
    TicketFieldList,
    TicketFieldOut,
)
from kefu.tickets.tables import Ticket, TicketField

TEXT_MAX = 5000
MAX_FIELDS = 50


def out(row: TicketField) -> TicketFieldOut:
    return TicketFieldOut(
        id=row.id,
        key=row.key,
        label=row.label,
        label_zh=row.label_zh,
        kind=FieldKind(row.kind),
        options=list(row.options or []),
        required=row.required,
        max_length=row.max_length,
        min_value=row.min_value,
        max_value=row.max_value,
        position=row.position,
    )


async def definitions(session: AsyncSession, workspace_id: uuid.UUID) -> list[TicketField]:
    rows = await session.scalars(
        sa.select(TicketField)
        .where(TicketField.workspace_id == workspace_id)
        .order_by(TicketField.position, TicketField.key)
    )
    return list(rows)


async def list_fields(kefu: Kefu, user: AuthUser) -> TicketFieldList:
    async with kefu.db.session() as session:
        return TicketFieldList([out(r) for r in await definitions(session, user.workspace_id)])


def _bad(field: str, en: str, zh: str) -> Invalid:
    return Invalid(Text(en, zh), errors=[FieldError(field, Text(en, zh))])


async def create(kefu: Kefu, user: AuthUser, data: TicketFieldIn) -> TicketFieldOut:
    if data.kind == FieldKind.list and not data.options:
        raise _bad("options", "a list field needs options", "列表字段需要选项")
    if len(set(data.options)) != len(data.options):
        raise _bad("options", "options repeat", "选项重复")
    if (
        data.min_value is not None
        and data.max_value is not None
        and data.min_value > data.max_value
    ):
        raise _bad("min_value", "the minimum is above the maximum", "最小值大于最大值")
    async with kefu.db.transaction() as session:
        existing = await definitions(session, user.workspace_id)
        if any(r.key == data.key for r in existing):
            raise Conflict(
                Text("a field with this key exists", "已有同名字段"),
                extra={"reason": "duplicate_key"},
            )
        if len(existing) >= MAX_FIELDS:
            raise _bad("key", f"at most {MAX_FIELDS} fields", f"最多 {MAX_FIELDS} 个字段")
        row = TicketField(
            workspace_id=user.workspace_id,
            key=data.key,
            label=data.label,
            label_zh=data.label_zh,
            kind=data.kind.value,
            options=list(data.options),
            required=data.required,
            max_length=data.max_length,
            min_value=data.min_value,
            max_value=data.max_value,
            position=data.position,
        )
        session.add(row)
        await session.flush()
        return out(row)


async def delete(kefu: Kefu, user: AuthUser, field_id: uuid.UUID) -> None:
    """The definition goes; values already on tickets stay in their history but are no
    longer shown or accepted."""
    async with kefu.db.transaction() as session:
        row = await one_in_workspace(session, TicketField, user.workspace_id, field_id, "field")
        await session.delete(row)


def check(definition: TicketField, value: FieldValue) -> Any:
    """The stored form of `value` for this field, or a 422 naming `custom.<key>`."""
    name = f"custom.{definition.key}"
    kind = definition.kind
    if kind == FieldKind.text:
        limit = min(definition.max_length or TEXT_MAX, TEXT_MAX)
        if not isinstance(value, str) or len(value) > limit:
            raise _bad(name, f"text of at most {limit} characters", f"最多 {limit} 个字符的文本")
        return value
    if kind == FieldKind.number:
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise _bad(name, "a number", "需要数字")
        low, high = definition.min_value, definition.max_value
        if (low is not None and value < low) or (high is not None and value > high):
            raise _bad(name, f"a number from {low} to {high}", f"{low} 到 {high} 之间的数字")
        return value
    if kind == FieldKind.date:
        try:
            if not isinstance(value, str) or len(value) != 10:
                raise ValueError(value)
            return date.fromisoformat(value).isoformat()
        except ValueError as exc:
            raise _bad(name, "a date (YYYY-MM-DD)", "日期（YYYY-MM-DD）") from exc
    if kind == FieldKind.list:
        if value not in (definition.options or []):
            raise _bad(name, "one of the field's options", "须为字段的选项之一")
        return value
    if not isinstance(value, bool):
        raise _bad(name, "true or false", "需要是或否")
    return value


async def merged_values(
    session: AsyncSession, ticket: Ticket, values: dict[str, FieldValue]
) -> dict[str, Any]:
    """The ticket's custom values with `values` applied (None clears a key), each
    checked against the workspace's definitions; a required field cannot be cleared."""
    by_key = {d.key: d for d in await definitions(session, ticket.workspace_id)}
    result = {k: v for k, v in (ticket.custom or {}).items() if k in by_key}
    for key, value in values.items():
        definition = by_key.get(key)
        if definition is None:
            raise _bad(f"custom.{key}", "no such field", "没有这个字段")
        if value is None:
            if definition.required:
                raise _bad(f"custom.{key}", "this field is required", "此字段必填")
            result.pop(key, None)
        else:
            result[key] = check(definition, value)
    return result
