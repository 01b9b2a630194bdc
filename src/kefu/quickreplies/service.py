"""Quick replies: who sees which (the team's and one's own), who may change them
(team replies: admins and supervisors; personal ones: their owner), and rendering."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.context import Kefu
from kefu.conversations.queries import get_visible
from kefu.db.search import contains
from kefu.db.tables import Contact, Inbox, Workspace
from kefu.errors import Conflict, Forbidden, NotFound
from kefu.model import Role, utcnow
from kefu.people.auth import AuthUser
from kefu.quickreplies import variables
from kefu.quickreplies.schemas import (
    QuickReplyCreate,
    QuickReplyOut,
    QuickReplyUpdate,
    Rendered,
    Scope,
)
from kefu.quickreplies.tables import QuickReply

LIST_LIMIT = 200


def out(row: QuickReply) -> QuickReplyOut:
    return QuickReplyOut(
        id=row.id,
        shortcut=row.shortcut,
        title=row.title,
        body=row.body,
        scope=Scope.personal if row.owner_id else Scope.team,
        owner_id=row.owner_id,
        updated_at=row.updated_at,
    )


def _visible(user: AuthUser) -> sa.ColumnElement[bool]:
    return sa.and_(
        QuickReply.workspace_id == user.workspace_id,
        sa.or_(QuickReply.owner_id.is_(None), QuickReply.owner_id == user.id),
    )


def _may_change(user: AuthUser, row: QuickReply) -> bool:
    if row.owner_id is None:
        return user.role in (Role.admin, Role.supervisor)
    return row.owner_id == user.id


async def list_replies(kefu: Kefu, user: AuthUser, q: str = "") -> list[QuickReplyOut]:
    """The team's and the user's own replies; `q` matches shortcut, title or text.
    Shortcuts that start with `q` come first: that is what the agent is typing."""
    query = sa.select(QuickReply).where(_visible(user))
    q = q.strip()
    if q:
        query = query.where(
            sa.or_(
                contains(QuickReply.shortcut, q),
                contains(QuickReply.title, q),
                contains(QuickReply.body, q),
            )
        )
    async with kefu.db.session() as session:
        rows = (await session.scalars(query.order_by(QuickReply.shortcut).limit(LIST_LIMIT))).all()
    needle = q.lower()
    ranked = sorted(rows, key=lambda r: (not r.shortcut.lower().startswith(needle), r.shortcut))
    return [out(r) for r in ranked]


async def _load(session: AsyncSession, user: AuthUser, reply_id: uuid.UUID) -> QuickReply:
    row = await session.scalar(
        sa.select(QuickReply).where(QuickReply.id == reply_id, _visible(user))
    )
    if row is None:
        raise NotFound(f"quick reply {reply_id} not found")
    return row


async def _check_unique(
    session: AsyncSession,
    row_id: uuid.UUID | None,
    workspace_id: uuid.UUID,
    owner_id: uuid.UUID | None,
    shortcut: str,
) -> None:
    """A readable 409 before the unique index would answer with a bare conflict."""
    owner = QuickReply.owner_id.is_(None) if owner_id is None else QuickReply.owner_id == owner_id
    query = sa.select(QuickReply.id).where(
        QuickReply.workspace_id == workspace_id, owner, QuickReply.shortcut == shortcut
    )
    if row_id is not None:
        query = query.where(QuickReply.id != row_id)
    if await session.scalar(query) is not None:
        raise Conflict(f"the shortcut /{shortcut} is already taken in this scope")


async def create(kefu: Kefu, user: AuthUser, data: QuickReplyCreate) -> QuickReplyOut:
    if data.scope == Scope.team and user.role not in (Role.admin, Role.supervisor):
        raise Forbidden("only admins and supervisors write team quick replies")
    owner_id = None if data.scope == Scope.team else user.id
    async with kefu.db.transaction() as session:
        await _check_unique(session, None, user.workspace_id, owner_id, data.shortcut)
        now = utcnow()
        row = QuickReply(
            workspace_id=user.workspace_id,
            owner_id=owner_id,
            shortcut=data.shortcut,
            title=data.title,
            body=data.body,
            created_at=now,
            updated_at=now,
        )
        session.add(row)
        await session.flush()
        return out(row)


async def update(
    kefu: Kefu, user: AuthUser, reply_id: uuid.UUID, data: QuickReplyUpdate
) -> QuickReplyOut:
    async with kefu.db.transaction() as session:
        row = await _load(session, user, reply_id)
        if not _may_change(user, row):
            raise Forbidden("only admins and supervisors change team quick replies")
        if data.shortcut is not None and data.shortcut != row.shortcut:
            await _check_unique(session, row.id, row.workspace_id, row.owner_id, data.shortcut)
            row.shortcut = data.shortcut
        if data.title is not None:
            row.title = data.title
        if data.body is not None:
            row.body = data.body
        row.updated_at = utcnow()
        return out(row)


async def delete(kefu: Kefu, user: AuthUser, reply_id: uuid.UUID) -> None:
    async with kefu.db.transaction() as session:
        row = await _load(session, user, reply_id)
        if not _may_change(user, row):
            raise Forbidden("only admins and supervisors delete team quick replies")
        await session.delete(row)


async def render(
    kefu: Kefu, user: AuthUser, reply_id: uuid.UUID, conversation_id: uuid.UUID
) -> Rendered:
    """The reply's text for one conversation the user can see."""
    async with kefu.db.session() as session:
        row = await _load(session, user, reply_id)
        conversation = await get_visible(session, user, conversation_id)
        contact = await session.get(Contact, conversation.contact_id)
        inbox = await session.get(Inbox, conversation.inbox_id)
        workspace = await session.get(Workspace, user.workspace_id)
    values = {
        "contact.name": contact.name if contact else None,
        "contact.email": contact.email if contact else None,
        "contact.phone": contact.phone if contact else None,
        "agent.name": user.name,
        "agent.email": user.email,
        "conversation.id": str(conversation.id),
        "inbox.name": inbox.name if inbox else None,
        "workspace.name": workspace.name if workspace else None,
    }
    body, missing = variables.fill(row.body, values)
    return Rendered(body=body, missing=missing)
