"""From event rows to per-day metric states: pure, no database, no clock.

A day's state is a flat dict of counters ("new": 3) and raw duration lists
("first_response_s": [12, 40]). Both merge by addition/concatenation, so a week, a month
or a year is the merge of its days and percentiles stay exact (raw durations per day,
not a sketch: a day holds at most a few thousand values per dimension).

Every metric is attributed to the workspace-local day of the event that completes it
(a first response to the day of the reply, a resolution to the day it was resolved).
docs/reports.md defines each one.
"""

from __future__ import annotations

import math
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from kefu.routing import hours

State = dict[str, Any]
# (local day, dimension, key): "all"/"", "agent"/<user id>, "channel"/<kind>, ...
Cell = tuple[date, str, str]
HAND_OVER_TYPES = frozenset({"queued", "assigned", "transferred", "leave_message"})
TICKET_DONE = frozenset({"resolved", "closed"})
PRESENCE = "agent.presence"
# Presence states: "online" takes work (ready); "busy" and "away" are signed in but not
# ready; "offline" is neither.
READY, NOT_READY = frozenset({"online"}), frozenset({"busy", "away"})
# A presence span longer than this (a forgotten sign-off) counts only its last week, so a
# day's roll-up needs the presence events of at most a week after it.
PRESENCE_SPAN_CAP = timedelta(days=7)


@dataclass(frozen=True)
class Row:
    """One `events` row, as the roll-up reads it."""

    id: uuid.UUID
    type: str
    conversation_id: uuid.UUID | None
    actor_kind: str
    actor_id: uuid.UUID | None
    data: Mapping[str, Any]
    created_at: datetime


@dataclass(frozen=True)
class Context:
    timezone: str = "UTC"
    service_level_seconds: int = 20
    calendar: hours.Calendar | None = None
    # conversation id -> {"channel": ..., "inbox": ..., "group": ...}
    dims: Mapping[uuid.UUID, Mapping[str, str]] = field(default_factory=dict)
    # Cells per local hour (a datetime) instead of per local day: today's hourly view.
    hourly: bool = False


def local_day(at: datetime, tz: str) -> date:
    return at.astimezone(ZoneInfo(tz)).date()


def business_seconds(calendar: hours.Calendar | None, start: datetime, end: datetime) -> int:
    """Seconds of [start, end) that fall inside the calendar's opening hours."""
    if calendar is None or end <= start:
        return max(0, int((end - start).total_seconds()))
    zone = ZoneInfo(calendar.timezone)
    total = 0.0
    day = start.astimezone(zone).date() - timedelta(days=1)
    last = end.astimezone(zone).date()
    while day <= last:
        for iv in hours.hours_on(calendar, day):
            open_at = _at(day, iv.start, zone)
            close_at = _at(day, iv.end, zone)
            lo, hi = max(open_at, start), min(close_at, end)
            if hi > lo:
                total += (hi - lo).total_seconds()
        day += timedelta(days=1)
    return int(total)


def _at(day: date, hhmm: str, zone: ZoneInfo) -> datetime:
    if hhmm == "24:00":
        return datetime(day.year, day.month, day.day, tzinfo=zone) + timedelta(days=1)
    h, m = (int(x) for x in hhmm.split(":"))
    return datetime(day.year, day.month, day.day, h, m, tzinfo=zone)


def local_hour(at: datetime, tz: str) -> datetime:
    return at.astimezone(ZoneInfo(tz)).replace(minute=0, second=0, microsecond=0)


class Cells:
    """The states being built, one per (day, dimension, key)."""

    def __init__(self, tz: str, hourly: bool = False) -> None:
        self.tz = tz
        self.bucket: Any = local_hour if hourly else local_day
        self.states: dict[Cell, State] = defaultdict(dict)

    def add(
        self,
        at: datetime,
        name: str,
        value: int = 1,
        *,
        agent: str | None = None,
        group: str | None = None,
        channel: str | None = None,
        inbox: str | None = None,
    ) -> None:
        day = self.bucket(at, self.tz)
        dims = (("agent", agent), ("group", group), ("channel", channel), ("inbox", inbox))
        for dim, key in (("all", ""), *dims):
            if key is None:
                continue
            state = self.states[(day, dim, key)]
            state[name] = state.get(name, 0) + value

    def sample(
        self,
        at: datetime,
        name: str,
        value: int,
        *,
        agent: str | None = None,
        group: str | None = None,
        channel: str | None = None,
        inbox: str | None = None,
    ) -> None:
        day = self.bucket(at, self.tz)
        dims = (("agent", agent), ("group", group), ("channel", channel), ("inbox", inbox))
        for dim, key in (("all", ""), *dims):
            if key is None:
                continue
            self.states[(day, dim, key)].setdefault(name, []).append(value)


def _secs(a: datetime, b: datetime) -> int:
    return max(0, round((b - a).total_seconds()))


def compute(rows: Iterable[Row], ctx: Context) -> dict[Cell, State]:
    cells = Cells(ctx.timezone, ctx.hourly)
    by_conversation: dict[uuid.UUID, list[Row]] = defaultdict(list)
    by_ticket: dict[str, list[Row]] = defaultdict(list)
    by_agent_phone: dict[str, list[Row]] = defaultdict(list)
    by_call: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        if row.type.startswith("ticket."):
            by_ticket[str(row.data.get("ticket_id"))].append(row)
        elif row.type in ("call.agentlogin", "call.agentlogoff", "call.pause", "call.unpause"):
            by_agent_phone[str(row.actor_id)].append(row)
        elif row.type == PRESENCE:
            _presence(cells, row)
        elif row.type.startswith("call."):
            by_call[str(row.data.get("call_id") or row.id)].append(row)
        elif row.conversation_id is not None:
            by_conversation[row.conversation_id].append(row)
    for cid, events in by_conversation.items():
        _conversation(cells, sorted(events, key=_order), ctx, ctx.dims.get(cid, {}))
    for events in by_ticket.values():
        _ticket(cells, sorted(events, key=_order))
    for events in by_call.values():
        answered = False
        for e in sorted(events, key=_order):
            answered = _call(cells, e, ctx, answered)
    for agent, events in by_agent_phone.items():
        _phone_states(cells, agent, sorted(events, key=_order))
    return dict(cells.states)


def _order(row: Row) -> tuple[datetime, str]:
    return (row.created_at, str(row.id))


def _conversation(cells: Cells, events: list[Row], ctx: Context, dims: Mapping[str, str]) -> None:
    created: datetime | None = None
    cycle_start: datetime | None = None
    bot_since: datetime | None = None
    handed_at: datetime | None = None
    bot_served = False
    human_replied = False
    agent: str | None = None
    group: str | None = dims.get("group")
    channel, inbox = dims.get("channel"), dims.get("inbox")
    # The customer's open wait (reply time), and the agent holding it since when (handle).
    waiting_since: datetime | None = None
    held_by: str | None = None
    held_since: datetime | None = None

    def span(name: str, start: datetime, end: datetime, who: str | None) -> None:
        """A duration and its business-hours value, credited to the day it ends."""
        values = (_secs(start, end), business_seconds(ctx.calendar, start, end))
        for suffix, value in zip(("_s", "_bh_s"), values, strict=True):
            cells.sample(
                end, name + suffix, value, agent=who, group=group, channel=channel, inbox=inbox
            )

    for e in events:
        at = e.created_at
        t = e.type
        if t in ("created", "reopened", "waiting"):
            waiting_since = at
        elif t == "replied" and e.actor_kind == "agent" and waiting_since is not None:
            span("reply", waiting_since, at, str(e.actor_id) if e.actor_id else agent)
            waiting_since = None
        elif t in ("first_reply", "resolved"):
            waiting_since = None
        if held_by is not None and held_since is not None:
            next_holder = e.data.get("assignee_id") if t in ("assigned", "transferred") else None
            lets_go = t in ("resolved", "queued") or (
                t in ("assigned", "transferred") and str(next_holder or "") != held_by
            )
            if lets_go:
                span("handle", held_since, at, held_by)
                cells.add(at, "handle_total_s", _secs(held_since, at), agent=held_by)
                held_by = held_since = None
        if t in ("assigned", "transferred") and e.data.get("assignee_id") and held_by is None:
            held_by, held_since = str(e.data["assignee_id"]), at
        if t == "created":
            created = cycle_start = at
            cells.add(at, "new", group=group, channel=channel, inbox=inbox)
        elif t == "routed_to_bot":
            if bot_since is None and not bot_served:
                cells.add(at, "bot_started", channel=channel, inbox=inbox)
            bot_since = at
            bot_served = True
        elif t in HAND_OVER_TYPES and bot_since is not None:
            reason = str(e.data.get("reason") or e.data.get("why") or "requested")
            if t == "leave_message":
                reason = "leave_message"
            cells.add(at, "bot_handed_over", channel=channel, inbox=inbox)
            cells.add(at, "handover_reason:" + reason[:40])
            handed_at = at
            bot_since = None
        if t == "transferred":
            # Credited to the agent who let it go, before the new assignee takes it.
            cells.add(at, "transfers", agent=agent, group=group, channel=channel, inbox=inbox)
        if t in ("assigned", "transferred", "queued"):
            new_group = e.data.get("group_id")
            if new_group:
                group = str(new_group)
        if t in ("assigned", "transferred"):
            assignee = e.data.get("assignee_id")
            if assignee:
                agent = str(assignee)
                cells.add(at, "handled", agent=agent, group=group, channel=channel, inbox=inbox)
        if t == "first_reply" and e.actor_kind == "agent":
            human_replied = True
            replier = str(e.actor_id) if e.actor_id else agent
            start = (
                max(x for x in (created, handed_at) if x is not None)
                if (created or handed_at)
                else at
            )
            cells.sample(
                at,
                "first_response_s",
                _secs(start, at),
                agent=replier,
                group=group,
                channel=channel,
                inbox=inbox,
            )
            cells.sample(
                at,
                "first_response_bh_s",
                business_seconds(ctx.calendar, start, at),
                agent=replier,
                group=group,
                channel=channel,
                inbox=inbox,
            )
        elif t == "resolved":
            begin = cycle_start or created
            cells.add(at, "resolved", agent=agent, group=group, channel=channel, inbox=inbox)
            if begin is not None:
                cells.sample(
                    at,
                    "resolution_s",
                    _secs(begin, at),
                    agent=agent,
                    group=group,
                    channel=channel,
                    inbox=inbox,
                )
                cells.sample(
                    at,
                    "resolution_bh_s",
                    business_seconds(ctx.calendar, begin, at),
                    agent=agent,
                    group=group,
                    channel=channel,
                    inbox=inbox,
                )
            if bot_since is not None and not human_replied:
                cells.add(at, "bot_deflected", channel=channel, inbox=inbox)
            if not human_replied and bot_since is None:
                cells.add(at, "unanswered", group=group, channel=channel, inbox=inbox)
            cycle_start = None
        elif t == "reopened":
            cells.add(at, "reopened", agent=agent, group=group, channel=channel, inbox=inbox)
            cycle_start = at
        elif t == "leave_message":
            cells.add(at, "left_message", group=group, channel=channel, inbox=inbox)
        elif t == "rated":
            score = e.data.get("score")
            if isinstance(score, int) and 1 <= score <= 5:
                cells.add(
                    at, "csat_responses", agent=agent, group=group, channel=channel, inbox=inbox
                )
                cells.add(
                    at, f"csat_{score}", agent=agent, group=group, channel=channel, inbox=inbox
                )
                comment = e.data.get("comment")
                if comment:
                    day = cells.bucket(at, cells.tz)
                    entry = {
                        "conversation_id": str(e.conversation_id),
                        "score": score,
                        "comment": str(comment)[:500],
                        "agent_id": agent,
                        "at": at.astimezone(UTC).isoformat(),
                    }
                    cells.states[(day, "all", "")].setdefault("csat_comments", []).append(entry)


def _call(cells: Cells, e: Row, ctx: Context, answered: bool) -> bool:
    """One call event, given whether the call was answered before (a transfer or a dropped
    agent leg connects again: answered, ASA and SL count the first answer only, and a
    caller hanging up in the queue after that is not an abandon). Answers `answered`."""
    at, t, data = e.created_at, e.type[5:], e.data
    agent = str(data["agent_id"]) if data.get("agent_id") else None
    limit = ctx.service_level_seconds
    wait = int(data.get("wait_s") or 0)
    if t == "enterqueue":
        cells.add(
            at, "calls_offered", group=_opt(data.get("group_id")), inbox=_opt(data.get("inbox_id"))
        )
    elif t == "connect":
        if answered:
            cells.add(at, "call_legs_answered", agent=agent)
            return True
        cells.add(at, "calls_answered", agent=agent)
        cells.sample(at, "call_wait_s", wait, agent=agent)
        if wait <= limit:
            cells.add(at, "calls_answered_within", agent=agent)
        return True
    elif t == "abandon" and answered:
        cells.add(at, "calls_dropped_after_answer")
    elif t == "abandon":
        cells.add(at, "calls_abandoned")
        cells.sample(at, "call_abandon_wait_s", wait)
        if wait <= limit:
            cells.add(at, "calls_abandoned_within")
    elif t in ("exitwithtimeout", "exitwithkey"):
        cells.add(at, "calls_exited")
    elif t in ("completeagent", "completecaller"):
        talk, hold = int(data.get("talk_s") or 0), int(data.get("hold_s") or 0)
        cells.add(at, "calls_completed", agent=agent)
        cells.add(at, "call_talk_s", talk, agent=agent)
        cells.add(at, "call_hold_s", hold, agent=agent)
    elif t == "wrapup":
        cells.add(at, "call_wrap_s", int(data.get("wrap_s") or 0), agent=agent)
    elif t in ("transfer", "attendedtransfer"):
        cells.add(at, "call_transfers", agent=_opt(data.get("from_agent_id")))
    elif t == "voicemail":
        cells.add(at, "voicemails")
    elif t == "missed":
        cells.add(at, "calls_missed")
    elif t == "ringnoanswer":
        cells.add(at, "calls_ring_no_answer", agent=agent)
    return answered


def _opt(value: object) -> str | None:
    return str(value) if value else None


def _ticket(cells: Cells, events: list[Row]) -> None:
    opened: datetime | None = None
    done = False
    for e in events:
        at, t, data = e.created_at, e.type[7:], e.data
        if t == "created":
            opened = at
            cells.add(at, "tickets_created", channel=_opt(data.get("channel")))
            cells.add(at, "tickets_backlog_delta")
        elif t == "status":
            to_done = data.get("to_kind") in TICKET_DONE
            if to_done and not done:
                cells.add(at, "tickets_resolved")
                cells.add(at, "tickets_backlog_delta", -1)
                if opened is not None:
                    cells.sample(at, "ticket_resolution_s", _secs(opened, at))
                done = True
            elif not to_done and done:
                cells.add(at, "tickets_reopened")
                cells.add(at, "tickets_backlog_delta")
                opened, done = at, False
        elif t == "sla":
            target, outcome = data.get("target"), data.get("outcome")
            if target in ("first_response", "next_response", "resolution") and outcome in (
                "met",
                "breached",
            ):
                cells.add(at, f"sla_{target}_{outcome}")
        elif t == "rated":
            score = data.get("score")
            if isinstance(score, int) and 1 <= score <= 5:
                cells.add(at, "ticket_csat_responses")
                cells.add(at, f"ticket_csat_{score}")


def _phone_states(cells: Cells, agent: str, events: list[Row]) -> None:
    """Logged-in and paused time per agent, credited to the day each span ends."""
    login: datetime | None = None
    paused: datetime | None = None
    for e in events:
        t, at = e.type, e.created_at
        if t == "call.agentlogin":
            login = login or at
        elif t == "call.pause" and login is not None:
            paused = paused or at
        elif t == "call.unpause" and paused is not None:
            cells.add(at, "agent_not_ready_s", _secs(paused, at), agent=agent)
            paused = None
        elif t == "call.agentlogoff" and login is not None:
            if paused is not None:
                cells.add(at, "agent_not_ready_s", _secs(paused, at), agent=agent)
                paused = None
            cells.add(at, "agent_online_s", _secs(login, at), agent=agent)
            login = None


def presence_span(e: Row) -> tuple[str, datetime, datetime] | None:
    """(state, start, end) of the span an `agent.presence` event closes, capped."""
    since = e.data.get("since")
    state = str(e.data.get("from") or "")
    if not isinstance(since, str) or state not in READY | NOT_READY:
        return None
    try:
        start = datetime.fromisoformat(since)
    except ValueError:
        return None
    start = start if start.tzinfo else start.replace(tzinfo=UTC)
    start = max(start, e.created_at - PRESENCE_SPAN_CAP)
    return (state, start, e.created_at) if e.created_at > start else None


def _presence(cells: Cells, e: Row) -> None:
    """Online / ready / not-ready seconds, split at the workspace's day (or hour) edges so
    a shift over midnight counts on both days."""
    found = presence_span(e)
    if found is None or e.actor_id is None:
        return
    state, start, end = found
    agent = str(e.actor_id)
    kind = "ready" if state in READY else "not_ready"
    for piece_start, seconds in _pieces(cells, start, end):
        cells.add(piece_start, "presence_signed_in_s", seconds, agent=agent)
        cells.add(piece_start, f"presence_{kind}_s", seconds, agent=agent)
        cells.add(piece_start, f"presence_{state}_s", seconds, agent=agent)


def _pieces(cells: Cells, start: datetime, end: datetime) -> Iterable[tuple[datetime, int]]:
    """[start, end) cut at the cells' bucket edges (local midnights or hours)."""
    zone = ZoneInfo(cells.tz)
    at = start
    while at < end:
        local = at.astimezone(zone)
        if cells.bucket is local_hour:
            edge = local.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        else:
            day = local.date() + timedelta(days=1)
            edge = datetime(day.year, day.month, day.day, tzinfo=zone)
        stop = min(end, edge.astimezone(UTC))
        yield at, _secs(at, stop)
        at = stop


# ---------------------------------------------------------------------------
# reading states back


def merge(states: Iterable[State]) -> State:
    out: State = {}
    for state in states:
        for name, value in state.items():
            if isinstance(value, list):
                out.setdefault(name, []).extend(value)
            else:
                out[name] = out.get(name, 0) + value
    return out


def percentile(values: list[int], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100), the value a supervisor can find in the list."""
    return percentiles(values, (q,))[0]


def percentiles(values: list[int], qs: Iterable[float]) -> list[float | None]:
    """Several nearest-rank percentiles of one list, sorting it once (a year's list of
    durations is the slow part of a report read)."""
    if not values:
        return [None for _q in qs]
    ordered = sorted(values)
    return [float(ordered[max(1, math.ceil(q / 100 * len(ordered))) - 1]) for q in qs]


def avg(values: list[int]) -> float | None:
    return (sum(values) / len(values)) if values else None


def ratio(num: int | float, den: int | float) -> float | None:
    return (num / den) if den else None
