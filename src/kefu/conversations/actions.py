"""What agents (and the bot) do to a conversation: reply, note, assign, transfer, change
status, update labels and priority. Each action is one transaction: the tenancy check,
the change, its event rows and the response are read and written in one session, and
events are published only after commit. Each is a unit of work retried whole on a
deadlock or serialization failure (`kefu.db.retry`), and locks rows in the one order:
contact, then conversation, then agents (docs/architecture.md)."""

from __future__ import annotations

import uuid
from datetime import datetime

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.context import Kefu
from kefu.conversations import relay
from kefu.conversations.events import (
    awaiting_reply,
    conversation_event,
    log_event,
    message_event,
    message_view,
)
from kefu.conversations.locks import lock_in_order
from kefu.conversations.mentions import record_mentions
from kefu.conversations.messages import add_message, next_message
from kefu.conversations.optout import has_opt_out, refuse_if_opted_out
from kefu.conversations.queries import conversation_out, get_visible
from kefu.conversations.schemas import ConversationOut, MailEnvelope
from kefu.db.retry import retrying
from kefu.db.scope import one_in_workspace
from kefu.db.tables import Contact, Conversation, Message, User
from kefu.errors import Conflict, Invalid
from kefu.i18n import Text
from kefu.model import (
    Attachment,
    ConversationStatus,
    DeliveryStatus,
    Direction,
    Event,
    MessageType,
    MessageView,
    SenderKind,
    utcnow,
)
from kefu.people.auth import AuthUser
from kefu.routing import capacity
from kefu.routing.loaders import require_group
from kefu.routing.queue import serve_queue
from kefu.routing.route import route

_STATUS_ZH = {
    ConversationStatus.bot: "机器人接待",
    ConversationStatus.queued: "排队中",
    ConversationStatus.open: "处理中",
    ConversationStatus.pending: "待处理",
    ConversationStatus.resolved: "已解决",
}


class Actor(msgspec.Struct, frozen=True, kw_only=True):
    """Who acts on a conversation: an agent (user), the bot or the system. `viewer` is
    the signed-in user an action is taken for (the HTTP API sets it): the conversation
    must then be visible to them, not only in their workspace."""

    workspace_id: uuid.UUID
    kind: SenderKind
    user_id: uuid.UUID | None = None
    name: str | None = None
    viewer: AuthUser | None = None


def actor_of(user: AuthUser) -> Actor:
    return Actor(
        workspace_id=user.workspace_id,
        kind=SenderKind.agent,
        user_id=user.id,
        name=user.name,
        viewer=user,
    )


async def load_conversation(
    session: AsyncSession,
    actor: Actor,
    conversation_id: uuid.UUID,
    *,
    lock: bool = False,
) -> Conversation:
    """The conversation an actor may act on: the ONE tenancy check every action makes.
    A signed-in user must be able to see it (`queries.visible_to`); the bot and the
    system act anywhere in their workspace.

    `lock`: the row is locked for a change, in the one lock order — the contact first,
    then the conversation (ingest takes them in that order too), both FOR NO KEY UPDATE
    so inserts that only reference them (messages, events) are never blocked."""
    if actor.viewer is not None:
        conversation = await get_visible(session, actor.viewer, conversation_id)
    else:
        conversation = await one_in_workspace(
            session, Conversation, actor.workspace_id, conversation_id, "conversation"
        )
    if lock:
        await lock_in_order(session, conversation)
    return conversation


async def _out(session: AsyncSession, conversation: Conversation) -> ConversationOut:
    contact = await session.get(Contact, conversation.contact_id)
    assert contact is not None
    return conversation_out(conversation, contact)


@retrying
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
    override_capacity: bool = False,
    take: bool = True,
) -> MessageView:
    """Record a reply (committed as `pending` with an outbox job, so it is never lost) or
    an internal note (never sent to the customer). An agent's reply to an unassigned
    conversation takes it, within their capacity unless `override_capacity`; `take`
    False sends without taking (a ticket's progress notice, written on the ticket)."""
    _check_override(actor, override_capacity)
    events: list[Event] = []
    async with kefu.db.transaction() as session:
        # Seen first, then validated: another workspace's id answers 404, whatever the body.
        conversation = await load_conversation(session, actor, conversation_id, lock=True)
        if not body.strip() and not attachments:
            raise Invalid("a message needs a body or an attachment")
        if not note and has_opt_out(kefu, conversation.channel):
            await refuse_if_opted_out(session, conversation, actor.kind)
        if client_message_id:
            existing = await session.scalar(
                sa.select(Message).where(
                    Message.conversation_id == conversation.id,
                    Message.direction.in_((Direction.outbound, Direction.note)),
                    Message.client_message_id == client_message_id,
                )
            )
            if existing is not None:
                return message_view(existing, actor.name)
        now = utcnow()
        # A widget conversation whose visitor left their e-mail may be answered by mail.
        mail = None if note else await relay.relay_of(kefu, conversation)
        message = next_message(
            conversation,
            now,
            direction=Direction.note if note else Direction.outbound,
            sender_kind=actor.kind,
            sender_id=actor.user_id,
            type=type,
            body=body,
            attachments=attachments,
            client_message_id=client_message_id,
            delivery_status=DeliveryStatus.sent if note or mail else DeliveryStatus.pending,
        )
        add_message(session, message)
        await session.flush()
        conversation.updated_at = now
        if not note:
            answers_a_wait = awaiting_reply(conversation)
            conversation.last_message_at = now
            session.add(relay.outbox_job(conversation, message.id, mail, now, client_message_id))
            if actor.kind == SenderKind.agent:
                if conversation.first_response_at is None:
                    conversation.first_response_at = now
                    log_event(session, conversation, "first_reply", actor.kind, actor.user_id)
                elif answers_a_wait:
                    # Every later wait the customer had (reply time); the first is above.
                    log_event(session, conversation, "replied", actor.kind, actor.user_id)
                if conversation.assignee_id is None and actor.user_id is not None and take:
                    # Answering an unassigned conversation takes it, as every desk does,
                    # when the agent has room for it.
                    over = await capacity.ensure_room(
                        session,
                        conversation.workspace_id,
                        actor.user_id,
                        conversation.channel,
                        override=override_capacity,
                        may_override=_may_override(actor),
                    )
                    conversation.assignee_id = actor.user_id
                    conversation.assigned_at = now
                    conversation.status = ConversationStatus.open
                    log_event(
                        session,
                        conversation,
                        "assigned",
                        actor.kind,
                        actor.user_id,
                        {"assignee_id": str(actor.user_id), "reason": "replied", **over},
                    )
                    events.append(conversation_event(conversation, "assigned"))
                elif conversation.status == ConversationStatus.queued and take:
                    conversation.status = ConversationStatus.open
        else:
            named = await record_mentions(session, conversation, message.id, body, actor.user_id)
            log_event(
                session,
                conversation,
                "note",
                actor.kind,
                actor.user_id,
                {"message_id": str(message.id), "mentioned": [str(u) for u in named]},
            )
            if named:
                events.append(conversation_event(conversation, "mentioned", mentioned=named))
        event = message_event(message, actor.name)
    kefu.events.publish(event)
    for extra in events:
        kefu.events.publish(extra)
    if not note:
        kefu.outbox_wakeup.set()
    assert event.message is not None
    return event.message


@retrying
async def change_status(
    kefu: Kefu,
    conversation_id: uuid.UUID,
    actor: Actor,
    status: ConversationStatus,
    *,
    snoozed_until: datetime | None = None,
) -> ConversationOut:
    """Resolve, reopen, snooze (pending) or return a bot conversation to the queue."""
    async with kefu.db.transaction() as session:
        conversation = await load_conversation(session, actor, conversation_id, lock=True)
        now = utcnow()
        before = conversation.status
        if before == status:
            raise Conflict(
                Text(
                    en=f"The conversation is already {status}.",
                    zh=f"会话已是「{_STATUS_ZH[status]}」状态。",
                )
            )
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
                await route(
                    session,
                    conversation,
                    now,
                    from_bot=before == ConversationStatus.bot,
                    rejoin=True,
                )
            else:
                conversation.status = ConversationStatus.open
        log_event(
            session,
            conversation,
            change,
            actor.kind,
            actor.user_id,
            {"from": before, "to": conversation.status},
        )
        event = conversation_event(conversation, change)
        out = await _out(session, conversation)
    kefu.events.publish(event)
    if status == ConversationStatus.resolved:
        kefu.spawn(serve_queue(kefu, conversation.workspace_id))
    return out


@retrying
async def assign(
    kefu: Kefu,
    conversation_id: uuid.UUID,
    actor: Actor,
    *,
    assignee_id: uuid.UUID | None = None,
    group_id: uuid.UUID | None = None,
    note: str | None = None,
    transfer: bool = False,
    override_capacity: bool = False,
) -> ConversationOut:
    """Assign to an agent (or unassign), or transfer to an agent or a group with a note
    that the receiving side sees. Giving it to an agent respects their capacity unless
    an admin or supervisor passes `override_capacity`."""
    _check_override(actor, override_capacity)
    async with kefu.db.transaction() as session:
        conversation = await load_conversation(session, actor, conversation_id, lock=True)
        if transfer and assignee_id is None and group_id is None:
            raise Invalid("a transfer needs an agent or a group")
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
                raise Invalid(
                    Text(en="That agent is not in this workspace.", zh="该客服不在本工作区。")
                )
        over: dict[str, object] = {}
        if assignee_id is not None and capacity.adds_load(conversation, assignee_id):
            over = await capacity.ensure_room(
                session,
                actor.workspace_id,
                assignee_id,
                conversation.channel,
                override=override_capacity,
                may_override=_may_override(actor),
            )
        if group_id is not None:
            await require_group(session, actor.workspace_id, group_id)
        previous = conversation.assignee_id
        before = conversation.status
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
            **over,
        }
        change = "transferred" if transfer else "assigned"
        log_event(session, conversation, change, actor.kind, actor.user_id, data)
        message_events: list[Event] = []
        if note:
            message = next_message(
                conversation,
                now,
                direction=Direction.note,
                sender_kind=actor.kind,
                sender_id=actor.user_id,
                body=note,
                delivery_status=DeliveryStatus.sent,
            )
            add_message(session, message)
            await session.flush()
            message_events.append(message_event(message, actor.name))
        if conversation.assignee_id is None and conversation.status == ConversationStatus.queued:
            await route(
                session,
                conversation,
                now,
                from_bot=before == ConversationStatus.bot,
                rejoin=True,
                keep_group=group_id is not None,
            )
        event = conversation_event(conversation, change)
        out = await _out(session, conversation)
    for e in message_events:
        kefu.events.publish(e)
    kefu.events.publish(event)
    if previous is not None and previous != conversation.assignee_id:
        kefu.spawn(serve_queue(kefu, conversation.workspace_id))
    return out


@retrying
async def update(
    kefu: Kefu,
    conversation_id: uuid.UUID,
    actor: Actor,
    *,
    labels: list[str] | None = None,
    priority: int | None = None,
    email: MailEnvelope | None = None,
) -> ConversationOut:
    """Labels, priority and an e-mail conversation's envelope, as an agent edits them."""
    async with kefu.db.transaction() as session:
        conversation = await load_conversation(session, actor, conversation_id)
        changes: dict[str, object] = {}
        if labels is not None:
            conversation.labels = sorted(set(labels))
            changes["labels"] = conversation.labels
        if priority is not None:
            conversation.priority = priority
            changes["priority"] = priority
        if email is not None:
            if conversation.channel != "email":
                raise Invalid("only an e-mail conversation has a subject and recipients")
            envelope = {"subject": email.subject.strip(), "to": email.to, "cc": email.cc}
            # A new dict: the JSON column notices reassignment, not mutation.
            conversation.attributes = {**(conversation.attributes or {}), "email": envelope}
            changes["email"] = envelope
        log_event(session, conversation, "updated", actor.kind, actor.user_id, changes)
        return await _out(session, conversation)


def _may_override(actor: Actor) -> bool:
    return actor.viewer is not None and actor.viewer.role in capacity.OVERRIDERS


def _check_override(actor: Actor, override: bool) -> None:
    capacity.check_override(actor.viewer.role if actor.viewer else None, override)
