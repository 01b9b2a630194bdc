""" "Bot first" for an inbox: a routing rule whose target is the bot, ranked above every
other rule of the workspace. (It used to be an inbox flag, `bot_enabled`, which skipped
routing altogether; migration 0002 turned those flags into this rule.)"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.routing.tables import RoutingRule

NAME = "Bot first"
# Above what admins usually pick, and above every rule already there.
MIN_PRIORITY = 1000


def conditions_for(inbox_id: uuid.UUID) -> list[dict[str, Any]]:
    return [{"field": "inbox", "op": "equals", "value": str(inbox_id)}]


async def bot_first_rule(
    session: AsyncSession, workspace_id: uuid.UUID, inbox_id: uuid.UUID
) -> RoutingRule | None:
    rows = await session.scalars(
        sa.select(RoutingRule).where(RoutingRule.workspace_id == workspace_id)
    )
    for row in rows:
        if (row.target or {}).get("kind") == "bot" and row.conditions == conditions_for(inbox_id):
            return row
    return None


async def start_with_bot(
    session: AsyncSession, workspace_id: uuid.UUID, inbox_id: uuid.UUID
) -> RoutingRule:
    """The inbox's "bot first" rule, made when it has none (so calling twice is safe)."""
    found = await bot_first_rule(session, workspace_id, inbox_id)
    if found is not None:
        return found
    highest = await session.scalar(
        sa.select(sa.func.max(RoutingRule.priority)).where(RoutingRule.workspace_id == workspace_id)
    )
    rule = RoutingRule(
        workspace_id=workspace_id,
        name=NAME,
        priority=max(MIN_PRIORITY, (highest or 0) + 1),
        enabled=True,
        match="all",
        conditions=conditions_for(inbox_id),
        target={"kind": "bot"},
    )
    session.add(rule)
    await session.flush()
    return rule
