"""The supervisor board, read in a handful of grouped queries (no per-row lookups),
so it stays cheap when every live event makes a console ask for it again."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.calls.service import calls_now
from kefu.db.tables import Contact, Conversation, ConversationEventRow, SkillGroup, User, Workspace
from kefu.model import ConversationStatus, Role
from kefu.reports import metrics
from kefu.reports.schemas import (
    AgentRow,
    Board,
    InProgressRow,
    QueueRow,
    ServiceLevel,
    Today,
)
from kefu.routing.queue import queue_order

DEFAULT_SERVICE_LEVEL_SECONDS = 30
IN_PROGRESS_LIMIT = 200
WAITING = (ConversationStatus.queued,)
HANDLING = (ConversationStatus.open, ConversationStatus.pending)
# The people a supervisor watches on the board: those who take conversations.
STAFF_ROLES = (Role.agent, Role.supervisor, Role.admin)
PRESENCE_ORDER = {"online": 0, "busy": 1, "away": 2, "offline": 3}


async def build_board(session: AsyncSession, workspace_id: uuid.UUID, now: datetime) -> Board:
    settings = await session.scalar(
        sa.select(Workspace.settings).where(Workspace.id == workspace_id)
    )
    settings = settings or {}
    threshold = int(settings.get("service_level_seconds", DEFAULT_SERVICE_LEVEL_SECONDS))
    if settings.get("timezone"):
        # The workspace's day, the same one the historical reports use.
        from kefu.reports import compute, rollup

        tz = rollup.workspace_timezone(settings)
        day_start = rollup.day_bounds(compute.local_day(now, tz), tz)[0]
    else:
        day_start = metrics.start_of_day(now, int(settings.get("utc_offset_minutes", 0)))

    groups = {
        g.id: g.name
        for g in (
            await session.scalars(
                sa.select(SkillGroup)
                .where(SkillGroup.workspace_id == workspace_id)
                .order_by(SkillGroup.name)
            )
        ).all()
    }
    return Board(
        generated_at=now,
        queues=await _queues(session, workspace_id, groups, now),
        agents=await _agents(session, workspace_id),
        in_progress=await _in_progress(session, workspace_id, groups),
        service_level=await _service_level(session, workspace_id, day_start, now, threshold),
        today=await _today(session, workspace_id, day_start),
        calls=await calls_now(session, workspace_id, now),
    )


async def _queues(
    session: AsyncSession, workspace_id: uuid.UUID, groups: dict[uuid.UUID, str], now: datetime
) -> list[QueueRow]:
    waiting_since = sa.func.coalesce(Conversation.queued_at, Conversation.created_at)
    rows = (
        await session.execute(
            sa.select(Conversation.group_id, sa.func.count(), sa.func.min(waiting_since))
            .where(Conversation.workspace_id == workspace_id, Conversation.status.in_(WAITING))
            .group_by(Conversation.group_id)
        )
    ).all()
    found: dict[uuid.UUID | None, tuple[int, datetime | None]] = {
        group_id: (count, _aware(oldest)) for group_id, count, oldest in rows
    }
    # Every group shows, empty or not, so the board's rows do not jump around.
    result: list[QueueRow] = []
    for group_id, name in groups.items():
        count, oldest = found.pop(group_id, (0, None))
        result.append(_queue_row(group_id, name, count, oldest, now))
    for other_id, (count, oldest) in found.items():
        result.append(_queue_row(other_id, None, count, oldest, now))
    return result


def _queue_row(
    group_id: uuid.UUID | None, name: str | None, count: int, oldest: datetime | None, now: datetime
) -> QueueRow:
    wait = metrics.longest_wait_seconds([oldest] if oldest else [], now)
    return QueueRow(group_id=group_id, group_name=name, queued=count, longest_wait_seconds=wait)


def _aware(value: datetime | None) -> datetime | None:
    """min() over a UTC column comes back naive on SQLite (the column type is bypassed)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        from datetime import UTC

        return value.replace(tzinfo=UTC)
    return value


async def _agents(session: AsyncSession, workspace_id: uuid.UUID) -> list[AgentRow]:
    load = (
        sa.select(Conversation.assignee_id, sa.func.count().label("n"))
        .where(Conversation.workspace_id == workspace_id, Conversation.status.in_(HANDLING))
        .group_by(Conversation.assignee_id)
        .subquery()
    )
    rows = (
        await session.execute(
            sa.select(User, sa.func.coalesce(load.c.n, 0))
            .outerjoin(load, load.c.assignee_id == User.id)
            .where(
                User.workspace_id == workspace_id,
                User.active.is_(True),
                User.role.in_([str(r) for r in STAFF_ROLES]),
            )
            .order_by(User.name)
        )
    ).all()
    rows_kept = [
        AgentRow(
            id=user.id,
            name=user.name,
            role=user.role,
            presence=user.presence,
            presence_since=user.presence_changed_at,
            load=int(n),
            capacity=metrics.capacity_of(user.capacity),
        )
        for user, n in rows
        # Admins and supervisors who hold no conversations are watchers, not agents.
        if user.role == Role.agent or n
    ]
    # Grouped by presence, the ones who can take work first; by name within a group.
    return sorted(rows_kept, key=lambda a: (PRESENCE_ORDER.get(a.presence, 9), a.name))


async def _in_progress(
    session: AsyncSession, workspace_id: uuid.UUID, groups: dict[uuid.UUID, str]
) -> list[InProgressRow]:
    assignee = sa.orm.aliased(User)
    rows = (
        await session.execute(
            sa.select(Conversation, Contact.name, assignee.name)
            .join(Contact, Contact.id == Conversation.contact_id)
            .outerjoin(assignee, assignee.id == Conversation.assignee_id)
            .where(
                Conversation.workspace_id == workspace_id,
                Conversation.status.in_([*WAITING, *HANDLING]),
            )
            # Queued before handling ("queued" sorts after "pending" and "open"), each in
            # the queue's own order, so the cut at the limit keeps the head of the line.
            .order_by(Conversation.status.desc(), *queue_order())
            .limit(IN_PROGRESS_LIMIT)
        )
    ).all()
    result = []
    for c, contact_name, assignee_name in rows:
        since = (
            (c.queued_at if c.status == ConversationStatus.queued else c.assigned_at)
            or c.queued_at
            or c.created_at
        )
        result.append(
            InProgressRow(
                conversation_id=c.id,
                contact_name=contact_name,
                channel=c.channel,
                status=c.status,
                priority=c.priority,
                assignee_id=c.assignee_id,
                assignee_name=assignee_name,
                group_id=c.group_id,
                group_name=groups.get(c.group_id) if c.group_id else None,
                since=since,
            )
        )
    # Queued first (the ones a supervisor may act on), then the longest-running.
    result.sort(key=lambda r: (r.status != ConversationStatus.queued, -r.priority, r.since))
    return result


async def _service_level(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    day_start: datetime,
    now: datetime,
    threshold: int,
) -> ServiceLevel:
    """From the events log alone: a conversation's `created` event against its
    `first_reply` event."""
    created = sa.orm.aliased(ConversationEventRow)
    replied = (
        sa.select(
            ConversationEventRow.conversation_id,
            sa.func.min(ConversationEventRow.created_at).label("at"),
        )
        .where(
            ConversationEventRow.workspace_id == workspace_id,
            ConversationEventRow.type == "first_reply",
        )
        .group_by(ConversationEventRow.conversation_id)
        .subquery()
    )
    rows = (
        await session.execute(
            sa.select(created.created_at, replied.c.at)
            .outerjoin(replied, replied.c.conversation_id == created.conversation_id)
            .where(
                created.workspace_id == workspace_id,
                created.type == "created",
                created.created_at >= day_start,
            )
        )
    ).all()
    pairs = [(_aware(a), _aware(r)) for a, r in rows]
    offered, answered = metrics.service_level(
        [(a, r) for a, r in pairs if a is not None], now, threshold
    )
    return ServiceLevel(
        threshold_seconds=threshold,
        offered=offered,
        answered_within=answered,
        ratio=(answered / offered) if offered else None,
    )


async def _today(session: AsyncSession, workspace_id: uuid.UUID, day_start: datetime) -> Today:
    rows = (
        await session.execute(
            sa.select(ConversationEventRow.type, sa.func.count())
            .where(
                ConversationEventRow.workspace_id == workspace_id,
                ConversationEventRow.created_at >= day_start,
                ConversationEventRow.type.in_(["created", "resolved", "transferred"]),
            )
            .group_by(ConversationEventRow.type)
        )
    ).all()
    counts = {t: int(n) for t, n in rows}
    return Today(
        since=day_start,
        created=counts.get("created", 0),
        resolved=counts.get("resolved", 0),
        transferred=counts.get("transferred", 0),
    )
