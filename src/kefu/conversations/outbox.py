"""The outbox dispatcher: delivers committed replies through their channel's connector.

A job is claimed by setting `locked_until` in a short transaction (on PostgreSQL with
FOR UPDATE SKIP LOCKED, so several processes share the work without waiting on each
other), sent outside any transaction, then finished. A process killed mid-send leaves
a claim that lapses, and another pass sends it again: delivery is at least once, and
the channel message id lets channels that support it drop the repeat."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from datetime import datetime, timedelta

import msgspec
import sqlalchemy as sa

from kefu.connectors.base import DeliveryError
from kefu.context import Kefu
from kefu.conversations import relay
from kefu.conversations.events import log_event, message_event
from kefu.db.tables import ContactIdentity, Conversation, Inbox, Message, OutboxJob, User
from kefu.model import (
    Attachment,
    ChannelKind,
    DeliveryStatus,
    Identity,
    MessageType,
    Outbound,
    utcnow,
)

log = logging.getLogger(__name__)

# How long a claimed job is ours before another process may take it over.
CLAIM_SECONDS = 60
BATCH = 20


def backoff(attempts: int, base: float) -> timedelta:
    return timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), 600))


async def claim(kefu: Kefu, now: datetime, limit: int = BATCH) -> list[list[uuid.UUID]]:
    """Claim due jobs, grouped per conversation in the order they were written. A
    conversation whose earlier reply is still waiting (for a retry, or in another
    process's hands) is left alone: a reply never overtakes an earlier one."""
    async with kefu.db.transaction() as session:
        jobs = (
            await session.scalars(
                sa.select(OutboxJob)
                .where(
                    OutboxJob.state == "pending",
                    OutboxJob.next_attempt_at <= now,
                    sa.or_(OutboxJob.locked_until.is_(None), OutboxJob.locked_until < now),
                )
                .order_by(OutboxJob.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        ).all()
        groups: dict[uuid.UUID, list[OutboxJob]] = {}
        for job in jobs:
            groups.setdefault(job.conversation_id, []).append(job)
        if groups:
            first = {cid: group[0].id for cid, group in groups.items()}
            # PostgreSQL has no min(uuid): find each conversation's earliest pending job by
            # reading the (few) pending ids in order.
            pending = await session.execute(
                sa.select(OutboxJob.conversation_id, OutboxJob.id)
                .where(
                    OutboxJob.state == "pending",
                    OutboxJob.conversation_id.in_(list(groups)),
                )
                .order_by(OutboxJob.id)
            )
            earliest: dict[uuid.UUID, uuid.UUID] = {}
            for conversation_id, job_id in pending:
                earliest.setdefault(conversation_id, job_id)
            for conversation_id, job_id in earliest.items():
                if job_id != first[conversation_id]:
                    del groups[conversation_id]
        for group in groups.values():
            for job in group:
                job.locked_until = now + timedelta(seconds=CLAIM_SECONDS)
                job.attempts += 1
        return [[job.id for job in group] for group in groups.values()]


async def release(kefu: Kefu, job_ids: list[uuid.UUID]) -> None:
    """Give back claims not tried (their conversation's earlier reply did not go out)."""
    if not job_ids:
        return
    async with kefu.db.transaction() as session:
        await session.execute(
            sa.update(OutboxJob)
            .where(OutboxJob.id.in_(job_ids))
            .values(locked_until=None, attempts=OutboxJob.attempts - 1)
        )


class _Job(msgspec.Struct, frozen=True):
    inbox: Inbox
    outbound: Outbound
    # A widget reply due by e-mail that the visitor has read in the widget meanwhile.
    needless: bool = False
    relayed: bool = False


async def _outbound(kefu: Kefu, job_id: uuid.UUID) -> _Job:
    async with kefu.db.session() as session:
        job = await session.get(OutboxJob, job_id)
        assert job is not None
        message = await session.get(Message, job.message_id)
        assert message is not None
        conversation = await session.get(Conversation, message.conversation_id)
        inbox = await session.get(Inbox, job.inbox_id)
        assert conversation is not None and inbox is not None
        identity = (
            await session.get(ContactIdentity, conversation.identity_id)
            if conversation.identity_id
            else None
        )
        sender = await session.get(User, message.sender_id) if message.sender_id else None
        recipient = Identity(identity.kind, identity.value) if identity else Identity("", "")
        body, thread_key = message.body, conversation.thread_key
        relayed = relay.is_relayed(conversation, job)
        if relayed:
            copy = relay.mail_copy(conversation, message.body)
            recipient, body, thread_key = copy.recipient, copy.body, copy.thread_key
        outbound = Outbound(
            message_id=message.id,
            conversation_id=conversation.id,
            inbox_id=inbox.id,
            workspace_id=inbox.workspace_id,
            channel=ChannelKind(inbox.kind),
            recipient=recipient,
            type=MessageType(message.type),
            body=body,
            attachments=tuple(msgspec.convert(message.attachments or [], list[Attachment])),
            thread_key=thread_key,
            sender_name=sender.name if sender else None,
            last_inbound_at=conversation.last_inbound_at,
        )
        needless = relayed and relay.read_meanwhile(message)
        return _Job(inbox, outbound, needless=needless, relayed=relayed)


async def deliver(kefu: Kefu, job_id: uuid.UUID) -> str:
    """Send one claimed job; returns the job's new state."""
    job = await _outbound(kefu, job_id)
    inbox, outbound = job.inbox, job.outbound
    channel_message_id: str | None = None
    error: DeliveryError | None = None
    try:
        if not job.needless:
            connector = kefu.connectors.get(inbox.kind)
            result = await connector.send(inbox, outbound)
            channel_message_id = result.channel_message_id
    except DeliveryError as exc:
        error = exc
        if job.relayed:
            error.reason = f"e-mail to {outbound.recipient.value}: {exc.reason}"
    except Exception as exc:  # a connector bug must not kill the dispatcher
        log.exception("connector %s crashed sending %s", inbox.kind, outbound.message_id)
        error = DeliveryError(f"{type(exc).__name__}: {exc}", retryable=True)
    now = utcnow()
    async with kefu.db.transaction() as session:
        job_row = await session.get(OutboxJob, job_id, with_for_update=True)
        message = await session.get(Message, outbound.message_id)
        assert job_row is not None and message is not None
        if error is None:
            job_row.state = "done"
            job_row.locked_until = None
            if message.delivery_status != DeliveryStatus.read:
                message.delivery_status = DeliveryStatus.sent
            message.failure_reason = None
            if channel_message_id:
                message.channel_message_id = channel_message_id
            if job.relayed and not job.needless:
                conversation = await session.get(Conversation, message.conversation_id)
                assert conversation is not None
                log_event(
                    session,
                    conversation,
                    "reply_emailed",
                    data={"message_id": str(message.id), "to": outbound.recipient.value},
                )
        elif error.retryable and job_row.attempts < kefu.settings.outbox_max_attempts:
            job_row.next_attempt_at = now + backoff(
                job_row.attempts, kefu.settings.outbox_backoff_seconds
            )
            job_row.locked_until = None
            job_row.last_error = error.reason
        else:
            job_row.state = "failed"
            job_row.locked_until = None
            job_row.last_error = error.reason
            message.delivery_status = DeliveryStatus.failed
            message.failure_reason = error.reason
        state = job_row.state
        event = message_event(message, outbound.sender_name)
    if state != "pending":
        kefu.events.publish(event)
    return state


async def dispatch_due(kefu: Kefu, now: datetime | None = None) -> int:
    """One pass: claim what is due and send it, conversations in parallel, each
    conversation's replies one after another. Returns how many jobs were tried."""
    groups = await claim(kefu, now or utcnow())
    tried = await asyncio.gather(*(_deliver_in_order(kefu, group) for group in groups))
    return sum(tried)


async def _deliver_in_order(kefu: Kefu, job_ids: list[uuid.UUID]) -> int:
    for index, job_id in enumerate(job_ids):
        if await deliver(kefu, job_id) == "pending":
            await release(kefu, job_ids[index + 1 :])
            return index + 1
    return len(job_ids)


async def next_due(kefu: Kefu) -> datetime | None:
    async with kefu.db.session() as session:
        due: datetime | None = await session.scalar(
            sa.select(sa.func.min(OutboxJob.next_attempt_at)).where(OutboxJob.state == "pending")
        )
        return due


async def run_dispatcher(kefu: Kefu, stop: asyncio.Event) -> None:
    """Loop until `stop`: send what is due, then sleep until woken by a new reply or
    until the poll interval (which also picks up other processes' work and lapsed claims)."""
    while not stop.is_set():
        try:
            while await dispatch_due(kefu):
                pass
        except Exception:
            log.exception("outbox pass failed; retrying after the poll interval")
        kefu.outbox_wakeup.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                _first(kefu.outbox_wakeup.wait(), stop.wait()),
                timeout=kefu.settings.outbox_poll_seconds,
            )


async def _first(*aws: object) -> None:
    tasks = [asyncio.ensure_future(a) for a in aws]  # type: ignore[call-overload]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for t in tasks:
            t.cancel()


async def mark_bounced(kefu: Kefu, message_id: uuid.UUID, reason: str) -> None:
    """A reply the channel accepted came back undeliverable (an e-mail bounce): mark it
    failed with the reason on the agent's timeline."""
    async with kefu.db.transaction() as session:
        message = await session.get(Message, message_id, with_for_update=True)
        if message is None:
            return
        message.delivery_status = DeliveryStatus.failed
        message.failure_reason = reason[:1000]
        event = message_event(message, None)
    kefu.events.publish(event)


# A receipt never moves a reply backwards (callbacks arrive out of order).
_RANK = {
    DeliveryStatus.pending: 0,
    DeliveryStatus.sent: 1,
    DeliveryStatus.delivered: 2,
    DeliveryStatus.read: 3,
    DeliveryStatus.failed: 4,
}


async def record_receipt(
    kefu: Kefu,
    inbox_id: uuid.UUID,
    channel_message_id: str,
    status: DeliveryStatus,
    reason: str | None = None,
) -> bool:
    """A channel's delivery receipt (an SMS status callback) for a reply it accepted,
    found by the id the channel gave it: `delivered`, or `failed` with the reason in
    words, like an e-mail bounce. False when no reply of that inbox has the id."""
    async with kefu.db.transaction() as session:
        message = await session.scalar(
            sa.select(Message)
            .where(
                Message.inbox_id == inbox_id,
                Message.channel_message_id == channel_message_id,
                Message.direction == "out",
            )
            .limit(1)
            .with_for_update()
        )
        if message is None:
            return False
        current = DeliveryStatus(message.delivery_status)
        if _RANK[status] <= _RANK[current]:
            return True
        message.delivery_status = status
        if status == DeliveryStatus.failed:
            message.failure_reason = (reason or "")[:1000] or None
        event = message_event(message, None)
    kefu.events.publish(event)
    return True
