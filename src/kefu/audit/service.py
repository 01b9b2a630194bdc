"""Writing and reading the audit log."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa

from kefu.audit import catalogue
from kefu.audit.schemas import AuditOut, AuditPage
from kefu.audit.tables import AuditEntry
from kefu.context import Kefu
from kefu.errors import FieldError, Invalid
from kefu.i18n import Label, Text

BAD_CURSOR = Text(
    "This page cursor is not one the server gave; start again from the first page.",
    "分页游标无效，请从第一页重新开始。",
)


async def record(kefu: Kefu, entries: Sequence[AuditEntry]) -> None:
    async with kefu.db.transaction() as session:
        session.add_all(entries)


# The catalogue is fixed when the module loads: label lookups need not rebuild it per row.
_LABELS = dict(catalogue.actions())


def _label(action: str) -> Label:
    label = _LABELS.get(action)
    return label.both() if label else Label(en=action, zh_cn=action)


def _out(row: AuditEntry) -> AuditOut:
    return AuditOut(
        id=row.id,
        at=row.at,
        actor_id=row.actor_id,
        actor_name=row.actor_name,
        action=row.action,
        label=_label(row.action),
        object_type=row.object_type,
        object_id=row.object_id,
        method=row.method,
        path=row.path,
        status=row.status,
        ip=row.ip,
        user_agent=row.user_agent,
        details=dict(row.details or {}),
    )


def _cursor(row: AuditEntry) -> str:
    raw = f"{row.at.isoformat()}|{row.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _after(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, _, row_id = raw.partition("|")
        return _utc(datetime.fromisoformat(at)), uuid.UUID(row_id)
    except ValueError:
        raise Invalid(BAD_CURSOR, errors=[FieldError("cursor", BAD_CURSOR)]) from None


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


async def entries(
    kefu: Kefu,
    workspace_id: uuid.UUID,
    *,
    actor: uuid.UUID | None = None,
    action: str | None = None,
    object_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> AuditPage:
    """Newest first. `action` ending in `.` or `*` matches a family (`routing.*`)."""
    table = AuditEntry
    query = sa.select(table).where(table.workspace_id == workspace_id)
    if actor is not None:
        query = query.where(table.actor_id == actor)
    if action:
        if action.endswith(("*", ".")):
            query = query.where(table.action.startswith(action.rstrip("*"), autoescape=True))
        else:
            query = query.where(table.action == action)
    if object_id:
        query = query.where(table.object_id == object_id)
    if since is not None:
        query = query.where(table.at >= _utc(since))
    if until is not None:
        query = query.where(table.at < _utc(until))
    if cursor:
        at, row_id = _after(cursor)
        query = query.where(sa.or_(table.at < at, sa.and_(table.at == at, table.id < row_id)))
    query = query.order_by(table.at.desc(), table.id.desc()).limit(limit + 1)
    async with kefu.db.session() as session:
        rows = list((await session.scalars(query)).all())
    more = len(rows) > limit
    rows = rows[:limit]
    return AuditPage([_out(r) for r in rows], _cursor(rows[-1]) if more and rows else None)
