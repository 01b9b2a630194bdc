"""`/ws/agent`: one socket per console tab, fed from the workspace channel and filtered
to what the agent may see. Clients that reconnect read what they missed over HTTP
(`/api/v1/conversations/{id}/messages?after_seq=`): the socket is only the doorbell."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import Any

import msgspec
import sqlalchemy as sa
from litestar import WebSocket, websocket
from litestar.exceptions import WebSocketDisconnect

from kefu.context import Kefu
from kefu.conversations import feedback
from kefu.conversations.queries import visible_to
from kefu.db.tables import Conversation, GroupMember
from kefu.model import Role
from kefu.people.auth import AuthUser, authenticate
from kefu.realtime.bus import workspace_channel
from kefu.routing import presence


class ClientFrame(msgspec.Struct, frozen=True, kw_only=True):
    type: str
    conversation_id: uuid.UUID | None = None
    typing: bool = False


class _Scope:
    """Which conversations an agent's socket may hear about. Admins and supervisors hear
    all; agents hear what `queries.visible_to` lets them see (their own, their groups',
    where they were mentioned), decided from the conversation events and, for a
    conversation not seen yet, from the database."""

    def __init__(self, kefu: Kefu, user: AuthUser) -> None:
        self.kefu = kefu
        self.user = user
        self.everything = user.role in (Role.admin, Role.supervisor)
        self.known: dict[uuid.UUID, bool] = {}
        self.groups: set[uuid.UUID] | None = None
        self.mentioned: set[uuid.UUID] = set()

    async def allows(self, event: dict[str, Any]) -> bool:
        if self.everything or event.get("type") == "presence":
            return True
        if event.get("type") == "ticket":
            # A ticket's news reaches the colleagues it names (watchers, assignee).
            return str(self.user.id) in event.get("notify", ())
        if event.get("type") == "call":
            # calls (issue 18): an agent hears the calls that ring them or they are on.
            return str(self.user.id) in event.get("agent_ids", ())
        conversation_id = uuid.UUID(event["conversation_id"])
        if event.get("type") == "conversation":
            assignee = event.get("assignee_id")
            group = event.get("group_id")
            if self.groups is None:
                self.groups = await self._my_groups()
            me = str(self.user.id)
            if me in event.get("mentioned", ()):
                self.mentioned.add(conversation_id)
            visible = (
                assignee == me
                or (group is not None and uuid.UUID(group) in self.groups)
                or (assignee is None and group is None)
                or conversation_id in self.mentioned
            )
            was_visible = self.known.get(conversation_id, False)
            self.known[conversation_id] = visible
            # An agent also hears that a conversation left them (transferred away).
            return visible or was_visible
        if conversation_id not in self.known:
            self.known[conversation_id] = await self._visible(conversation_id)
        return self.known[conversation_id]

    async def _my_groups(self) -> set[uuid.UUID]:
        async with self.kefu.db.session() as session:
            rows = await session.scalars(
                sa.select(GroupMember.group_id).where(GroupMember.user_id == self.user.id)
            )
            return set(rows.all())

    async def _visible(self, conversation_id: uuid.UUID) -> bool:
        async with self.kefu.db.session() as session:
            found = await session.scalar(
                sa.select(Conversation.id).where(
                    Conversation.id == conversation_id, visible_to(self.user)
                )
            )
            return found is not None


@websocket("/ws/agent")
async def agent_socket(socket: WebSocket[Any, Any, Any]) -> None:
    try:
        user = await authenticate(socket)
    except Exception:
        # Close with a policy-violation code the console reads as "sign in again".
        await socket.close(code=4401, reason="sign in first")
        return
    kefu: Kefu = socket.app.state.kefu
    await socket.accept()
    presence.socket_opened(kefu, user.id)
    try:
        await _serve(kefu, socket, user)
    finally:
        presence.socket_closed(kefu, user.workspace_id, user.id)


async def _serve(kefu: Kefu, socket: WebSocket[Any, Any, Any], user: AuthUser) -> None:
    scope = _Scope(kefu, user)
    plugin = kefu.events.plugin
    async with plugin.start_subscription([workspace_channel(user.workspace_id)]) as subscriber:
        await socket.send_json({"type": "hello", "user_id": str(user.id), "role": user.role})

        async def pump() -> None:
            async for raw in subscriber.iter_events():
                event = msgspec.json.decode(raw)
                if await scope.allows(event):
                    await socket.send_text(raw.decode() if isinstance(raw, bytes) else raw)

        pumping = asyncio.create_task(pump())
        try:
            while True:
                frame = msgspec.json.decode(await socket.receive_text(), type=ClientFrame)
                if frame.type == "ping":
                    await socket.send_json({"type": "pong"})
                elif frame.type == "typing" and frame.conversation_id is not None:
                    feedback.agent_typing(
                        kefu, user.workspace_id, frame.conversation_id, user.name, frame.typing
                    )
        except (WebSocketDisconnect, msgspec.DecodeError, msgspec.ValidationError):
            pass
        finally:
            pumping.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await pumping
