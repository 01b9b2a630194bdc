"""Automatic conversation distribution: which agent inside a group serves a conversation,
and in which order waiting conversations are served.

Pure: the shell (`routing.loaders`, `route`, `queue`) loads agents, their current load
and the queue under locks, calls `plan`, and writes the result. Only agents whose
presence is `online` and who are under their capacity for the conversation's channel
kind ever receive work.
"""

from __future__ import annotations

import bisect
import enum
import heapq
import math
import statistics
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import msgspec

from kefu.i18n import Text
from kefu.model import Count
from kefu.routing.checks import Problem

DEFAULT_CAPACITY = 5
# Used for the estimated wait until the group has handled a few conversations.
DEFAULT_HANDLE_SECONDS = 300.0
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Strategy(enum.StrEnum):
    round_robin = "round_robin"
    least_busy = "least_busy"
    longest_idle = "longest_idle"


class GroupPolicy(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """How one skill group distributes work; stored as SkillGroup.strategy + settings."""

    strategy: Strategy = Strategy.least_busy
    # Give a returning contact the agent who served them within this many days (0: off).
    sticky_days: Annotated[int, msgspec.Meta(ge=0, le=3650)] = 0
    # Prefer agents whose region equals the contact's; others still serve if none can.
    region_match: bool = False
    # Within one priority, serve higher VIP levels before earlier arrivals.
    vip_first: bool = False
    # After waiting this long, move to `overflow_group_id`, or offer to leave a message.
    max_wait_seconds: Count | None = None
    overflow_group_id: uuid.UUID | None = None
    overflow_leave_message: bool = False

    @classmethod
    def from_group(cls, strategy: str, settings: Mapping[str, Any]) -> GroupPolicy:
        """Read what an admin stored; unknown keys are ignored, bad values fall back."""
        raw = {k: v for k, v in settings.items() if k in cls.__struct_fields__}
        raw["strategy"] = strategy
        try:
            return msgspec.convert(raw, cls, strict=False)
        except msgspec.ValidationError:
            known = strategy in {s.value for s in Strategy}
            return cls(strategy=Strategy(strategy) if known else Strategy.least_busy)

    def to_settings(self) -> dict[str, Any]:
        data: dict[str, Any] = msgspec.to_builtins(self)
        data.pop("strategy", None)
        return data


def policy_problems(policy: GroupPolicy, group_id: uuid.UUID) -> list[Problem]:
    """What an admin has to fix in a group's policy, each on its field (empty when
    valid). Whether the overflow group exists is the caller's question (it needs the
    database)."""
    problems: list[Problem] = []
    if not 0 <= policy.sticky_days <= 365:
        said = Text("sticky_days must be between 0 and 365", "回头客分配天数须在 0 到 365 之间")
        problems.append(Problem("sticky_days", said))
    if policy.max_wait_seconds is not None and policy.max_wait_seconds <= 0:
        said = Text("max_wait_seconds must be positive", "最长等待时间必须大于 0 秒")
        problems.append(Problem("max_wait_seconds", said))
    if policy.overflow_group_id is not None and policy.overflow_group_id == group_id:
        said = Text(
            "a group cannot overflow into itself", "技能组不能溢出到自己，请选择另一个技能组"
        )
        problems.append(Problem("overflow_group_id", said))
    if (policy.overflow_group_id or policy.overflow_leave_message) and not policy.max_wait_seconds:
        said = Text(
            "overflow needs max_wait_seconds",
            "设置溢出前，请先填写最长等待时间",
        )
        problems.append(Problem("max_wait_seconds", said))
    return problems


class AgentState(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    presence: str
    # {"web": 5, "voice": 1, "*": 5}; "*" is the default for kinds not listed, and an
    # optional "total" caps the sum over all kinds.
    capacity: dict[str, Any]
    # Conversations the agent holds now (open or pending), per channel kind.
    load: dict[str, int] = msgspec.field(default_factory=dict)
    region: str | None = None
    last_assigned_at: datetime | None = None
    online_since: datetime | None = None
    groups: frozenset[uuid.UUID] = frozenset()


class Request(msgspec.Struct, frozen=True, kw_only=True):
    """One conversation wanting an agent."""

    conversation_id: uuid.UUID
    channel: str
    group_id: uuid.UUID | None
    queued_at: datetime
    priority: int = 0
    vip_level: int = 0
    region: str | None = None
    # The agent who last served this contact, and when (for sticky routing).
    last_agent_id: uuid.UUID | None = None
    last_served_at: datetime | None = None
    # A rule asked for this very agent.
    agent_id: uuid.UUID | None = None


class Choice(msgspec.Struct, frozen=True, kw_only=True):
    agent_id: uuid.UUID | None
    # sticky | requested_agent | region | strategy | no_member | nobody_online | all_full
    reason: str


class Assignment(msgspec.Struct, frozen=True, kw_only=True):
    conversation_id: uuid.UUID
    agent_id: uuid.UUID
    reason: str


def _slot_value(raw: Any) -> int:
    if type(raw) is int:  # the common case, checked first: this runs per candidate
        return raw if raw >= 0 else 0
    if isinstance(raw, bool):
        return 0
    if isinstance(raw, int | float) and raw >= 0:
        return int(raw)
    return 0


def capacity_for(capacity: Mapping[str, Any], channel: str) -> int:
    if channel in capacity:
        return _slot_value(capacity[channel])
    if "*" in capacity:
        return _slot_value(capacity["*"])
    return DEFAULT_CAPACITY


def has_room(agent: AgentState, channel: str) -> bool:
    capacity = agent.capacity
    if agent.load.get(channel, 0) >= capacity_for(capacity, channel):
        return False
    if "total" in capacity:
        return sum(agent.load.values()) < _slot_value(capacity["total"])
    return True


def can_take(agent: AgentState, channel: str) -> bool:
    return agent.presence == "online" and has_room(agent, channel)


def idle_since(agent: AgentState) -> datetime:
    """Idle since the later of the last assignment and coming online."""
    assigned, online = agent.last_assigned_at, agent.online_since
    if assigned is None:
        return online or _EPOCH
    if online is None:
        return assigned
    return max(assigned, online)


def _busy_key(agent: AgentState, channel: str) -> tuple[float, int, datetime, uuid.UUID]:
    cap = capacity_for(agent.capacity, channel) or 1
    return (
        agent.load.get(channel, 0) / cap,
        sum(agent.load.values()),
        idle_since(agent),
        agent.id,
    )


def _pick(
    candidates: list[AgentState], policy: GroupPolicy, channel: str, cursor: uuid.UUID | None
) -> AgentState:
    if policy.strategy is Strategy.round_robin:
        # The first agent after the cursor in id order, wrapping round to the lowest id.
        if cursor is not None:
            after = [a for a in candidates if a.id > cursor]
            if after:
                return min(after, key=lambda a: a.id)
        return min(candidates, key=lambda a: a.id)
    if policy.strategy is Strategy.longest_idle:
        return min(candidates, key=lambda a: (idle_since(a), a.id))
    return min(candidates, key=lambda a: _busy_key(a, channel))


def sticky_applies(request: Request, policy: GroupPolicy, now: datetime) -> bool:
    return (
        policy.sticky_days > 0
        and request.last_agent_id is not None
        and request.last_served_at is not None
        and now - request.last_served_at <= timedelta(days=policy.sticky_days)
    )


def choose_agent(
    request: Request,
    agents: Sequence[AgentState],
    policy: GroupPolicy,
    now: datetime,
    cursor: uuid.UUID | None = None,
    *,
    index: AgentIndex | None = None,
) -> Choice:
    """Pick the agent for one conversation. `agents` may hold the whole workspace; only
    members of the request's group count (every agent when the group is None). `index`
    saves rebuilding the lookups when many requests are planned against one list."""
    index = index or AgentIndex(agents)
    by_id = index.by_id
    if request.agent_id is not None:
        wanted = by_id.get(request.agent_id)
        if wanted is not None and can_take(wanted, request.channel):
            return Choice(agent_id=wanted.id, reason="requested_agent")
    members = index.members(request.group_id)
    if not members:
        return Choice(agent_id=None, reason="no_member")
    if sticky_applies(request, policy, now):
        assert request.last_agent_id is not None
        last = by_id.get(request.last_agent_id)
        in_group = last is not None and (
            request.group_id is None or request.group_id in last.groups
        )
        if last is not None and in_group and can_take(last, request.channel):
            return Choice(agent_id=last.id, reason="sticky")
    online = [a for a in members if a.presence == "online"]
    if not online:
        return Choice(agent_id=None, reason="nobody_online")
    candidates = [a for a in online if has_room(a, request.channel)]
    if not candidates:
        return Choice(agent_id=None, reason="all_full")
    if policy.region_match and request.region:
        wanted_region = request.region.casefold()
        local = [a for a in candidates if (a.region or "").casefold() == wanted_region]
        if local:
            return Choice(
                agent_id=_pick(local, policy, request.channel, cursor).id, reason="region"
            )
    return Choice(agent_id=_pick(candidates, policy, request.channel, cursor).id, reason="strategy")


class AgentIndex:
    """Agents by id and by group, built once per planning pass."""

    def __init__(self, agents: Sequence[AgentState]) -> None:
        self.all = list(agents)
        self.by_id = {a.id: a for a in agents}
        self._groups: dict[uuid.UUID, list[AgentState]] = {}
        for agent in agents:
            for group in agent.groups:
                self._groups.setdefault(group, []).append(agent)

    def members(self, group_id: uuid.UUID | None) -> list[AgentState]:
        return self.all if group_id is None else self._groups.get(group_id, [])


def queue_key(request: Request, vip_first: bool = False) -> tuple[int, int, datetime, str]:
    """Priority first (higher sooner), then VIP level when the group asks for it, then
    arrival: first come, first served."""
    vip = request.vip_level if vip_first else 0
    return (-request.priority, -vip, request.queued_at, str(request.conversation_id))


def order_queue(
    requests: Iterable[Request], policies: Mapping[uuid.UUID | None, GroupPolicy]
) -> list[Request]:
    default = GroupPolicy()
    return sorted(requests, key=lambda r: queue_key(r, policies.get(r.group_id, default).vip_first))


class _Lane:
    """The online candidates of one group for one channel kind (and region), ready to
    give the agent `_pick` would choose without rescanning everyone each time.

    Keys only grow while planning (load and last assignment only increase), so a lazy
    min-heap is exact: an entry whose key went stale is re-keyed when it surfaces, and
    an agent found full is dropped for good."""

    def __init__(self, agents: list[AgentState], strategy: Strategy, channel: str) -> None:
        self.channel = channel
        self.strategy = strategy
        if strategy is Strategy.round_robin:
            self.ring = sorted(agents, key=lambda a: a.id)
            self.ids = [a.id for a in self.ring]
        else:
            self.heap = [(self._key(a), a.id, a) for a in agents]
            heapq.heapify(self.heap)

    def _key(self, agent: AgentState) -> tuple[Any, ...]:
        if self.strategy is Strategy.longest_idle:
            return (idle_since(agent), agent.id)
        return _busy_key(agent, self.channel)

    def pick(self, cursor: uuid.UUID | None) -> AgentState | None:
        if self.strategy is Strategy.round_robin:
            count = len(self.ring)
            start = bisect.bisect_right(self.ids, cursor) if cursor is not None else 0
            for step in range(count):
                agent = self.ring[(start + step) % count]
                if has_room(agent, self.channel):
                    return agent
            return None
        heap = self.heap
        while heap:
            key, _, agent = heap[0]
            if not has_room(agent, self.channel):
                heapq.heappop(heap)
                continue
            current = self._key(agent)
            if current != key:
                heapq.heapreplace(heap, (current, agent.id, agent))
                continue
            return agent
        return None


def plan(
    queue: Sequence[Request],
    agents: Sequence[AgentState],
    policies: Mapping[uuid.UUID | None, GroupPolicy],
    now: datetime,
    cursors: dict[uuid.UUID | None, uuid.UUID] | None = None,
) -> list[Assignment]:
    """Serve the queue in order against the agents' free capacity, choosing for each
    conversation exactly the agent `choose_agent` would (the property tests check this).
    Mutates `agents`' load and last_assigned_at, and `cursors` (round robin), as a real
    assignment would."""
    cursors = {} if cursors is None else cursors
    default = GroupPolicy()
    assignments: list[Assignment] = []
    index = AgentIndex(agents)
    by_id = index.by_id
    lanes: dict[tuple[uuid.UUID | None, str, str | None], _Lane] = {}

    def lane(group_id: uuid.UUID | None, channel: str, region: str | None) -> _Lane:
        key = (group_id, channel, region)
        if key not in lanes:
            online = [a for a in index.members(group_id) if a.presence == "online"]
            if region is not None:
                online = [a for a in online if (a.region or "").casefold() == region]
            strategy = policies.get(group_id, default).strategy
            lanes[key] = _Lane(online, strategy, channel)
        return lanes[key]

    # Once nobody in a group can take a channel kind, nobody can for any later
    # conversation of that kind either (capacity only shrinks while planning): skip them.
    exhausted: set[tuple[uuid.UUID | None, str]] = set()
    for request in order_queue(queue, policies):
        group_id, channel = request.group_id, request.channel
        if (group_id, channel) in exhausted and request.agent_id is None:
            continue
        policy = policies.get(group_id, default)
        chosen: AgentState | None = None
        reason = "strategy"
        if request.agent_id is not None:
            wanted = by_id.get(request.agent_id)
            if wanted is not None and can_take(wanted, channel):
                chosen, reason = wanted, "requested_agent"
        if chosen is None and sticky_applies(request, policy, now):
            assert request.last_agent_id is not None
            last = by_id.get(request.last_agent_id)
            if (
                last is not None
                and (group_id is None or group_id in last.groups)
                and can_take(last, channel)
            ):
                chosen, reason = last, "sticky"
        if chosen is None and policy.region_match and request.region:
            chosen = lane(group_id, channel, request.region.casefold()).pick(cursors.get(group_id))
            reason = "region"
        if chosen is None:
            chosen = lane(group_id, channel, None).pick(cursors.get(group_id))
            reason = "strategy"
        if chosen is None:
            if request.agent_id is None:
                exhausted.add((group_id, channel))
            continue
        chosen.load[channel] = chosen.load.get(channel, 0) + 1
        chosen.last_assigned_at = now
        cursors[group_id] = chosen.id
        assignments.append(
            Assignment(conversation_id=request.conversation_id, agent_id=chosen.id, reason=reason)
        )
    return assignments


def estimate_wait(position: int, handle_seconds: Sequence[float], slots: int) -> float | None:
    """Seconds until the conversation at `position` (1 = next) is likely served: with
    `slots` concurrent conversations among the group's online agents, one frees every
    median-handling-time / slots on average. None when no one is online to serve."""
    if slots <= 0 or position <= 0:
        return None if slots <= 0 else 0.0
    median = statistics.median(handle_seconds) if handle_seconds else DEFAULT_HANDLE_SECONDS
    return math.ceil(position * median / slots)
