from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kefu.routing.acd import (
    AgentState,
    GroupPolicy,
    Request,
    Strategy,
    can_take,
    capacity_for,
    choose_agent,
    estimate_wait,
    order_queue,
    plan,
)

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
G = uuid.UUID("0192f000-0000-7000-8000-00000000a001")
OTHER = uuid.UUID("0192f000-0000-7000-8000-00000000a002")


def aid(n: int) -> uuid.UUID:
    return uuid.UUID(int=n)


def agent(
    n: int,
    *,
    presence: str = "online",
    load: dict[str, int] | None = None,
    capacity: dict[str, int] | None = None,
    region: str | None = None,
    last: int | None = None,
    groups: frozenset[uuid.UUID] = frozenset({G}),
) -> AgentState:
    return AgentState(
        id=aid(n),
        presence=presence,
        capacity=capacity or {"web": 5, "voice": 1, "*": 3},
        load=dict(load or {}),
        region=region,
        last_assigned_at=None if last is None else NOW - timedelta(minutes=last),
        groups=groups,
    )


def request(n: int = 1, **kw: object) -> Request:
    fields: dict[str, object] = {
        "conversation_id": uuid.UUID(int=1000 + n),
        "channel": "web",
        "group_id": G,
        "queued_at": NOW - timedelta(seconds=100 - n),
    }
    fields.update(kw)
    return Request(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("capacity", "channel", "slots"),
    [
        ({"web": 5, "voice": 1, "*": 3}, "web", 5),
        ({"web": 5, "voice": 1, "*": 3}, "voice", 1),
        ({"web": 5, "voice": 1, "*": 3}, "wechat", 3),
        ({}, "web", 5),
        ({"web": -1}, "web", 0),
        ({"web": "lots"}, "web", 0),
    ],
)
def test_capacity_per_channel_kind(capacity: dict[str, object], channel: str, slots: int) -> None:
    assert capacity_for(capacity, channel) == slots


@pytest.mark.parametrize(
    ("state", "channel", "takes"),
    [
        (agent(1), "web", True),
        (agent(1, presence="busy"), "web", False),
        (agent(1, presence="away"), "web", False),
        (agent(1, presence="offline"), "web", False),
        (agent(1, load={"web": 5}), "web", False),
        (agent(1, load={"web": 5}), "voice", True),  # capacity is per channel kind
        (agent(1, load={"voice": 1}), "voice", False),
        (agent(1, capacity={"*": 5, "total": 2}, load={"web": 1, "email": 1}), "sms", False),
    ],
)
def test_only_online_agents_under_capacity_take_work(
    state: AgentState, channel: str, takes: bool
) -> None:
    assert can_take(state, channel) is takes


def pick(
    agents: list[AgentState], policy: GroupPolicy, cursor: uuid.UUID | None = None, **kw: object
) -> tuple[uuid.UUID | None, str]:
    choice = choose_agent(request(**kw), agents, policy, NOW, cursor)
    return choice.agent_id, choice.reason


def test_least_busy_picks_the_lowest_load_against_capacity() -> None:
    agents = [
        agent(1, load={"web": 3}),
        agent(2, load={"web": 2}, capacity={"web": 2}),  # full
        agent(3, load={"web": 2}),
        agent(4, load={"web": 1}, capacity={"web": 2}),  # 50 %
    ]
    assert pick(agents, GroupPolicy(strategy=Strategy.least_busy)) == (aid(3), "strategy")


def test_least_busy_breaks_ties_by_longest_idle() -> None:
    agents = [agent(1, last=5), agent(2, last=50), agent(3, last=20)]
    assert pick(agents, GroupPolicy())[0] == aid(2)


def test_longest_idle_picks_the_agent_waiting_longest() -> None:
    agents = [agent(1, last=5), agent(2, last=30, load={"web": 4}), agent(3, last=10)]
    assert pick(agents, GroupPolicy(strategy=Strategy.longest_idle))[0] == aid(2)


def test_longest_idle_prefers_never_assigned_agents() -> None:
    agents = [agent(1, last=500), agent(2)]
    assert pick(agents, GroupPolicy(strategy=Strategy.longest_idle))[0] == aid(2)


def test_round_robin_rotates_after_the_cursor_and_wraps() -> None:
    agents = [agent(3), agent(1), agent(2, presence="away"), agent(4)]
    rr = GroupPolicy(strategy=Strategy.round_robin)
    assert pick(agents, rr)[0] == aid(1)
    assert pick(agents, rr, cursor=aid(1))[0] == aid(3)  # 2 is away
    assert pick(agents, rr, cursor=aid(3))[0] == aid(4)
    assert pick(agents, rr, cursor=aid(4))[0] == aid(1)


def test_round_robin_plan_spreads_evenly() -> None:
    agents = [agent(n, capacity={"web": 10}) for n in (1, 2, 3)]
    queue = [request(n) for n in range(9)]
    out = plan(queue, agents, {G: GroupPolicy(strategy=Strategy.round_robin)}, NOW)
    assert [a.agent_id for a in out] == [aid(1), aid(2), aid(3)] * 3


def test_sticky_agent_within_window_wins_over_the_strategy() -> None:
    agents = [agent(1), agent(2, load={"web": 4})]
    policy = GroupPolicy(sticky_days=7)
    sticky = {"last_agent_id": aid(2), "last_served_at": NOW - timedelta(days=6)}
    assert pick(agents, policy, **sticky) == (aid(2), "sticky")


@pytest.mark.parametrize(
    ("why", "agents", "served_days_ago", "sticky_days"),
    [
        ("too long ago", [agent(1), agent(2)], 8, 7),
        ("sticky off", [agent(1), agent(2)], 1, 0),
        ("offline", [agent(1), agent(2, presence="offline")], 1, 7),
        ("full", [agent(1), agent(2, load={"web": 5})], 1, 7),
        ("left the group", [agent(1), agent(2, groups=frozenset({OTHER}))], 1, 7),
    ],
)
def test_sticky_falls_through_when_it_cannot_apply(
    why: str, agents: list[AgentState], served_days_ago: int, sticky_days: int
) -> None:
    policy = GroupPolicy(sticky_days=sticky_days)
    served = NOW - timedelta(days=served_days_ago)
    assert pick(agents, policy, last_agent_id=aid(2), last_served_at=served) == (
        aid(1),
        "strategy",
    )


def test_region_match_prefers_local_agents_but_does_not_require_them() -> None:
    policy = GroupPolicy(region_match=True)
    agents = [agent(1, region="Beijing"), agent(2, region="guangdong", load={"web": 3})]
    assert pick(agents, policy, region="Guangdong") == (aid(2), "region")
    agents[1].load["web"] = 5
    assert pick(agents, policy, region="Guangdong") == (aid(1), "strategy")


def test_requested_agent_gets_it_when_free_else_the_group_serves() -> None:
    agents = [agent(1), agent(2, groups=frozenset())]
    assert pick(agents, GroupPolicy(), agent_id=aid(2)) == (aid(2), "requested_agent")
    agents[1].presence = "away"
    assert pick(agents, GroupPolicy(), agent_id=aid(2)) == (aid(1), "strategy")


@pytest.mark.parametrize(
    ("agents", "reason"),
    [
        ([], "no_member"),
        ([agent(1, groups=frozenset({OTHER}))], "no_member"),
        ([agent(1, presence="away"), agent(2, presence="offline")], "nobody_online"),
        ([agent(1, load={"web": 5})], "all_full"),
    ],
)
def test_no_agent_reasons(agents: list[AgentState], reason: str) -> None:
    assert pick(agents, GroupPolicy()) == (None, reason)


def test_group_none_means_any_agent_of_the_workspace() -> None:
    agents = [agent(1, groups=frozenset())]
    assert pick(agents, GroupPolicy(), group_id=None)[0] == aid(1)


def test_queue_orders_by_priority_then_arrival_and_vip_when_asked() -> None:
    early = request(1)
    late_urgent = request(2, priority=5)
    late_vip = request(3, vip_level=9)
    assert order_queue([late_vip, early, late_urgent], {}) == [late_urgent, early, late_vip]
    vip_first = {G: GroupPolicy(vip_first=True)}
    assert order_queue([late_vip, early, late_urgent], vip_first) == [
        late_urgent,
        late_vip,
        early,
    ]


def test_estimated_wait_from_recent_handling_times() -> None:
    # Median 600 s, 4 slots: one frees every 150 s on average; third in line ~450 s.
    assert estimate_wait(3, [300, 600, 900], 4) == 450
    assert estimate_wait(1, [], 1) == 300  # default until there is history
    assert estimate_wait(5, [300], 0) is None  # nobody online: unknown


# ---------------------------------------------------------------------------
# Properties

CHANNELS = ["web", "voice", "wechat"]

agent_strategy = st.builds(
    lambda n, presence, web, voice, other, load_web, load_voice, region, in_g, in_o, last: (
        AgentState(
            id=aid(n),
            presence=presence,
            capacity={"web": web, "voice": voice, "*": other},
            load={"web": min(load_web, web), "voice": min(load_voice, voice)},
            region=region,
            last_assigned_at=None if last is None else NOW - timedelta(seconds=last),
            groups=frozenset(g for g, inside in ((G, in_g), (OTHER, in_o)) if inside),
        )
    ),
    st.integers(1, 30),
    st.sampled_from(["online", "online", "busy", "away", "offline"]),
    st.integers(0, 6),
    st.integers(0, 2),
    st.integers(0, 4),
    st.integers(0, 6),
    st.integers(0, 2),
    st.sampled_from([None, "north", "south"]),
    st.booleans(),
    st.booleans(),
    st.one_of(st.none(), st.integers(0, 10_000)),
)

request_strategy = st.builds(
    lambda n, channel, group, priority, age, vip, region, last, days, wanted: Request(
        conversation_id=uuid.UUID(int=10**6 + n),
        channel=channel,
        group_id=group,
        queued_at=NOW - timedelta(seconds=age),
        priority=priority,
        vip_level=vip,
        region=region,
        last_agent_id=None if last is None else aid(last),
        last_served_at=None if last is None else NOW - timedelta(days=days),
        agent_id=None if wanted is None else aid(wanted),
    ),
    st.integers(0, 10**6),
    st.sampled_from(CHANNELS),
    st.sampled_from([G, OTHER, None]),
    st.integers(0, 2),
    st.integers(0, 3600),
    st.integers(0, 3),
    st.sampled_from([None, "north", "south"]),
    st.one_of(st.none(), st.integers(1, 30)),
    st.integers(0, 10),
    st.one_of(st.none(), st.none(), st.none(), st.integers(1, 30)),
)

policy_strategy = st.builds(
    GroupPolicy,
    strategy=st.sampled_from(list(Strategy)),
    sticky_days=st.integers(0, 7),
    region_match=st.booleans(),
    vip_first=st.booleans(),
)


def unique_by_id(items: list[AgentState]) -> list[AgentState]:
    return list({a.id: a for a in items}.values())


@settings(max_examples=300, deadline=None)
@given(
    st.lists(agent_strategy, max_size=12).map(unique_by_id),
    st.lists(request_strategy, max_size=60, unique_by=lambda r: r.conversation_id),
    policy_strategy,
    policy_strategy,
)
def test_plan_never_exceeds_capacity_and_only_online_members_get_work(
    agents: list[AgentState], queue: list[Request], p1: GroupPolicy, p2: GroupPolicy
) -> None:
    before = {a.id: dict(a.load) for a in agents}
    presence = {a.id: a.presence for a in agents}
    groups = {a.id: a.groups for a in agents}
    capacity = {a.id: a.capacity for a in agents}
    by_conv = {r.conversation_id: r for r in queue}
    out = plan(queue, agents, {G: p1, OTHER: p2}, NOW)
    assert len({a.conversation_id for a in out}) == len(out)  # never twice
    added: dict[uuid.UUID, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for a in out:
        req = by_conv[a.conversation_id]
        assert presence[a.agent_id] == "online"
        # A rule may name an agent outside the group; everyone else is a member.
        assert (
            req.group_id is None
            or req.group_id in groups[a.agent_id]
            or (a.reason == "requested_agent" and a.agent_id == req.agent_id)
        )
        added[a.agent_id][req.channel] += 1
    for agent_id, per_channel in added.items():
        for channel, count in per_channel.items():
            total = before[agent_id].get(channel, 0) + count
            assert total <= capacity_for(capacity[agent_id], channel)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(agent_strategy, max_size=12).map(unique_by_id),
    st.lists(request_strategy, max_size=60, unique_by=lambda r: r.conversation_id),
    policy_strategy,
)
def test_plan_is_fifo_within_one_priority(
    agents: list[AgentState], queue: list[Request], policy: GroupPolicy
) -> None:
    policy = GroupPolicy(
        strategy=policy.strategy, sticky_days=policy.sticky_days, region_match=policy.region_match
    )
    assigned = {a.conversation_id for a in plan(queue, agents, {G: policy, OTHER: policy}, NOW)}
    # Among conversations of one group, channel kind and priority, no later arrival is
    # served while an earlier one keeps waiting.
    lanes: dict[tuple[object, str, int], list[Request]] = defaultdict(list)
    for r in queue:
        if r.agent_id is not None:
            continue  # asked for one agent: served when that agent is free, not in line
        lanes[(r.group_id, r.channel, r.priority)].append(r)
    for lane in lanes.values():
        lane.sort(key=lambda r: (r.queued_at, str(r.conversation_id)))
        served = [r.conversation_id in assigned for r in lane]
        assert served == sorted(served, reverse=True), served


@settings(max_examples=300, deadline=None)
@given(
    st.lists(agent_strategy, min_size=1, max_size=12).map(unique_by_id),
    request_strategy,
    policy_strategy,
    st.data(),
)
def test_sticky_agent_is_honoured_whenever_it_can_be(
    agents: list[AgentState], req: Request, policy: GroupPolicy, data: st.DataObject
) -> None:
    last = data.draw(st.sampled_from(agents))
    req = Request(
        conversation_id=req.conversation_id,
        channel=req.channel,
        group_id=req.group_id,
        queued_at=req.queued_at,
        region=req.region,
        last_agent_id=last.id,
        last_served_at=req.last_served_at or NOW - timedelta(days=1),
    )
    choice = choose_agent(req, agents, policy, NOW)
    within = NOW - req.last_served_at <= timedelta(days=policy.sticky_days)  # type: ignore[operator]
    eligible = (
        policy.sticky_days > 0
        and within
        and (req.group_id is None or req.group_id in last.groups)
        and can_take(last, req.channel)
    )
    if eligible:
        assert choice.agent_id == last.id and choice.reason == "sticky"
    else:
        assert choice.reason != "sticky"


def naive_plan(
    queue: list[Request],
    agents: list[AgentState],
    policies: dict[uuid.UUID | None, GroupPolicy],
) -> list[tuple[uuid.UUID, uuid.UUID, str]]:
    """The obvious way: ask choose_agent for each conversation in queue order."""
    cursors: dict[uuid.UUID | None, uuid.UUID] = {}
    out = []
    for req in order_queue(queue, policies):
        policy = policies.get(req.group_id, GroupPolicy())
        choice = choose_agent(req, agents, policy, NOW, cursors.get(req.group_id))
        if choice.agent_id is None:
            continue
        agent = next(a for a in agents if a.id == choice.agent_id)
        agent.load[req.channel] = agent.load.get(req.channel, 0) + 1
        agent.last_assigned_at = NOW
        cursors[req.group_id] = agent.id
        out.append((req.conversation_id, agent.id, choice.reason))
    return out


@settings(max_examples=300, deadline=None)
@given(
    st.lists(agent_strategy, max_size=12).map(unique_by_id),
    st.lists(request_strategy, max_size=60, unique_by=lambda r: r.conversation_id),
    policy_strategy,
    policy_strategy,
)
def test_fast_plan_chooses_exactly_what_choose_agent_would(
    agents: list[AgentState], queue: list[Request], p1: GroupPolicy, p2: GroupPolicy
) -> None:
    policies: dict[uuid.UUID | None, GroupPolicy] = {G: p1, OTHER: p2}
    twins = [
        AgentState(
            id=a.id,
            presence=a.presence,
            capacity=dict(a.capacity),
            load=dict(a.load),
            region=a.region,
            last_assigned_at=a.last_assigned_at,
            online_since=a.online_since,
            groups=a.groups,
        )
        for a in agents
    ]
    fast = [(a.conversation_id, a.agent_id, a.reason) for a in plan(queue, agents, policies, NOW)]
    assert fast == naive_plan(queue, twins, policies)
