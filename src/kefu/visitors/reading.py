"""What a visitor may read: only conversations of their own contact in the widget's
inbox (the check is `conversations.customers`), and never internal notes."""

from __future__ import annotations

import contextlib
import uuid
from datetime import datetime

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.context import Kefu
from kefu.conversations.customers import (
    Customer,
    customer_of,
    latest_conversation,
    own_conversation,
)
from kefu.conversations.messages import sender_names
from kefu.db.tables import Conversation, Message, User
from kefu.errors import NotFound
from kefu.model import Attachment, Direction, utcnow
from kefu.routing.queue import queue_status
from kefu.visitors.schemas import ConversationView, Thread, Visitor, VisitorMessage
from kefu.visitors.sessions import identity_of

# The widget shows this many messages when it opens; older ones are not offered.
HISTORY_LIMIT = 50
# The most one poll or replay returns.
PAGE_LIMIT = 500


async def customer(kefu: Kefu, visitor: Visitor) -> Customer | None:
    """The visitor as the contact they became when they first wrote (None before)."""
    async with kefu.db.session() as session:
        return await customer_of(
            session, visitor.workspace_id, visitor.inbox_id, identity_of(visitor)
        )


def widget_client_id(client_message_id: str | None) -> str | None:
    """The connector scopes client ids by visitor; the widget knows its own part."""
    if client_message_id and ":" in client_message_id:
        return client_message_id.split(":", 1)[1]
    return client_message_id


def visitor_message(message: Message, sender_name: str | None) -> VisitorMessage:
    return VisitorMessage(
        id=message.id,
        conversation_id=message.conversation_id,
        seq=message.seq,
        direction=message.direction,
        sender_kind=message.sender_kind,
        sender_name=sender_name,
        type=message.type,
        body=message.body,
        attachments=msgspec.convert(message.attachments or [], list[Attachment]),
        delivery_status=message.delivery_status,
        client_message_id=widget_client_id(message.client_message_id),
        created_at=message.created_at,
    )


async def _messages(
    session: AsyncSession, conversation: Conversation, *, after: int, last: int | None = None
) -> list[VisitorMessage]:
    """Messages after `after` (oldest first), or the `last` ones; never internal notes."""
    query = sa.select(Message).where(
        Message.conversation_id == conversation.id,
        Message.seq > after,
        Message.direction != Direction.note,
    )
    if last is not None:
        query = query.order_by(Message.seq.desc()).limit(last)
    else:
        query = query.order_by(Message.seq).limit(PAGE_LIMIT)
    rows = list((await session.scalars(query)).all())
    if last is not None:
        rows.reverse()
    names = await sender_names(session, rows)
    return [visitor_message(m, names.get(m.sender_id) if m.sender_id else None) for m in rows]


async def _view(
    session: AsyncSession, conversation: Conversation, now: datetime
) -> ConversationView:
    assignee = (
        await session.get(User, conversation.assignee_id) if conversation.assignee_id else None
    )
    queue = await queue_status(session, conversation, now)
    wait = queue.estimated_wait_seconds
    return ConversationView(
        id=conversation.id,
        status=conversation.status,
        last_seq=conversation.last_seq,
        assignee_name=assignee.name if assignee else None,
        assignee_avatar=assignee.avatar_url if assignee else None,
        queue_position=queue.position,
        estimated_wait_seconds=round(wait) if wait is not None else None,
        csat_score=conversation.csat_score,
    )


async def _find(
    session: AsyncSession, visitor: Visitor, conversation_id: uuid.UUID | None
) -> Conversation | None:
    who = await customer_of(session, visitor.workspace_id, visitor.inbox_id, identity_of(visitor))
    if conversation_id is not None:
        return await own_conversation(session, who, conversation_id)
    return await latest_conversation(session, who) if who is not None else None


async def thread(
    kefu: Kefu,
    visitor: Visitor,
    conversation_id: uuid.UUID | None = None,
    *,
    after: int = 0,
    last: int | None = None,
) -> Thread:
    """A conversation of the visitor (the given one, 404 if not theirs, else their
    latest) with its messages after `after`, or its `last` ones."""
    async with kefu.db.session() as session:
        conversation = await _find(session, visitor, conversation_id)
        if conversation is None:
            return Thread(conversation=None, messages=[])
        return Thread(
            conversation=await _view(session, conversation, utcnow()),
            messages=await _messages(session, conversation, after=after, last=last),
        )


async def pick_conversation(
    kefu: Kefu, visitor: Visitor, preferred: uuid.UUID | None
) -> uuid.UUID | None:
    """The conversation a reconnecting widget should follow: the one it names when it is
    the visitor's, else their latest (None when they never wrote)."""
    async with kefu.db.session() as session:
        found = None
        if preferred is not None:
            with contextlib.suppress(NotFound):
                found = await _find(session, visitor, preferred)
        latest = found or await _find(session, visitor, None)
        return latest.id if latest is not None else None


async def messages(
    kefu: Kefu, visitor: Visitor, conversation_id: uuid.UUID, *, after: int
) -> list[VisitorMessage]:
    async with kefu.db.session() as session:
        conversation = await _find(session, visitor, conversation_id)
        assert conversation is not None
        return await _messages(session, conversation, after=after)


async def conversation(
    kefu: Kefu, visitor: Visitor, conversation_id: uuid.UUID
) -> ConversationView:
    async with kefu.db.session() as session:
        found = await _find(session, visitor, conversation_id)
        assert found is not None
        return await _view(session, found, utcnow())


async def message(kefu: Kefu, message_id: uuid.UUID) -> VisitorMessage:
    """One message just stored for the visitor, as they see it."""
    async with kefu.db.session() as session:
        row = await session.get(Message, message_id)
        if row is None:
            raise NotFound(f"message {message_id} not found")
        names = await sender_names(session, [row])
    return visitor_message(row, names.get(row.sender_id) if row.sender_id else None)
