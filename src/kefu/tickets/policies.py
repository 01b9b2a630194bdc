"""SLA policies: admins and supervisors list, add and remove them. Editing a policy is
remove-and-add for now; tickets re-match at their next change."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.context import Kefu
from kefu.db.scope import one_in_workspace
from kefu.db.tables import SkillGroup, User
from kefu.errors import FieldError, Invalid
from kefu.i18n import Text
from kefu.model import utcnow
from kefu.people.auth import AuthUser
from kefu.routing.tables import BusinessCalendar
from kefu.tickets.schemas import (
    ActionKind,
    SlaActions,
    SlaConditions,
    SlaPolicyIn,
    SlaPolicyList,
    SlaPolicyOut,
)
from kefu.tickets.tables import SlaPolicy


def out(row: SlaPolicy) -> SlaPolicyOut:
    return SlaPolicyOut(
        id=row.id,
        name=row.name,
        position=row.position,
        enabled=row.enabled,
        conditions=msgspec.convert(row.conditions or {}, SlaConditions),
        first_response_s=row.first_response_s,
        next_response_s=row.next_response_s,
        resolution_s=row.resolution_s,
        calendar_id=row.calendar_id,
        raise_priority=row.raise_priority,
        warn_before_s=row.warn_before_s,
        actions=msgspec.convert(row.actions or {}, SlaActions),
    )


async def list_policies(kefu: Kefu, user: AuthUser) -> SlaPolicyList:
    async with kefu.db.session() as session:
        rows = await session.scalars(
            sa.select(SlaPolicy)
            .where(SlaPolicy.workspace_id == user.workspace_id)
            .order_by(SlaPolicy.position, SlaPolicy.created_at)
        )
        return SlaPolicyList([out(r) for r in rows])


def _check(data: SlaPolicyIn) -> None:
    if not (data.first_response_s or data.next_response_s or data.resolution_s):
        raise Invalid(
            Text("a policy needs at least one target", "策略至少需要一个目标时长"),
            errors=[FieldError("first_response_s", Text("set a target", "请设置目标时长"))],
        )
    for when in ("warning", "breach"):
        for action in getattr(data.actions, when):
            if action.kind == ActionKind.reassign and not (action.group_id or action.agent_id):
                raise Invalid(
                    Text("reassign to whom?", "改派给谁？"),
                    errors=[
                        FieldError(
                            f"actions.{when}",
                            Text("reassign needs a group or an agent", "改派需要组或客服"),
                        )
                    ],
                )


async def _check_refs(session: AsyncSession, user: AuthUser, data: SlaPolicyIn) -> None:
    """The calendar, groups and agents a policy names are the workspace's own."""
    wanted: list[tuple[str, Any, uuid.UUID]] = []
    if data.calendar_id is not None:
        wanted.append(("calendar_id", BusinessCalendar, data.calendar_id))
    for when in ("warning", "breach"):
        for action in getattr(data.actions, when):
            if action.group_id is not None:
                wanted.append((f"actions.{when}", SkillGroup, action.group_id))
            if action.agent_id is not None:
                wanted.append((f"actions.{when}", User, action.agent_id))
    for field, model, value in wanted:
        found = await session.scalar(
            sa.select(model.id).where(model.id == value, model.workspace_id == user.workspace_id)
        )
        if found is None:
            raise Invalid("not found", errors=[FieldError(field, Text("not found", "不存在"))])


def _values(data: SlaPolicyIn) -> dict[str, Any]:
    return {
        "name": data.name,
        "position": data.position,
        "conditions": msgspec.to_builtins(data.conditions),
        "first_response_s": data.first_response_s,
        "next_response_s": data.next_response_s,
        "resolution_s": data.resolution_s,
        "calendar_id": data.calendar_id,
        "raise_priority": data.raise_priority,
        "warn_before_s": data.warn_before_s,
        "actions": msgspec.to_builtins(data.actions),
    }


async def update(
    kefu: Kefu, user: AuthUser, policy_id: uuid.UUID, data: SlaPolicyIn
) -> SlaPolicyOut:
    """Replace a policy's settings; tickets re-match at their next change."""
    _check(data)
    async with kefu.db.transaction() as session:
        row = await one_in_workspace(
            session, SlaPolicy, user.workspace_id, policy_id, "policy", lock=True
        )
        await _check_refs(session, user, data)
        for key, value in _values(data).items():
            setattr(row, key, value)
        row.updated_at = utcnow()
        await session.flush()
        return out(row)


async def create(kefu: Kefu, user: AuthUser, data: SlaPolicyIn) -> SlaPolicyOut:
    _check(data)
    async with kefu.db.transaction() as session:
        await _check_refs(session, user, data)
        row = SlaPolicy(workspace_id=user.workspace_id, enabled=True, **_values(data))
        session.add(row)
        await session.flush()
        return out(row)


async def delete(kefu: Kefu, user: AuthUser, policy_id: uuid.UUID) -> None:
    async with kefu.db.transaction() as session:
        row = await one_in_workspace(session, SlaPolicy, user.workspace_id, policy_id, "policy")
        await session.delete(row)
