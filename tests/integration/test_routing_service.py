"""The routing shell on real databases (SQLite and PostgreSQL): rules pick the group,
ACD picks the agent, the queue holds the rest and is served when capacity frees."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from kefu.context import Kefu
from kefu.conversations.actions import Actor, assign, change_status
from kefu.conversations.ingest import ingest
from kefu.db.tables import (
    Contact,
    Conversation,
    ConversationEventRow,
    GroupMember,
    SkillGroup,
    User,
)
from kefu.demo import Demo
from kefu.model import (
    ContactFacts,
    ConversationFacts,
    ConversationStatus,
    Identity,
    Inbound,
    SenderKind,
    utcnow,
)
from kefu.people.auth import hash_password
from kefu.routing.queue import assign_waiting, queue_status
from kefu.routing.route import hand_over_from_bot
from kefu.routing.tables import BusinessCalendar, RoutingRule
from kefu.routing.timer import run_queue_timer, sweep

# Engine-sensitive (FOR UPDATE, SKIP LOCKED, dialect-specific batch writes, queue order): SQLite and PostgreSQL.
pytestmark = pytest.mark.engine_sensitive


def agent_id(demo: Demo, local: str) -> uuid.UUID:
    return next(login.id for login in demo.logins if login.email.startswith(local + "@"))


async def set_agent(kefu: Kefu, user_id: uuid.UUID, **values: Any) -> None:
    async with kefu.db.transaction() as session:
        await session.execute(sa.update(User).where(User.id == user_id).values(**values))


async def add_agent(kefu: Kefu, demo: Demo, name: str, group: str, **values: Any) -> uuid.UUID:
    async with kefu.db.transaction() as session:
        user = User(
            workspace_id=demo.workspace_id,
            email=f"{name}@{demo.slug}.kefu",
            name=name,
            password_hash=hash_password("x" * 12),
            capacity=values.pop("capacity", {"*": 5}),
            presence=values.pop("presence", "online"),
            **values,
        )
        session.add(user)
        await session.flush()
        session.add(
            GroupMember(
                group_id=demo.groups[group], user_id=user.id, workspace_id=demo.workspace_id
            )
        )
        return user.id


async def visitor_writes(
    kefu: Kefu, demo: Demo, visitor: str, *, page: str | None = None, **contact: Any
) -> uuid.UUID:
    result = await ingest(
        kefu,
        Inbound(
            inbox_id=demo.inbox_id,
            identity=Identity(kind="web_visitor", value=visitor),
            client_message_id=uuid.uuid4().hex,
            body="你好 hello",
            contact=ContactFacts(**contact),
            facts=ConversationFacts(page_url=page),
        ),
    )
    assert result.conversation_id is not None
    return result.conversation_id


async def conversation(kefu: Kefu, conversation_id: uuid.UUID) -> Conversation:
    async with kefu.db.session() as session:
        found = await session.get(Conversation, conversation_id)
        assert found is not None
        return found


async def event_types(kefu: Kefu, conversation_id: uuid.UUID) -> list[str]:
    async with kefu.db.session() as session:
        rows = await session.scalars(
            sa.select(ConversationEventRow.type)
            .where(ConversationEventRow.conversation_id == conversation_id)
            .order_by(ConversationEventRow.created_at, ConversationEventRow.id)
        )
        return list(rows)


async def add_rule(kefu: Kefu, demo: Demo, **values: Any) -> None:
    async with kefu.db.transaction() as session:
        session.add(RoutingRule(workspace_id=demo.workspace_id, **values))


async def test_new_conversation_goes_to_the_online_agent_of_the_inbox_group(
    kefu: Kefu, workspace: Demo
) -> None:
    lina = agent_id(workspace, "lina")
    await set_agent(kefu, lina, presence="online")
    cid = await visitor_writes(kefu, workspace, "v1")
    conv = await conversation(kefu, cid)
    assert (conv.status, conv.assignee_id, conv.group_id) == (
        "open",
        lina,
        workspace.groups["presales"],
    )
    assert "assigned" in await event_types(kefu, cid)


async def test_nobody_online_queues_then_capacity_serves_in_arrival_order(
    kefu: Kefu, workspace: Demo
) -> None:
    first, second, third = [await visitor_writes(kefu, workspace, f"v{n}") for n in range(3)]
    for n, cid in enumerate((first, second, third), start=1):
        conv = await conversation(kefu, cid)
        assert conv.status == "queued" and conv.assignee_id is None
        async with kefu.db.session() as session:
            status = await queue_status(session, conv, utcnow())
        assert status.position == n
        assert status.estimated_wait_seconds is None  # nobody online to serve
    assert "queued" in await event_types(kefu, first)

    lina = agent_id(workspace, "lina")
    await set_agent(kefu, lina, presence="online", capacity={"web": 2})
    events = await assign_waiting(kefu, workspace.workspace_id, utcnow())

    assigned = [e.conversation_id for e in events if e.change == "assigned"]
    assert assigned == [first, second]
    assert (await conversation(kefu, third)).status == "queued"
    positions = {
        e.conversation_id: e.queue_position for e in events if e.change == "queue_position"
    }
    assert positions == {third: 1}
    async with kefu.db.session() as session:
        status = await queue_status(session, await conversation(kefu, third), utcnow())
    # Two web slots among online agents, no history yet: half the default handling time.
    assert status.position == 1 and status.estimated_wait_seconds == 150


async def test_agent_at_capacity_gets_no_more_and_resolving_frees_a_slot(
    kefu: Kefu, workspace: Demo
) -> None:
    lina = agent_id(workspace, "lina")
    await set_agent(kefu, lina, presence="online", capacity={"web": 1, "*": 5})
    served = await visitor_writes(kefu, workspace, "a")
    waiting = await visitor_writes(kefu, workspace, "b")
    assert (await conversation(kefu, served)).assignee_id == lina
    assert (await conversation(kefu, waiting)).status == "queued"

    actor = Actor(workspace_id=workspace.workspace_id, kind=SenderKind.agent, user_id=lina)
    await change_status(kefu, served, actor, ConversationStatus.resolved)
    await kefu.drain()  # resolve triggers assign_waiting in the background
    assert (await conversation(kefu, waiting)).assignee_id == lina


async def test_away_busy_and_offline_agents_get_no_work(kefu: Kefu, workspace: Demo) -> None:
    for presence, name in (("away", "a1"), ("busy", "a2"), ("offline", "a3")):
        await add_agent(kefu, workspace, name, "presales", presence=presence)
    cid = await visitor_writes(kefu, workspace, "v")
    assert (await conversation(kefu, cid)).status == "queued"


async def test_page_rule_sends_order_questions_to_after_sales(kefu: Kefu, workspace: Demo) -> None:
    tom = agent_id(workspace, "tom")
    await set_agent(kefu, tom, presence="online")
    await set_agent(kefu, agent_id(workspace, "lina"), presence="online")
    await add_rule(
        kefu,
        workspace,
        name="order pages",
        priority=10,
        conditions=[{"field": "page_url", "op": "glob", "value": "*/orders/*"}],
        target={"kind": "group", "group_id": str(workspace.groups["aftersales"])},
    )
    cid = await visitor_writes(kefu, workspace, "v", page="https://shop.example.com/orders/42")
    conv = await conversation(kefu, cid)
    assert (conv.group_id, conv.assignee_id) == (workspace.groups["aftersales"], tom)
    other = await visitor_writes(kefu, workspace, "w", page="https://shop.example.com/")
    assert (await conversation(kefu, other)).group_id == workspace.groups["presales"]


async def test_vip_rule_raises_priority_and_jumps_the_queue(kefu: Kefu, workspace: Demo) -> None:
    await add_rule(
        kefu,
        workspace,
        name="vip",
        priority=10,
        conditions=[{"field": "contact.region", "op": "equals", "value": "vip-land"}],
        target={"kind": "group", "group_id": str(workspace.groups["presales"])},
        set_priority=9,
    )
    plain = await visitor_writes(kefu, workspace, "plain")
    vip = await visitor_writes(kefu, workspace, "vip", region="vip-land")
    assert (await conversation(kefu, vip)).priority == 9
    await set_agent(kefu, agent_id(workspace, "lina"), presence="online", capacity={"web": 1})
    events = await assign_waiting(kefu, workspace.workspace_id, utcnow())
    assert [e.conversation_id for e in events if e.change == "assigned"] == [vip]
    assert (await conversation(kefu, plain)).status == "queued"


async def test_out_of_hours_rule_offers_to_leave_a_message(kefu: Kefu, workspace: Demo) -> None:
    await set_agent(kefu, agent_id(workspace, "lina"), presence="online")
    async with kefu.db.transaction() as session:
        closed = BusinessCalendar(
            workspace_id=workspace.workspace_id, name="never open", timezone="Asia/Shanghai"
        )
        session.add(closed)
        await session.flush()
        calendar_id = closed.id
    await add_rule(
        kefu,
        workspace,
        name="after hours",
        priority=100,
        conditions=[{"field": "time", "op": "out_of_hours", "value": str(calendar_id)}],
        target={"kind": "leave_message"},
    )
    cid = await visitor_writes(kefu, workspace, "night-owl")
    conv = await conversation(kefu, cid)
    assert (conv.status, conv.assignee_id) == ("pending", None)
    assert "leave_message" in await event_types(kefu, cid)


async def test_bot_first_then_handover_reaches_a_human(kefu: Kefu, workspace: Demo) -> None:
    lina = agent_id(workspace, "lina")
    await set_agent(kefu, lina, presence="online")
    await add_rule(kefu, workspace, name="bot first", priority=50, target={"kind": "bot"})
    cid = await visitor_writes(kefu, workspace, "v")
    assert (await conversation(kefu, cid)).status == "bot"

    bot = Actor(workspace_id=workspace.workspace_id, kind=SenderKind.bot)
    await change_status(kefu, cid, bot, ConversationStatus.queued)
    conv = await conversation(kefu, cid)
    assert (conv.status, conv.assignee_id) == ("open", lina)


async def test_sticky_agent_serves_a_returning_contact(kefu: Kefu, workspace: Demo) -> None:
    lina = agent_id(workspace, "lina")
    async with kefu.db.transaction() as session:
        group = await session.get(SkillGroup, workspace.groups["presales"])
        assert group is not None
        group.settings = {"sticky_days": 7}
    await set_agent(kefu, lina, presence="online")
    first = await visitor_writes(kefu, workspace, "returning")
    assert (await conversation(kefu, first)).assignee_id == lina
    actor = Actor(workspace_id=workspace.workspace_id, kind=SenderKind.agent, user_id=lina)
    await change_status(kefu, first, actor, ConversationStatus.resolved)
    # Another agent comes online and is idle; least-busy alone would prefer them.
    await add_agent(kefu, workspace, "fresh", "presales")
    for n in range(3):
        await visitor_writes(kefu, workspace, f"other{n}")
    async with kefu.db.transaction() as session:
        # Move the old conversation out of the reopen window so a new one opens.
        await session.execute(
            sa.update(Conversation)
            .where(Conversation.id == first)
            .values(resolved_at=utcnow() - timedelta(days=2))
        )
    again = await visitor_writes(kefu, workspace, "returning")
    assert again != first
    conv = await conversation(kefu, again)
    assert conv.assignee_id == lina
    async with kefu.db.session() as session:
        data = await session.scalar(
            sa.select(ConversationEventRow.data).where(
                ConversationEventRow.conversation_id == again,
                ConversationEventRow.type == "assigned",
            )
        )
    assert data is not None and data["reason"] == "sticky"


async def test_overdue_conversation_overflows_to_another_group(kefu: Kefu, workspace: Demo) -> None:
    async with kefu.db.transaction() as session:
        group = await session.get(SkillGroup, workspace.groups["presales"])
        assert group is not None
        group.settings = {
            "max_wait_seconds": 60,
            "overflow_group_id": str(workspace.groups["aftersales"]),
        }
    cid = await visitor_writes(kefu, workspace, "patient")
    tom = agent_id(workspace, "tom")
    await set_agent(kefu, tom, presence="online")

    assert await assign_waiting(kefu, workspace.workspace_id, utcnow()) == []
    later = utcnow() + timedelta(seconds=90)
    events = await assign_waiting(kefu, workspace.workspace_id, later)
    assert [(e.change, e.conversation_id) for e in events][:2] == [
        ("overflowed", cid),
        ("assigned", cid),
    ]
    conv = await conversation(kefu, cid)
    assert (conv.group_id, conv.assignee_id) == (workspace.groups["aftersales"], tom)


async def test_overdue_conversation_without_overflow_group_leaves_a_message(
    kefu: Kefu, workspace: Demo
) -> None:
    async with kefu.db.transaction() as session:
        group = await session.get(SkillGroup, workspace.groups["presales"])
        assert group is not None
        group.settings = {"max_wait_seconds": 60, "overflow_leave_message": True}
    cid = await visitor_writes(kefu, workspace, "patient")
    events = await assign_waiting(kefu, workspace.workspace_id, utcnow() + timedelta(minutes=5))
    assert [e.change for e in events] == ["leave_message"]
    assert (await conversation(kefu, cid)).status == "pending"


async def test_transfer_to_a_group_routes_inside_that_group_with_the_note(
    kefu: Kefu, workspace: Demo
) -> None:
    lina, tom = agent_id(workspace, "lina"), agent_id(workspace, "tom")
    await set_agent(kefu, lina, presence="online")
    await set_agent(kefu, tom, presence="online")
    cid = await visitor_writes(kefu, workspace, "v")
    assert (await conversation(kefu, cid)).assignee_id == lina
    actor = Actor(workspace_id=workspace.workspace_id, kind=SenderKind.agent, user_id=lina)
    await assign(
        kefu,
        cid,
        actor,
        group_id=workspace.groups["aftersales"],
        note="退货问题 return question",
        transfer=True,
    )
    conv = await conversation(kefu, cid)
    assert (conv.group_id, conv.assignee_id, conv.status) == (
        workspace.groups["aftersales"],
        tom,
        "open",
    )
    types = await event_types(kefu, cid)
    assert types.index("transferred") < len(types) - 1 and types[-1] == "assigned"


async def test_round_robin_takes_turns_across_calls(kefu: Kefu, workspace: Demo) -> None:
    async with kefu.db.transaction() as session:
        group = await session.get(SkillGroup, workspace.groups["presales"])
        assert group is not None
        group.strategy = "round_robin"
    await set_agent(kefu, agent_id(workspace, "lina"), presence="online")
    second = await add_agent(kefu, workspace, "second", "presales")
    agents = []
    for n in range(4):
        cid = await visitor_writes(kefu, workspace, f"rr{n}")
        agents.append((await conversation(kefu, cid)).assignee_id)
    assert len(set(agents)) == 2 and agents[0] != agents[1] and agents[:2] == agents[2:]
    assert second in agents


async def test_contacts_of_other_workspaces_are_never_routed_to_our_agents(
    kefu: Kefu, workspace: Demo, other_workspace: Demo
) -> None:
    await set_agent(kefu, agent_id(workspace, "lina"), presence="online")
    cid = await visitor_writes(kefu, other_workspace, "stranger")
    conv = await conversation(kefu, cid)
    assert conv.status == "queued" and conv.assignee_id is None
    events = await assign_waiting(kefu, workspace.workspace_id, utcnow())
    assert events == []
    async with kefu.db.session() as session:
        contact = await session.get(Contact, conv.contact_id)
        assert contact is not None and contact.workspace_id == other_workspace.workspace_id


async def test_sweep_serves_every_workspace_with_someone_waiting(
    kefu: Kefu, workspace: Demo, other_workspace: Demo
) -> None:
    ours = await visitor_writes(kefu, workspace, "a")
    theirs = await visitor_writes(kefu, other_workspace, "b")
    await set_agent(kefu, agent_id(workspace, "lina"), presence="online")
    await set_agent(kefu, agent_id(other_workspace, "lina"), presence="online")
    events = await sweep(kefu, utcnow())
    assert {e.conversation_id for e in events if e.change == "assigned"} == {ours, theirs}


async def test_queue_timer_publishes_assignments_until_stopped(
    kefu: Kefu, workspace: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    cid = await visitor_writes(kefu, workspace, "a")
    await set_agent(kefu, agent_id(workspace, "lina"), presence="online")
    stop = asyncio.Event()
    published: list[Any] = []

    def publish(event: Any) -> None:
        published.append(event)
        if getattr(event, "change", None) == "assigned":
            stop.set()

    monkeypatch.setattr(kefu.events, "publish", publish)
    await asyncio.wait_for(run_queue_timer(kefu, stop, every_seconds=0.01), timeout=30)
    assert [e.conversation_id for e in published if e.change == "assigned"] == [cid]


async def test_hand_over_from_bot_skips_bot_rules_even_when_a_bot_rule_started_the_bot(
    kefu: Kefu, workspace: Demo
) -> None:
    lina = agent_id(workspace, "lina")
    await set_agent(kefu, lina, presence="online")
    await add_rule(kefu, workspace, name="bot first", priority=50, target={"kind": "bot"})
    cid = await visitor_writes(kefu, workspace, "v")
    assert (await conversation(kefu, cid)).status == "bot"
    async with kefu.db.transaction() as session:
        conv = await session.get(Conversation, cid)
        assert conv is not None
        await hand_over_from_bot(session, conv, utcnow())
    conv = await conversation(kefu, cid)
    assert (conv.status, conv.assignee_id) == ("open", lina)


async def test_bot_handing_over_by_status_change_is_not_routed_back_to_the_bot(
    kefu: Kefu, workspace: Demo
) -> None:
    """What the knowledge bot does: a bot rule starts the bot, the bot gives up by
    putting the conversation in the queue; a "bot first" rule must not catch it again."""
    lina = agent_id(workspace, "lina")
    await set_agent(kefu, lina, presence="online")
    await add_rule(kefu, workspace, name="bot first", priority=50, target={"kind": "bot"})
    cid = await visitor_writes(kefu, workspace, "v")
    assert (await conversation(kefu, cid)).status == "bot"
    bot = Actor(workspace_id=workspace.workspace_id, kind=SenderKind.bot)
    await change_status(kefu, cid, bot, ConversationStatus.queued)
    conv = await conversation(kefu, cid)
    assert (conv.status, conv.assignee_id) == ("open", lina)


async def test_customer_back_after_a_bot_hand_over_goes_to_the_agent_who_helped(
    kefu: Kefu, workspace: Demo
) -> None:
    """Chosen when "bot first" became a rule: a conversation the bot already handed over
    does not meet the bot again when the customer writes back within the reopen window
    (no second hand-over apology); it reopens to the agent who just served it."""
    lina = agent_id(workspace, "lina")
    await set_agent(kefu, lina, presence="online")
    await add_rule(kefu, workspace, name="bot first", priority=50, target={"kind": "bot"})
    cid = await visitor_writes(kefu, workspace, "back-again")
    bot = Actor(workspace_id=workspace.workspace_id, kind=SenderKind.bot)
    await change_status(kefu, cid, bot, ConversationStatus.queued)
    assert (await conversation(kefu, cid)).assignee_id == lina
    helper = Actor(workspace_id=workspace.workspace_id, kind=SenderKind.agent, user_id=lina)
    await change_status(kefu, cid, helper, ConversationStatus.resolved)
    again = await visitor_writes(kefu, workspace, "back-again")
    assert again == cid
    conv = await conversation(kefu, cid)
    assert (conv.status, conv.assignee_id) == ("open", lina)


async def test_reopened_conversation_waits_behind_those_already_waiting(
    kefu: Kefu, workspace: Demo
) -> None:
    admin = Actor(
        workspace_id=workspace.workspace_id,
        kind=SenderKind.agent,
        user_id=agent_id(workspace, "admin"),
    )
    first = await visitor_writes(kefu, workspace, "comes-back")
    await change_status(kefu, first, admin, ConversationStatus.resolved)
    waiting = await visitor_writes(kefu, workspace, "meanwhile")
    again = await visitor_writes(kefu, workspace, "comes-back")
    assert again == first  # reopened within the window
    async with kefu.db.session() as session:
        reopened = await queue_status(session, await conversation(kefu, first), utcnow())
        other = await queue_status(session, await conversation(kefu, waiting), utcnow())
    assert (other.position, reopened.position) == (1, 2)
