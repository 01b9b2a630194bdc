"""Batch ingest: messages to conversations that are open already, stored together in
one transaction by the group commit (`group_commit.GroupCommit`). What does not fit
that case is declined (`None`) and stored alone by `ingest`."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import sqlalchemy as sa

from kefu.channel_state.inboxes import ChannelInbox, active_inbox
from kefu.context import Kefu
from kefu.conversations.events import LoggedEvent, message_event, record_many, wait_starts
from kefu.conversations.group_commit import GroupCommit
from kefu.conversations.messages import (
    Stored,
    append_inbound,
    appended_result,
    apply_contact_facts,
    bucketed,
    grouped,
    identities_matching,
    insert_messages,
)
from kefu.db.tables import (
    Contact,
    ContactIdentity,
    Conversation,
    NewMessage,
)
from kefu.model import ConversationStatus, Inbound, utcnow

# Senders remembered per process at most; past it the older half is forgotten.
SEEN_MAX = 100_000


def _sender(inbound: Inbound) -> tuple[uuid.UUID, str, str]:
    return (inbound.inbox_id, inbound.identity.kind, inbound.identity.value)


def seen(kefu: Kefu, inbound: Inbound) -> bool:
    """Whether this process has stored a message from this sender to this inbox: a hint
    (a sender stored by another process or before a restart is not known, and is
    simply stored alone once), never a decision the batch relies on."""
    return _sender(inbound) in kefu.ingest_senders


def remember(kefu: Kefu, inbound: Inbound) -> None:
    senders = kefu.ingest_senders
    key = _sender(inbound)
    if key not in senders:
        if len(senders) >= SEEN_MAX:
            for old in list(senders)[: SEEN_MAX // 2]:
                del senders[old]
        senders[key] = None


async def submit(kefu: Kefu, inbound: Inbound) -> Stored | None:
    """Store `inbound` with whatever else arrived meanwhile; `None` if it must be stored
    alone."""
    return await _group_commit(kefu).submit(inbound)


def _group_commit(kefu: Kefu) -> GroupCommit[Inbound, Stored]:
    group = kefu.group_commit
    if group is None:

        async def store(inbounds: Sequence[Inbound]) -> list[Stored | None]:
            return await append_batch(kefu, inbounds)

        # SQLite has one writer, so one batch at a time; under load PostgreSQL overlaps
        # a few, so that one batch's round trips do not idle the next.
        workers = 1 if kefu.db.is_sqlite else 4
        group = GroupCommit(store, batch=kefu.settings.ingest_batch, workers=workers)
        kefu.group_commit = group
    return group


async def append_batch(kefu: Kefu, inbounds: Sequence[Inbound]) -> list[Stored | None]:
    """Append messages to conversations that are open already, in one transaction. What
    does not fit that case (a new contact or identity, no open conversation, a merged
    contact, an unknown inbox) is left `None` for the single path."""
    now = utcnow()
    out: list[Stored | None] = [None] * len(inbounds)
    # Inboxes from this process's copy (kefu.caching), before the transaction begins.
    inboxes: dict[uuid.UUID, ChannelInbox] = {}
    for inbox_id in {i.inbox_id for i in inbounds}:
        view = await active_inbox(kefu, inbox_id)
        if view is not None:
            inboxes[inbox_id] = view
    async with kefu.db.transaction() as session:
        keys = {
            (inboxes[i.inbox_id].workspace_id, ident.kind, ident.value)
            for i in inbounds
            if i.inbox_id in inboxes
            for ident in (i.identity, *i.also_known_as)
        }
        if not keys:
            return out
        # Lock order is contacts, then conversations, each by id, as on the single path
        # and in every action (docs/architecture.md, "One lock order"). FOR NO KEY UPDATE:
        # rows that only reference these (messages, events) are not blocked.
        found = (
            await session.execute(
                sa.select(
                    ContactIdentity.workspace_id,
                    ContactIdentity.kind,
                    ContactIdentity.value,
                    Contact,
                )
                .join(Contact, Contact.id == ContactIdentity.contact_id)
                .where(identities_matching(keys))
                .order_by(Contact.id)
                .with_for_update(of=Contact, key_share=True)
            )
        ).all()
        known = {(workspace_id, kind, value): owner for workspace_id, kind, value, owner in found}
        ready: list[tuple[int, Inbound, ChannelInbox, Contact]] = []
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
                                Conversation.contact_id.in_(bucketed(contacts)),
                            )
                            for inbox_id, contacts in grouped(
                                (inbox.id, contact.id) for _, _, inbox, contact in ready
                            ).items()
                        )
                    ),
                    Conversation.status != ConversationStatus.resolved,
                )
                .order_by(Conversation.id)
                .with_for_update(key_share=True)
            )
        }
        appended: list[tuple[int, ChannelInbox, Contact, Conversation, NewMessage]] = []
        waits: list[LoggedEvent] = []
        for n, inbound, inbox, contact in ready:
            conversation = open_conversations.get((inbox.id, contact.id))
            if conversation is None:
                continue
            apply_contact_facts(contact, inbound.contact, now)
            wait = wait_starts(conversation)
            if wait is not None:
                waits.append(wait)
            message = append_inbound(contact, conversation, inbound, now)
            appended.append((n, inbox, contact, conversation, message))
        if appended:
            await insert_messages(session, [m for *_, m in appended])
        await record_many(session, waits, now)
        await session.flush()
    for n, inbox, contact, conversation, message in appended:
        out[n] = (
            appended_result(inbox, contact, conversation, message),
            [message_event(message, contact.name)],
        )
    return out
