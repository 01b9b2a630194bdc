"""The event log and the event views: the ONE place an `events` row is written, and
rows turned into the msgspec values that leave the core (API responses, realtime
events). Both `conversations` and `routing` import this at the top, so it imports
neither of them."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, cast

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.db.tables import Conversation, ConversationEventRow, Message, NewMessage
from kefu.model import (
    Attachment,
    ConversationEvent,
    ConversationStatus,
    DeliveryStatus,
    Direction,
    MessageEvent,
    MessageType,
    MessageView,
    SenderKind,
    new_id,
    utcnow,
)


def message_view(message: Message | NewMessage, sender_name: str | None) -> MessageView:
    return MessageView(
        id=message.id,
        conversation_id=message.conversation_id,
        seq=message.seq,
        direction=Direction(message.direction),
        sender_kind=SenderKind(message.sender_kind),
        sender_id=message.sender_id,
        sender_name=sender_name,
        type=MessageType(message.type),
        body=message.body,
        attachments=msgspec.convert(message.attachments or [], list[Attachment]),
        delivery_status=DeliveryStatus(message.delivery_status),
        failure_reason=message.failure_reason,
        client_message_id=message.client_message_id,
        created_at=message.created_at,
    )


def message_event(message: Message | NewMessage, sender_name: str | None) -> MessageEvent:
    return MessageEvent(
        workspace_id=message.workspace_id,
        conversation_id=message.conversation_id,
        seq=message.seq,
        message=message_view(message, sender_name),
    )


def conversation_event(
    conversation: Conversation,
    change: str,
    queue_position: int | None = None,
    *,
    mentioned: Sequence[uuid.UUID] = (),
) -> ConversationEvent:
    return ConversationEvent(
        mentioned=list(mentioned),
        workspace_id=conversation.workspace_id,
        conversation_id=conversation.id,
        change=change,
        status=ConversationStatus(conversation.status),
        assignee_id=conversation.assignee_id,
        group_id=conversation.group_id,
        queue_position=queue_position,
    )


# ---------------------------------------------------------------------------
# the event log: append-only history that reports and audit read


class LoggedEvent(msgspec.Struct, frozen=True, kw_only=True):
    """One `events` row to write: what happened, to which conversation (None for an
    event about a contact), and who did it."""

    workspace_id: uuid.UUID
    type: str
    conversation_id: uuid.UUID | None = None
    actor_kind: str = "system"
    actor_id: uuid.UUID | None = None
    data: Mapping[str, Any] = msgspec.field(default_factory=dict)


def _columns(event: LoggedEvent, now: datetime) -> dict[str, Any]:
    return {
        "id": new_id(),
        "workspace_id": event.workspace_id,
        "conversation_id": event.conversation_id,
        "type": event.type,
        "actor_kind": event.actor_kind,
        "actor_id": event.actor_id,
        "data": dict(event.data),
        "created_at": now,
    }


def awaiting_reply(conversation: Conversation) -> bool:
    """Whether the customer's last message is still unanswered by a person: the
    conversation's `waiting_since`, read from the two times it already keeps (only an
    inbound message and a staff reply move `last_message_at`)."""
    inbound = conversation.last_inbound_at
    last = conversation.last_message_at
    if inbound is None:
        return False
    # SQLite hands back naive UTC; a time set in this session is aware.
    return last is None or last.replace(tzinfo=None) <= inbound.replace(tzinfo=None)


def wait_starts(conversation: Conversation) -> LoggedEvent | None:
    """The `waiting` event an inbound message logs when it starts a new wait (reply time):
    the customer writes after being answered. A new or reopened conversation starts its
    wait with `created` / `reopened`; one event per exchange, not per message."""
    if awaiting_reply(conversation):
        return None
    return LoggedEvent(
        workspace_id=conversation.workspace_id,
        conversation_id=conversation.id,
        type="waiting",
        actor_kind=SenderKind.contact,
    )


def log_event(
    session: AsyncSession,
    conversation: Conversation,
    type_: str,
    actor_kind: SenderKind | str = "system",
    actor_id: uuid.UUID | None = None,
    data: Mapping[str, Any] | None = None,
) -> None:
    """Record what happened to a conversation, in the caller's transaction."""
    record(
        session,
        LoggedEvent(
            workspace_id=conversation.workspace_id,
            conversation_id=conversation.id,
            type=type_,
            actor_kind=str(actor_kind),
            actor_id=actor_id,
            data=data or {},
        ),
    )


def record(session: AsyncSession, event: LoggedEvent) -> None:
    """Add one event row to the caller's unit of work (flushed with its other rows)."""
    session.add(ConversationEventRow(**_columns(event, utcnow())))


async def record_many(session: AsyncSession, events: Sequence[LoggedEvent], now: datetime) -> None:
    """One executemany INSERT for many rows, without the unit of work's per-object
    bookkeeping: the hot path when a long queue drains."""
    if events:
        await session.execute(
            sa.insert(cast(sa.Table, ConversationEventRow.__table__)),
            [_columns(event, now) for event in events],
        )
