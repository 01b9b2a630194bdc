"""Message rows: the ONE builder of a new message (inbound, reply, note), what appending
an inbound message changes on its conversation and contact, and the result of storing
it. Shared by the single path (`ingest`), the group commit (`batch`) and `actions`."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, TypeVar

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.channel_state.inboxes import ChannelInbox
from kefu.db.tables import Contact, ContactIdentity, Conversation, Message, NewMessage, User
from kefu.model import (
    Attachment,
    ContactFacts,
    ConversationStatus,
    DeliveryStatus,
    Direction,
    Event,
    Inbound,
    MessageType,
    SenderKind,
    new_id,
)


class IngestResult(msgspec.Struct, frozen=True, kw_only=True):
    workspace_id: uuid.UUID
    inbox_id: uuid.UUID
    contact_id: uuid.UUID
    conversation_id: uuid.UUID | None
    message_id: uuid.UUID | None
    seq: int | None
    duplicate: bool = False
    opened: bool = False
    reopened: bool = False
    status: ConversationStatus | None = None


# What storing one inbound message yields: the result, and the events to publish.
Stored = tuple[IngestResult, list[Event]]


def next_message(
    conversation: Conversation,
    now: datetime,
    *,
    direction: Direction,
    sender_kind: SenderKind | str,
    sender_id: uuid.UUID | None,
    type: MessageType | str = MessageType.text,
    body: str = "",
    attachments: Sequence[Attachment] | list[Any] = (),
    channel_message_id: str | None = None,
    client_message_id: str | None = None,
    delivery_status: DeliveryStatus,
) -> NewMessage:
    """The conversation's next message (the caller holds its row lock): takes the next
    `seq` and builds the row. The caller inserts it (`add_message`, or in bulk)."""
    conversation.last_seq += 1
    return NewMessage(
        id=new_id(),
        workspace_id=conversation.workspace_id,
        conversation_id=conversation.id,
        inbox_id=conversation.inbox_id,
        seq=conversation.last_seq,
        direction=direction,
        sender_kind=sender_kind,
        sender_id=sender_id,
        type=type,
        body=body,
        attachments=msgspec.to_builtins(list(attachments)),
        channel_message_id=channel_message_id,
        client_message_id=client_message_id,
        delivery_status=delivery_status,
        created_at=now,
    )


def add_message(session: AsyncSession, message: NewMessage) -> None:
    """Insert with the caller's unit of work (flushed with its other rows)."""
    session.add(Message(**msgspec.structs.asdict(message)))


async def insert_messages(session: AsyncSession, messages: Sequence[NewMessage]) -> None:
    """One executemany INSERT, without the unit of work's per-object bookkeeping."""
    await session.execute(sa.insert(Message), [msgspec.structs.asdict(m) for m in messages])


def append_inbound(
    contact: Contact, conversation: Conversation, inbound: Inbound, now: datetime
) -> NewMessage:
    """The next inbound message of a conversation (locked by the caller), and what it
    changes on the conversation."""
    message = next_message(
        conversation,
        now,
        direction=Direction.event if inbound.is_event else Direction.inbound,
        sender_kind=SenderKind.contact,
        sender_id=contact.id,
        type=MessageType.event if inbound.is_event else inbound.type,
        body=inbound.body,
        attachments=inbound.attachments,
        channel_message_id=inbound.channel_message_id,
        client_message_id=inbound.client_message_id,
        delivery_status=DeliveryStatus.delivered,
    )
    conversation.updated_at = now
    if not inbound.is_event:
        conversation.last_message_at = now
        conversation.last_inbound_at = now
        if conversation.status == ConversationStatus.pending:
            conversation.status = ConversationStatus.open
    _apply_facts(conversation, inbound)
    return message


def _apply_facts(conversation: Conversation, inbound: Inbound) -> None:
    facts = inbound.facts
    if facts.entry_point and not conversation.entry_point:
        conversation.entry_point = facts.entry_point
    if facts.page_url:
        if not conversation.first_page:
            conversation.first_page = facts.page_url
        conversation.attributes = {
            **(conversation.attributes or {}),
            "current_page": facts.page_url,
        }
    if facts.attributes:
        conversation.attributes = {**(conversation.attributes or {}), **facts.attributes}
    if inbound.thread_key:
        conversation.thread_key = inbound.thread_key


def apply_contact_facts(contact: Contact, facts: ContactFacts, now: datetime) -> None:
    """What a channel tells us fills in the profile; it never erases what agents wrote."""
    changed = False
    for name in ("name", "email", "phone", "language", "region"):
        value = getattr(facts, name)
        if value and getattr(contact, name) != value:
            setattr(contact, name, value)
            changed = True
    if facts.verified and not contact.verified:
        contact.verified = True
        changed = True
    if facts.attributes:
        contact.attributes = {**(contact.attributes or {}), **facts.attributes}
        changed = True
    if changed:
        contact.updated_at = now


def appended_result(
    inbox: ChannelInbox,
    contact: Contact,
    conversation: Conversation,
    message: NewMessage,
    opened: bool = False,
    reopened: bool = False,
) -> IngestResult:
    return IngestResult(
        workspace_id=inbox.workspace_id,
        inbox_id=inbox.id,
        contact_id=contact.id,
        conversation_id=conversation.id,
        message_id=message.id,
        seq=message.seq,
        opened=opened,
        reopened=reopened,
        status=ConversationStatus(conversation.status),
    )


_T = TypeVar("_T")
_K = TypeVar("_K")


def identities_matching(
    keys: set[tuple[uuid.UUID, str, str]],
) -> sa.ColumnElement[bool]:
    """WHERE for identities given as (workspace, kind, value). Written as `value IN (...)`
    per workspace and kind, not as a row-value IN, so PostgreSQL searches the unique
    index on all three columns instead of filtering every identity of that kind."""
    return sa.or_(
        *(
            sa.and_(
                ContactIdentity.workspace_id == workspace_id,
                ContactIdentity.kind == kind,
                ContactIdentity.value.in_(bucketed(values)),
            )
            for (workspace_id, kind), values in grouped(((w, k), v) for w, k, v in keys).items()
        )
    )


def grouped(pairs: Iterable[tuple[_K, _T]]) -> dict[_K, set[_T]]:
    groups: dict[_K, set[_T]] = {}
    for key, value in pairs:
        groups.setdefault(key, set()).add(value)
    return groups


def bucketed(values: set[_T]) -> list[_T]:
    """The values, padded by repeating one to a power-of-two count. An IN list of every
    length is a statement of its own; in buckets, a few prepared statements serve all
    batch sizes instead of one PREPARE per batch."""
    items = list(values)
    size = 1 << max(0, len(items) - 1).bit_length()
    return items + items[-1:] * (size - len(items))


async def sender_names(
    session: AsyncSession, messages: Sequence[Message]
) -> dict[uuid.UUID, str | None]:
    """Names to show beside messages: agents by user id, customers by contact id."""
    user_ids = {m.sender_id for m in messages if m.sender_id and m.sender_kind == SenderKind.agent}
    contact_ids = {
        m.sender_id for m in messages if m.sender_id and m.sender_kind == SenderKind.contact
    }
    names: dict[uuid.UUID, str | None] = {}
    if user_ids:
        for uid, name in await session.execute(
            sa.select(User.id, User.name).where(User.id.in_(user_ids))
        ):
            names[uid] = name
    if contact_ids:
        for cid, contact_name in await session.execute(
            sa.select(Contact.id, Contact.name).where(Contact.id.in_(contact_ids))
        ):
            names[cid] = contact_name
    return names
