"""Whether an inbox can be served now: is it within its business hours (the calendar
linked by the inbox's `calendar_id`; no calendar means always open) and how many agents
who serve it are online. The widget shows "online" or its offline form from this."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.context import Kefu
from kefu.db.tables import GroupMember, User
from kefu.model import Presence
from kefu.routing import hours
from kefu.routing.loaders import calendar_of
from kefu.routing.tables import BusinessCalendar

CALENDAR_KEY = "calendar_id"


class Availability(msgspec.Struct, frozen=True, kw_only=True):
    open: bool
    agents_online: int

    @property
    def served(self) -> bool:
        return self.open and self.agents_online > 0


def online_agents_query(workspace_id: uuid.UUID, group_id: uuid.UUID | None) -> Any:
    """Active agents who are online, in `group_id` when given (else the workspace)."""
    query = sa.select(User).where(
        User.workspace_id == workspace_id,
        User.active.is_(True),
        User.presence == Presence.online,
    )
    if group_id is not None:
        query = query.where(
            User.id.in_(sa.select(GroupMember.user_id).where(GroupMember.group_id == group_id))
        )
    return query


async def agents_online(
    session: AsyncSession, workspace_id: uuid.UUID, group_id: uuid.UUID | None
) -> int:
    query = online_agents_query(workspace_id, group_id)
    return int(await session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0)


def calendar_id_of(config: dict[str, Any]) -> uuid.UUID | None:
    raw = config.get(CALENDAR_KEY)
    if not raw:
        return None
    try:
        return uuid.UUID(str(raw))
    except ValueError:
        return None


async def is_open(
    session: AsyncSession, workspace_id: uuid.UUID, calendar_id: uuid.UUID | None, now: datetime
) -> bool:
    if calendar_id is None:
        return True
    row = await session.scalar(
        sa.select(BusinessCalendar).where(
            BusinessCalendar.id == calendar_id, BusinessCalendar.workspace_id == workspace_id
        )
    )
    if row is None:
        # A deleted calendar must not hide the chat; the inbox form shows the broken link.
        return True
    try:
        return hours.is_open(calendar_of(row), now)
    except (msgspec.ValidationError, ValueError):
        return True


async def inbox_availability(
    kefu: Kefu,
    workspace_id: uuid.UUID,
    default_group_id: uuid.UUID | None,
    config: dict[str, Any],
    now: datetime,
) -> Availability:
    """For an inbox given by its workspace, default group and config (any channel)."""
    async with kefu.db.session() as session:
        open_now = await is_open(session, workspace_id, calendar_id_of(config), now)
        online = await agents_online(session, workspace_id, default_group_id)
    return Availability(open=open_now, agents_online=online)
