"""Opt-out per inbox (an SMS STOP): the state, the one confirmation, and the refusal of
later replies before anything is sent. Channels recognise the keywords; this module
owns the rows."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.context import Kefu
from kefu.conversations.tables import ChannelOptOut
from kefu.db.tables import Conversation
from kefu.errors import Conflict
from kefu.i18n import Text
from kefu.model import SenderKind, utcnow

OPTED_OUT = Text(
    "The customer has unsubscribed from this inbox (they replied STOP / 退订); the reply "
    "was not sent. They must text START / 订阅 before you can message them here again.",
    "客户已退订此收件箱的消息（回复了 STOP / 退订），回复未发送。"
    "客户发送 START / 订阅 后才能再次在此联系。",
)


def has_opt_out(kefu: Kefu, channel: str) -> bool:
    """Whether the channel lets customers unsubscribe: only then is there a row to look
    up, so replies on every other channel skip the query."""
    connector = kefu.connectors.find(channel)
    return connector is not None and connector.capabilities.opt_out


async def is_opted_out(session: AsyncSession, inbox_id: uuid.UUID, contact_id: uuid.UUID) -> bool:
    found = await session.scalar(
        sa.select(ChannelOptOut.inbox_id).where(
            ChannelOptOut.inbox_id == inbox_id, ChannelOptOut.contact_id == contact_id
        )
    )
    return found is not None


async def refuse_if_opted_out(
    session: AsyncSession, conversation: Conversation, sender: SenderKind
) -> None:
    """Called by `reply` before a reply is recorded: an opted-out customer gets nothing
    from agents or the bot (the system's confirmation is the one exception)."""
    if sender == SenderKind.system:
        return
    if await is_opted_out(session, conversation.inbox_id, conversation.contact_id):
        raise Conflict(OPTED_OUT, extra={"reason": "opted_out"})


async def set_subscribed(
    kefu: Kefu, conversation_id: uuid.UUID, subscribed: bool, keyword: str
) -> bool:
    """Record STOP (`subscribed=False`) or START for the conversation's contact in its
    inbox. True when the state changed (so the confirmation is sent once)."""
    async with kefu.db.transaction() as session:
        conversation = await session.get(Conversation, conversation_id)
        if conversation is None:
            return False
        opted = await is_opted_out(session, conversation.inbox_id, conversation.contact_id)
        if subscribed == (not opted):
            return False
        if subscribed:
            await session.execute(
                sa.delete(ChannelOptOut).where(
                    ChannelOptOut.inbox_id == conversation.inbox_id,
                    ChannelOptOut.contact_id == conversation.contact_id,
                )
            )
        else:
            session.add(
                ChannelOptOut(
                    inbox_id=conversation.inbox_id,
                    contact_id=conversation.contact_id,
                    workspace_id=conversation.workspace_id,
                    keyword=keyword[:32],
                    created_at=utcnow(),
                )
            )
        return True
