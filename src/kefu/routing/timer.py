"""The queue's clock: waiting has deadlines (a group's max wait before overflow) that
pass without any request to notice them, and capacity freed in another process must
still reach this one's queue. One pass every few seconds serves every workspace with
someone waiting; `assign_waiting` itself is safe to run in many processes at once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime

import sqlalchemy as sa

from kefu.context import Kefu
from kefu.db.tables import Conversation
from kefu.model import ConversationEvent, ConversationStatus, utcnow
from kefu.routing.queue import assign_waiting

log = logging.getLogger("kefu.routing")


async def sweep(kefu: Kefu, now: datetime) -> list[ConversationEvent]:
    async with kefu.db.session() as session:
        workspaces = list(
            await session.scalars(
                sa.select(Conversation.workspace_id)
                .where(Conversation.status == ConversationStatus.queued)
                .distinct()
            )
        )
    events: list[ConversationEvent] = []
    for workspace_id in workspaces:
        events.extend(await assign_waiting(kefu, workspace_id, now))
    return events


async def run_queue_timer(kefu: Kefu, stop: asyncio.Event, every_seconds: float = 5.0) -> None:
    """Loop until `stop`: sweep, publish what changed, wait."""
    while not stop.is_set():
        try:
            for event in await sweep(kefu, utcnow()):
                kefu.events.publish(event)
        except Exception:
            log.exception("queue sweep failed; retrying at the next tick")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every_seconds)
