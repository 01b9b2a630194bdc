"""An agent's presence as routing sees it: going online frees capacity, so the queue is
served at once, and every console hears the change.

Presence is not a conversation event, but it is routing's input (who can take work),
which is why the one publisher of it lives here, beside the queue it drives: realtime
events come only from `kefu.conversations` and `kefu.routing` (tests/unit/
test_architecture.py)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.context import Kefu
from kefu.conversations.events import LoggedEvent, record
from kefu.db.tables import User
from kefu.model import Presence, PresenceEvent, SenderKind, utcnow
from kefu.routing.queue import serve_queue


def log_presence(session: AsyncSession, user: User, presence: Presence, now: datetime) -> None:
    """Change `user`'s presence in the caller's transaction and log the span that ends:
    `agent.presence` {from, to, since} holds the whole previous span, so reports read an
    agent's online / ready / not-ready time from one event, with no earlier row to find."""
    before, since = user.presence, user.presence_changed_at
    user.presence = presence
    user.presence_changed_at = now
    if before == presence:
        return
    record(
        session,
        LoggedEvent(
            workspace_id=user.workspace_id,
            type="agent.presence",
            actor_kind=SenderKind.agent,
            actor_id=user.id,
            data={"from": str(before), "to": str(presence), "since": since.isoformat()},
        ),
    )


def presence_changed(
    kefu: Kefu, workspace_id: uuid.UUID, user_id: uuid.UUID, presence: Presence
) -> None:
    """Call after the presence change is committed."""
    kefu.events.publish(
        PresenceEvent(workspace_id=workspace_id, user_id=user_id, presence=presence)
    )
    if presence == Presence.online:
        kefu.spawn(serve_queue(kefu, workspace_id))


async def go_offline(kefu: Kefu, workspace_id: uuid.UUID, user_id: uuid.UUID) -> None:
    """Take an agent offline when they leave (signed out, last console closed), so the
    queue stops offering them work and reports stop counting their online time there.
    Nothing is logged for an agent who was offline already."""
    async with kefu.db.transaction() as session:
        user = await session.scalar(
            sa.select(User)
            .where(User.workspace_id == workspace_id, User.id == user_id)
            .with_for_update()
        )
        if user is None or user.presence == Presence.offline:
            return
        log_presence(session, user, Presence.offline, utcnow())
    presence_changed(kefu, workspace_id, user_id, Presence.offline)


def socket_opened(kefu: Kefu, user_id: uuid.UUID) -> None:
    """An agent's console socket opened in this process: a pending grace timer (the
    page was reloaded) is called off."""
    kefu.agent_sockets[user_id] = kefu.agent_sockets.get(user_id, 0) + 1
    timer = kefu.presence_timers.pop(user_id, None)
    if timer is not None:
        timer.cancel()


def socket_closed(kefu: Kefu, workspace_id: uuid.UUID, user_id: uuid.UUID) -> None:
    """An agent's console socket closed: when it was their last one in this process,
    they go offline after `presence_grace_seconds` unless a socket opens again."""
    left = kefu.agent_sockets.get(user_id, 1) - 1
    if left > 0:
        kefu.agent_sockets[user_id] = left
        return
    kefu.agent_sockets.pop(user_id, None)

    async def after_grace() -> None:
        await asyncio.sleep(kefu.settings.presence_grace_seconds)
        if kefu.presence_timers.get(user_id) is not asyncio.current_task():
            return
        del kefu.presence_timers[user_id]
        # Past the grace the change is ordinary spawned work (drained at shutdown).
        kefu.spawn(go_offline(kefu, workspace_id, user_id))

    previous = kefu.presence_timers.pop(user_id, None)
    if previous is not None:
        previous.cancel()
    kefu.presence_timers[user_id] = asyncio.get_running_loop().create_task(after_grace())
