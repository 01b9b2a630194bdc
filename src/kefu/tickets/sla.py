"""SLA on the row: which policy applies, and the cache of the clocks (`clock.clocks`
replayed from the row's clock log) that the views and the sweep read. Outcomes are
written as `ticket.sla` events exactly once each (keyed by target and start)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.conversations.events import LoggedEvent, record
from kefu.db.tables import Contact
from kefu.routing.hours import Calendar
from kefu.routing.tables import BusinessCalendar
from kefu.tickets import clock
from kefu.tickets.tables import SlaPolicy, Ticket


def matches(conditions: dict[str, Any], ticket: Ticket, vip_level: int) -> bool:
    """Every condition the policy names holds (a condition left out matches all)."""
    department = str(ticket.department_id) if ticket.department_id else None
    checks: list[tuple[str, Any]] = [
        ("priority", ticket.priority),
        ("department_id", department),
        ("channel", ticket.channel),
        ("category", ticket.category),
    ]
    for key, value in checks:
        wanted = conditions.get(key)
        if wanted and value not in wanted:
            return False
    minimum = conditions.get("vip_level_min")
    return not (minimum is not None and vip_level < int(minimum))


async def policy_for(session: AsyncSession, ticket: Ticket) -> SlaPolicy | None:
    policies = await session.scalars(
        sa.select(SlaPolicy)
        .where(SlaPolicy.workspace_id == ticket.workspace_id, SlaPolicy.enabled.is_(True))
        .order_by(SlaPolicy.position, SlaPolicy.created_at)
    )
    vip = 0
    if ticket.contact_id is not None:
        vip = int(
            await session.scalar(
                sa.select(Contact.vip_level).where(Contact.id == ticket.contact_id)
            )
            or 0
        )
    return next((p for p in policies if matches(p.conditions or {}, ticket, vip)), None)


async def calendar_of(session: AsyncSession, calendar_id: uuid.UUID | None) -> Calendar | None:
    if calendar_id is None:
        return None
    row = await session.get(BusinessCalendar, calendar_id)
    if row is None:
        return None
    return msgspec.convert(
        {"timezone": row.timezone, "weekly": row.weekly, "special_days": row.special_days},
        Calendar,
    )


def events_of(ticket: Ticket) -> list[clock.ClockEvent]:
    return [
        msgspec.convert(entry, clock.ClockEvent, strict=False) for entry in ticket.clock_log or []
    ]


def _key(c: clock.Clock) -> str:
    return f"{c.target}:{c.started_at.isoformat()}"


async def refresh(
    session: AsyncSession, ticket: Ticket, now: datetime, *, rematch: bool = True
) -> list[clock.Clock]:
    """Recompute the clocks, cache them on the row, and write each new outcome (met,
    breached) as one `ticket.sla` event. Answers the clocks that breached just now."""
    breached, _ = await refresh_full(session, ticket, now, rematch=rematch)
    return breached


async def refresh_full(
    session: AsyncSession, ticket: Ticket, now: datetime, *, rematch: bool = True
) -> tuple[list[clock.Clock], list[clock.Clock]]:
    """`refresh`, also answering the clocks whose warning time came just now (each
    written once as a `ticket.sla` event with outcome "warning")."""
    policy: SlaPolicy | None
    if rematch or ticket.sla_policy_id is None:
        policy = await policy_for(session, ticket)
    else:
        policy = await session.get(SlaPolicy, ticket.sla_policy_id)
    ticket.sla_policy_id = policy.id if policy is not None else None
    state: dict[str, Any] = dict(ticket.sla_state or {})
    recorded: list[str] = list(state.get("recorded", []))
    if policy is None:
        ticket.sla_next_due_at = ticket.sla_check_at = None
        ticket.sla_state = {"recorded": recorded}
        return [], []
    targets = clock.Targets(
        first_response_s=policy.first_response_s,
        next_response_s=policy.next_response_s,
        resolution_s=policy.resolution_s,
    )
    calendar = await calendar_of(session, policy.calendar_id)
    clocks = clock.clocks(events_of(ticket), targets, calendar, now)
    breached_now: list[clock.Clock] = []
    for c in clocks:
        if c.state not in (clock.State.met, clock.State.breached) or _key(c) in recorded:
            continue
        recorded.append(_key(c))
        if c.state == clock.State.breached and c.ended_at is None:
            breached_now.append(c)
        record(
            session,
            LoggedEvent(
                workspace_id=ticket.workspace_id,
                type="ticket.sla",
                data={
                    "ticket_id": str(ticket.id),
                    "number": ticket.number,
                    "target": c.target.value,
                    "outcome": "met" if c.state == clock.State.met else "breached",
                    "due_at": c.due_at.isoformat() if c.due_at else None,
                    "at": (c.ended_at or now).isoformat(),
                },
            ),
        )
    unfinished = [
        c.due_at
        for c in clocks
        if c.ended_at is None and c.due_at is not None and c.state != clock.State.paused
    ]
    ticket.sla_next_due_at = min(unfinished) if unfinished else None
    warned: list[str] = list(state.get("warned", []))
    warn_now, warn_next = clock.warnings(clocks, policy.warn_before_s, warned, now)
    for c in warn_now:
        warned.append(_key(c))
        record(
            session,
            LoggedEvent(
                workspace_id=ticket.workspace_id,
                type="ticket.sla",
                data={
                    "ticket_id": str(ticket.id),
                    "number": ticket.number,
                    "target": c.target.value,
                    "outcome": "warning",
                    "due_at": c.due_at.isoformat() if c.due_at else None,
                    "at": now.isoformat(),
                },
            ),
        )
    checks = [t for t in (clock.next_due(clocks), warn_next) if t is not None]
    ticket.sla_check_at = min(checks) if checks else None
    ticket.sla_state = {
        "recorded": recorded[-50:],
        "warned": warned[-50:],
        "clocks": [msgspec.to_builtins(c) for c in clocks],
    }
    return breached_now, warn_now


def cached_clocks(ticket: Ticket, now: datetime) -> list[clock.Clock]:
    """The clocks as of the last refresh, with a running one past due shown breached and
    its time left counted to `now` (wall time: the view's "time left in words")."""
    return clocks_of_state(ticket.sla_state, now)


def clocks_of_state(sla_state: dict[str, Any] | None, now: datetime) -> list[clock.Clock]:
    """`cached_clocks` from the `sla_state` column alone (the list reads columns, not rows)."""
    out: list[clock.Clock] = []
    for raw in (sla_state or {}).get("clocks", []):
        c = msgspec.convert(raw, clock.Clock)
        if (
            c.state in (clock.State.running, clock.State.breached)
            and c.ended_at is None
            and c.due_at
        ):
            left = round((c.due_at - now).total_seconds())
            state = clock.State.breached if left <= 0 else clock.State.running
            c = msgspec.structs.replace(c, state=state, remaining_s=left)
        out.append(c)
    return out
