"""A ticket's news over the realtime fan-out: its watchers and assignee hear every
change, public or internal (the agent socket lets through only the ids an event names).
Published after commit, like every other doorbell."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.context import Kefu
from kefu.model import TicketEvent
from kefu.tickets.schemas import TicketOut
from kefu.tickets.tables import Ticket, TicketWatcher


async def watcher_ids(session: AsyncSession, ticket_id: uuid.UUID) -> list[uuid.UUID]:
    rows = await session.scalars(
        sa.select(TicketWatcher.user_id)
        .where(TicketWatcher.ticket_id == ticket_id)
        .order_by(TicketWatcher.created_at, TicketWatcher.user_id)
    )
    return list(rows)


async def recipients(session: AsyncSession, ticket: Ticket) -> list[uuid.UUID]:
    """Who hears of a change of the ticket: its watchers and its assignee."""
    ids = await watcher_ids(session, ticket.id)
    if ticket.assignee_id is not None:
        ids.append(ticket.assignee_id)
    return ids


def publish(
    kefu: Kefu,
    workspace_id: uuid.UUID,
    ticket_id: uuid.UUID,
    number: str,
    change: str,
    who: Iterable[uuid.UUID],
    *,
    public: bool = False,
    by: uuid.UUID | None = None,
) -> None:
    """Call after commit. The actor does not hear of their own change."""
    notify = sorted({u for u in who if u != by}, key=str)
    kefu.events.publish(
        TicketEvent(
            workspace_id=workspace_id,
            ticket_id=ticket_id,
            number=number,
            change=change,
            public=public,
            notify=notify,
            actor_id=by,
        )
    )


def changed(
    kefu: Kefu,
    workspace_id: uuid.UUID,
    out: TicketOut,
    change: str,
    *,
    public: bool = False,
    by: uuid.UUID | None = None,
) -> None:
    who = [*out.watcher_ids, *([out.assignee_id] if out.assignee_id else [])]
    publish(kefu, workspace_id, out.id, out.number, change, who, public=public, by=by)
