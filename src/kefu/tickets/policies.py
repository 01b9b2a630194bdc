"""SLA policies: admins and supervisors list, add and remove them. Editing a policy is
remove-and-add for now; tickets re-match at their next change."""

from __future__ import annotations

import uuid

import msgspec
import sqlalchemy as sa

from kefu.context import Kefu
from kefu.db.scope import one_in_workspace
from kefu.errors import FieldError, Invalid
from kefu.i18n import Text
from kefu.people.auth import AuthUser
from kefu.routing.tables import BusinessCalendar
from kefu.tickets.schemas import SlaConditions, SlaPolicyIn, SlaPolicyList, SlaPolicyOut
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
    )


async def list_policies(kefu: Kefu, user: AuthUser) -> SlaPolicyList:
    async with kefu.db.session() as session:
        rows = await session.scalars(
            sa.select(SlaPolicy)
            .where(SlaPolicy.workspace_id == user.workspace_id)
            .order_by(SlaPolicy.position, SlaPolicy.created_at)
        )
        return SlaPolicyList([out(r) for r in rows])


async def create(kefu: Kefu, user: AuthUser, data: SlaPolicyIn) -> SlaPolicyOut:
    if not (data.first_response_s or data.next_response_s or data.resolution_s):
        raise Invalid(
            Text("a policy needs at least one target", "策略至少需要一个目标时长"),
            errors=[FieldError("first_response_s", Text("set a target", "请设置目标时长"))],
        )
    async with kefu.db.transaction() as session:
        if data.calendar_id is not None:
            found = await session.scalar(
                sa.select(BusinessCalendar.id).where(
                    BusinessCalendar.id == data.calendar_id,
                    BusinessCalendar.workspace_id == user.workspace_id,
                )
            )
            if found is None:
                raise Invalid(
                    "no such calendar",
                    errors=[FieldError("calendar_id", Text("not found", "不存在"))],
                )
        row = SlaPolicy(
            workspace_id=user.workspace_id,
            name=data.name,
            position=data.position,
            enabled=True,
            conditions=msgspec.to_builtins(data.conditions),
            first_response_s=data.first_response_s,
            next_response_s=data.next_response_s,
            resolution_s=data.resolution_s,
            calendar_id=data.calendar_id,
            raise_priority=data.raise_priority,
        )
        session.add(row)
        await session.flush()
        return out(row)


async def delete(kefu: Kefu, user: AuthUser, policy_id: uuid.UUID) -> None:
    async with kefu.db.transaction() as session:
        row = await one_in_workspace(session, SlaPolicy, user.workspace_id, policy_id, "policy")
        await session.delete(row)
