"""Routing shell: loads rules, agents and the queue, asks the pure core (`rules`, `acd`)
and writes the outcome with its events.

Concurrency (PostgreSQL): whoever assigns first locks the rows of the agents it may
choose from, in id order and in ONE statement (FOR NO KEY UPDATE, so foreign-key checks
of other writers are not blocked), and only then counts their load. A second process
choosing among the same agents waits for the first to commit and then counts again, so
nobody is pushed past capacity. Waiting conversations are claimed with FOR UPDATE SKIP
LOCKED, so two processes never assign the same one. Locking one sorted set per
transaction means two routers can never deadlock on agents. On SQLite there is one
writer at a time (BEGIN IMMEDIATE) and the same code runs with the locks left out.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple, cast

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.context import Kefu
from kefu.db.tables import (
    Contact,
    Conversation,
    ConversationEventRow,
    GroupMember,
    Inbox,
    SkillGroup,
    User,
)
from kefu.errors import Invalid
from kefu.model import ConversationEvent, ConversationStatus, Presence, new_id
from kefu.routing import acd
from kefu.routing.hours import Calendar
from kefu.routing.rules import (
    ContactProfile,
    Decision,
    RoutingFacts,
    Rule,
    Target,
    TargetKind,
    evaluate,
)
from kefu.routing.tables import BusinessCalendar, RoutingCursor, RoutingRule

# Conversations that occupy an agent: counted against capacity.
LOAD_STATUSES = (ConversationStatus.open, ConversationStatus.pending)
# How many waiting conversations one assignment pass claims at a time.
BATCH = 500
# Queue-position updates sent per group after a pass (the rest see theirs on next poll).
POSITION_UPDATES = 50
# Handling times older than this no longer predict the wait.
HANDLE_WINDOW = timedelta(days=7)
# Set on a conversation the bot has served, so handing over does not route back to it.
BOT_SERVED = "routing_bot_served"
OVERFLOWED = "routing_overflowed"


def capacity_for(user: User, channel: str) -> int:
    return acd.capacity_for(user.capacity or {}, channel)


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


# ---------------------------------------------------------------------------
# loading what the pure core needs


def rule_of(row: RoutingRule) -> Rule:
    return msgspec.convert(
        {
            "id": row.id,
            "name": row.name,
            "priority": row.priority,
            "enabled": row.enabled,
            "match": row.match,
            "conditions": row.conditions or [],
            "target": row.target,
            "set_priority": row.set_priority,
        },
        Rule,
        strict=False,
    )


def calendar_of(row: BusinessCalendar) -> Calendar:
    return msgspec.convert(
        {"timezone": row.timezone, "weekly": row.weekly or {}, "special_days": row.special_days},
        Calendar,
        strict=False,
    )


async def load_rules(session: AsyncSession, workspace_id: uuid.UUID) -> list[Rule]:
    rows = await session.scalars(
        sa.select(RoutingRule).where(RoutingRule.workspace_id == workspace_id)
    )
    return [rule_of(row) for row in rows]


async def load_calendars(
    session: AsyncSession, workspace_id: uuid.UUID
) -> dict[uuid.UUID, Calendar]:
    rows = await session.scalars(
        sa.select(BusinessCalendar).where(BusinessCalendar.workspace_id == workspace_id)
    )
    return {row.id: calendar_of(row) for row in rows}


def facts_of(conversation: Conversation, contact: Contact | None) -> RoutingFacts:
    profile = ContactProfile()
    if contact is not None:
        profile = ContactProfile(
            region=contact.region,
            gender=contact.gender,
            age=contact.age,
            vip_level=contact.vip_level or 0,
            tags=[str(t) for t in contact.tags or []],
            language=contact.language,
            verified=contact.verified,
            attributes=dict(contact.attributes or {}),
        )
    return RoutingFacts(
        channel=conversation.channel,
        inbox_id=conversation.inbox_id,
        entry_point=conversation.entry_point,
        page_url=conversation.first_page,
        referrer=conversation.referrer,
        language=conversation.language,
        contact=profile,
        attributes=dict(conversation.attributes or {}),
    )


async def decide(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    inbox_id: uuid.UUID | None,
    facts: RoutingFacts,
    now: datetime,
    *,
    skip_bot: bool = False,
) -> Decision:
    fallback_group = None
    if inbox_id is not None:
        fallback_group = await session.scalar(
            sa.select(Inbox.default_group_id).where(
                Inbox.id == inbox_id, Inbox.workspace_id == workspace_id
            )
        )
    fallback = Target(kind=TargetKind.group, group_id=fallback_group)
    return evaluate(
        await load_rules(session, workspace_id),
        facts,
        now,
        await load_calendars(session, workspace_id),
        fallback,
        skip_kinds=frozenset({TargetKind.bot}) if skip_bot else frozenset(),
    )


async def policies_of(
    session: AsyncSession, workspace_id: uuid.UUID
) -> dict[uuid.UUID | None, acd.GroupPolicy]:
    rows = await session.execute(
        sa.select(SkillGroup.id, SkillGroup.strategy, SkillGroup.settings).where(
            SkillGroup.workspace_id == workspace_id
        )
    )
    return {
        gid: acd.GroupPolicy.from_group(strategy, settings or {})
        for gid, strategy, settings in rows
    }


async def load_agents(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    *,
    group_id: uuid.UUID | None = None,
    whole_workspace: bool = False,
    also: Iterable[uuid.UUID] = (),
    lock: bool = True,
    online_only: bool = True,
) -> list[acd.AgentState]:
    """Lock (unless `lock` is False: explain only reads) and load the online agents who
    may receive work, with their group memberships and current load. One statement, in
    id order: see the module docstring."""
    # Plain rows, not ORM objects: cheaper, and always the values as locked.
    query = sa.select(
        User.id,
        User.presence,
        User.capacity,
        User.region,
        User.last_assigned_at,
        User.presence_changed_at,
    ).where(User.workspace_id == workspace_id, User.active.is_(True))
    if online_only:
        query = query.where(User.presence == Presence.online)
    extra = [a for a in also if a is not None]
    if not whole_workspace and group_id is not None:
        members = sa.select(GroupMember.user_id).where(GroupMember.group_id == group_id)
        query = query.where(sa.or_(User.id.in_(members), User.id.in_(extra)))
    query = query.order_by(User.id)
    if lock:
        query = query.with_for_update(key_share=True)
    users = (await session.execute(query)).all()
    if not users:
        return []
    ids = [u.id for u in users]
    # When every agent is loaded anyway, filtering by workspace beats a long IN list of
    # ids; for one group, the ids keep the load count to that group's conversations.
    many = whole_workspace and len(ids) > 50
    member_rows = sa.select(GroupMember.group_id, GroupMember.user_id)
    member_rows = member_rows.where(
        GroupMember.workspace_id == workspace_id if many else GroupMember.user_id.in_(ids)
    )
    groups: dict[uuid.UUID, set[uuid.UUID]] = defaultdict(set)
    for gid, uid in await session.execute(member_rows):
        groups[uid].add(gid)
    load_rows = (
        sa.select(Conversation.assignee_id, Conversation.channel, sa.func.count())
        .where(
            Conversation.workspace_id == workspace_id,
            Conversation.status.in_([str(s) for s in LOAD_STATUSES]),
            Conversation.assignee_id.is_not(None) if many else Conversation.assignee_id.in_(ids),
        )
        .group_by(Conversation.assignee_id, Conversation.channel)
    )
    load: dict[uuid.UUID, dict[str, int]] = defaultdict(dict)
    for assignee, channel, count in await session.execute(load_rows):
        if assignee is not None:
            load[assignee][channel] = int(count)
    return [
        acd.AgentState(
            id=u.id,
            presence=u.presence,
            capacity=dict(u.capacity or {}),
            load=load.get(u.id, {}),
            region=u.region,
            last_assigned_at=u.last_assigned_at,
            online_since=u.presence_changed_at,
            groups=frozenset(groups.get(u.id, set())),
        )
        for u in users
    ]


async def last_agents(
    session: AsyncSession,
    contact_ids: Sequence[uuid.UUID],
    since: datetime,
    exclude: Iterable[uuid.UUID] = (),
) -> dict[uuid.UUID, tuple[uuid.UUID, datetime]]:
    """For sticky routing: who last served each contact (since `since`), and when."""
    if not contact_ids:
        return {}
    rows = await session.execute(
        sa.select(
            Conversation.contact_id, Conversation.assignee_id, Conversation.assigned_at
        ).where(
            Conversation.contact_id.in_(list(contact_ids)),
            Conversation.assignee_id.is_not(None),
            Conversation.assigned_at >= since,
            Conversation.id.not_in(list(exclude)) if exclude else sa.true(),
        )
    )
    last: dict[uuid.UUID, tuple[uuid.UUID, datetime]] = {}
    for contact_id, assignee_id, assigned_at in rows:
        if assignee_id is None or assigned_at is None:
            continue
        if contact_id not in last or assigned_at > last[contact_id][1]:
            last[contact_id] = (assignee_id, assigned_at)
    return last


async def _cursors(
    session: AsyncSession, workspace_id: uuid.UUID
) -> dict[uuid.UUID | None, uuid.UUID]:
    rows = await session.execute(
        sa.select(RoutingCursor.group_id, RoutingCursor.last_agent_id).where(
            RoutingCursor.workspace_id == workspace_id
        )
    )
    return {gid: aid for gid, aid in rows if aid is not None}


async def _save_cursors(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    before: dict[uuid.UUID | None, uuid.UUID],
    after: dict[uuid.UUID | None, uuid.UUID],
    now: datetime,
    round_robin: set[uuid.UUID | None],
) -> None:
    for group_id, agent_id in after.items():
        if group_id is None or group_id not in round_robin or before.get(group_id) == agent_id:
            continue
        values = {
            "group_id": group_id,
            "workspace_id": workspace_id,
            "last_agent_id": agent_id,
            "updated_at": now,
        }
        dialect = session.bind.dialect.name if session.bind else "sqlite"
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            pg = pg_insert(RoutingCursor).values(values)
            await session.execute(
                pg.on_conflict_do_update(
                    index_elements=[RoutingCursor.group_id],
                    set_={"last_agent_id": agent_id, "updated_at": now},
                )
            )
        else:
            from sqlalchemy.dialects.sqlite import insert as lite_insert

            lite = lite_insert(RoutingCursor).values(values)
            await session.execute(
                lite.on_conflict_do_update(
                    index_elements=[RoutingCursor.group_id],
                    set_={"last_agent_id": agent_id, "updated_at": now},
                )
            )


# ---------------------------------------------------------------------------
# route: one conversation, inside the caller's transaction


async def route(
    session: AsyncSession, conversation: Conversation, now: datetime, *, keep_group: bool = False
) -> None:
    """Decide who serves a conversation that was just opened, reopened or handed over
    (by the bot or by a transfer to a group: `keep_group`), and assign it at once if an
    agent can take it; otherwise it waits in the queue. Runs inside the caller's
    transaction and only adds rows; the caller publishes after commit."""
    # Handed over by the bot (status bot -> queued in this very session, before any
    # flush): the bot is done with it, so rules aiming at the bot are skipped. Read first,
    # because the first query below autoflushes and clears the history.
    replaced = sa.inspect(conversation).attrs.status.history.deleted
    from_bot = ConversationStatus.bot.value in replaced
    # Entering the queue anew (opened, reopened, handed over, transferred) starts the
    # wait now; a reopened conversation must not jump the line with yesterday's time.
    rejoins = any(status != ConversationStatus.queued.value for status in replaced)
    workspace_id = conversation.workspace_id
    # A reopened conversation's own last agent counts for sticky routing too.
    previous = (conversation.assignee_id, conversation.assigned_at)
    contact = await session.get(Contact, conversation.contact_id)
    facts = facts_of(conversation, contact)
    requested_agent: uuid.UUID | None = None
    decision_data: dict[str, Any] = {}
    if keep_group and conversation.group_id is not None:
        group_id: uuid.UUID | None = conversation.group_id
        decision_data["reason"] = "transfer"
    else:
        attributes = conversation.attributes or {}
        decision = await decide(
            session,
            workspace_id,
            conversation.inbox_id,
            facts,
            now,
            skip_bot=from_bot or bool(attributes.get(BOT_SERVED)),
        )
        decision_data = {
            "rule_id": str(decision.rule_id) if decision.rule_id else None,
            "rule": decision.rule_name,
            "target": decision.target.kind.value,
        }
        if decision.priority is not None:
            conversation.priority = max(conversation.priority or 0, decision.priority)
        target = decision.target
        if target.kind is TargetKind.bot:
            conversation.status = ConversationStatus.bot
            conversation.assignee_id = None
            conversation.attributes = {**attributes, BOT_SERVED: True}
            session.add(_event_row(conversation, "routed_to_bot", decision_data))
            return
        if target.kind is TargetKind.leave_message:
            _leave_message(session, conversation, now, {**decision_data, "reason": "rule"})
            return
        group_id = target.group_id
        if target.kind is TargetKind.agent:
            requested_agent = target.agent_id
            if group_id is None:
                group_id = await session.scalar(
                    sa.select(Inbox.default_group_id).where(Inbox.id == conversation.inbox_id)
                )
    conversation.group_id = group_id
    conversation.assignee_id = None
    conversation.status = ConversationStatus.queued
    if rejoins or conversation.queued_at is None:
        conversation.queued_at = now
    if OVERFLOWED in (conversation.attributes or {}):
        # A new wait may overflow again.
        conversation.attributes = {
            k: v for k, v in conversation.attributes.items() if k != OVERFLOWED
        }

    policies = await policies_of(session, workspace_id)
    policy = policies.get(group_id, acd.GroupPolicy())
    last_agent: tuple[uuid.UUID, datetime] | None = None
    if policy.sticky_days > 0:
        found = await last_agents(
            session,
            [conversation.contact_id],
            now - timedelta(days=policy.sticky_days),
            exclude=[conversation.id],
        )
        last_agent = found.get(conversation.contact_id)
        prev_agent, prev_at = previous
        since = now - timedelta(days=policy.sticky_days)
        if (
            prev_agent
            and prev_at
            and prev_at >= since
            and (not last_agent or prev_at > last_agent[1])
        ):
            last_agent = (prev_agent, prev_at)
    agents = await load_agents(
        session,
        workspace_id,
        group_id=group_id,
        also=[a for a in (requested_agent, last_agent[0] if last_agent else None) if a],
    )
    request = acd.Request(
        conversation_id=conversation.id,
        channel=conversation.channel,
        group_id=group_id,
        queued_at=conversation.queued_at,
        priority=conversation.priority or 0,
        vip_level=contact.vip_level if contact else 0,
        region=contact.region if contact else None,
        last_agent_id=last_agent[0] if last_agent else None,
        last_served_at=last_agent[1] if last_agent else None,
        agent_id=requested_agent,
    )
    cursors = await _cursors(session, workspace_id)
    choice = acd.choose_agent(request, agents, policy, now, cursors.get(group_id))
    if choice.agent_id is None:
        # Only online agents were loaded: an empty list means nobody online, not no members.
        why = "nobody_online" if not agents else choice.reason
        session.add(
            _event_row(
                conversation,
                "queued",
                {**decision_data, "group_id": _s(group_id), "why": why},
            )
        )
        return
    await _assign(session, conversation, choice.agent_id, now, choice.reason, decision_data)
    if policy.strategy is acd.Strategy.round_robin:
        await _save_cursors(
            session, workspace_id, cursors, {group_id: choice.agent_id}, now, {group_id}
        )


async def _assign(
    session: AsyncSession,
    conversation: Conversation,
    agent_id: uuid.UUID,
    now: datetime,
    reason: str,
    data: dict[str, Any] | None = None,
    *,
    touch_agent: bool = True,
) -> None:
    conversation.assignee_id = agent_id
    conversation.assigned_at = now
    conversation.status = ConversationStatus.open
    conversation.updated_at = now
    if touch_agent:
        await _touch_agents(session, [agent_id], now)
    session.add(
        _event_row(
            conversation,
            "assigned",
            {
                **(data or {}),
                "assignee_id": str(agent_id),
                "group_id": _s(conversation.group_id),
                "reason": reason,
                "waited_seconds": _waited(conversation, now),
            },
        )
    )


async def _touch_agents(
    session: AsyncSession, agent_ids: Iterable[uuid.UUID], now: datetime
) -> None:
    ids = list(agent_ids)
    if ids:
        users = cast(sa.Table, User.__table__)
        await session.execute(
            sa.update(users).where(users.c.id.in_(ids)).values(last_assigned_at=now)
        )


def _leave_message(
    session: AsyncSession, conversation: Conversation, now: datetime, data: dict[str, Any]
) -> None:
    """No one will serve this live: keep it unassigned off the live queue (`pending`), so
    the visitor is offered to leave a message and the team follows up."""
    conversation.status = ConversationStatus.pending
    conversation.assignee_id = None
    conversation.updated_at = now
    session.add(_event_row(conversation, "leave_message", data))


def _waited(conversation: Conversation, now: datetime) -> float | None:
    if conversation.queued_at is None:
        return None
    return round((now - conversation.queued_at).total_seconds(), 3)


# ---------------------------------------------------------------------------
# assign_waiting: serve the queue when capacity frees


async def assign_waiting(
    kefu: Kefu, workspace_id: uuid.UUID, now: datetime
) -> list[ConversationEvent]:
    """Move overdue conversations on (overflow), then give waiting conversations to free
    agents in queue order; returns the events to publish (assignments, overflows and
    the new queue positions of the first waiting conversations of each changed group)."""
    from kefu.conversations.views import conversation_event

    events: list[ConversationEvent] = []
    events.extend(await _overflow(kefu, workspace_id, now))
    touched: set[uuid.UUID | None] = set()
    after: tuple[int, datetime, uuid.UUID] | None = None
    while True:
        async with kefu.db.transaction() as session:
            agents = await load_agents(session, workspace_id, whole_workspace=True)
            if not any(acd.can_take(a, ch) for a in agents for ch in _channels(a)):
                break
            batch = await _claim_batch(session, workspace_id, after)
            if not batch:
                break
            last = batch[-1]
            after = (last.priority or 0, last.queued_at or now, last.id)
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
            cursors = await _cursors(session, workspace_id)
            before = dict(cursors)
            plan = acd.plan(requests, agents, policies, now, cursors)
            by_id = {c.id: c for c in batch}
            await _write_assignments(session, workspace_id, plan, by_id, now)
            rr = {g for g, p in policies.items() if p.strategy is acd.Strategy.round_robin}
            await _save_cursors(session, workspace_id, before, cursors, now, rr)
            for a in plan:
                group_id = by_id[a.conversation_id].group_id
                touched.add(group_id)
                events.append(
                    ConversationEvent(
                        workspace_id=workspace_id,
                        conversation_id=a.conversation_id,
                        change="assigned",
                        status=ConversationStatus.open,
                        assignee_id=a.agent_id,
                        group_id=group_id,
                    )
                )
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
    after: tuple[int, datetime, uuid.UUID] | None,
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
        )
    )
    if after is not None:
        priority, queued_at, last_id = after
        query = query.where(
            sa.or_(
                Conversation.priority < priority,
                sa.and_(
                    Conversation.priority == priority,
                    sa.or_(
                        Conversation.queued_at > queued_at,
                        sa.and_(Conversation.queued_at == queued_at, Conversation.id > last_id),
                    ),
                ),
            )
        )
    query = (
        query.order_by(Conversation.priority.desc(), Conversation.queued_at, Conversation.id)
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
    rows = []
    for a in plan:
        conversation = waiting[a.conversation_id]
        queued_at = conversation.queued_at
        rows.append(
            {
                "id": new_id(),
                "workspace_id": workspace_id,
                "conversation_id": a.conversation_id,
                "type": "assigned",
                "actor_kind": "system",
                "actor_id": None,
                "data": {
                    "assignee_id": str(a.agent_id),
                    "group_id": _s(conversation.group_id),
                    "reason": a.reason,
                    "waited_seconds": round((now - queued_at).total_seconds(), 3)
                    if queued_at
                    else None,
                },
                "created_at": now,
            }
        )
    await session.execute(sa.insert(cast(sa.Table, ConversationEventRow.__table__)), rows)
    await _touch_agents(session, {a.agent_id for a in plan}, now)


async def _overflow(kefu: Kefu, workspace_id: uuid.UUID, now: datetime) -> list[ConversationEvent]:
    """Conversations that waited longer than their group allows move once to the
    overflow group, or are offered to leave a message."""
    from kefu.conversations.views import conversation_event

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
                waited = _waited(conversation, now)
                target = policy.overflow_group_id
                if target is not None and not attributes.get(OVERFLOWED) and target in policies:
                    conversation.group_id = target
                    conversation.attributes = {**attributes, OVERFLOWED: str(group_id)}
                    conversation.updated_at = now
                    session.add(
                        _event_row(
                            conversation,
                            "overflowed",
                            {
                                "from_group_id": str(group_id),
                                "group_id": str(target),
                                "waited_seconds": waited,
                            },
                        )
                    )
                    events.append(conversation_event(conversation, "overflowed"))
                elif policy.overflow_leave_message:
                    _leave_message(
                        session,
                        conversation,
                        now,
                        {"reason": "max_wait", "group_id": str(group_id), "waited_seconds": waited},
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


def _ahead_of(conversation: Conversation) -> sa.ColumnElement[bool]:
    priority = conversation.priority or 0
    queued_at = conversation.queued_at
    return sa.or_(
        Conversation.priority > priority,
        sa.and_(
            Conversation.priority == priority,
            sa.or_(
                Conversation.queued_at < queued_at,
                sa.and_(Conversation.queued_at == queued_at, Conversation.id < conversation.id),
            ),
        ),
    )


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
            .order_by(Conversation.priority.desc(), Conversation.queued_at, Conversation.id)
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
            *_same_queue(conversation.workspace_id, conversation.group_id), _ahead_of(conversation)
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


# ---------------------------------------------------------------------------


def _event_row(
    conversation: Conversation, type_: str, data: dict[str, Any]
) -> ConversationEventRow:
    return ConversationEventRow(
        workspace_id=conversation.workspace_id,
        conversation_id=conversation.id,
        type=type_,
        actor_kind="system",
        data=data,
    )


def _s(value: uuid.UUID | None) -> str | None:
    return str(value) if value else None


async def hand_over_from_bot(
    session: AsyncSession, conversation: Conversation, now: datetime
) -> None:
    """The bot asks for a human: route again, skipping rules that target the bot (so a
    "bot first" rule does not send the conversation straight back)."""
    conversation.attributes = {**(conversation.attributes or {}), BOT_SERVED: True}
    conversation.status = ConversationStatus.queued
    conversation.queued_at = now
    await route(session, conversation, now)
