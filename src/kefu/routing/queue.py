"""The queue: its ONE order, where a waiting conversation stands (position, estimated
wait), overflow of long waits, and `assign_waiting`, which serves the queue when
capacity frees.

Waiting conversations are claimed with FOR UPDATE SKIP LOCKED, so two processes never
assign the same one; agents are locked as `loaders.load_agents` describes.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple, cast

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.context import Kefu
from kefu.conversations.events import LoggedEvent, conversation_event, log_event, record_many
from kefu.db import retry
from kefu.db.tables import Contact, Conversation, GroupMember, User
from kefu.model import ChannelKind, ConversationEvent, ConversationStatus, Presence, utcnow
from kefu.routing import acd
from kefu.routing.loaders import (
    capacity_for,
    last_agents,
    load_agents,
    load_cursors,
    policies_of,
    save_cursors,
)
from kefu.routing.route import OVERFLOWED, leave_message, touch_agents, waited

# How many waiting conversations one assignment pass claims at a time.
BATCH = 500
# Queue-position updates sent per group after a pass (the rest see theirs on next poll).
POSITION_UPDATES = 50
# Handling times older than this no longer predict the wait.
HANDLE_WINDOW = timedelta(days=7)


# ---------------------------------------------------------------------------
# the ONE queue order: higher priority first, then who has waited longest, then id (so
# the order is total and a pass can resume after the last row it claimed)

_QUEUE_KEY: tuple[tuple[Any, bool], ...] = (
    (Conversation.priority, True),  # (column, descending)
    (Conversation.queued_at, False),
    (Conversation.id, False),
)


class QueuePlace(NamedTuple):
    """A place in the queue: the values of the queue key."""

    priority: int
    queued_at: datetime | None
    id: uuid.UUID


def queue_order() -> list[sa.UnaryExpression[Any]]:
    """ORDER BY for conversations in queue order (the board and reports use it too)."""
    return [column.desc() if descending else column.asc() for column, descending in _QUEUE_KEY]


def ahead_of(place: QueuePlace) -> sa.ColumnElement[bool]:
    """Conversations served before `place`."""
    return _beyond(place, ahead=True)


def behind(place: QueuePlace) -> sa.ColumnElement[bool]:
    """Conversations served after `place`."""
    return _beyond(place, ahead=False)


def _beyond(place: QueuePlace, *, ahead: bool) -> sa.ColumnElement[bool]:
    # Lexicographic on the key: k1 beyond, or k1 equal and (k2 beyond, or ...).
    expr: sa.ColumnElement[bool] | None = None
    for (column, descending), value in reversed(list(zip(_QUEUE_KEY, place, strict=True))):
        beyond = column > value if descending == ahead else column < value
        expr = beyond if expr is None else sa.or_(beyond, sa.and_(column == value, expr))
    assert expr is not None
    return expr


def place_of(conversation: Conversation) -> QueuePlace:
    return QueuePlace(conversation.priority or 0, conversation.queued_at, conversation.id)


# ---------------------------------------------------------------------------
# assign_waiting: serve the queue when capacity frees


async def assign_waiting(
    kefu: Kefu, workspace_id: uuid.UUID, now: datetime
) -> list[ConversationEvent]:
    """Move overdue conversations on (overflow), then give waiting conversations to free
    agents in queue order; returns the events to publish (assignments, overflows and
    the new queue positions of the first waiting conversations of each changed group)."""
    events: list[ConversationEvent] = []
    events.extend(await retry.run(lambda: _overflow(kefu, workspace_id, now), what="overflow"))
    touched: set[uuid.UUID | None] = set()
    after: QueuePlace | None = None

    async def serve_batch(
        start: QueuePlace | None,
    ) -> tuple[list[ConversationEvent], QueuePlace] | None:
        """One transaction: claim a batch of waiting conversations and assign what free
        agents can take. Retried on its own, so batches committed before stay served."""
        out: list[ConversationEvent] = []
        async with kefu.db.transaction() as session:
            agents = await load_agents(session, workspace_id, whole_workspace=True)
            if not any(acd.can_take(a, ch) for a in agents for ch in _channels(a)):
                return None
            batch = await _claim_batch(session, workspace_id, start)
            if not batch:
                return None
            last = batch[-1]
            place = QueuePlace(last.priority or 0, last.queued_at or now, last.id)
            policies = await policies_of(session, workspace_id)
            sticky_since = {
                gid: now - timedelta(days=p.sticky_days)
                for gid, p in policies.items()
                if p.sticky_days > 0
            }
            served_by: dict[uuid.UUID, tuple[uuid.UUID, datetime]] = {}
            if sticky_since:
                served_by = await last_agents(
                    session,
                    [c.contact_id for c in batch if c.group_id in sticky_since],
                    min(sticky_since.values()),
                    exclude=[c.id for c in batch],
                )
            requests = [
                acd.Request(
                    conversation_id=c.id,
                    channel=c.channel,
                    group_id=c.group_id,
                    queued_at=c.queued_at or now,
                    priority=c.priority or 0,
                    vip_level=c.vip_level or 0,
                    region=c.region,
                    last_agent_id=served_by.get(c.contact_id, (None, None))[0],
                    last_served_at=served_by.get(c.contact_id, (None, None))[1],
                )
                for c in batch
            ]
            cursors = await load_cursors(session, workspace_id)
            before = dict(cursors)
            plan = acd.plan(requests, agents, policies, now, cursors)
            by_id = {c.id: c for c in batch}
            await _write_assignments(session, workspace_id, plan, by_id, now)
            rr = {g for g, p in policies.items() if p.strategy is acd.Strategy.round_robin}
            await save_cursors(session, workspace_id, before, cursors, now, rr)
            for a in plan:
                group_id = by_id[a.conversation_id].group_id
                out.append(
                    ConversationEvent(
                        workspace_id=workspace_id,
                        conversation_id=a.conversation_id,
                        change="assigned",
                        status=ConversationStatus.open,
                        assignee_id=a.agent_id,
                        group_id=group_id,
                    )
                )
        return out, place

    while True:
        served = await retry.run(functools.partial(serve_batch, after), what="assign_waiting")
        if served is None:
            break
        batch_events, after = served
        for event in batch_events:
            touched.add(event.group_id)
        events.extend(batch_events)
    if touched:
        async with kefu.db.session() as session:
            for group_id in touched:
                for conversation, position in await _queue_head(
                    session, workspace_id, group_id, POSITION_UPDATES
                ):
                    events.append(conversation_event(conversation, "queue_position", position))
    return events


def _channels(agent: acd.AgentState) -> list[str]:
    kinds = [k for k in agent.capacity if k not in ("*", "total")]
    return [*kinds, "*"] if "*" in agent.capacity or not kinds else kinds


class _Waiting(NamedTuple):
    id: uuid.UUID
    contact_id: uuid.UUID
    channel: str
    group_id: uuid.UUID | None
    priority: int | None
    queued_at: datetime | None
    vip_level: int | None
    region: str | None


async def _claim_batch(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    after: QueuePlace | None,
) -> list[_Waiting]:
    """The next waiting conversations in queue order, locked for us and skipped by
    everyone else (SKIP LOCKED): a conversation is never handed out twice."""
    query = (
        sa.select(
            Conversation.id,
            Conversation.contact_id,
            Conversation.channel,
            Conversation.group_id,
            Conversation.priority,
            Conversation.queued_at,
            Contact.vip_level,
            Contact.region,
        )
        .outerjoin(Contact, Contact.id == Conversation.contact_id)
        .where(
            Conversation.workspace_id == workspace_id,
            Conversation.status == ConversationStatus.queued,
            # calls (issue 18): voice conversations wait for their calls (kefu.calls).
            Conversation.channel != ChannelKind.voice.value,
        )
    )
    if after is not None:
        query = query.where(behind(after))
    query = (
        query.order_by(*queue_order())
        .limit(BATCH)
        .with_for_update(skip_locked=True, of=Conversation)
    )
    return [_Waiting(*row) for row in await session.execute(query)]


async def _write_assignments(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    plan: Sequence[acd.Assignment],
    waiting: dict[uuid.UUID, _Waiting],
    now: datetime,
) -> None:
    """One executemany per table instead of an ORM flush per row: this is the hot path
    when a queue of thousands drains."""
    if not plan:
        return
    conversations = cast(sa.Table, Conversation.__table__)
    fields = {"assigned_at": now, "status": ConversationStatus.open.value, "updated_at": now}
    if session.get_bind().dialect.name == "postgresql":
        # One UPDATE ... FROM (VALUES ...) instead of a round trip per row.
        pairs = sa.values(sa.column("cid", sa.Uuid), sa.column("aid", sa.Uuid), name="picked").data(
            [(a.conversation_id, a.agent_id) for a in plan]
        )
        await session.execute(
            sa.update(conversations)
            .where(conversations.c.id == pairs.c.cid)
            .values(assignee_id=pairs.c.aid, **fields)
        )
    else:
        await session.execute(
            sa.update(conversations)
            .where(conversations.c.id == sa.bindparam("b_id"))
            .values(assignee_id=sa.bindparam("b_agent"), **fields),
            [{"b_id": a.conversation_id, "b_agent": a.agent_id} for a in plan],
        )
    logged = []
    for a in plan:
        conversation = waiting[a.conversation_id]
        queued_at = conversation.queued_at
        logged.append(
            LoggedEvent(
                workspace_id=workspace_id,
                conversation_id=a.conversation_id,
                type="assigned",
                data={
                    "assignee_id": str(a.agent_id),
                    "group_id": str(conversation.group_id) if conversation.group_id else None,
                    "reason": a.reason,
                    "waited_seconds": round((now - queued_at).total_seconds(), 3)
                    if queued_at
                    else None,
                },
            )
        )
    await record_many(session, logged, now)
    await touch_agents(session, {a.agent_id for a in plan}, now)


async def _overflow(kefu: Kefu, workspace_id: uuid.UUID, now: datetime) -> list[ConversationEvent]:
    """Conversations that waited longer than their group allows move once to the
    overflow group, or are offered to leave a message."""
    events: list[ConversationEvent] = []
    async with kefu.db.transaction() as session:
        policies = await policies_of(session, workspace_id)
        for group_id, policy in policies.items():
            if group_id is None or not policy.max_wait_seconds:
                continue
            if policy.overflow_group_id is None and not policy.overflow_leave_message:
                continue
            deadline = now - timedelta(seconds=policy.max_wait_seconds)
            overdue = (
                await session.scalars(
                    sa.select(Conversation)
                    .where(
                        Conversation.workspace_id == workspace_id,
                        Conversation.group_id == group_id,
                        Conversation.status == ConversationStatus.queued,
                        Conversation.queued_at <= deadline,
                    )
                    .order_by(Conversation.queued_at)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            for conversation in overdue:
                attributes = conversation.attributes or {}
                waited_seconds = waited(conversation, now)
                target = policy.overflow_group_id
                if target is not None and not attributes.get(OVERFLOWED) and target in policies:
                    conversation.group_id = target
                    conversation.attributes = {**attributes, OVERFLOWED: str(group_id)}
                    conversation.updated_at = now
                    log_event(
                        session,
                        conversation,
                        "overflowed",
                        data={
                            "from_group_id": str(group_id),
                            "group_id": str(target),
                            "waited_seconds": waited_seconds,
                        },
                    )
                    events.append(conversation_event(conversation, "overflowed"))
                elif policy.overflow_leave_message:
                    leave_message(
                        session,
                        conversation,
                        now,
                        {
                            "reason": "max_wait",
                            "group_id": str(group_id),
                            "waited_seconds": waited_seconds,
                        },
                    )
                    events.append(conversation_event(conversation, "leave_message"))
    return events


# ---------------------------------------------------------------------------
# queue position and estimated wait


class QueueStatus(msgspec.Struct, frozen=True, kw_only=True):
    conversation_id: uuid.UUID
    status: ConversationStatus
    group_id: uuid.UUID | None
    # 1 = next to be served; None once the conversation is not waiting.
    position: int | None = None
    estimated_wait_seconds: float | None = None
    online_agents: int = 0


def _same_queue(workspace_id: uuid.UUID, group_id: uuid.UUID | None) -> list[Any]:
    return [
        Conversation.workspace_id == workspace_id,
        Conversation.status == ConversationStatus.queued,
        Conversation.group_id == group_id
        if group_id is not None
        else Conversation.group_id.is_(None),
    ]


async def _queue_head(
    session: AsyncSession, workspace_id: uuid.UUID, group_id: uuid.UUID | None, limit: int
) -> list[tuple[Conversation, int]]:
    rows = (
        await session.scalars(
            sa.select(Conversation)
            .where(*_same_queue(workspace_id, group_id))
            .order_by(*queue_order())
            .limit(limit)
        )
    ).all()
    return [(c, index + 1) for index, c in enumerate(rows)]


async def queue_status(
    session: AsyncSession, conversation: Conversation, now: datetime
) -> QueueStatus:
    """Where a waiting conversation stands and how long it will likely wait, from the
    group's recent handling times and the capacity of its online agents."""
    status = ConversationStatus(conversation.status)
    base = QueueStatus(
        conversation_id=conversation.id, status=status, group_id=conversation.group_id
    )
    if status is not ConversationStatus.queued or conversation.queued_at is None:
        return base
    ahead = await session.scalar(
        sa.select(sa.func.count())
        .select_from(Conversation)
        .where(
            *_same_queue(conversation.workspace_id, conversation.group_id),
            ahead_of(place_of(conversation)),
        )
    )
    position = int(ahead or 0) + 1
    agents = sa.select(User).where(
        User.workspace_id == conversation.workspace_id,
        User.active.is_(True),
        User.presence == Presence.online,
    )
    if conversation.group_id is not None:
        agents = agents.where(
            User.id.in_(
                sa.select(GroupMember.user_id).where(GroupMember.group_id == conversation.group_id)
            )
        )
    online = (await session.scalars(agents)).all()
    slots = sum(capacity_for(u, conversation.channel) for u in online)
    handled = await session.execute(
        sa.select(Conversation.assigned_at, Conversation.resolved_at)
        .where(
            Conversation.workspace_id == conversation.workspace_id,
            Conversation.group_id == conversation.group_id,
            Conversation.channel == conversation.channel,
            Conversation.status == ConversationStatus.resolved,
            Conversation.resolved_at >= now - HANDLE_WINDOW,
            Conversation.assigned_at.is_not(None),
        )
        .order_by(Conversation.resolved_at.desc())
        .limit(200)
    )
    seconds = [
        (resolved - assigned).total_seconds()
        for assigned, resolved in handled
        if assigned is not None and resolved is not None and resolved >= assigned
    ]
    return msgspec.structs.replace(
        base,
        position=position,
        estimated_wait_seconds=acd.estimate_wait(position, seconds, slots),
        online_agents=len(online),
    )


async def serve_queue(kefu: Kefu, workspace_id: uuid.UUID) -> None:
    """Serve the queue now (capacity freed, an agent came online) and publish what
    changed. Meant to run in the background (`kefu.spawn`)."""
    for event in await assign_waiting(kefu, workspace_id, utcnow()):
        kefu.events.publish(event)
