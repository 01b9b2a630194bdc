"""Managing routing: rules, business-hours calendars and each group's ACD policy.
Everything is validated whole before a row is written, so a bad request changes nothing."""

from __future__ import annotations

import uuid
from datetime import datetime

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.db.scope import one_in_workspace
from kefu.db.tables import SkillGroup, User
from kefu.errors import Conflict
from kefu.i18n import Text
from kefu.model import new_id
from kefu.routing import hours
from kefu.routing.acd import GroupPolicy, policy_problems
from kefu.routing.checks import Problem, refuse
from kefu.routing.loaders import calendar_of, rule_of
from kefu.routing.rules import Rule, TargetKind, ordered, rule_problems
from kefu.routing.schemas import CalendarIn, CalendarOut, RuleIn, RuleOut
from kefu.routing.tables import BusinessCalendar, RoutingRule


def rule_out(row: RoutingRule) -> RuleOut:
    rule = rule_of(row)
    return RuleOut(
        id=row.id,
        name=rule.name,
        target=rule.target,
        priority=rule.priority,
        enabled=rule.enabled,
        match=rule.match,
        conditions=rule.conditions,
        set_priority=rule.set_priority,
        updated_at=row.updated_at,
    )


def calendar_out(row: BusinessCalendar, now: datetime) -> CalendarOut:
    calendar = calendar_of(row)
    return CalendarOut(
        id=row.id,
        name=row.name,
        timezone=calendar.timezone,
        weekly=calendar.weekly,
        special_days=calendar.special_days,
        open_now=hours.is_open(calendar, now),
        next_open=hours.next_open(calendar, now),
        updated_at=row.updated_at,
    )


async def list_rules(session: AsyncSession, workspace_id: uuid.UUID) -> list[RoutingRule]:
    rows = {
        row.id: row
        for row in await session.scalars(
            sa.select(RoutingRule).where(RoutingRule.workspace_id == workspace_id)
        )
    }
    return [rows[rule.id] for rule in ordered(rule_of(row) for row in rows.values())]


async def _get_rule(
    session: AsyncSession, workspace_id: uuid.UUID, rule_id: uuid.UUID
) -> RoutingRule:
    return await one_in_workspace(session, RoutingRule, workspace_id, rule_id, "routing rule")


async def get_rule(
    session: AsyncSession, workspace_id: uuid.UUID, rule_id: uuid.UUID
) -> RoutingRule:
    return await _get_rule(session, workspace_id, rule_id)


async def _check_rule(
    session: AsyncSession, workspace_id: uuid.UUID, rule_id: uuid.UUID, data: RuleIn
) -> None:
    calendar_ids = await session.scalars(
        sa.select(BusinessCalendar.id).where(BusinessCalendar.workspace_id == workspace_id)
    )
    rule = Rule(id=rule_id, **msgspec.structs.asdict(data))
    problems = rule_problems(rule, list(calendar_ids))
    target = data.target
    if target.group_id is not None:
        found = await session.scalar(
            sa.select(SkillGroup.id).where(
                SkillGroup.id == target.group_id, SkillGroup.workspace_id == workspace_id
            )
        )
        if found is None:
            said = Text(
                f"target group {target.group_id} is not in this workspace",
                f"技能组 {target.group_id} 不在本工作区，请从列表中选择",
            )
            problems.append(Problem("target.group_id", said))
    if target.kind is TargetKind.agent and target.agent_id is not None:
        found = await session.scalar(
            sa.select(User.id).where(User.id == target.agent_id, User.workspace_id == workspace_id)
        )
        if found is None:
            said = Text(
                f"target agent {target.agent_id} is not in this workspace",
                f"客服 {target.agent_id} 不在本工作区，请从列表中选择",
            )
            problems.append(Problem("target.agent_id", said))
    refuse(problems)


def _rule_values(data: RuleIn) -> dict[str, object]:
    return {
        "name": data.name.strip(),
        "priority": data.priority,
        "enabled": data.enabled,
        "match": data.match,
        "conditions": msgspec.to_builtins(data.conditions),
        "target": msgspec.to_builtins(data.target),
        "set_priority": data.set_priority,
    }


async def create_rule(
    session: AsyncSession, workspace_id: uuid.UUID, data: RuleIn, now: datetime
) -> RoutingRule:
    row = RoutingRule(id=new_id(), workspace_id=workspace_id, created_at=now, updated_at=now)
    await _check_rule(session, workspace_id, row.id, data)
    for key, value in _rule_values(data).items():
        setattr(row, key, value)
    session.add(row)
    await session.flush()
    return row


async def update_rule(
    session: AsyncSession, workspace_id: uuid.UUID, rule_id: uuid.UUID, data: RuleIn, now: datetime
) -> RoutingRule:
    row = await _get_rule(session, workspace_id, rule_id)
    await _check_rule(session, workspace_id, rule_id, data)
    for key, value in _rule_values(data).items():
        setattr(row, key, value)
    row.updated_at = now
    await session.flush()
    return row


async def delete_rule(session: AsyncSession, workspace_id: uuid.UUID, rule_id: uuid.UUID) -> None:
    row = await _get_rule(session, workspace_id, rule_id)
    await session.delete(row)


# ---------------------------------------------------------------------------
# calendars


async def list_calendars(session: AsyncSession, workspace_id: uuid.UUID) -> list[BusinessCalendar]:
    return list(
        await session.scalars(
            sa.select(BusinessCalendar)
            .where(BusinessCalendar.workspace_id == workspace_id)
            .order_by(BusinessCalendar.name)
        )
    )


async def get_calendar(
    session: AsyncSession, workspace_id: uuid.UUID, calendar_id: uuid.UUID
) -> BusinessCalendar:
    return await one_in_workspace(session, BusinessCalendar, workspace_id, calendar_id, "calendar")


async def _check_calendar(
    session: AsyncSession, workspace_id: uuid.UUID, data: CalendarIn, calendar_id: uuid.UUID | None
) -> None:
    problems: list[Problem] = []
    if not data.name.strip():
        problems.append(Problem("name", Text("a calendar needs a name", "日历需要填写名称")))
    problems += hours.calendar_problems(
        hours.Calendar(timezone=data.timezone, weekly=data.weekly, special_days=data.special_days)
    )
    clash = await session.scalar(
        sa.select(BusinessCalendar.id).where(
            BusinessCalendar.workspace_id == workspace_id,
            BusinessCalendar.name == data.name.strip(),
            BusinessCalendar.id != calendar_id if calendar_id else sa.true(),
        )
    )
    if clash is not None:
        said = Text(
            f"a calendar named {data.name.strip()!r} already exists",
            f"已有名为 {data.name.strip()!r} 的日历，请换一个名称",
        )
        problems.append(Problem("name", said))
    refuse(problems)


def _calendar_values(data: CalendarIn) -> dict[str, object]:
    return {
        "name": data.name.strip(),
        "timezone": data.timezone,
        "weekly": msgspec.to_builtins(data.weekly),
        "special_days": msgspec.to_builtins(data.special_days),
    }


async def create_calendar(
    session: AsyncSession, workspace_id: uuid.UUID, data: CalendarIn, now: datetime
) -> BusinessCalendar:
    await _check_calendar(session, workspace_id, data, None)
    row = BusinessCalendar(
        workspace_id=workspace_id, created_at=now, updated_at=now, **_calendar_values(data)
    )
    session.add(row)
    await session.flush()
    return row


async def update_calendar(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    calendar_id: uuid.UUID,
    data: CalendarIn,
    now: datetime,
) -> BusinessCalendar:
    row = await get_calendar(session, workspace_id, calendar_id)
    await _check_calendar(session, workspace_id, data, calendar_id)
    for key, value in _calendar_values(data).items():
        setattr(row, key, value)
    row.updated_at = now
    await session.flush()
    return row


async def delete_calendar(
    session: AsyncSession, workspace_id: uuid.UUID, calendar_id: uuid.UUID
) -> None:
    row = await get_calendar(session, workspace_id, calendar_id)
    users = [
        rule.name
        for rule in map(rule_of, await list_rules(session, workspace_id))
        if any(c.field == "time" and str(c.value) == str(calendar_id) for c in rule.conditions)
    ]
    if users:
        raise Conflict(f"calendar is used by the rules {', '.join(users)}; change them first")
    await session.delete(row)


# ---------------------------------------------------------------------------
# group policy


async def _group(session: AsyncSession, workspace_id: uuid.UUID, group_id: uuid.UUID) -> SkillGroup:
    return await one_in_workspace(session, SkillGroup, workspace_id, group_id, "skill group")


async def get_policy(
    session: AsyncSession, workspace_id: uuid.UUID, group_id: uuid.UUID
) -> GroupPolicy:
    group = await _group(session, workspace_id, group_id)
    return GroupPolicy.from_group(group.strategy, group.settings or {})


async def set_policy(
    session: AsyncSession, workspace_id: uuid.UUID, group_id: uuid.UUID, policy: GroupPolicy
) -> GroupPolicy:
    group = await _group(session, workspace_id, group_id)
    problems = policy_problems(policy, group_id)
    if policy.overflow_group_id is not None and policy.overflow_group_id != group_id:
        found = await session.scalar(
            sa.select(SkillGroup.id).where(
                SkillGroup.id == policy.overflow_group_id,
                SkillGroup.workspace_id == workspace_id,
            )
        )
        if found is None:
            said = Text(
                f"overflow group {policy.overflow_group_id} is not in this workspace",
                f"溢出技能组 {policy.overflow_group_id} 不在本工作区，请从列表中选择",
            )
            problems.append(Problem("overflow_group_id", said))
    refuse(problems)
    group.strategy = policy.strategy.value
    # Keep settings other parts of kefu store on the group; replace only ours.
    ours = set(GroupPolicy.__struct_fields__)
    kept = {k: v for k, v in (group.settings or {}).items() if k not in ours}
    group.settings = {**kept, **policy.to_settings()}
    await session.flush()
    return policy
