"""SLA clocks as pure functions of a ticket's log: nights, weekends, holidays, pauses and
time zones (incl. a DST change), one row per case."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from kefu.routing.hours import Calendar, Interval, SpecialDay
from kefu.tickets.clock import ClockEvent, State, Target, Targets, clocks

NINE_TO_SIX = [Interval("09:00", "18:00")]
SHANGHAI = Calendar(
    timezone="Asia/Shanghai",
    weekly={d: NINE_TO_SIX for d in ("mon", "tue", "wed", "thu", "fri")},
    # Thursday 2026-12-03 closed (a holiday).
    special_days=[SpecialDay(date=date(2026, 12, 3), name="holiday")],
)
NEW_YORK = Calendar(
    timezone="America/New_York",
    weekly={d: [Interval("09:00", "17:00")] for d in ("mon", "tue", "wed", "thu", "fri")},
)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def created(at: str) -> ClockEvent:
    return ClockEvent(at=utc(at), kind="created")


def status(at: str, to: str) -> ClockEvent:
    return ClockEvent(at=utc(at), kind="status", to_kind=to)


def comment(at: str, who: str) -> ClockEvent:
    return ClockEvent(at=utc(at), kind="comment", public=True, author_kind=who)


H = 3600
# (name, calendar, events, targets, now, target, state, due_at (UTC) or None, remaining_s)
CASES = [
    (
        "around the clock, running",
        None,
        [created("2026-12-07 10:00")],
        Targets(first_response_s=H),
        "2026-12-07 10:30",
        Target.first_response,
        State.running,
        "2026-12-07 11:00",
        1800,
    ),
    (
        "night: opened 20:00 Shanghai, due 10:00 next morning",
        SHANGHAI,
        [created("2026-12-01 12:00")],  # Tue 20:00 +08
        Targets(first_response_s=H),
        "2026-12-01 13:00",
        Target.first_response,
        State.running,
        "2026-12-02 02:00",  # Wed 10:00 +08
        H,
    ),
    (
        "weekend: Friday 17:00 + 2h is Monday 10:00",
        SHANGHAI,
        [created("2026-12-04 09:00")],  # Fri 17:00 +08
        Targets(resolution_s=2 * H),
        "2026-12-05 09:00",
        Target.resolution,
        State.running,
        "2026-12-07 02:00",  # Mon 10:00 +08
        H,
    ),
    (
        "holiday: Wednesday 17:30 + 1h skips the closed Thursday",
        SHANGHAI,
        [created("2026-12-02 09:30")],  # Wed 17:30 +08
        Targets(first_response_s=H),
        "2026-12-02 09:40",
        Target.first_response,
        State.running,
        "2026-12-04 01:30",  # Fri 09:30 +08
        H - 600,
    ),
    (
        "pending_customer stops the clock and reopening resumes it",
        None,
        [
            created("2026-12-07 00:00"),
            status("2026-12-07 01:00", "pending_customer"),
            status("2026-12-07 03:00", "open"),
        ],
        Targets(resolution_s=4 * H),
        "2026-12-07 04:00",
        Target.resolution,
        State.running,
        "2026-12-07 06:00",
        2 * H,
    ),
    (
        "paused now: no due time, time left kept",
        None,
        [created("2026-12-07 00:00"), status("2026-12-07 01:00", "pending_customer")],
        Targets(resolution_s=4 * H),
        "2026-12-09 00:00",
        Target.resolution,
        State.paused,
        None,
        3 * H,
    ),
    (
        "first response met by a public agent comment",
        None,
        [created("2026-12-07 00:00"), comment("2026-12-07 00:30", "agent")],
        Targets(first_response_s=H),
        "2026-12-07 05:00",
        Target.first_response,
        State.met,
        "2026-12-07 01:00",
        1800,
    ),
    (
        "running past due is breached",
        None,
        [created("2026-12-07 00:00")],
        Targets(first_response_s=H),
        "2026-12-07 02:00",
        Target.first_response,
        State.breached,
        "2026-12-07 01:00",
        -H,
    ),
    (
        "answered late is breached",
        None,
        [created("2026-12-07 00:00"), comment("2026-12-07 01:30", "agent")],
        Targets(first_response_s=H),
        "2026-12-07 05:00",
        Target.first_response,
        State.breached,
        "2026-12-07 01:00",
        -1800,
    ),
    (
        "time zone: New York 08:00 EST opens at 09:00",
        NEW_YORK,
        [created("2026-12-07 13:00")],  # Mon 08:00 -05
        Targets(first_response_s=H),
        "2026-12-07 13:30",
        Target.first_response,
        State.running,
        "2026-12-07 15:00",  # 10:00 -05
        H,
    ),
    (
        "DST: Friday 16:30 EST + 1h is Monday 09:30 EDT",
        NEW_YORK,
        [created("2026-03-06 21:30")],  # Fri 16:30 -05
        Targets(first_response_s=H),
        "2026-03-06 21:40",
        Target.first_response,
        State.running,
        "2026-03-09 13:30",  # Mon 09:30 -04
        H - 600,
    ),
    (
        "next response starts at the customer's update after the first answer",
        None,
        [
            created("2026-12-07 00:00"),
            comment("2026-12-07 00:10", "agent"),
            comment("2026-12-07 02:00", "customer"),
        ],
        Targets(first_response_s=H, next_response_s=H),
        "2026-12-07 02:15",
        Target.next_response,
        State.running,
        "2026-12-07 03:00",
        2700,
    ),
    (
        "resolved meets resolution; the resolved stretch does not count after a reopen",
        None,
        [
            created("2026-12-07 00:00"),
            status("2026-12-07 01:00", "resolved"),
            status("2026-12-08 01:00", "open"),
        ],
        Targets(resolution_s=4 * H),
        "2026-12-08 02:00",
        Target.resolution,
        State.running,
        "2026-12-08 04:00",
        2 * H,
    ),
    (
        "resolved in time is met",
        None,
        [created("2026-12-07 00:00"), status("2026-12-07 01:00", "resolved")],
        Targets(resolution_s=4 * H),
        "2026-12-09 00:00",
        Target.resolution,
        State.met,
        "2026-12-07 04:00",
        3 * H,
    ),
]


@pytest.mark.parametrize(
    ("calendar", "events", "targets", "now", "target", "state", "due_at", "remaining_s"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_clock(
    calendar: Calendar | None,
    events: list[ClockEvent],
    targets: Targets,
    now: str,
    target: Target,
    state: State,
    due_at: str | None,
    remaining_s: int,
) -> None:
    found = {c.target: c for c in clocks(events, targets, calendar, utc(now))}
    clock = found[target]
    assert clock.state == state
    assert clock.due_at == (utc(due_at) if due_at else None)
    assert clock.remaining_s == remaining_s


def test_a_target_the_policy_does_not_set_has_no_clock() -> None:
    result = clocks(
        [created("2026-12-07 00:00")], Targets(resolution_s=H), None, utc("2026-12-07 00:01")
    )
    assert [c.target for c in result] == [Target.resolution]


def test_the_same_log_always_gives_the_same_clocks() -> None:
    events = [created("2026-12-04 09:00"), status("2026-12-04 09:30", "pending_customer")]
    shuffled = list(reversed(events))
    now = utc("2026-12-04 10:00") + timedelta(days=3)
    assert clocks(events, Targets(resolution_s=H), SHANGHAI, now) == clocks(
        shuffled, Targets(resolution_s=H), SHANGHAI, now
    )


WARN_CASES = [
    # (minutes after creation, warned already, expected warned now, next warning at)
    ("before the warning time", 40, False, [], "2026-12-01T01:50:00"),
    ("at the warning time", 50, False, ["first_response"], None),
    # Past due the clock is breached, not running: the breach speaks, not a warning.
    ("past due: breached, no warning", 70, False, [], None),
    ("warned already", 55, True, [], None),
]


@pytest.mark.parametrize(
    ("case", "minutes", "warned_before", "expected", "next_at"),
    WARN_CASES,
    ids=[c[0] for c in WARN_CASES],
)
def test_warnings_come_once_ten_minutes_before_due(
    case: str, minutes: int, warned_before: bool, expected: list[str], next_at: str | None
) -> None:
    from kefu.tickets.clock import warnings

    start = "2026-12-01T01:00:00"
    now = utc(start) + timedelta(minutes=minutes)
    running = [
        c
        for c in clocks([created(start)], Targets(first_response_s=3600), None, now)
        if c.ended_at is None
    ]
    assert [c.state for c in running] == [State.breached if minutes >= 60 else State.running]
    warned = [f"first_response:{utc(start).isoformat()}"] if warned_before else []
    due_now, ahead = warnings(running, 600, warned, now)
    assert [c.target.value for c in due_now] == expected, case
    assert ahead == (utc(next_at) if next_at else None), case
    assert warnings(running, None, [], now) == ([], None)
