"""Keeping the per-day roll-up in step with the event log, and reading it.

Nothing runs on the ingest path: events carry UUIDv7 ids that grow with insertion time,
so `refresh` folds in every event inserted since the cursor (re-reading a two-minute
margin for transactions that committed late) and recomputes only the days those events
touch: for a conversation, every day it has events on, because a late event may change a
duration credited to another day. `rebuild` recomputes a range from scratch. Both replace
whole day rows, so running them twice, or after out-of-order inserts, gives the same rows.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.db.tables import Conversation, ConversationEventRow, Workspace
from kefu.reports import compute
from kefu.reports.tables import ReportCursor, ReportDay
from kefu.routing import hours
from kefu.routing.tables import BusinessCalendar

MARGIN = timedelta(minutes=2)
_state_decoder = msgspec.json.Decoder(dict[str, Any])
CHUNK = 500
TICKET_TYPES = tuple(
    f"ticket.{t}" for t in ("created", "status", "assigned", "comment", "sla", "rated")
)
PHONE_TYPES = ("call.agentlogin", "call.agentlogoff", "call.pause", "call.unpause")


def workspace_timezone(settings: dict[str, Any] | None) -> str:
    """The workspace's day: settings["timezone"] (IANA), else UTC."""
    name = str((settings or {}).get("timezone") or "UTC")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return "UTC"
    return name


async def context_of(session: AsyncSession, workspace_id: uuid.UUID) -> compute.Context:
    settings = (
        await session.scalar(sa.select(Workspace.settings).where(Workspace.id == workspace_id))
        or {}
    )
    calendar_row = await session.scalar(
        sa.select(BusinessCalendar)
        .where(BusinessCalendar.workspace_id == workspace_id)
        .order_by(BusinessCalendar.created_at)
        .limit(1)
    )
    calendar = None
    if calendar_row is not None:
        calendar = msgspec.convert(
            {
                "timezone": calendar_row.timezone,
                "weekly": calendar_row.weekly or {},
                "special_days": calendar_row.special_days or [],
            },
            hours.Calendar,
        )
    return compute.Context(
        timezone=workspace_timezone(settings),
        service_level_seconds=int(settings.get("call_service_level_seconds", 20)),
        calendar=calendar,
    )


def day_bounds(day: date, tz: str) -> tuple[datetime, datetime]:
    zone = ZoneInfo(tz)
    start = datetime(day.year, day.month, day.day, tzinfo=zone)
    end = start + timedelta(days=1)
    return start.astimezone(UTC), end.astimezone(UTC)


def _uuid7_floor(at: datetime) -> uuid.UUID:
    """The smallest UUIDv7 minted at `at`: ids compare as 128-bit numbers."""
    ms = int(at.timestamp() * 1000)
    return uuid.UUID(int=(ms << 80) | (0x7 << 76))


def _row(r: Any) -> compute.Row:
    created = r.created_at
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    return compute.Row(
        id=r.id,
        type=r.type,
        conversation_id=r.conversation_id,
        actor_kind=r.actor_kind,
        actor_id=r.actor_id,
        data=r.data or {},
        created_at=created,
    )


_COLS = (
    ConversationEventRow.id,
    ConversationEventRow.type,
    ConversationEventRow.conversation_id,
    ConversationEventRow.actor_kind,
    ConversationEventRow.actor_id,
    ConversationEventRow.data,
    ConversationEventRow.created_at,
)


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


async def recompute_days(
    session: AsyncSession, workspace_id: uuid.UUID, days: set[date], ctx: compute.Context
) -> int:
    """Replace the rows of `days` with states computed from the event log."""
    if not days:
        return 0
    cells = await cells_for(session, workspace_id, days, ctx)
    day_list = sorted(days)
    for chunk in _chunks(day_list):
        await session.execute(
            sa.delete(ReportDay).where(
                ReportDay.workspace_id == workspace_id, ReportDay.day.in_(chunk)
            )
        )
    values = [
        {
            "workspace_id": workspace_id,
            "day": d,
            "dim": dim,
            "key": key[:64],
            "state": _durations_sorted(state),
        }
        for (d, dim, key), state in cells.items()
        if d in days
    ]
    for chunk in _chunks(values):
        await session.execute(sa.insert(ReportDay), list(chunk))
    return len(values)


def _durations_sorted(state: compute.State) -> compute.State:
    """A day's duration lists stored in ascending order: a period's list is then a few
    sorted runs end to end, which the percentile's sort merges in near-linear time
    instead of sorting from scratch (the figures do not depend on the order)."""
    return {
        name: sorted(value)
        if isinstance(value, list) and value and isinstance(value[0], int | float)
        else value
        for name, value in state.items()
    }


async def cells_for(
    session: AsyncSession, workspace_id: uuid.UUID, days: set[date], ctx: compute.Context
) -> dict[compute.Cell, compute.State]:
    """The states of `days` (and of whatever else the loaded events touch) from the log."""
    tz = ctx.timezone
    lo, hi = day_bounds(min(days), tz)[0], day_bounds(max(days), tz)[1]
    ev = ConversationEventRow
    in_range = sa.and_(ev.workspace_id == workspace_id, ev.created_at >= lo, ev.created_at < hi)
    conversation_ids = [
        cid
        for (cid,) in (
            await session.execute(
                sa.select(ev.conversation_id)
                .where(in_range, ev.conversation_id.is_not(None), ~ev.type.like("call.%"))
                .distinct()
            )
        ).all()
    ]
    rows: list[compute.Row] = []
    dims: dict[uuid.UUID, dict[str, str]] = {}
    for chunk in _chunks(conversation_ids):
        result = await session.execute(
            sa.select(*_COLS).where(
                ev.workspace_id == workspace_id,
                ev.conversation_id.in_(chunk),
                ~ev.type.like("call.%"),
                ~ev.type.like("ticket.%"),
            )
        )
        rows.extend(_row(r) for r in result.all())
        for cid, channel, inbox_id in (
            await session.execute(
                sa.select(Conversation.id, Conversation.channel, Conversation.inbox_id).where(
                    Conversation.id.in_(chunk)
                )
            )
        ).all():
            dims[cid] = {"channel": str(channel), "inbox": str(inbox_id)}
    # Calls: the day before too, so a call's earlier leg (answered before midnight) is
    # known; cells of days outside `days` are not written. Phone states: a span may start
    # the day before.
    calls = await session.execute(
        sa.select(*_COLS).where(
            ev.workspace_id == workspace_id,
            ev.created_at >= lo - timedelta(days=1),
            ev.created_at < hi,
            ev.type.like("call.%"),
        )
    )
    rows.extend(_row(x) for x in calls.all())
    # Presence: each event holds the span it closes; one closed up to a week later may
    # still cover these days (spans are capped at a week).
    presence = await session.execute(
        sa.select(*_COLS).where(
            ev.workspace_id == workspace_id,
            ev.type == compute.PRESENCE,
            ev.created_at >= lo,
            ev.created_at < hi + compute.PRESENCE_SPAN_CAP,
        )
    )
    rows.extend(_row(x) for x in presence.all())
    # Tickets: a ticket's resolution time needs its creation, which may be long before.
    ticket_ids = {
        str((d or {}).get("ticket_id"))
        for (d,) in (
            await session.execute(sa.select(ev.data).where(in_range, ev.type.in_(TICKET_TYPES)))
        ).all()
    }
    if ticket_ids:
        result = await session.execute(
            sa.select(*_COLS).where(
                ev.workspace_id == workspace_id, ev.type.in_(TICKET_TYPES), ev.created_at < hi
            )
        )
        rows.extend(
            r for r in (_row(x) for x in result.all()) if str(r.data.get("ticket_id")) in ticket_ids
        )
    ctx = compute.Context(
        timezone=ctx.timezone,
        service_level_seconds=ctx.service_level_seconds,
        calendar=ctx.calendar,
        dims=dims,
        hourly=ctx.hourly,
    )
    return compute.compute(rows, ctx)


async def _lock_cursor(session: AsyncSession, workspace_id: uuid.UUID) -> ReportCursor:
    cursor = await session.scalar(
        sa.select(ReportCursor).where(ReportCursor.workspace_id == workspace_id).with_for_update()
    )
    if cursor is None:
        try:
            # Two first reads may race to create it: the loser takes the winner's row.
            async with session.begin_nested():
                session.add(ReportCursor(workspace_id=workspace_id, last_event_id=None))
        except IntegrityError:
            pass
        cursor = await session.scalar(
            sa.select(ReportCursor)
            .where(ReportCursor.workspace_id == workspace_id)
            .with_for_update()
        )
        assert cursor is not None
    return cursor


async def refresh(session: AsyncSession, workspace_id: uuid.UUID) -> int:
    """Fold in the events inserted since the last refresh; returns days recomputed."""
    cursor = await _lock_cursor(session, workspace_id)
    ev = ConversationEventRow
    newest = await session.scalar(
        sa.select(ev.id).where(ev.workspace_id == workspace_id).order_by(ev.id.desc()).limit(1)
    )
    if newest is None or newest == cursor.last_event_id:
        # Nothing inserted since: a report read costs one index probe, not a recompute.
        return 0
    ctx = await context_of(session, workspace_id)
    query = sa.select(ev.id, ev.conversation_id, ev.created_at, ev.type).where(
        ev.workspace_id == workspace_id
    )
    if cursor.last_event_id is not None:
        floor = _uuid7_floor(_uuid7_time(cursor.last_event_id) - MARGIN)
        query = query.where(ev.id > floor)
    fresh = (await session.execute(query)).all()
    if not fresh:
        return 0
    days: set[date] = set()
    touched: set[uuid.UUID] = set()
    for _id, cid, at, type_ in fresh:
        days.add(compute.local_day(_aware(at), ctx.timezone))
        if cid is not None and not type_.startswith("call."):
            touched.add(cid)
    if any(type_ == compute.PRESENCE for *_x, type_ in fresh):
        days |= await _presence_days(session, workspace_id, query, ctx.timezone)
    touched_list = list(touched)
    for chunk in _chunks(touched_list):
        for (at,) in (
            await session.execute(
                sa.select(ev.created_at).where(
                    ev.workspace_id == workspace_id, ev.conversation_id.in_(chunk)
                )
            )
        ).all():
            days.add(compute.local_day(_aware(at), ctx.timezone))
    await recompute_days(session, workspace_id, days, ctx)
    cursor.last_event_id = max(r[0] for r in fresh)
    from kefu.model import utcnow

    cursor.refreshed_at = utcnow()
    return len(days)


async def _presence_days(
    session: AsyncSession, workspace_id: uuid.UUID, fresh: Any, tz: str
) -> set[date]:
    """Every day the fresh presence events' spans cover (a span reaches back)."""
    ev = ConversationEventRow
    query = fresh.with_only_columns(*_COLS).where(ev.type == compute.PRESENCE)
    days: set[date] = set()
    for r in (await session.execute(query)).all():
        found = compute.presence_span(_row(r))
        if found is None:
            continue
        day, last = compute.local_day(found[1], tz), compute.local_day(found[2], tz)
        while day <= last:
            days.add(day)
            day += timedelta(days=1)
    return days


def _uuid7_time(value: uuid.UUID) -> datetime:
    return datetime.fromtimestamp((value.int >> 80) / 1000, tz=UTC)


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


async def rebuild(
    session: AsyncSession, workspace_id: uuid.UUID, since: date, until: date | None = None
) -> int:
    """Recompute every day from `since` to `until` (default: today), a month at a time."""
    cursor = await _lock_cursor(session, workspace_id)
    ctx = await context_of(session, workspace_id)
    from kefu.model import utcnow

    now = utcnow()
    last = until or compute.local_day(now, ctx.timezone)
    # ORDER BY, not max(): PostgreSQL has no max(uuid).
    newest = await session.scalar(
        sa.select(ConversationEventRow.id)
        .where(ConversationEventRow.workspace_id == workspace_id)
        .order_by(ConversationEventRow.id.desc())
        .limit(1)
    )
    written = 0
    day = since
    while day <= last:
        block = {day + timedelta(days=i) for i in range(31) if day + timedelta(days=i) <= last}
        written += await recompute_days(session, workspace_id, block, ctx)
        day = max(block) + timedelta(days=1)
    if newest is not None and (cursor.last_event_id is None or until is None):
        cursor.last_event_id = newest
    cursor.refreshed_at = now
    return written


async def load_days(
    session: AsyncSession, workspace_id: uuid.UUID, start: date, end: date, dim: str
) -> list[tuple[date, str, dict[str, Any]]]:
    # The state is read as its JSON text and decoded by msgspec, several times faster
    # than the driver's json.loads on a year of duration lists (the same values).
    rows = (
        await session.execute(
            sa.select(ReportDay.day, ReportDay.key, sa.cast(ReportDay.state, sa.Text)).where(
                ReportDay.workspace_id == workspace_id,
                ReportDay.dim == dim,
                ReportDay.day >= start,
                ReportDay.day <= end,
            )
        )
    ).all()
    return [(d, k, _state_decoder.decode(s)) for d, k, s in rows]


async def backlog_before(session: AsyncSession, workspace_id: uuid.UUID, start: date) -> int:
    """Open tickets at the start of `start`: the sum of every earlier day's delta."""
    total = 0
    for (state,) in (
        await session.execute(
            sa.select(ReportDay.state).where(
                ReportDay.workspace_id == workspace_id,
                ReportDay.dim == "all",
                ReportDay.day < start,
            )
        )
    ).all():
        total += int(state.get("tickets_backlog_delta", 0))
    return total
