"""Loading what the pure routing core (`rules`, `acd`) needs: rules, calendars, group
policies, the agents who may receive work (locked, with their load), who served a
contact last, and the round-robin cursors.

Concurrency (PostgreSQL): whoever assigns first locks the rows of the agents it may
choose from, in id order and in ONE statement (FOR NO KEY UPDATE, so foreign-key checks
of other writers are not blocked), and only then counts their load. A second process
choosing among the same agents waits for the first to commit and then counts again, so
nobody is pushed past capacity. Locking one sorted set per transaction means two
routers can never deadlock on agents. On SQLite there is one writer at a time (BEGIN
IMMEDIATE) and the same code runs with the locks left out.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime

import msgspec
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as lite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.db.tables import Contact, Conversation, GroupMember, SkillGroup, User
from kefu.errors import Invalid
from kefu.model import ConversationStatus, Presence
from kefu.routing import acd
from kefu.routing.cache import routing_of
from kefu.routing.hours import Calendar
from kefu.routing.rules import ContactProfile, RoutingFacts, Rule
from kefu.routing.tables import BusinessCalendar, RoutingCursor, RoutingRule

# Conversations that occupy an agent: counted against capacity.
LOAD_STATUSES = (ConversationStatus.open, ConversationStatus.pending)


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


async def policies_of(
    session: AsyncSession, workspace_id: uuid.UUID
) -> dict[uuid.UUID | None, acd.GroupPolicy]:
    """Each skill group's policy (kept per process: `routing.cache`)."""
    return dict((await routing_of(session, workspace_id)).policies)


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


async def load_cursors(
    session: AsyncSession, workspace_id: uuid.UUID
) -> dict[uuid.UUID | None, uuid.UUID]:
    rows = await session.execute(
        sa.select(RoutingCursor.group_id, RoutingCursor.last_agent_id).where(
            RoutingCursor.workspace_id == workspace_id
        )
    )
    return {gid: aid for gid, aid in rows if aid is not None}


async def save_cursors(
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
            pg = pg_insert(RoutingCursor).values(values)
            await session.execute(
                pg.on_conflict_do_update(
                    index_elements=[RoutingCursor.group_id],
                    set_={"last_agent_id": agent_id, "updated_at": now},
                )
            )
        else:
            lite = lite_insert(RoutingCursor).values(values)
            await session.execute(
                lite.on_conflict_do_update(
                    index_elements=[RoutingCursor.group_id],
                    set_={"last_agent_id": agent_id, "updated_at": now},
                )
            )
