"""Capacity on the manual paths: an agent taking a conversation, replying to an
unassigned one, an admin assigning or transferring to an agent. Automatic routing keeps
capacity in `acd`; these paths ask `ensure_room` inside their transaction, which locks
the agent's row (last in the lock order: contact, conversation, agents) and counts the
load as it stands, so two people assigning at once cannot both squeeze past the limit.

An admin or supervisor may assign past it, explicitly (`override_capacity`); the
conversation's event log and the audit log record that they did."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.db.tables import Conversation, User
from kefu.errors import Conflict, Forbidden
from kefu.i18n import Text
from kefu.model import ConversationStatus, Role
from kefu.routing import acd
from kefu.routing.loaders import LOAD_STATUSES

AT_CAPACITY = Text(
    "{name} is at capacity ({load} of {capacity}).",
    "{name} 已达接待上限（{load}/{capacity}）。",
)
NO_OVERRIDE = Text(
    "Only an admin or a supervisor can assign past an agent's capacity.",
    "只有管理员或主管可以超出客服的接待上限分配会话。",
)
OVERRIDERS = (Role.admin, Role.supervisor)


class AtCapacity(Conflict):
    pass


def check_override(role: Role | None, override: bool) -> None:
    """`override_capacity` is an admin's or supervisor's to give; anyone else asking for
    it is refused outright, whether or not the agent has room."""
    if override and role not in OVERRIDERS:
        raise Forbidden(NO_OVERRIDE)


def adds_load(conversation: Conversation, agent_id: uuid.UUID) -> bool:
    """Would giving `conversation` to `agent_id` occupy one more of their slots?"""
    if conversation.status == ConversationStatus.resolved:
        return False
    return not (
        conversation.assignee_id == agent_id
        and conversation.status in [s.value for s in LOAD_STATUSES]
    )


async def ensure_room(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    agent_id: uuid.UUID,
    channel: str,
    *,
    override: bool = False,
    may_override: bool = False,
) -> dict[str, Any]:
    """Refuse (409, naming the agent's load) when `agent_id` has no free slot for
    `channel`, unless `override`. Returns what the event log should record: empty when
    there was room, the override and the load it went past otherwise."""
    agent = (
        await session.execute(
            sa.select(User.name, User.capacity)
            .where(User.id == agent_id, User.workspace_id == workspace_id)
            .with_for_update(key_share=True)
        )
    ).one()
    rows = await session.execute(
        sa.select(Conversation.channel, sa.func.count())
        .where(
            Conversation.workspace_id == workspace_id,
            Conversation.assignee_id == agent_id,
            Conversation.status.in_([s.value for s in LOAD_STATUSES]),
        )
        .group_by(Conversation.channel)
    )
    load = {str(ch): int(n) for ch, n in rows}
    capacity = dict(agent.capacity or {})
    state = acd.AgentState(id=agent_id, presence="online", capacity=capacity, load=load)
    if acd.has_room(state, channel):
        return {}
    limit = acd.capacity_for(capacity, channel)
    used = load.get(channel, 0)
    if used < limit and "total" in capacity:  # the channel has room, the total has not
        used, limit = sum(load.values()), acd.capacity_for({"*": capacity["total"]}, "*")
    if override:
        return {"override_capacity": True, "load": used, "capacity": limit}
    raise AtCapacity(
        AT_CAPACITY.format(name=agent.name, load=used, capacity=limit),
        extra={
            "reason": "at_capacity",
            "agent_id": str(agent_id),
            "agent_name": agent.name,
            "load": used,
            "capacity": limit,
            "can_override": may_override,
        },
    )
