"""An agent's presence as routing sees it: going online frees capacity, so the queue is
served at once, and every console hears the change.

Presence is not a conversation event, but it is routing's input (who can take work),
which is why the one publisher of it lives here, beside the queue it drives: realtime
events come only from `kefu.conversations` and `kefu.routing` (tests/unit/
test_architecture.py)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from kefu.context import Kefu
from kefu.conversations.events import LoggedEvent, record
from kefu.db.tables import User
from kefu.model import Presence, PresenceEvent, SenderKind
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
