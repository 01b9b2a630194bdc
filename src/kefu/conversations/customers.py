"""Which conversations a customer may see from a channel's side: their own, in the inbox
they write to. The one check every customer-facing read and action (the widget's
history, rating, read receipts, typing) goes through; an agent's view is `queries`."""

from __future__ import annotations

import uuid

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.db.tables import Contact, ContactIdentity, Conversation
from kefu.errors import NotFound
from kefu.model import Identity

# Merges chain (A into B into C); a longer chain than this is a bug, not a customer.
_MERGE_HOPS = 10


class Customer(msgspec.Struct, frozen=True, kw_only=True):
    """A contact writing to one inbox, as a channel knows them."""

    workspace_id: uuid.UUID
    inbox_id: uuid.UUID
    contact_id: uuid.UUID


async def contact_by_identity(
    session: AsyncSession, workspace_id: uuid.UUID, identity: Identity
) -> uuid.UUID | None:
    """The contact behind an identity, following merges (a merged contact's
    conversations live on under the survivor); None before they first wrote."""
    contact_id = await session.scalar(
        sa.select(ContactIdentity.contact_id).where(
            ContactIdentity.workspace_id == workspace_id,
            ContactIdentity.kind == identity.kind,
            ContactIdentity.value == identity.value,
        )
    )
    for _ in range(_MERGE_HOPS):
        if contact_id is None:
            return None
        merged_into = await session.scalar(
            sa.select(Contact.merged_into_id).where(Contact.id == contact_id)
        )
        if merged_into is None:
            return contact_id
        contact_id = merged_into
    return contact_id


async def customer_of(
    session: AsyncSession, workspace_id: uuid.UUID, inbox_id: uuid.UUID, identity: Identity
) -> Customer | None:
    contact_id = await contact_by_identity(session, workspace_id, identity)
    if contact_id is None:
        return None
    return Customer(workspace_id=workspace_id, inbox_id=inbox_id, contact_id=contact_id)


async def latest_conversation(session: AsyncSession, customer: Customer) -> Conversation | None:
    return await session.scalar(
        sa.select(Conversation)
        .where(
            Conversation.inbox_id == customer.inbox_id,
            Conversation.contact_id == customer.contact_id,
        )
        .order_by(Conversation.created_at.desc(), Conversation.id.desc())
        .limit(1)
    )


async def own_conversation(
    session: AsyncSession,
    customer: Customer | None,
    conversation_id: uuid.UUID,
    *,
    lock: bool = False,
) -> Conversation:
    """The conversation if it is this customer's in this inbox; 404 otherwise, with no
    hint that it exists."""
    conversation = await session.get(Conversation, conversation_id, with_for_update=lock)
    if (
        conversation is None
        or customer is None
        or conversation.contact_id != customer.contact_id
        or conversation.inbox_id != customer.inbox_id
    ):
        raise NotFound(f"conversation {conversation_id} not found")
    return conversation
