"""Where a waiting caller stands: their place in the call queue and an estimate of the
wait, shown in the widget's call window and carried by every `CallView` while queued.

    position         = 1 + the queued calls of the same group (same workspace) ahead of
                       this one in the queue's order (priority, then longest wait, then id)
    estimated_wait_s = ceil(position × W / A)
      W = the mean wait (`wait_s`) of the group's last RECENT answered calls of the last
          WINDOW (DEFAULT_WAIT_S when none were answered yet)
      A = the group's members with the phone on and taking calls (ready or in wrap-up),
          at least 1

A call with no group yet counts every queued call of the workspace without a group, and
every phone of the workspace."""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.calls.tables import AgentPhone, Call
from kefu.db.tables import GroupMember
from kefu.model import utcnow

RECENT = 20
WINDOW = timedelta(hours=24)
DEFAULT_WAIT_S = 60
TAKING = ("ready", "wrap_up")

Group = tuple[uuid.UUID, uuid.UUID | None]  # (workspace, group)


async def _position(session: AsyncSession, call: Call) -> int:
    same_group = (
        Call.group_id.is_(None) if call.group_id is None else Call.group_id == call.group_id
    )
    queued_at = call.queued_at or call.created_at
    ahead = sa.or_(
        Call.priority > call.priority,
        sa.and_(Call.priority == call.priority, Call.queued_at < queued_at),
        sa.and_(Call.priority == call.priority, Call.queued_at == queued_at, Call.id < call.id),
    )
    found = await session.scalar(
        sa.select(sa.func.count())
        .select_from(Call)
        .where(Call.workspace_id == call.workspace_id, Call.status == "queued", same_group, ahead)
    )
    return int(found or 0) + 1


async def _mean_wait(session: AsyncSession, key: Group) -> float:
    workspace_id, group_id = key
    recent = (
        sa.select(Call.wait_s)
        .where(
            Call.workspace_id == workspace_id,
            Call.answered_at.is_not(None),
            Call.answered_at >= utcnow() - WINDOW,
            Call.wait_s.is_not(None),
            Call.group_id.is_(None) if group_id is None else Call.group_id == group_id,
        )
        .order_by(Call.answered_at.desc())
        .limit(RECENT)
        .subquery()
    )
    mean = await session.scalar(sa.select(sa.func.avg(recent.c.wait_s)))
    return float(mean) if mean is not None else float(DEFAULT_WAIT_S)


async def _agents(session: AsyncSession, key: Group) -> int:
    workspace_id, group_id = key
    query = (
        sa.select(sa.func.count())
        .select_from(AgentPhone)
        .where(AgentPhone.workspace_id == workspace_id, AgentPhone.state.in_(TAKING))
    )
    if group_id is not None:
        query = query.where(
            AgentPhone.user_id.in_(
                sa.select(GroupMember.user_id).where(GroupMember.group_id == group_id)
            )
        )
    return max(1, int(await session.scalar(query) or 0))


def estimate(position: int, mean_wait_s: float, agents: int) -> int:
    return math.ceil(position * mean_wait_s / max(1, agents))


async def standing(
    session: AsyncSession, calls: Sequence[Call]
) -> dict[uuid.UUID, tuple[int, int]]:
    """(position, estimated_wait_s) of each queued call among `calls`."""
    out: dict[uuid.UUID, tuple[int, int]] = {}
    per_group: dict[Group, tuple[float, int]] = {}
    for call in calls:
        if call.status != "queued":
            continue
        key = (call.workspace_id, call.group_id)
        if key not in per_group:
            per_group[key] = (await _mean_wait(session, key), await _agents(session, key))
        position = await _position(session, call)
        out[call.id] = (position, estimate(position, *per_group[key]))
    return out
