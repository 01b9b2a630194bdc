"""`explain`: what routing would do with a conversation (or with made-up facts) right now,
and why: the matching rule, why each earlier rule did not match, the agent who would get
it or the queue position. Reads only; nothing is locked or written."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.db.tables import Contact, Conversation
from kefu.errors import Invalid, NotFound
from kefu.model import ConversationStatus
from kefu.routing import acd
from kefu.routing.loaders import facts_of, last_agents, load_agents, policies_of
from kefu.routing.messages import explain_reason, say
from kefu.routing.queue import queue_status
from kefu.routing.route import BOT_SERVED, decide
from kefu.routing.rules import TargetKind
from kefu.routing.schemas import ExplainRequest, ExplainResponse, ReasonOut, RuleCheckOut


async def explain(
    session: AsyncSession, workspace_id: uuid.UUID, request: ExplainRequest, now: datetime
) -> ExplainResponse:
    at = request.at or now
    locale = request.locale
    conversation: Conversation | None = None
    contact: Contact | None = None
    if request.conversation_id is not None:
        conversation = await session.scalar(
            sa.select(Conversation).where(
                Conversation.id == request.conversation_id,
                Conversation.workspace_id == workspace_id,
            )
        )
        if conversation is None:
            raise NotFound(f"conversation {request.conversation_id} not found")
        contact = await session.get(Contact, conversation.contact_id)
        facts = facts_of(conversation, contact)
        skip_bot = bool((conversation.attributes or {}).get(BOT_SERVED))
    elif request.facts is not None:
        facts = request.facts
        skip_bot = False
    else:
        raise Invalid("send conversation_id, or facts to try the rules against")

    decision = await decide(session, workspace_id, facts.inbox_id, facts, at, skip_bot=skip_bot)
    checks = [
        RuleCheckOut(
            rule_id=check.rule_id,
            rule_name=check.rule_name,
            matched=check.matched,
            reasons=[
                ReasonOut(
                    code=r.code,
                    message=explain_reason(r, locale),
                    field=r.field,
                    op=r.op,
                    expected=r.expected,
                    actual=r.actual,
                )
                for r in check.reasons
            ],
        )
        for check in decision.checks
    ]
    summary = (
        say("matched", locale, rule=decision.rule_name)
        if decision.rule_name
        else say("fallback", locale)
    )
    target = decision.target
    if target.kind in (TargetKind.bot, TargetKind.leave_message):
        return ExplainResponse(
            rule_id=decision.rule_id,
            rule_name=decision.rule_name,
            target=target,
            checks=checks,
            group_id=None,
            agent_id=None,
            agent_reason=target.kind.value,
            agent_reason_message="",
            queue_position=None,
            estimated_wait_seconds=None,
            summary=summary,
        )

    group_id = target.group_id
    if group_id is None and conversation is not None:
        group_id = conversation.group_id
    policies = await policies_of(session, workspace_id)
    policy = policies.get(group_id, acd.GroupPolicy())
    last: tuple[uuid.UUID, datetime] | None = None
    if contact is not None and policy.sticky_days > 0:
        found = await last_agents(session, [contact.id], at - timedelta(days=policy.sticky_days))
        last = found.get(contact.id)
    agents = await load_agents(
        session,
        workspace_id,
        group_id=group_id,
        also=[a for a in (target.agent_id, last[0] if last else None) if a],
        lock=False,
        online_only=False,
    )
    request_ = acd.Request(
        conversation_id=conversation.id if conversation else uuid.UUID(int=0),
        channel=facts.channel,
        group_id=group_id,
        queued_at=at,
        region=facts.contact.region,
        vip_level=facts.contact.vip_level,
        last_agent_id=last[0] if last else None,
        last_served_at=last[1] if last else None,
        agent_id=target.agent_id,
    )
    choice = acd.choose_agent(request_, agents, policy, at)
    position: int | None = None
    wait: float | None = None
    if conversation is not None and conversation.status == ConversationStatus.queued:
        status = await queue_status(session, conversation, at)
        position, wait = status.position, status.estimated_wait_seconds
    elif choice.agent_id is None:
        waiting = await session.scalar(
            sa.select(sa.func.count())
            .select_from(Conversation)
            .where(
                Conversation.workspace_id == workspace_id,
                Conversation.status == ConversationStatus.queued,
                Conversation.group_id == group_id
                if group_id is not None
                else Conversation.group_id.is_(None),
            )
        )
        position = int(waiting or 0) + 1
        slots = sum(
            acd.capacity_for(a.capacity, facts.channel) for a in agents if a.presence == "online"
        )
        wait = acd.estimate_wait(position, [], slots)
    return ExplainResponse(
        rule_id=decision.rule_id,
        rule_name=decision.rule_name,
        target=target,
        checks=checks,
        group_id=group_id,
        agent_id=choice.agent_id,
        agent_reason=choice.reason,
        agent_reason_message=say(choice.reason, locale, strategy=policy.strategy.value),
        queue_position=position,
        estimated_wait_seconds=wait,
        summary=summary,
    )
