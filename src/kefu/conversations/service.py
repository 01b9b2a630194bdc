"""The conversation core: `ingest()` stores what customers send, `reply()` and friends
record what agents do. Each runs in one transaction and publishes only after commit."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import TypeVar

import msgspec
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.context import Kefu
from kefu.conversations.group_commit import GroupCommit
from kefu.conversations.views import conversation_event, message_event
from kefu.db.scope import one_in_workspace
from kefu.db.tables import (
    Contact,
    ContactIdentity,
    Conversation,
    ConversationEventRow,
    InboundReceipt,
    Inbox,
    Message,
    NewMessage,
    OutboxJob,
    User,
)
from kefu.errors import Conflict, Invalid, NotFound
from kefu.model import (
    Attachment,
    ContactFacts,
    ConversationStatus,
    DeliveryStatus,
    Direction,
    Event,
    Identity,
    Inbound,
    MessageType,
    MessageView,
    SenderKind,
    new_id,
    utcnow,
)
from kefu.routing import service as routing

# Concurrent deliveries of one message race on unique indexes; the losers retry and
# then find the winner's rows. Five rounds is far more than one race needs.
_INGEST_ATTEMPTS = 5


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


class Actor(msgspec.Struct, frozen=True, kw_only=True):
    """Who acts on a conversation: an agent (user), the bot or the system."""

    workspace_id: uuid.UUID
    kind: SenderKind
    user_id: uuid.UUID | None = None
    name: str | None = None


class UnknownInbox(NotFound):
    pass


# What storing one inbound message yields: the result, and the events to publish.
Stored = tuple[IngestResult, list[Event]]


# ---------------------------------------------------------------------------
# ingest


async def ingest(kefu: Kefu, inbound: Inbound) -> IngestResult:
    """Store one inbound message exactly once and publish it. Safe to call again with the
    same message: a retry returns the stored result with `duplicate=True`."""
    stored: Stored | None = None
    if not inbound.is_event and kefu.settings.ingest_batch > 1:
        # Most messages go to a conversation that is already open: those are stored
        # together with whatever else arrived meanwhile (one commit for many).
        stored = await _group_commit(kefu).submit(inbound)
    if stored is None:
        stored = await _ingest_alone(kefu, inbound)
    result, events = stored
    for event in events:
        kefu.events.publish(event)
    if not result.duplicate and result.message_id is not None:
        for hook in kefu.after_ingest:
            kefu.spawn(hook(kefu, result))
    return result


async def _ingest_alone(kefu: Kefu, inbound: Inbound) -> Stored:
    for attempt in range(_INGEST_ATTEMPTS):
        events: list[Event] = []
        try:
            async with kefu.db.transaction() as session:
                # Duplicates are rare: the first attempt leaves them to the unique
                # indexes, and only a retry after a conflict looks for the stored copy.
                result = await _ingest_once(
                    session, kefu, inbound, events, check_duplicate=attempt > 0
                )
            break
        except IntegrityError:
            if attempt == _INGEST_ATTEMPTS - 1:
                raise
    return result, events


def _group_commit(kefu: Kefu) -> GroupCommit[Inbound, Stored]:
    group = kefu.group_commit
    if group is None:

        async def store(inbounds: Sequence[Inbound]) -> list[Stored | None]:
            return await _append_batch(kefu, inbounds)

        # SQLite has one writer, so one batch at a time; under load PostgreSQL overlaps
        # a few, so that one batch's round trips do not idle the next.
        workers = 1 if kefu.db.is_sqlite else 4
        group = GroupCommit(store, batch=kefu.settings.ingest_batch, workers=workers)
        kefu.group_commit = group
    return group


async def _append_batch(kefu: Kefu, inbounds: Sequence[Inbound]) -> list[Stored | None]:
    """Append messages to conversations that are open already, in one transaction. What
    does not fit that case (a new contact or identity, no open conversation, a merged
    contact, an unknown inbox) is left `None` for `_ingest_alone`."""
    now = utcnow()
    out: list[Stored | None] = [None] * len(inbounds)
    async with kefu.db.transaction() as session:
        inboxes = {
            inbox.id: inbox
            for inbox in await session.scalars(
                sa.select(Inbox).where(
                    Inbox.id.in_(_bucketed({i.inbox_id for i in inbounds})), Inbox.active
                )
            )
        }
        keys = {
            (inboxes[i.inbox_id].workspace_id, ident.kind, ident.value)
            for i in inbounds
            if i.inbox_id in inboxes
            for ident in (i.identity, *i.also_known_as)
        }
        if not keys:
            return out
        # Lock order is contacts, then conversations, each by id, as on the single path
        # (which updates the contact before it locks the conversation): no deadlocks.
        found = (
            await session.execute(
                sa.select(
                    ContactIdentity.workspace_id,
                    ContactIdentity.kind,
                    ContactIdentity.value,
                    Contact,
                )
                .join(Contact, Contact.id == ContactIdentity.contact_id)
                .where(_identities_matching(keys))
                .order_by(Contact.id)
                .with_for_update(of=Contact)
            )
        ).all()
        known = {(workspace_id, kind, value): owner for workspace_id, kind, value, owner in found}
        ready: list[tuple[int, Inbound, Inbox, Contact]] = []
        for n, inbound in enumerate(inbounds):
            inbox = inboxes.get(inbound.inbox_id)
            if inbox is None:
                continue
            primary = known.get((inbox.workspace_id, inbound.identity.kind, inbound.identity.value))
            if primary is None or primary.merged_into_id is not None:
                continue
            if any(
                (inbox.workspace_id, i.kind, i.value) not in known for i in inbound.also_known_as
            ):
                continue
            ready.append((n, inbound, inbox, primary))
        if not ready:
            return out
        open_conversations = {
            (c.inbox_id, c.contact_id): c
            for c in await session.scalars(
                sa.select(Conversation)
                .where(
                    sa.or_(
                        *(
                            sa.and_(
                                Conversation.inbox_id == inbox_id,
                                Conversation.contact_id.in_(_bucketed(contacts)),
                            )
                            for inbox_id, contacts in _grouped(
                                (inbox.id, contact.id) for _, _, inbox, contact in ready
                            ).items()
                        )
                    ),
                    Conversation.status != ConversationStatus.resolved,
                )
                .order_by(Conversation.id)
                .with_for_update()
            )
        }
        appended: list[tuple[int, Inbox, Contact, Conversation, NewMessage]] = []
        for n, inbound, inbox, contact in ready:
            conversation = open_conversations.get((inbox.id, contact.id))
            if conversation is None:
                continue
            apply_contact_facts(contact, inbound.contact, now)
            message = _append(inbox, contact, conversation, inbound, now)
            appended.append((n, inbox, contact, conversation, message))
        if appended:
            # One executemany INSERT, without the unit of work's per-object bookkeeping.
            await session.execute(
                sa.insert(Message), [msgspec.structs.asdict(m) for *_, m in appended]
            )
        await session.flush()
    for n, inbox, contact, conversation, message in appended:
        out[n] = (
            _appended_result(inbox, contact, conversation, message),
            [message_event(message, contact.name)],
        )
    return out


async def _ingest_once(
    session: AsyncSession,
    kefu: Kefu,
    inbound: Inbound,
    events: list[Event],
    *,
    check_duplicate: bool,
) -> IngestResult:
    now = utcnow()
    inbox = await session.get(Inbox, inbound.inbox_id)
    if inbox is None or not inbox.active:
        raise UnknownInbox(f"inbox {inbound.inbox_id} does not exist or is disabled")

    if check_duplicate:
        duplicate = await _find_duplicate(session, inbox, inbound)
        if duplicate is not None:
            return duplicate

    contact, identity = await _resolve_contact(session, inbox, inbound, now)

    conversation = await session.scalar(
        sa.select(Conversation)
        .where(
            Conversation.inbox_id == inbox.id,
            Conversation.contact_id == contact.id,
            Conversation.status != ConversationStatus.resolved,
        )
        .with_for_update()
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
        session.add(
            ConversationEventRow(
                workspace_id=inbox.workspace_id,
                type="contact_event",
                actor_kind=SenderKind.contact,
                data={"contact_id": str(contact.id), "body": inbound.body, "key": key},
            )
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
        conversation = await _recently_resolved(session, inbox, contact, kefu, now)
        if conversation is not None:
            reopened = True
            conversation.status = ConversationStatus.queued
            conversation.resolved_at = None
            _log(session, conversation, "reopened", SenderKind.contact, None, {})
        else:
            opened = True
            conversation = _new_conversation(inbox, contact, inbound, now)
            session.add(conversation)
            await session.flush()
            _log(session, conversation, "created", SenderKind.contact, None, {})
        conversation.identity_id = identity.id

    message = _append(inbox, contact, conversation, inbound, now)
    session.add(Message(**msgspec.structs.asdict(message)))

    if opened or reopened:
        await routing.route(session, conversation, now)
    await session.flush()

    events.append(message_event(message, contact.name))
    if opened or reopened:
        events.append(conversation_event(conversation, "opened" if opened else "reopened"))
    return _appended_result(inbox, contact, conversation, message, opened, reopened)


_T = TypeVar("_T")
_K = TypeVar("_K")


def _identities_matching(
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
                ContactIdentity.value.in_(_bucketed(values)),
            )
            for (workspace_id, kind), values in _grouped(((w, k), v) for w, k, v in keys).items()
        )
    )


def _grouped(pairs: Iterable[tuple[_K, _T]]) -> dict[_K, set[_T]]:
    groups: dict[_K, set[_T]] = {}
    for key, value in pairs:
        groups.setdefault(key, set()).add(value)
    return groups


def _bucketed(values: set[_T]) -> list[_T]:
    """The values, padded by repeating one to a power-of-two count. An IN list of every
    length is a statement of its own; in buckets, a few prepared statements serve all
    batch sizes instead of one PREPARE per batch."""
    items = list(values)
    size = 1 << max(0, len(items) - 1).bit_length()
    return items + items[-1:] * (size - len(items))


def _appended_result(
    inbox: Inbox,
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


def _append(
    inbox: Inbox,
    contact: Contact,
    conversation: Conversation,
    inbound: Inbound,
    now: datetime,
) -> NewMessage:
    """The next message of a conversation (locked by the caller), and what it changes."""
    conversation.last_seq += 1
    message = NewMessage(
        id=new_id(),
        workspace_id=inbox.workspace_id,
        conversation_id=conversation.id,
        inbox_id=inbox.id,
        seq=conversation.last_seq,
        direction=Direction.event if inbound.is_event else Direction.inbound,
        sender_kind=SenderKind.contact,
        sender_id=contact.id,
        type=MessageType.event if inbound.is_event else inbound.type,
        body=inbound.body,
        attachments=msgspec.to_builtins(list(inbound.attachments)),
        channel_message_id=inbound.channel_message_id,
        client_message_id=inbound.client_message_id,
        delivery_status=DeliveryStatus.delivered,
        created_at=now,
    )
    conversation.updated_at = now
    if not inbound.is_event:
        conversation.last_message_at = now
        conversation.last_inbound_at = now
        if conversation.status == ConversationStatus.pending:
            conversation.status = ConversationStatus.open
    _apply_facts(conversation, inbound)
    return message


async def _find_duplicate(
    session: AsyncSession, inbox: Inbox, inbound: Inbound
) -> IngestResult | None:
    keys = []
    if inbound.channel_message_id:
        keys.append(Message.channel_message_id == inbound.channel_message_id)
    if inbound.client_message_id:
        keys.append(Message.client_message_id == inbound.client_message_id)
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
    session: AsyncSession, inbox: Inbox, inbound: Inbound, now: datetime
) -> tuple[Contact, ContactIdentity]:
    """Find the person by any identity they came with; create them on first contact.
    Identities the person is newly seen with are linked to the same contact."""
    wanted = [inbound.identity, *inbound.also_known_as]
    found = (
        await session.execute(
            sa.select(ContactIdentity, Contact)
            .join(Contact, Contact.id == ContactIdentity.contact_id)
            .where(_identities_matching({(inbox.workspace_id, i.kind, i.value) for i in wanted}))
        )
    ).all()
    by_key = {(row.kind, row.value): row for row, _ in found}
    owners = {row.kind + "\0" + row.value: owner for row, owner in found}
    primary_key = inbound.identity.kind + "\0" + inbound.identity.value
    contact: Contact | None = owners.get(primary_key) or (found[0][1] if found else None)
    if contact is not None:
        while contact is not None and contact.merged_into_id is not None:
            contact = await session.get(Contact, contact.merged_into_id)
    if contact is None:
        contact = Contact(workspace_id=inbox.workspace_id, created_at=now, updated_at=now)
        session.add(contact)
        await session.flush()
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
    await session.flush()
    apply_contact_facts(contact, inbound.contact, now)
    return contact, by_key[(inbound.identity.kind, inbound.identity.value)]


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


async def _recently_resolved(
    session: AsyncSession, inbox: Inbox, contact: Contact, kefu: Kefu, now: datetime
) -> Conversation | None:
    since = now - timedelta(hours=kefu.settings.reopen_window_hours)
    return await session.scalar(
        sa.select(Conversation)
        .where(
            Conversation.inbox_id == inbox.id,
            Conversation.contact_id == contact.id,
            Conversation.status == ConversationStatus.resolved,
            Conversation.resolved_at >= since,
        )
        .order_by(Conversation.resolved_at.desc())
        .limit(1)
        .with_for_update()
    )


PENDING_ENTRY_POINT = "pending_entry_point"


def _new_conversation(
    inbox: Inbox, contact: Contact, inbound: Inbound, now: datetime
) -> Conversation:
    facts = inbound.facts
    pending = (contact.attributes or {}).get(PENDING_ENTRY_POINT)
    if pending is not None:
        contact.attributes = {
            k: v for k, v in contact.attributes.items() if k != PENDING_ENTRY_POINT
        }
    return Conversation(
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


def _log(
    session: AsyncSession,
    conversation: Conversation,
    type_: str,
    actor_kind: SenderKind | str,
    actor_id: uuid.UUID | None,
    data: dict[str, object],
) -> None:
    session.add(
        ConversationEventRow(
            workspace_id=conversation.workspace_id,
            conversation_id=conversation.id,
            type=type_,
            actor_kind=str(actor_kind),
            actor_id=actor_id,
            data=data,
        )
    )


log_event = _log


# ---------------------------------------------------------------------------
# what agents (and the bot) do


async def load_conversation(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    conversation_id: uuid.UUID,
    *,
    lock: bool = False,
) -> Conversation:
    return await one_in_workspace(
        session, Conversation, workspace_id, conversation_id, "conversation", lock=lock
    )


async def reply(
    kefu: Kefu,
    conversation_id: uuid.UUID,
    actor: Actor,
    body: str,
    *,
    note: bool = False,
    type: MessageType = MessageType.text,
    attachments: tuple[Attachment, ...] = (),
    client_message_id: str | None = None,
) -> MessageView:
    """Record a reply (committed as `pending` with an outbox job, so it is never lost) or
    an internal note (never sent to the customer)."""
    if not body.strip() and not attachments:
        raise Invalid("a message needs a body or an attachment")
    events: list[Event] = []
    async with kefu.db.transaction() as session:
        conversation = await load_conversation(
            session, actor.workspace_id, conversation_id, lock=True
        )
        if client_message_id:
            existing = await session.scalar(
                sa.select(Message).where(
                    Message.inbox_id == conversation.inbox_id,
                    Message.client_message_id == client_message_id,
                )
            )
            if existing is not None:
                from kefu.conversations.views import message_view

                return message_view(existing, actor.name)
        now = utcnow()
        conversation.last_seq += 1
        message = Message(
            workspace_id=conversation.workspace_id,
            conversation_id=conversation.id,
            inbox_id=conversation.inbox_id,
            seq=conversation.last_seq,
            direction=Direction.note if note else Direction.outbound,
            sender_kind=actor.kind,
            sender_id=actor.user_id,
            type=type,
            body=body,
            attachments=msgspec.to_builtins(list(attachments)),
            client_message_id=client_message_id,
            delivery_status=DeliveryStatus.sent if note else DeliveryStatus.pending,
            created_at=now,
        )
        session.add(message)
        await session.flush()
        conversation.updated_at = now
        if not note:
            conversation.last_message_at = now
            session.add(
                OutboxJob(
                    workspace_id=conversation.workspace_id,
                    message_id=message.id,
                    conversation_id=conversation.id,
                    inbox_id=conversation.inbox_id,
                    next_attempt_at=now,
                    created_at=now,
                )
            )
            if actor.kind == SenderKind.agent:
                if conversation.first_response_at is None:
                    conversation.first_response_at = now
                    _log(session, conversation, "first_reply", actor.kind, actor.user_id, {})
                if conversation.assignee_id is None:
                    # Answering an unassigned conversation takes it, as every desk does.
                    conversation.assignee_id = actor.user_id
                    conversation.assigned_at = now
                    conversation.status = ConversationStatus.open
                    _log(
                        session,
                        conversation,
                        "assigned",
                        actor.kind,
                        actor.user_id,
                        {"assignee_id": str(actor.user_id), "reason": "replied"},
                    )
                    events.append(conversation_event(conversation, "assigned"))
                elif conversation.status == ConversationStatus.queued:
                    conversation.status = ConversationStatus.open
        else:
            _log(
                session,
                conversation,
                "note",
                actor.kind,
                actor.user_id,
                {"message_id": str(message.id)},
            )
        event = message_event(message, actor.name)
    kefu.events.publish(event)
    for extra in events:
        kefu.events.publish(extra)
    if not note:
        kefu.outbox_wakeup.set()
    assert event.message is not None
    return event.message


async def change_status(
    kefu: Kefu,
    conversation_id: uuid.UUID,
    actor: Actor,
    status: ConversationStatus,
    *,
    snoozed_until: datetime | None = None,
) -> Conversation:
    """Resolve, reopen, snooze (pending) or return a bot conversation to the queue."""
    async with kefu.db.transaction() as session:
        conversation = await load_conversation(
            session, actor.workspace_id, conversation_id, lock=True
        )
        now = utcnow()
        before = conversation.status
        if before == status:
            raise Conflict(f"conversation is already {status}")
        conversation.status = status
        conversation.updated_at = now
        change = {
            ConversationStatus.resolved: "resolved",
            ConversationStatus.pending: "snoozed",
        }.get(status, "reopened" if before == ConversationStatus.resolved else "status")
        if status == ConversationStatus.resolved:
            conversation.resolved_at = now
            conversation.snoozed_until = None
        elif status == ConversationStatus.pending:
            conversation.snoozed_until = snoozed_until
        elif before in (ConversationStatus.resolved, ConversationStatus.bot):
            conversation.resolved_at = None
            if conversation.assignee_id is None or status == ConversationStatus.queued:
                conversation.status = ConversationStatus.queued
                conversation.assignee_id = None
                await routing.route(session, conversation, now)
            else:
                conversation.status = ConversationStatus.open
        _log(
            session,
            conversation,
            change,
            actor.kind,
            actor.user_id,
            {"from": before, "to": conversation.status},
        )
        event = conversation_event(conversation, change)
    kefu.events.publish(event)
    if status == ConversationStatus.resolved:
        kefu.spawn(_assign_waiting(kefu, conversation.workspace_id))
    return conversation


async def assign(
    kefu: Kefu,
    conversation_id: uuid.UUID,
    actor: Actor,
    *,
    assignee_id: uuid.UUID | None = None,
    group_id: uuid.UUID | None = None,
    note: str | None = None,
    transfer: bool = False,
) -> Conversation:
    """Assign to an agent (or unassign), or transfer to an agent or a group with a note
    that the receiving side sees."""
    if transfer and assignee_id is None and group_id is None:
        raise Invalid("a transfer needs an agent or a group")
    async with kefu.db.transaction() as session:
        conversation = await load_conversation(
            session, actor.workspace_id, conversation_id, lock=True
        )
        now = utcnow()
        if assignee_id is not None:
            agent = await session.scalar(
                sa.select(User).where(
                    User.id == assignee_id,
                    User.workspace_id == actor.workspace_id,
                    User.active.is_(True),
                )
            )
            if agent is None:
                raise Invalid(f"agent {assignee_id} is not in this workspace")
        if group_id is not None:
            await routing.require_group(session, actor.workspace_id, group_id)
        previous = conversation.assignee_id
        if group_id is not None:
            conversation.group_id = group_id
        if assignee_id is not None:
            conversation.assignee_id = assignee_id
            conversation.assigned_at = now
            if conversation.status in (ConversationStatus.queued, ConversationStatus.bot):
                conversation.status = ConversationStatus.open
        elif transfer or assignee_id is None:
            conversation.assignee_id = None
            if conversation.status != ConversationStatus.resolved:
                conversation.status = ConversationStatus.queued
                conversation.queued_at = now
        conversation.updated_at = now
        data: dict[str, object] = {
            "from_assignee_id": str(previous) if previous else None,
            "assignee_id": str(assignee_id) if assignee_id else None,
            "group_id": str(group_id) if group_id else None,
            "note": note,
        }
        change = "transferred" if transfer else "assigned"
        _log(session, conversation, change, actor.kind, actor.user_id, data)
        message_events: list[Event] = []
        if note:
            conversation.last_seq += 1
            message = Message(
                workspace_id=conversation.workspace_id,
                conversation_id=conversation.id,
                inbox_id=conversation.inbox_id,
                seq=conversation.last_seq,
                direction=Direction.note,
                sender_kind=actor.kind,
                sender_id=actor.user_id,
                type=MessageType.text,
                body=note,
                delivery_status=DeliveryStatus.sent,
                created_at=now,
            )
            session.add(message)
            await session.flush()
            message_events.append(message_event(message, actor.name))
        if conversation.assignee_id is None and conversation.status == ConversationStatus.queued:
            await routing.route(session, conversation, now, keep_group=group_id is not None)
        event = conversation_event(conversation, change)
    for e in message_events:
        kefu.events.publish(e)
    kefu.events.publish(event)
    if previous is not None and previous != conversation.assignee_id:
        kefu.spawn(_assign_waiting(kefu, conversation.workspace_id))
    return conversation


async def _assign_waiting(kefu: Kefu, workspace_id: uuid.UUID) -> None:
    for event in await routing.assign_waiting(kefu, workspace_id, utcnow()):
        kefu.events.publish(event)


async def sender_names(
    session: AsyncSession, messages: list[Message]
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


def recipient_of(identity: ContactIdentity) -> Identity:
    return Identity(kind=identity.kind, value=identity.value)
