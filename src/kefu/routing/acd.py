"""Automatic conversation distribution: which agent inside a group serves a conversation,
and in which order waiting conversations are served.

Pure: the shell (routing.service) loads agents, their current load and the queue under
locks, calls `plan`, and writes the result. Only agents whose presence is `online` and who
are under their capacity for the conversation's channel kind ever receive work.
"""

from __future__ import annotations

import enum
import math
import statistics
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

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
    sticky_days: int = 0
    # Prefer agents whose region equals the contact's; others still serve if none can.
    region_match: bool = False
    # Within one priority, serve higher VIP levels before earlier arrivals.
    vip_first: bool = False
    # After waiting this long, move to `overflow_group_id`, or offer to leave a message.
    max_wait_seconds: int | None = None
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


class AgentState(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    presence: str
    # {"web": 5, "voice": 1, "*": 5}; "*" is the default for kinds not listed, and an
    # optional "total" caps the sum over all kinds.
    capacity: dict[str, Any]
    # Conversations the agent holds now (open or pending), per channel kind.
    load: dict[str, int] = {}
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
    if agent.load.get(channel, 0) >= capacity_for(agent.capacity, channel):
        return False
    if "total" in agent.capacity:
        return sum(agent.load.values()) < _slot_value(agent.capacity["total"])
    return True


def can_take(agent: AgentState, channel: str) -> bool:
    return agent.presence == "online" and has_room(agent, channel)


def idle_since(agent: AgentState) -> datetime:
    """Idle since the later of the last assignment and coming online."""
    times = [t for t in (agent.last_assigned_at, agent.online_since) if t is not None]
    return max(times) if times else _EPOCH


def _busy_key(agent: AgentState, channel: str) -> tuple[float, int, datetime, str]:
    cap = capacity_for(agent.capacity, channel) or 1
    return (
        agent.load.get(channel, 0) / cap,
        sum(agent.load.values()),
        idle_since(agent),
        str(agent.id),
    )


def _pick(
    candidates: list[AgentState], policy: GroupPolicy, channel: str, cursor: uuid.UUID | None
) -> AgentState:
    if policy.strategy is Strategy.round_robin:
        ordered = sorted(candidates, key=lambda a: a.id)
        if cursor is not None:
            after = [a for a in ordered if a.id > cursor]
            if after:
                return after[0]
        return ordered[0]
    if policy.strategy is Strategy.longest_idle:
        return min(candidates, key=lambda a: (idle_since(a), str(a.id)))
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
) -> Choice:
    """Pick the agent for one conversation. `agents` may hold the whole workspace; only
    members of the request's group count (every agent when the group is None)."""
    by_id = {a.id: a for a in agents}
    if request.agent_id is not None:
        wanted = by_id.get(request.agent_id)
        if wanted is not None and can_take(wanted, request.channel):
            return Choice(agent_id=wanted.id, reason="requested_agent")
    members = [a for a in agents if request.group_id is None or request.group_id in a.groups]
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


def plan(
    queue: Sequence[Request],
    agents: Sequence[AgentState],
    policies: Mapping[uuid.UUID | None, GroupPolicy],
    now: datetime,
    cursors: dict[uuid.UUID | None, uuid.UUID] | None = None,
) -> list[Assignment]:
    """Serve the queue in order against the agents' free capacity. Mutates `agents`' load
    and last_assigned_at, and `cursors` (round robin), as a real assignment would."""
    cursors = {} if cursors is None else cursors
    default = GroupPolicy()
    assignments: list[Assignment] = []
    by_id = {a.id: a for a in agents}
    # Once nobody in a group can take a channel kind, nobody can for any later
    # conversation of that kind either (capacity only shrinks while planning): skip them.
    exhausted: set[tuple[uuid.UUID | None, str]] = set()
    for request in order_queue(queue, policies):
        key = (request.group_id, request.channel)
        if key in exhausted and request.agent_id is None:
            continue
        policy = policies.get(request.group_id, default)
        choice = choose_agent(request, agents, policy, now, cursors.get(request.group_id))
        if choice.agent_id is None:
            if request.agent_id is None:
                exhausted.add(key)
            continue
        agent = by_id[choice.agent_id]
        agent.load[request.channel] = agent.load.get(request.channel, 0) + 1
        agent.last_assigned_at = now
        cursors[request.group_id] = agent.id
        assignments.append(
            Assignment(
                conversation_id=request.conversation_id, agent_id=agent.id, reason=choice.reason
            )
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
