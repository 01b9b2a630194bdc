"""What a channel with a reply window asks about a conversation's replies: how many went
out since the customer last wrote (WeChat takes five per message, within 48 hours)."""

from __future__ import annotations

import uuid
from datetime import datetime

import msgspec
import sqlalchemy as sa

from kefu.context import Kefu
from kefu.conversations.optout import has_opt_out, is_opted_out
from kefu.conversations.queries import get_visible
from kefu.db.tables import Message
from kefu.model import DeliveryStatus, Direction
from kefu.people.auth import AuthUser


class ReplyFacts(msgspec.Struct, frozen=True, kw_only=True):
    conversation_id: uuid.UUID
    channel: str
    last_inbound_at: datetime | None
    inbox_id: uuid.UUID | None = None
    opted_out: bool = False


async def replies_sent_since(
    kefu: Kefu,
    conversation_id: uuid.UUID,
    since: datetime,
    *,
    exclude: uuid.UUID | None = None,
) -> int:
    """Replies the channel accepted (sent or delivered) at or after `since`, except
    `exclude` (the reply being sent now)."""
    async with kefu.db.session() as session:
        query = sa.select(sa.func.count()).where(
            Message.conversation_id == conversation_id,
            Message.direction == Direction.outbound,
            Message.delivery_status.in_([DeliveryStatus.sent, DeliveryStatus.delivered]),
            Message.created_at >= since,
        )
        if exclude is not None:
            query = query.where(Message.id != exclude)
        return int(await session.scalar(query) or 0)


async def reply_facts(kefu: Kefu, user: AuthUser, conversation_id: uuid.UUID) -> ReplyFacts:
    """For the console beside the reply box; 404 when the agent may not see it."""
    async with kefu.db.session() as session:
        conversation = await get_visible(session, user, conversation_id)
        return ReplyFacts(
            conversation_id=conversation.id,
            channel=conversation.channel,
            last_inbound_at=conversation.last_inbound_at,
            inbox_id=conversation.inbox_id,
            opted_out=has_opt_out(kefu, conversation.channel)
            and await is_opted_out(session, conversation.inbox_id, conversation.contact_id),
        )
