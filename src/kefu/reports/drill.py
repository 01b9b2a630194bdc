"""Drill-down: the conversations behind a report's number (the events of one type in the
workspace's days from..to), newest first, capped."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.db.tables import Contact, Conversation, ConversationEventRow
from kefu.reports import rollup

# The numbers one can drill into, and the event type that makes each.
DRILLABLE = {
    "new": "created",
    "resolved": "resolved",
    "reopened": "reopened",
    "transfers": "transferred",
    "handled": "assigned",
    "responses": "rated",
    "first_response": "first_reply",
    "left_message": "leave_message",
    "started": "routed_to_bot",
}
LIMIT = 200


async def conversations_behind(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    number: str,
    start: date,
    end: date,
    agent_id: uuid.UUID | None = None,
) -> list[dict[str, Any]]:
    ctx = await rollup.context_of(session, workspace_id)
    lo = rollup.day_bounds(start, ctx.timezone)[0]
    hi = rollup.day_bounds(end, ctx.timezone)[1]
    ev = ConversationEventRow
    query = (
        sa.select(
            Conversation.id,
            Conversation.channel,
            Conversation.status,
            Conversation.csat_score,
            Contact.name,
            sa.func.max(ev.created_at),
        )
        .join(Conversation, Conversation.id == ev.conversation_id)
        .join(Contact, Contact.id == Conversation.contact_id)
        .where(
            ev.workspace_id == workspace_id,
            Conversation.workspace_id == workspace_id,
            ev.type == DRILLABLE[number],
            ev.created_at >= lo,
            ev.created_at < hi,
        )
        .group_by(
            Conversation.id,
            Conversation.channel,
            Conversation.status,
            Conversation.csat_score,
            Contact.name,
        )
        .order_by(sa.func.max(ev.created_at).desc())
        .limit(LIMIT)
    )
    if agent_id is not None:
        query = query.where(sa.or_(ev.actor_id == agent_id, Conversation.assignee_id == agent_id))
    rows = (await session.execute(query)).all()
    return [
        {
            "conversation_id": str(cid),
            "channel": channel,
            "status": status,
            "csat_score": score,
            "contact_name": name,
            "at": rollup._aware(at).isoformat() if not isinstance(at, str) else at,
        }
        for cid, channel, status, score, name, at in rows
    ]
