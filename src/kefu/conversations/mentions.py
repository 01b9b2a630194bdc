"""@mentions in internal notes: who is named, remembered per conversation so the
colleague can open it and find it in their Mentions view."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.conversations.tables import ConversationMention
from kefu.db.tables import Conversation, User


def named(body: str, people: Iterable[tuple[uuid.UUID, str]]) -> list[uuid.UUID]:
    """The people whose "@<name>" is in `body`. Names may contain spaces ("@Tom Chen 陈涛"),
    so the longest name wins where one is the start of another."""
    found: list[uuid.UUID] = []
    taken: list[tuple[int, int]] = []
    for user_id, name in sorted(people, key=lambda p: -len(p[1])):
        token = f"@{name}"
        start = body.find(token)
        while start != -1:
            end = start + len(token)
            if not any(a <= start < b for a, b in taken):
                taken.append((start, end))
                found.append(user_id)
                break
            start = body.find(token, end)
    return found


async def record_mentions(
    session: AsyncSession,
    conversation: Conversation,
    message_id: uuid.UUID,
    body: str,
    author_id: uuid.UUID | None,
) -> list[uuid.UUID]:
    """Store who a note mentions (active colleagues of the workspace, not the author);
    returns the newly mentioned ones."""
    if "@" not in body:
        return []
    people = (
        await session.execute(
            sa.select(User.id, User.name).where(
                User.workspace_id == conversation.workspace_id, User.active.is_(True)
            )
        )
    ).all()
    ids = [u for u in named(body, [(p.id, p.name) for p in people]) if u != author_id]
    if not ids:
        return []
    already = set(
        (
            await session.scalars(
                sa.select(ConversationMention.user_id).where(
                    ConversationMention.conversation_id == conversation.id,
                    ConversationMention.user_id.in_(ids),
                )
            )
        ).all()
    )
    fresh = [u for u in ids if u not in already]
    for user_id in fresh:
        session.add(
            ConversationMention(
                conversation_id=conversation.id,
                user_id=user_id,
                workspace_id=conversation.workspace_id,
                message_id=message_id,
            )
        )
    return ids


def mentioned(user_id: uuid.UUID) -> sa.ColumnElement[bool]:
    """Conversations `user_id` was mentioned in."""
    return Conversation.id.in_(
        sa.select(ConversationMention.conversation_id).where(ConversationMention.user_id == user_id)
    )
