"""The SLA sweep: a background loop (like the queue timer) that refreshes tickets whose
next target has fallen due, writing `ticket.sla` breached events and raising the
ticket's priority one step when its policy says so."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime

import sqlalchemy as sa

from kefu.context import Kefu
from kefu.model import utcnow
from kefu.tickets import sla
from kefu.tickets.schemas import PRIORITY_ORDER, Priority
from kefu.tickets.service import _bump, log_change
from kefu.tickets.tables import SlaPolicy, Ticket

log = logging.getLogger(__name__)
BATCH = 200


async def sweep_once(kefu: Kefu, now: datetime | None = None, batch: int = BATCH) -> int:
    """One batch of due tickets, locked with SKIP LOCKED so two sweepers share the work.
    Answers how many breaches it wrote."""
    now = now or utcnow()
    breaches = 0
    async with kefu.db.transaction() as session:
        query = (
            sa.select(Ticket)
            .where(Ticket.sla_check_at.is_not(None), Ticket.sla_check_at <= now)
            .order_by(Ticket.sla_check_at)
            .limit(batch)
        )
        if not kefu.db.is_sqlite:
            query = query.with_for_update(skip_locked=True)
        for ticket in await session.scalars(query):
            breached = await sla.refresh(session, ticket, now, rematch=False)
            if not breached:
                continue
            breaches += len(breached)
            policy = (
                await session.get(SlaPolicy, ticket.sla_policy_id) if ticket.sla_policy_id else None
            )
            step = PRIORITY_ORDER.index(Priority(ticket.priority))
            if policy is not None and policy.raise_priority and step < len(PRIORITY_ORDER) - 1:
                ticket.priority = PRIORITY_ORDER[step + 1].value
                log_change(
                    session,
                    ticket,
                    "ticket.updated",
                    {"fields": ["priority"], "reason": "sla_breach"},
                    actor_kind="system",
                    actor_id=None,
                    conversation_id=None,
                    at=now,
                )
                await _bump(
                    session, ticket, version=ticket.version, fields=["priority"], actor=None, at=now
                )
    return breaches


async def run_sla_sweep(kefu: Kefu, stop: asyncio.Event, every: float) -> None:
    while not stop.is_set():
        try:
            await sweep_once(kefu)
        except Exception:  # a bad batch must not end the loop
            log.exception("SLA sweep failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every)
