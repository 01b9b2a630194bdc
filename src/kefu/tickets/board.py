"""The supervisor board's ticket panel: open tickets breached or about to breach,
soonest first (one range scan of ix_tickets_sla_due)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.tickets.clock import DONE_KINDS
from kefu.tickets.schemas import Priority, TicketBreach
from kefu.tickets.tables import Ticket

# "About to breach": due within this long.
SOON = timedelta(hours=1)
ROWS = 20


async def breaches(
    session: AsyncSession, workspace_id: uuid.UUID, now: datetime, limit: int = ROWS
) -> list[TicketBreach]:
    # The seven columns the panel shows, not ORM rows with the JSON it never reads.
    rows = await session.execute(
        sa.select(
            Ticket.id,
            Ticket.number,
            Ticket.title,
            Ticket.priority,
            Ticket.assignee_id,
            Ticket.department_id,
            Ticket.sla_next_due_at,
        )
        .where(
            Ticket.workspace_id == workspace_id,
            Ticket.sla_next_due_at.is_not(None),
            Ticket.sla_next_due_at < now + SOON,
            Ticket.status_kind.not_in(DONE_KINDS),
        )
        .order_by(Ticket.sla_next_due_at, Ticket.id)
        .limit(limit)
    )
    out = []
    for t in rows:
        assert t.sla_next_due_at is not None
        out.append(
            TicketBreach(
                id=t.id,
                number=t.number,
                title=t.title,
                priority=Priority(t.priority),
                assignee_id=t.assignee_id,
                department_id=t.department_id,
                due_at=t.sla_next_due_at,
                remaining_s=round((t.sla_next_due_at - now).total_seconds()),
            )
        )
    return out
