"""Routing shell (first version, to be replaced by the rules engine + ACD):
a new conversation goes to its inbox's default group and, inside it, to the online
member with the most free capacity; otherwise it waits in the queue."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.context import Kefu
from kefu.conversations.errors import Invalid
from kefu.db.tables import (
    Conversation,
    ConversationEventRow,
    GroupMember,
    Inbox,
    SkillGroup,
    User,
)
from kefu.model import ConversationEvent, ConversationStatus, Presence

ACTIVE = (ConversationStatus.open, ConversationStatus.pending)


def capacity_for(user: User, channel: str) -> int:
    caps = user.capacity or {}
    return int(caps.get(channel, caps.get("*", 0)))


async def require_group(
    session: AsyncSession, workspace_id: uuid.UUID, group_id: uuid.UUID
) -> SkillGroup:
    group = await session.scalar(
        sa.select(SkillGroup).where(
            SkillGroup.id == group_id, SkillGroup.workspace_id == workspace_id
        )
    )
    if group is None:
        raise Invalid(f"skill group {group_id} is not in this workspace")
    return group


async def route(
    session: AsyncSession, conversation: Conversation, now: datetime, *, keep_group: bool = False
) -> None:
    if not keep_group or conversation.group_id is None:
        inbox = await session.get(Inbox, conversation.inbox_id)
        conversation.group_id = inbox.default_group_id if inbox else None
    conversation.status = ConversationStatus.queued
    conversation.queued_at = conversation.queued_at or now
    agent = await _pick_agent(session, conversation)
    if agent is None:
        session.add(_event(conversation, "queued", {"group_id": _s(conversation.group_id)}))
        return
    _assign(session, conversation, agent, now)


async def _pick_agent(session: AsyncSession, conversation: Conversation) -> User | None:
    query = sa.select(User).where(
        User.workspace_id == conversation.workspace_id,
        User.active.is_(True),
        User.presence == Presence.online,
    )
    if conversation.group_id is not None:
        query = query.join(GroupMember, GroupMember.user_id == User.id).where(
            GroupMember.group_id == conversation.group_id
        )
    agents = (await session.scalars(query.order_by(User.id).with_for_update(of=User))).all()
    if not agents:
        return None
    loads = dict(
        (
            await session.execute(
                sa.select(Conversation.assignee_id, sa.func.count())
                .where(
                    Conversation.assignee_id.in_([a.id for a in agents]),
                    Conversation.status.in_(list(ACTIVE)),
                )
                .group_by(Conversation.assignee_id)
            )
        ).all()
    )
    best: tuple[float, User] | None = None
    for agent in agents:
        cap = capacity_for(agent, conversation.channel)
        load = int(loads.get(agent.id, 0))
        if load >= cap:
            continue
        score = load / cap
        if best is None or score < best[0]:
            best = (score, agent)
    return best[1] if best else None


def _assign(session: AsyncSession, conversation: Conversation, agent: User, now: datetime) -> None:
    conversation.assignee_id = agent.id
    conversation.assigned_at = now
    conversation.status = ConversationStatus.open
    agent.last_assigned_at = now
    session.add(
        _event(conversation, "assigned", {"assignee_id": str(agent.id), "reason": "routing"})
    )


async def assign_waiting(
    kefu: Kefu, workspace_id: uuid.UUID, now: datetime
) -> list[ConversationEvent]:
    from kefu.conversations.views import conversation_event

    events: list[ConversationEvent] = []
    async with kefu.db.transaction() as session:
        queued = (
            await session.scalars(
                sa.select(Conversation)
                .where(
                    Conversation.workspace_id == workspace_id,
                    Conversation.status == ConversationStatus.queued,
                )
                .order_by(Conversation.priority.desc(), Conversation.queued_at, Conversation.id)
                .limit(100)
                .with_for_update(skip_locked=True)
            )
        ).all()
        for conversation in queued:
            agent = await _pick_agent(session, conversation)
            if agent is not None:
                _assign(session, conversation, agent, now)
                await session.flush()
                events.append(conversation_event(conversation, "assigned"))
    return events


def _event(conversation: Conversation, type_: str, data: dict[str, object]) -> ConversationEventRow:
    return ConversationEventRow(
        workspace_id=conversation.workspace_id,
        conversation_id=conversation.id,
        type=type_,
        actor_kind="system",
        data=data,
    )


def _s(value: uuid.UUID | None) -> str | None:
    return str(value) if value else None
