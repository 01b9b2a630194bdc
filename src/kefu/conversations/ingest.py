"""Ingest: store one inbound message exactly once, open or reopen its conversation and
route it, then publish. Messages to an open conversation go through the group commit
(`batch`) when it is on; everything else takes the single path here."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import msgspec
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.channel_state.inboxes import ChannelInbox, active_inbox
from kefu.context import Kefu
from kefu.conversations import batch, relay
from kefu.conversations.events import (
    LoggedEvent,
    conversation_event,
    log_event,
    message_event,
    record,
    wait_starts,
)
from kefu.conversations.messages import (
    IngestResult,
    Stored,
    add_message,
    append_inbound,
    appended_result,
    apply_contact_facts,
    identities_matching,
)
from kefu.db import retry
from kefu.db.tables import (
    Contact,
    ContactIdentity,
    Conversation,
    InboundReceipt,
    Message,
)
from kefu.errors import NotFound
from kefu.model import (
    ConversationStatus,
    Direction,
    Event,
    Inbound,
    SenderKind,
    new_id,
    utcnow,
)
from kefu.routing.route import route

__all__ = ["PENDING_ENTRY_POINT", "IngestResult", "UnknownInbox", "ingest"]

# Concurrent deliveries of one message race on unique indexes; the losers retry and
# then find the winner's rows. Five rounds is far more than one race needs.
_INGEST_ATTEMPTS = 5

PENDING_ENTRY_POINT = "pending_entry_point"


class UnknownInbox(NotFound):
    pass


async def ingest(kefu: Kefu, inbound: Inbound) -> IngestResult:
    """Store one inbound message exactly once and publish it. Safe to call again with the
    same message: a retry returns the stored result with `duplicate=True`."""
    stored: Stored | None = None
    if inbound.continues is not None:
        # An e-mail answer to a widget conversation's mailed reply (conversations/relay.py).
        if await relay.accepts(kefu, inbound.inbox_id, inbound):
            stored = await retry.run(lambda: _answer(kefu, inbound), what="ingest")
        else:
            inbound = msgspec.structs.replace(inbound, continues=None)
    # A threaded channel (e-mail) names its conversation by `thread_key`: the group
    # commit only knows "the contact's open conversation", so it takes the single path.
    if (
        not inbound.is_event
        and inbound.thread_key is None
        and kefu.settings.ingest_batch > 1
        and batch.seen(kefu, inbound)
    ):
        # Most messages go to a conversation that is already open: those are stored
        # together with whatever else arrived meanwhile (one commit for many). A sender
        # this process has not stored yet (a first contact, mostly) would only be
        # declined by the batch after a transaction of its own, so goes alone at once.
        stored = await batch.submit(kefu, inbound)
    if stored is None:
        plain = inbound
        stored = await retry.run(lambda: _ingest_alone(kefu, plain), what="ingest")
    result, events = stored
    batch.remember(kefu, inbound)
    for event in events:
        kefu.events.publish(event)
    if not result.duplicate and result.message_id is not None:
        for hook in kefu.after_ingest:
            kefu.spawn(hook(kefu, result))
    return result


async def _answer(kefu: Kefu, inbound: Inbound) -> Stored:
    inbox = await active_inbox(kefu, inbound.inbox_id)
    if inbox is None:
        raise UnknownInbox(f"inbox {inbound.inbox_id} does not exist or is disabled")
    async with kefu.db.transaction() as session:
        return await relay.append_answer(session, inbox.workspace_id, inbound)


async def _ingest_alone(kefu: Kefu, inbound: Inbound) -> Stored:
    # The inbox from this process's copy (kefu.caching): no read inside the transaction.
    inbox = await active_inbox(kefu, inbound.inbox_id)
    if inbox is None:
        raise UnknownInbox(f"inbox {inbound.inbox_id} does not exist or is disabled")
    for attempt in range(_INGEST_ATTEMPTS):
        events: list[Event] = []
        try:
            async with kefu.db.transaction() as session:
                # Duplicates are rare: the first attempt leaves them to the unique
                # indexes, and only a retry after a conflict looks for the stored copy.
                result = await _ingest_once(
                    session, kefu, inbox, inbound, events, check_duplicate=attempt > 0
                )
            break
        except IntegrityError:
            if attempt == _INGEST_ATTEMPTS - 1:
                raise
    return result, events


async def _ingest_once(
    session: AsyncSession,
    kefu: Kefu,
    inbox: ChannelInbox,
    inbound: Inbound,
    events: list[Event],
    *,
    check_duplicate: bool,
) -> IngestResult:
    now = utcnow()
    if check_duplicate:
        duplicate = await _find_duplicate(session, inbox, inbound)
        if duplicate is not None:
            return duplicate

    contact, identity, created = await _resolve_contact(session, inbox, inbound, now)

    # A contact created in this transaction has no conversation yet, open or resolved
    # (nothing else can see its row before commit): first contact skips both lookups.
    conversation = None
    if not created:
        conversation = await session.scalar(
            sa.select(Conversation)
            .where(
                Conversation.inbox_id == inbox.id,
                Conversation.contact_id == contact.id,
                Conversation.status != ConversationStatus.resolved,
                *_same_thread(inbound),
            )
            .with_for_update(key_share=True)
        )
    opened = reopened = False
    if conversation is None and inbound.is_event:
        # A bare event (unsubscribe, a page view) does not open a conversation. An entry
        # point it carries (a WeChat QR scene, a menu key) waits on the contact for the
        # conversation the customer opens next, so routing can still use it.
        if inbound.facts.entry_point:
            contact.attributes = {
                **(contact.attributes or {}),
                PENDING_ENTRY_POINT: inbound.facts.entry_point,
            }
        key = inbound.channel_message_id
        if key:
            session.add(InboundReceipt(inbox_id=inbox.id, key=key))
        record(
            session,
            LoggedEvent(
                workspace_id=inbox.workspace_id,
                type="contact_event",
                actor_kind=SenderKind.contact,
                data={"contact_id": str(contact.id), "body": inbound.body, "key": key},
            ),
        )
        return IngestResult(
            workspace_id=inbox.workspace_id,
            inbox_id=inbox.id,
            contact_id=contact.id,
            conversation_id=None,
            message_id=None,
            seq=None,
        )
    if conversation is None:
        if not created:
            conversation = await _recently_resolved(session, inbox, contact, kefu, now, inbound)
        if conversation is not None:
            reopened = True
            conversation.status = ConversationStatus.queued
            conversation.resolved_at = None
            log_event(session, conversation, "reopened", SenderKind.contact)
        else:
            opened = True
            # Its id is given here and its row is written with the message, the events
            # and the routing decision in one flush: one INSERT, not INSERT + UPDATEs.
            conversation = _new_conversation(inbox, contact, inbound, now)
            session.add(conversation)
            log_event(session, conversation, "created", SenderKind.contact)
        conversation.identity_id = identity.id

    if not (opened or reopened or inbound.is_event):
        wait = wait_starts(conversation)
        if wait is not None:
            record(session, wait)
    message = append_inbound(contact, conversation, inbound, now)
    add_message(session, message)

    if opened or reopened:
        # It enters the queue now: a reopened one must not keep yesterday's place.
        # Routing's reads (agents, their load, cursors) do not involve this
        # conversation's pending rows (it is not assigned yet), so they need not be
        # flushed first: the conversation is written once, with its decision.
        with session.no_autoflush:
            await route(session, conversation, now, rejoin=True)
    await session.flush()

    events.append(message_event(message, contact.name))
    if opened or reopened:
        events.append(conversation_event(conversation, "opened" if opened else "reopened"))
    return appended_result(inbox, contact, conversation, message, opened, reopened)


async def _find_duplicate(
    session: AsyncSession, inbox: ChannelInbox, inbound: Inbound
) -> IngestResult | None:
    keys = []
    if inbound.channel_message_id:
        keys.append(Message.channel_message_id == inbound.channel_message_id)
    if inbound.client_message_id:
        # An agent's reply may carry the same client id: it is another author's send.
        keys.append(
            sa.and_(
                Message.client_message_id == inbound.client_message_id,
                Message.direction.in_((Direction.inbound, Direction.event)),
            )
        )
    if not keys:
        return None
    found = (
        await session.execute(
            sa.select(Message, Conversation)
            .join(Conversation, Conversation.id == Message.conversation_id)
            .where(Message.inbox_id == inbox.id, sa.or_(*keys))
            .limit(1)
        )
    ).first()
    if found is not None:
        message, conversation = found
        return IngestResult(
            workspace_id=inbox.workspace_id,
            inbox_id=inbox.id,
            contact_id=conversation.contact_id,
            conversation_id=conversation.id,
            message_id=message.id,
            seq=message.seq,
            duplicate=True,
            status=ConversationStatus(conversation.status),
        )
    if inbound.is_event and inbound.channel_message_id:
        receipt = await session.get(InboundReceipt, (inbox.id, inbound.channel_message_id))
        if receipt is not None:
            identity = await session.scalar(
                sa.select(ContactIdentity).where(
                    ContactIdentity.workspace_id == inbox.workspace_id,
                    ContactIdentity.kind == inbound.identity.kind,
                    ContactIdentity.value == inbound.identity.value,
                )
            )
            return IngestResult(
                workspace_id=inbox.workspace_id,
                inbox_id=inbox.id,
                contact_id=identity.contact_id if identity else uuid.UUID(int=0),
                conversation_id=None,
                message_id=None,
                seq=None,
                duplicate=True,
            )
    return None


async def _resolve_contact(
    session: AsyncSession, inbox: ChannelInbox, inbound: Inbound, now: datetime
) -> tuple[Contact, ContactIdentity, bool]:
    """Find the person by any identity they came with; create them on first contact
    (the flag). Identities the person is newly seen with are linked to the same
    contact."""
    wanted = [inbound.identity, *inbound.also_known_as]
    found = (
        await session.execute(
            sa.select(ContactIdentity, Contact)
            .join(Contact, Contact.id == ContactIdentity.contact_id)
            .where(identities_matching({(inbox.workspace_id, i.kind, i.value) for i in wanted}))
            # Lock order: the contact before its conversation (docs/architecture.md).
            .with_for_update(of=Contact, key_share=True)
        )
    ).all()
    by_key = {(row.kind, row.value): row for row, _ in found}
    owners = {row.kind + "\0" + row.value: owner for row, owner in found}
    primary_key = inbound.identity.kind + "\0" + inbound.identity.value
    contact: Contact | None = owners.get(primary_key) or (found[0][1] if found else None)
    if contact is not None:
        while contact is not None and contact.merged_into_id is not None:
            contact = await session.get(Contact, contact.merged_into_id)
    created = contact is None
    if contact is None:
        # The id now, so its identities can name it: one flush writes them all.
        contact = Contact(
            id=new_id(), workspace_id=inbox.workspace_id, created_at=now, updated_at=now
        )
        session.add(contact)
    for ident in wanted:
        if (ident.kind, ident.value) not in by_key:
            row = ContactIdentity(
                workspace_id=inbox.workspace_id,
                contact_id=contact.id,
                kind=ident.kind,
                value=ident.value,
                created_at=now,
            )
            session.add(row)
            by_key[(ident.kind, ident.value)] = row
    # Before the flush, so a new contact's row is written once, with what the channel
    # told us (not INSERT, then UPDATE).
    apply_contact_facts(contact, inbound.contact, now)
    await session.flush()
    return contact, by_key[(inbound.identity.kind, inbound.identity.value)], created


def _same_thread(inbound: Inbound) -> tuple[sa.ColumnElement[bool], ...]:
    """Threaded channels (e-mail) keep one conversation per thread, not per contact."""
    return (Conversation.thread_key == inbound.thread_key,) if inbound.thread_key else ()


async def _recently_resolved(
    session: AsyncSession,
    inbox: ChannelInbox,
    contact: Contact,
    kefu: Kefu,
    now: datetime,
    inbound: Inbound,
) -> Conversation | None:
    since = now - timedelta(hours=kefu.settings.reopen_window_hours)
    # A threaded message names its conversation, which it reopens however old.
    window = () if inbound.thread_key else (Conversation.resolved_at >= since,)
    return await session.scalar(
        sa.select(Conversation)
        .where(
            Conversation.inbox_id == inbox.id,
            Conversation.contact_id == contact.id,
            Conversation.status == ConversationStatus.resolved,
            *window,
            *_same_thread(inbound),
        )
        .order_by(Conversation.resolved_at.desc())
        .limit(1)
        .with_for_update(key_share=True)
    )


def _new_conversation(
    inbox: ChannelInbox, contact: Contact, inbound: Inbound, now: datetime
) -> Conversation:
    facts = inbound.facts
    pending = (contact.attributes or {}).get(PENDING_ENTRY_POINT)
    if pending is not None:
        contact.attributes = {
            k: v for k, v in contact.attributes.items() if k != PENDING_ENTRY_POINT
        }
    return Conversation(
        id=new_id(),
        workspace_id=inbox.workspace_id,
        inbox_id=inbox.id,
        contact_id=contact.id,
        channel=inbox.kind,
        status=ConversationStatus.queued,
        priority=int(contact.vip_level or 0),
        entry_point=facts.entry_point or pending,
        first_page=facts.page_url,
        referrer=facts.referrer,
        language=facts.language or inbound.contact.language,
        attributes=dict(facts.attributes),
        thread_key=inbound.thread_key,
        labels=[],
        last_seq=0,
        created_at=now,
        updated_at=now,
    )
