"""The SLA sweep: a background loop (like the queue timer) that refreshes tickets whose
next target (or warning time) has fallen due, writing `ticket.sla` events and running
the policy's actions: at a warning and at a breach, notify the assignee, notify the
supervisors, raise the priority one step, reassign to a department or agent. It also
reopens pending tickets whose reminder time has come. News is published after commit."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from datetime import datetime
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.context import Kefu
from kefu.db.tables import User
from kefu.model import Role, utcnow
from kefu.tickets import live, sla
from kefu.tickets.schemas import PRIORITY_ORDER, ActionKind, Priority, SlaAction, SlaActions
from kefu.tickets.service import WAITING_KINDS, _bump, assignment_of, log_change
from kefu.tickets.tables import SlaPolicy, Ticket, TicketWatcher

log = logging.getLogger(__name__)
BATCH = 200


class News(msgspec.Struct, frozen=True):
    workspace_id: uuid.UUID
    ticket_id: uuid.UUID
    number: str
    change: str
    notify: list[uuid.UUID]


def _system(now: datetime) -> dict[str, Any]:
    return {"actor_kind": "system", "actor_id": None, "conversation_id": None, "at": now}


async def _supervisors(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    known: dict[uuid.UUID, list[uuid.UUID]] | None = None,
) -> list[uuid.UUID]:
    """The workspace's admins and supervisors, read once per sweep batch (`known`)."""
    if known is not None and workspace_id in known:
        return known[workspace_id]
    rows = await session.scalars(
        sa.select(User.id).where(
            User.workspace_id == workspace_id,
            User.role.in_([Role.admin.value, Role.supervisor.value]),
        )
    )
    found = list(rows)
    if known is not None:
        known[workspace_id] = found
    return found


def _raise_priority(ticket: Ticket, fields: list[str]) -> None:
    step = PRIORITY_ORDER.index(Priority(ticket.priority))
    if step < len(PRIORITY_ORDER) - 1 and "priority" not in fields:
        ticket.priority = PRIORITY_ORDER[step + 1].value
        fields.append("priority")


async def _reassign(
    session: AsyncSession, ticket: Ticket, action: SlaAction, fields: list[str]
) -> None:
    """To the action's department and/or agent, if they are still the workspace's."""
    from kefu.db.tables import SkillGroup

    if action.group_id is not None and ticket.department_id != action.group_id:
        found = await session.scalar(
            sa.select(SkillGroup.id).where(
                SkillGroup.id == action.group_id, SkillGroup.workspace_id == ticket.workspace_id
            )
        )
        if found is not None:
            ticket.department_id = action.group_id
            fields.append("department_id")
    if action.agent_id is not None and ticket.assignee_id != action.agent_id:
        found = await session.scalar(
            sa.select(User.id).where(
                User.id == action.agent_id, User.workspace_id == ticket.workspace_id
            )
        )
        if found is not None:
            ticket.assignee_id = action.agent_id
            fields.append("assignee_id")


async def escalate(
    session: AsyncSession,
    ticket: Ticket,
    policy: SlaPolicy | None,
    moment: str,
    now: datetime,
    supervisors: dict[uuid.UUID, list[uuid.UUID]] | None = None,
    watchers: list[uuid.UUID] | None = None,
    locked: bool = False,
) -> News:
    """Run the policy's actions for `moment` ("warning" or "breach") on a locked ticket;
    answers who hears of it (watchers always; assignee and supervisors as configured)."""
    actions = msgspec.convert((policy.actions if policy else None) or {}, SlaActions)
    todo = list(actions.warning if moment == "warning" else actions.breach)
    if moment == "breach" and policy is not None and policy.raise_priority:
        todo.append(SlaAction(kind=ActionKind.raise_priority))
    notify = list(watchers) if watchers is not None else await live.watcher_ids(session, ticket.id)
    fields: list[str] = []
    for action in todo:
        if action.kind == ActionKind.notify_assignee and ticket.assignee_id is not None:
            notify.append(ticket.assignee_id)
        elif action.kind == ActionKind.notify_supervisors:
            notify.extend(await _supervisors(session, ticket.workspace_id, supervisors))
        elif action.kind == ActionKind.raise_priority:
            _raise_priority(ticket, fields)
        elif action.kind == ActionKind.reassign:
            await _reassign(session, ticket, action, fields)
    if fields:
        reason = f"sla_{moment}"
        if "assignee_id" in fields or "department_id" in fields:
            log_change(
                session,
                ticket,
                "ticket.assigned",
                {**assignment_of(ticket), "reason": reason},
                **_system(now),
            )
            if ticket.assignee_id is not None:
                notify.append(ticket.assignee_id)
        if "priority" in fields:
            log_change(
                session,
                ticket,
                "ticket.updated",
                {"fields": ["priority"], "reason": reason},
                **_system(now),
            )
        await _bump(
            session,
            ticket,
            version=ticket.version,
            fields=fields,
            actor=None,
            at=now,
            check=not locked,
        )
    return News(
        ticket.workspace_id,
        ticket.id,
        ticket.number,
        f"sla_{moment}",
        sorted(set(notify), key=str),
    )


async def sweep_once(kefu: Kefu, now: datetime | None = None, batch: int = BATCH) -> int:
    """One batch of due tickets, locked with SKIP LOCKED so two sweepers share the work.
    Answers how many breaches it wrote."""
    now = now or utcnow()
    breaches = 0
    news: list[News] = []
    supervisors: dict[uuid.UUID, list[uuid.UUID]] = {}
    async with kefu.db.transaction() as session:
        query = (
            sa.select(Ticket)
            .where(Ticket.sla_check_at.is_not(None), Ticket.sla_check_at <= now)
            .order_by(Ticket.sla_check_at)
            .limit(batch)
        )
        if not kefu.db.is_sqlite:
            query = query.with_for_update(skip_locked=True)
        tickets = list(await session.scalars(query))
        # Every due ticket's watchers in one read, not one per escalation.
        watchers: dict[uuid.UUID, list[uuid.UUID]] = {t.id: [] for t in tickets}
        if tickets:
            for ticket_id, user_id in await session.execute(
                sa.select(TicketWatcher.ticket_id, TicketWatcher.user_id)
                .where(TicketWatcher.ticket_id.in_(list(watchers)))
                .order_by(TicketWatcher.created_at, TicketWatcher.user_id)
            ):
                watchers[ticket_id].append(user_id)
        # Rows locked FOR UPDATE (PostgreSQL) need no compare-and-set round trip each.
        locked = not kefu.db.is_sqlite
        for ticket in tickets:
            breached, warned = await sla.refresh_full(session, ticket, now, rematch=False)
            if not breached and not warned:
                continue
            breaches += len(breached)
            policy = (
                await session.get(SlaPolicy, ticket.sla_policy_id) if ticket.sla_policy_id else None
            )
            for moment, happened in (("warning", warned), ("breach", breached)):
                if happened:
                    news.append(
                        await escalate(
                            session,
                            ticket,
                            policy,
                            moment,
                            now,
                            supervisors,
                            watchers[ticket.id],
                            locked,
                        )
                    )
    _publish(kefu, news)
    return breaches


async def remind_once(kefu: Kefu, now: datetime | None = None, batch: int = BATCH) -> int:
    """Pending tickets whose reminder time has come reopen (status open, the clocks run
    again) and their assignee and watchers hear of it. Answers how many reopened."""
    now = now or utcnow()
    reopened = 0
    news: list[News] = []
    async with kefu.db.transaction() as session:
        query = (
            sa.select(Ticket)
            .where(Ticket.remind_at.is_not(None), Ticket.remind_at <= now)
            .order_by(Ticket.remind_at)
            .limit(batch)
        )
        if not kefu.db.is_sqlite:
            query = query.with_for_update(skip_locked=True)
        for ticket in await session.scalars(query):
            ticket.remind_at = None
            fields = ["remind_at"]
            if ticket.status_kind in WAITING_KINDS:
                before = ticket.status_kind
                ticket.status = ticket.status_kind = "open"
                fields.append("status")
                log_change(
                    session,
                    ticket,
                    "ticket.status",
                    {
                        "from": before,
                        "to": "open",
                        "from_kind": before,
                        "to_kind": "open",
                        "reason": "reminder",
                    },
                    clock_kind="status",
                    clock={"to_kind": "open"},
                    **_system(now),
                )
                reopened += 1
                news.append(
                    News(
                        ticket.workspace_id,
                        ticket.id,
                        ticket.number,
                        "reminder",
                        await live.recipients(session, ticket),
                    )
                )
            await _bump(session, ticket, version=ticket.version, fields=fields, actor=None, at=now)
            await sla.refresh(session, ticket, now)
    _publish(kefu, news)
    return reopened


def _publish(kefu: Kefu, news: list[News]) -> None:
    for n in news:
        live.publish(kefu, n.workspace_id, n.ticket_id, n.number, n.change, n.notify)


async def run_sla_sweep(kefu: Kefu, stop: asyncio.Event, every: float) -> None:
    while not stop.is_set():
        try:
            await sweep_once(kefu)
            await remind_once(kefu)
        except Exception:  # a bad batch must not end the loop
            log.exception("SLA sweep failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every)
