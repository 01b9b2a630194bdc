"""Reading conversations as an agent sees them: scoped to the workspace and the role."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.conversations.events import message_view
from kefu.conversations.mentions import mentioned
from kefu.conversations.messages import sender_names
from kefu.conversations.schemas import ContactBrief, ConversationOut
from kefu.db.search import contains
from kefu.db.tables import Contact, Conversation, GroupMember, Message
from kefu.errors import Invalid, NotFound
from kefu.i18n import Text
from kefu.model import ChannelKind, ConversationStatus, MessageView, Role
from kefu.people.auth import AuthUser


def visible_to(user: AuthUser) -> sa.ColumnElement[bool]:
    """Admins and supervisors see the whole workspace; an agent sees what is assigned
    to them, the work of their groups, unassigned work of no group, and conversations a
    colleague mentioned them in."""
    in_workspace = Conversation.workspace_id == user.workspace_id
    if user.role in (Role.admin, Role.supervisor):
        return in_workspace
    my_groups = sa.select(GroupMember.group_id).where(GroupMember.user_id == user.id)
    return sa.and_(
        in_workspace,
        sa.or_(
            Conversation.assignee_id == user.id,
            # Their groups' work, whoever serves it: the group view, and helping a colleague.
            Conversation.group_id.in_(my_groups),
            sa.and_(Conversation.assignee_id.is_(None), Conversation.group_id.is_(None)),
            # A colleague asked for them with an @mention in a note.
            mentioned(user.id),
        ),
    )


async def get_visible(
    session: AsyncSession, user: AuthUser, conversation_id: uuid.UUID, *, lock: bool = False
) -> Conversation:
    """The conversation if `user` may see it, else `NotFound` (another workspace's and a
    missing one look the same). `lock`: FOR UPDATE, for an action that changes it."""
    query = sa.select(Conversation).where(Conversation.id == conversation_id, visible_to(user))
    if lock:
        query = query.with_for_update(of=Conversation)
    conversation = await session.scalar(query)
    if conversation is None:
        # No id in the words: agents read this in a toast (e.g. after a transfer).
        raise NotFound(
            Text(
                en="This conversation is not available to you (it may have been transferred).",
                zh="您无权查看此会话（可能已被转接）。",
            )
        )
    return conversation


def last_activity() -> sa.ColumnElement[datetime]:
    """When a conversation last saw a message (its creation if none): the list's order, so
    a reopened conversation with a new message comes back to the top."""
    return sa.func.coalesce(Conversation.last_message_at, Conversation.created_at)


def encode_cursor(conversation: Conversation) -> str:
    at = conversation.last_message_at or conversation.created_at
    raw = f"{at.isoformat()}|{conversation.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, _, cid = raw.partition("|")
        when = datetime.fromisoformat(at)
        return (when if when.tzinfo else when.replace(tzinfo=UTC)), uuid.UUID(cid)
    except ValueError:
        raise Invalid("cursor is not one this API gave out") from None


class Filters(msgspec.Struct, frozen=True, kw_only=True):
    status: list[ConversationStatus] = msgspec.field(default_factory=list)
    assignee: str | None = None  # an agent id, "me" or "none"
    group: uuid.UUID | None = None
    inbox: uuid.UUID | None = None
    channel: ChannelKind | None = None
    label: str | None = None
    q: str | None = None
    contact: uuid.UUID | None = None
    mentioned: bool = False  # only conversations the user was @mentioned in


async def list_conversations(
    session: AsyncSession, user: AuthUser, filters: Filters, cursor: str | None, limit: int
) -> tuple[list[ConversationOut], str | None]:
    query = sa.select(Conversation, Contact).join(Contact, Contact.id == Conversation.contact_id)
    query = query.where(visible_to(user))
    if filters.status:
        query = query.where(Conversation.status.in_([str(s) for s in filters.status]))
    if filters.assignee == "me":
        query = query.where(Conversation.assignee_id == user.id)
    elif filters.assignee == "none":
        query = query.where(Conversation.assignee_id.is_(None))
    elif filters.assignee:
        try:
            query = query.where(Conversation.assignee_id == uuid.UUID(filters.assignee))
        except ValueError:
            raise Invalid("assignee must be an agent id, 'me' or 'none'") from None
    if filters.group:
        query = query.where(Conversation.group_id == filters.group)
    if filters.mentioned:
        query = query.where(mentioned(user.id))
    if filters.inbox:
        query = query.where(Conversation.inbox_id == filters.inbox)
    if filters.channel:
        query = query.where(Conversation.channel == str(filters.channel))
    if filters.contact:
        query = query.where(Conversation.contact_id == filters.contact)
    if filters.q:
        q = filters.q.strip()
        text_match = sa.exists().where(
            Message.conversation_id == Conversation.id, contains(Message.body, q)
        )
        query = query.where(
            sa.or_(
                contains(Contact.name, q),
                contains(Contact.email, q),
                contains(Contact.phone, q),
                text_match,
            )
        )
    activity = last_activity()
    if cursor:
        at, after_id = decode_cursor(cursor)
        query = query.where(
            sa.or_(activity < at, sa.and_(activity == at, Conversation.id < after_id))
        )
    query = query.order_by(activity.desc(), Conversation.id.desc()).limit(limit + 1)
    rows = (await session.execute(query)).all()
    if filters.label:
        # Labels are a short JSON list; filtering in Python keeps one query for both engines.
        rows = [r for r in rows if filters.label in (r[0].labels or [])]
    page = rows[:limit]
    previews = await _previews(session, [c for c, _ in page])
    items = [conversation_out(c, contact, previews.get(c.id)) for c, contact in page]
    next_cursor = encode_cursor(page[-1][0]) if len(rows) > limit and page else None
    return items, next_cursor


async def _previews(
    session: AsyncSession, conversations: list[Conversation]
) -> dict[uuid.UUID, str]:
    keys = [(c.id, c.last_seq) for c in conversations if c.last_seq]
    if not keys:
        return {}
    rows = await session.execute(
        sa.select(Message.conversation_id, Message.body).where(
            sa.tuple_(Message.conversation_id, Message.seq).in_(keys)
        )
    )
    return {cid: body[:200] for cid, body in rows}


def conversation_out(
    conversation: Conversation, contact: Contact, last_message: str | None = None
) -> ConversationOut:
    attributes: dict[str, Any] = dict(conversation.attributes or {})
    return ConversationOut(
        id=conversation.id,
        inbox_id=conversation.inbox_id,
        channel=ChannelKind(conversation.channel),
        status=ConversationStatus(conversation.status),
        priority=conversation.priority,
        group_id=conversation.group_id,
        assignee_id=conversation.assignee_id,
        contact=ContactBrief(
            id=contact.id,
            name=contact.name,
            email=contact.email,
            phone=contact.phone,
            vip_level=contact.vip_level,
            verified=contact.verified,
        ),
        entry_point=conversation.entry_point,
        first_page=conversation.first_page,
        referrer=conversation.referrer,
        language=conversation.language,
        labels=list(conversation.labels or []),
        attributes=attributes,
        last_seq=conversation.last_seq,
        last_message=last_message,
        last_message_at=conversation.last_message_at,
        last_inbound_at=conversation.last_inbound_at,
        first_response_at=conversation.first_response_at,
        resolved_at=conversation.resolved_at,
        snoozed_until=conversation.snoozed_until,
        csat_score=conversation.csat_score,
        csat_comment=conversation.csat_comment,
        created_at=conversation.created_at,
    )


async def messages_page(
    session: AsyncSession,
    conversation: Conversation,
    *,
    after_seq: int = 0,
    before_seq: int | None = None,
    limit: int = 50,
    include_notes: bool = True,
) -> list[MessageView]:
    query = sa.select(Message).where(
        Message.conversation_id == conversation.id,
        Message.workspace_id == conversation.workspace_id,
        Message.seq > after_seq,
    )
    if before_seq is not None:
        # Scrolling back: the `limit` messages just before `before_seq`, oldest first.
        query = query.where(Message.seq < before_seq).order_by(Message.seq.desc())
    else:
        query = query.order_by(Message.seq)
    if not include_notes:
        query = query.where(Message.direction != "note")
    messages = list((await session.scalars(query.limit(limit))).all())
    if before_seq is not None:
        messages.reverse()
    names = await sender_names(session, messages)
    return [message_view(m, names.get(m.sender_id) if m.sender_id else None) for m in messages]
