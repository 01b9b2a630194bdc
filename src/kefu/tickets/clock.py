"""SLA clocks: pure functions of a ticket's event log, a policy's targets, a business
calendar and `now`. No database, no clock read (STYLE.md: pure cores, thin shells).

Because the clocks are recomputed from the log every time, a reopen, an edit or a
re-run of the sweep never skews them: the same log always gives the same due times.

Rules, per target:
- first_response: starts when the ticket is created; met by the first public agent
  comment.
- next_response: starts at each public customer comment once the first response is met;
  met by the next public agent comment.
- resolution: starts at creation; met when the status turns resolved/closed; a reopen
  resumes it with the time already used (the resolved stretch does not count).
- every clock stands still while the status kind is pending_customer (waiting for the
  customer is not the team's time), and counts only inside the calendar's opening hours
  (no calendar: around the clock).
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import msgspec

from kefu.routing.hours import Calendar, hours_on

# Beyond this, a target counts as never due (e.g. a calendar with no opening hours).
HORIZON_DAYS = 400

PAUSING_KINDS = frozenset({"pending_customer"})
DONE_KINDS = frozenset({"resolved", "closed"})


class Target(enum.StrEnum):
    first_response = "first_response"
    next_response = "next_response"
    resolution = "resolution"


class State(enum.StrEnum):
    running = "running"
    paused = "paused"
    met = "met"
    breached = "breached"  # running past due, or met late
    stopped = "stopped"  # ended without an outcome (resolved before any reply was due)


class ClockEvent(msgspec.Struct, frozen=True, kw_only=True):
    """What the clocks read from one ticket.* event row."""

    at: datetime
    # "created" | "status" | "comment"
    kind: str
    to_kind: str | None = None
    public: bool = False
    author_kind: str | None = None  # "agent" | "customer"


class Targets(msgspec.Struct, frozen=True, kw_only=True):
    """Business seconds allowed per target; None: the policy sets no such target."""

    first_response_s: int | None = None
    next_response_s: int | None = None
    resolution_s: int | None = None

    def of(self, target: Target) -> int | None:
        return {
            Target.first_response: self.first_response_s,
            Target.next_response: self.next_response_s,
            Target.resolution: self.resolution_s,
        }[target]


class Clock(msgspec.Struct, frozen=True, kw_only=True):
    target: Target
    state: State
    started_at: datetime
    # When it is (or was) due; None while paused (it depends on when the pause ends).
    due_at: datetime | None
    # Business seconds left (negative: over by that much); for paused clocks too.
    remaining_s: int
    ended_at: datetime | None = None


# ---------------------------------------------------------------------------
# business-time arithmetic


def _local_start(day: date, hhmm: str, zone: ZoneInfo) -> datetime:
    if hhmm == "24:00":
        return datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=zone).astimezone(UTC)
    hours, minutes = (int(p) for p in hhmm.split(":"))
    return datetime.combine(day, time(hours, minutes), tzinfo=zone).astimezone(UTC)


def open_windows(calendar: Calendar | None, start: datetime) -> Iterator[tuple[datetime, datetime]]:
    """Opening-hour windows in UTC that end after `start`, in order, for HORIZON_DAYS.
    (Converted to UTC before any arithmetic: aware datetimes in one zone subtract as wall
    time, which is wrong across a DST change.)"""
    start = start.astimezone(UTC)
    if calendar is None:
        yield start, start + timedelta(days=HORIZON_DAYS)
        return
    zone = ZoneInfo(calendar.timezone)
    first = start.astimezone(zone).date() - timedelta(days=1)
    for offset in range(HORIZON_DAYS + 2):
        day = first + timedelta(days=offset)
        windows = sorted(
            (_local_start(day, iv.start, zone), _local_start(day, iv.end, zone))
            for iv in hours_on(calendar, day)
        )
        for a, b in windows:
            if b > start:
                yield max(a, start), b


def business_seconds(calendar: Calendar | None, start: datetime, end: datetime) -> float:
    """Open time between two instants, in seconds."""
    if end <= start:
        return 0.0
    total = 0.0
    for a, b in open_windows(calendar, start):
        if a >= end:
            break
        total += (min(b, end) - a).total_seconds()
    return total


def add_business(calendar: Calendar | None, start: datetime, seconds: float) -> datetime | None:
    """The instant `seconds` of open time after `start` (negative: before is not needed,
    so it answers `start` moved back in plain time); None beyond the horizon."""
    if seconds <= 0:
        return start.astimezone(UTC) + timedelta(seconds=seconds)
    left = seconds
    for a, b in open_windows(calendar, start):
        span = (b - a).total_seconds()
        if span >= left:
            return a + timedelta(seconds=left)
        left -= span
    return None


# ---------------------------------------------------------------------------
# the clocks


class _Run:
    """One target's running tally while the log is replayed."""

    def __init__(self, target: Target, allowed: int, at: datetime) -> None:
        self.target = target
        self.allowed = allowed
        self.started_at = at
        self.used = 0.0
        self.since: datetime | None = at  # None while paused
        self.ended_at: datetime | None = None
        self.outcome: State | None = None
        # When it was due as of its last running stretch (kept for an ended clock).
        self.due_at: datetime | None = None

    def advance(self, calendar: Calendar | None, at: datetime) -> None:
        if self.since is not None and self.outcome is None:
            self.due_at = add_business(calendar, self.since, self.allowed - self.used)
            self.used += business_seconds(calendar, self.since, at)
            self.since = at

    def pause(self) -> None:
        self.since = None

    def resume(self, at: datetime) -> None:
        if self.since is None:
            self.since = at

    def end(self, at: datetime, met: bool = True) -> None:
        if self.outcome is not None:
            return
        self.ended_at = at
        if not met:
            self.outcome = State.stopped
        else:
            self.outcome = State.met if self.used <= self.allowed else State.breached

    def clock(self, calendar: Calendar | None, now: datetime) -> Clock:
        remaining = self.allowed - self.used
        if self.outcome is not None:
            return Clock(
                target=self.target,
                state=self.outcome,
                started_at=self.started_at,
                due_at=self.due_at,
                remaining_s=round(remaining),
                ended_at=self.ended_at,
            )
        if self.since is None:
            return Clock(
                target=self.target,
                state=State.paused,
                started_at=self.started_at,
                due_at=None,
                remaining_s=round(remaining),
            )
        # advance(now) ran last: due_at is from the stretch before it, `used` includes it.
        due_at = self.due_at
        state = State.breached if due_at is not None and due_at <= now else State.running
        return Clock(
            target=self.target,
            state=state,
            started_at=self.started_at,
            due_at=due_at,
            remaining_s=round(remaining),
        )


def clocks(
    events: Sequence[ClockEvent],
    targets: Targets,
    calendar: Calendar | None,
    now: datetime,
) -> list[Clock]:
    """Every clock of one ticket as of `now`, replaying its log in time order. A target
    the policy does not set has no clock; next_response has one per customer update, and
    only the latest is returned (earlier ones ended met or breached, recorded in the log
    by the sweep and the comment that met them)."""
    runs: dict[Target, _Run] = {}
    kind = "new"
    ordered = sorted(events, key=lambda e: e.at)
    for event in ordered:
        at = event.at.astimezone(UTC)
        for run in runs.values():
            run.advance(calendar, at)
        if event.kind == "created":
            for target in (Target.first_response, Target.resolution):
                allowed = targets.of(target)
                if allowed is not None:
                    runs[target] = _Run(target, allowed, at)
        elif event.kind == "status" and event.to_kind is not None:
            before, kind = kind, event.to_kind
            if kind in DONE_KINDS:
                for target, run in runs.items():
                    run.end(at, met=target == Target.resolution)
                    run.pause()
            elif kind in PAUSING_KINDS:
                for run in runs.values():
                    run.pause()
            else:
                resolution = runs.get(Target.resolution)
                if before in DONE_KINDS and resolution is not None:
                    # A reopen: resolution resumes with the time it had used.
                    resolution.outcome = None
                    resolution.ended_at = None
                for run in runs.values():
                    if run.outcome is None:
                        run.resume(at)
        elif event.kind == "comment" and event.public:
            if event.author_kind == "agent":
                for target in (Target.first_response, Target.next_response):
                    replied = runs.get(target)
                    if replied is not None:
                        replied.end(at)
            elif event.author_kind == "customer":
                first = runs.get(Target.first_response)
                allowed = targets.of(Target.next_response)
                answered = first is None or first.outcome is not None
                current = runs.get(Target.next_response)
                waiting = current is not None and current.outcome is None
                if allowed is not None and answered and not waiting:
                    fresh = _Run(Target.next_response, allowed, at)
                    if kind in PAUSING_KINDS | DONE_KINDS:
                        fresh.pause()
                    runs[Target.next_response] = fresh
    now = now.astimezone(UTC)
    for run in runs.values():
        run.advance(calendar, now)
    order = list(Target)
    return [runs[t].clock(calendar, now) for t in order if t in runs]


def next_due(clocks_: Sequence[Clock]) -> datetime | None:
    """The earliest due time of a clock still running (the breaching-soon order)."""
    dues = [c.due_at for c in clocks_ if c.state == State.running and c.due_at is not None]
    return min(dues) if dues else None


def warnings(
    clocks_: Sequence[Clock], warn_before_s: int | None, warned: Sequence[str], now: datetime
) -> tuple[list[Clock], datetime | None]:
    """The running clocks whose warning time (`warn_before_s` wall seconds before due)
    has come and that were not warned yet, by key `target:started_at`; and the next
    warning time still ahead (when the sweep should look again)."""
    if not warn_before_s:
        return [], None
    due_now: list[Clock] = []
    ahead: list[datetime] = []
    for c in clocks_:
        if c.state != State.running or c.due_at is None or c.ended_at is not None:
            continue
        if f"{c.target}:{c.started_at.isoformat()}" in warned:
            continue
        warn_at = c.due_at - timedelta(seconds=warn_before_s)
        if warn_at <= now:
            due_now.append(c)
        else:
            ahead.append(warn_at)
    return due_now, (min(ahead) if ahead else None)
