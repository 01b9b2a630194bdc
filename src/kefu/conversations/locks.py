"""The one lock order every write to a conversation takes: its contact, then the
conversation (docs/architecture.md). Its own module so that actions, the e-mail relay and
tickets take it from one place without importing each other."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.db.tables import Contact, Conversation


async def lock_in_order(session: AsyncSession, conversation: Conversation) -> None:
    """Lock the conversation's contact, then the conversation, and reload it as locked.
    (SQLite has one writer at a time; the statements run and lock nothing.)"""
    await session.execute(
        sa.select(Contact.id)
        .where(Contact.id == conversation.contact_id)
        .with_for_update(key_share=True)
    )
    await session.execute(
        sa.select(Conversation)
        .where(Conversation.id == conversation.id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    )
