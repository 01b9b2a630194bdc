"""Route one conversation, inside the caller's transaction: decide who serves it (the
rules) and assign it at once if an agent can take it (ACD), else it waits in the queue.
Only adds rows; the caller publishes after commit."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, cast

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.conversations.events import log_event
from kefu.db.tables import Contact, Conversation, User
from kefu.model import ChannelKind, ConversationStatus
from kefu.routing import acd
from kefu.routing.cache import routing_of
from kefu.routing.loaders import (
    facts_of,
    last_agents,
    load_agents,
    load_cursors,
    policies_of,
    save_cursors,
)
from kefu.routing.rules import Decision, RoutingFacts, Target, TargetKind, evaluate

# Set on a conversation the bot has served, so handing over does not route back to it.
BOT_SERVED = "routing_bot_served"
OVERFLOWED = "routing_overflowed"


async def decide(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    inbox_id: uuid.UUID | None,
    facts: RoutingFacts,
    now: datetime,
    *,
    skip_bot: bool = False,
) -> Decision:
    # Rules, calendars and default groups from this process's copy (routing.cache).
    config = await routing_of(session, workspace_id)
    fallback_group = config.default_groups.get(inbox_id) if inbox_id is not None else None
    fallback = Target(kind=TargetKind.group, group_id=fallback_group)
    return evaluate(
        config.rules,
        facts,
        now,
        config.calendars,
        fallback,
        skip_kinds=frozenset({TargetKind.bot}) if skip_bot else frozenset(),
    )


async def route(
    session: AsyncSession,
    conversation: Conversation,
    now: datetime,
    *,
    from_bot: bool = False,
    rejoin: bool = False,
    keep_group: bool = False,
) -> None:
    """Decide who serves a conversation that was just opened, reopened or handed over
    (by the bot or by a transfer to a group: `keep_group`), and assign it at once if an
    agent can take it; otherwise it waits in the queue. Runs inside the caller's
    transaction and only adds rows; the caller publishes after commit.

    `from_bot`: the bot has just handed it over, so rules aiming at the bot are skipped.
    `rejoin`: it enters the queue anew (opened, reopened, handed over, transferred), so
    the wait starts now; a reopened conversation must not jump the line with
    yesterday's time."""
    workspace_id = conversation.workspace_id
    if conversation.channel == ChannelKind.voice:
        # calls (issue 18): a voice conversation is served by its calls, which kefu.calls
        # distributes with voice capacity 1, independent of chat; it waits unassigned.
        conversation.status = ConversationStatus.queued
        if rejoin or conversation.queued_at is None:
            conversation.queued_at = now
        log_event(session, conversation, "queued", data={"why": "call"})
        return
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
            log_event(session, conversation, "routed_to_bot", data=decision_data)
            return
        if target.kind is TargetKind.leave_message:
            leave_message(session, conversation, now, {**decision_data, "reason": "rule"})
            return
        group_id = target.group_id
        if target.kind is TargetKind.agent:
            requested_agent = target.agent_id
            if group_id is None:
                config = await routing_of(session, workspace_id)
                group_id = config.default_groups.get(conversation.inbox_id)
    conversation.group_id = group_id
    conversation.assignee_id = None
    conversation.status = ConversationStatus.queued
    if rejoin or conversation.queued_at is None:
        conversation.queued_at = now
    if OVERFLOWED in (conversation.attributes or {}):
        # A new wait may overflow again.
        conversation.attributes = {
            k: v for k, v in conversation.attributes.items() if k != OVERFLOWED
        }

    policies = await policies_of(session, workspace_id)
    policy = policies.get(group_id, acd.GroupPolicy())
    last_agent: tuple[uuid.UUID, datetime] | None = None
    prev_agent, prev_at = previous
    if prev_agent and prev_at and policy.sticky_days == 0:
        # A conversation reopened within the reopen window (the customer wrote again
        # right after a resolve) goes back to the agent who just helped, if they can take
        # it: it is the same conversation, whatever the group says about new ones.
        policy = msgspec.structs.replace(policy, sticky_days=1)
        last_agent = (prev_agent, prev_at)
    elif policy.sticky_days > 0:
        found = await last_agents(
            session,
            [conversation.contact_id],
            now - timedelta(days=policy.sticky_days),
            exclude=[conversation.id],
        )
        last_agent = found.get(conversation.contact_id)
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
    cursors = await load_cursors(session, workspace_id)
    choice = acd.choose_agent(request, agents, policy, now, cursors.get(group_id))
    if choice.agent_id is None:
        # Only online agents were loaded: an empty list means nobody online, not no members.
        why = "nobody_online" if not agents else choice.reason
        log_event(
            session,
            conversation,
            "queued",
            data={**decision_data, "group_id": _s(group_id), "why": why},
        )
        return
    await _assign(session, conversation, choice.agent_id, now, choice.reason, decision_data)
    if policy.strategy is acd.Strategy.round_robin:
        await save_cursors(
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
        await touch_agents(session, [agent_id], now)
    log_event(
        session,
        conversation,
        "assigned",
        data={
            **(data or {}),
            "assignee_id": str(agent_id),
            "group_id": _s(conversation.group_id),
            "reason": reason,
            "waited_seconds": waited(conversation, now),
        },
    )


async def touch_agents(
    session: AsyncSession, agent_ids: Iterable[uuid.UUID], now: datetime
) -> None:
    ids = list(agent_ids)
    if ids:
        users = cast(sa.Table, User.__table__)
        await session.execute(
            sa.update(users).where(users.c.id.in_(ids)).values(last_assigned_at=now)
        )


def leave_message(
    session: AsyncSession, conversation: Conversation, now: datetime, data: dict[str, Any]
) -> None:
    """No one will serve this live: keep it unassigned off the live queue (`pending`), so
    the visitor is offered to leave a message and the team follows up."""
    conversation.status = ConversationStatus.pending
    conversation.assignee_id = None
    conversation.updated_at = now
    log_event(session, conversation, "leave_message", data=data)


def waited(conversation: Conversation, now: datetime) -> float | None:
    if conversation.queued_at is None:
        return None
    return round((now - conversation.queued_at).total_seconds(), 3)


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
    await route(session, conversation, now, from_bot=True, rejoin=True)
