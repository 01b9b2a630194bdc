"""What customers tell the desk besides messages, handed in by their channel: a
satisfaction rating, how far they have read, that they are typing. Each writes its rows
(and event-log row) here and publishes after commit; connectors only report the fact."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from kefu.context import Kefu
from kefu.conversations.customers import Customer, latest_conversation, own_conversation
from kefu.conversations.events import conversation_event, log_event, message_event
from kefu.conversations.messages import sender_names
from kefu.db.tables import Message
from kefu.errors import Conflict
from kefu.model import (
    ConversationStatus,
    DeliveryStatus,
    Direction,
    SenderKind,
    TypingEvent,
    utcnow,
)

# Receipts move a reply forward only: a late "delivered" never undoes "read", and a
# failed or still pending reply is not marked read by a receipt that overtook it.
_READABLE = (DeliveryStatus.sent, DeliveryStatus.delivered)


async def rate(
    kefu: Kefu,
    customer: Customer | None,
    conversation_id: uuid.UUID,
    score: int,
    comment: str = "",
) -> None:
    """Satisfaction (1-5 and a comment) for a resolved conversation, once."""
    async with kefu.db.transaction() as session:
        conversation = await own_conversation(session, customer, conversation_id, lock=True)
        if conversation.status != ConversationStatus.resolved:
            raise Conflict("a conversation can be rated once it is resolved")
        if conversation.csat_score is not None:
            raise Conflict("this conversation has already been rated")
        conversation.csat_score = score
        conversation.csat_comment = comment.strip() or None
        conversation.updated_at = utcnow()
        log_event(
            session,
            conversation,
            "rated",
            SenderKind.contact,
            conversation.contact_id,
            {"score": score, "comment": conversation.csat_comment},
        )
        event = conversation_event(conversation, "rated")
    kefu.events.publish(event)


async def mark_read(
    kefu: Kefu, customer: Customer | None, conversation_id: uuid.UUID, seq: int
) -> int:
    """The customer has seen replies up to `seq`: those sent or delivered become `read`
    for the agent. Returns how many changed."""
    async with kefu.db.transaction() as session:
        conversation = await own_conversation(session, customer, conversation_id)
        rows = list(
            (
                await session.scalars(
                    sa.select(Message).where(
                        Message.conversation_id == conversation.id,
                        Message.direction == Direction.outbound,
                        Message.seq <= seq,
                        Message.delivery_status.in_(_READABLE),
                    )
                )
            ).all()
        )
        for message in rows:
            message.delivery_status = DeliveryStatus.read
        await session.flush()
        names = await sender_names(session, rows)
        events = [message_event(m, names.get(m.sender_id) if m.sender_id else None) for m in rows]
    for event in events:
        kefu.events.publish(event)
    return len(events)


async def customer_typing(
    kefu: Kefu, customer: Customer | None, name: str | None, typing: bool
) -> None:
    """The customer is (or stopped) typing in their latest conversation; nothing is
    said about a resolved one, nor before they ever wrote."""
    if customer is None:
        return
    async with kefu.db.session() as session:
        conversation = await latest_conversation(session, customer)
    if conversation is None or conversation.status == ConversationStatus.resolved:
        return
    kefu.events.publish(
        TypingEvent(
            workspace_id=conversation.workspace_id,
            conversation_id=conversation.id,
            sender_kind=SenderKind.contact,
            sender_name=name,
            typing=typing,
        )
    )


def agent_typing(
    kefu: Kefu,
    workspace_id: uuid.UUID,
    conversation_id: uuid.UUID,
    name: str | None,
    typing: bool,
) -> None:
    """An agent is typing: only a doorbell, nothing is stored."""
    kefu.events.publish(
        TypingEvent(
            workspace_id=workspace_id,
            conversation_id=conversation_id,
            sender_kind=SenderKind.agent,
            sender_name=name,
            typing=typing,
        )
    )
