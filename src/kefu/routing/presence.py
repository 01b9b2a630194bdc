"""An agent's presence as routing sees it: going online frees capacity, so the queue is
served at once, and every console hears the change.

Presence is not a conversation event, but it is routing's input (who can take work),
which is why the one publisher of it lives here, beside the queue it drives: realtime
events come only from `kefu.conversations` and `kefu.routing` (tests/unit/
test_architecture.py)."""

from __future__ import annotations

import uuid

from kefu.context import Kefu
from kefu.model import Presence, PresenceEvent
from kefu.routing.queue import serve_queue


def presence_changed(
    kefu: Kefu, workspace_id: uuid.UUID, user_id: uuid.UUID, presence: Presence
) -> None:
    """Call after the presence change is committed."""
    kefu.events.publish(
        PresenceEvent(workspace_id=workspace_id, user_id=user_id, presence=presence)
    )
    if presence == Presence.online:
        kefu.spawn(serve_queue(kefu, workspace_id))
