from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from kefu.routing.hours import Calendar, Interval, SpecialDay, is_open, next_open, validate

NINE_TO_SIX = [Interval("09:00", "12:00"), Interval("13:00", "18:00")]
SHANGHAI = Calendar(
    timezone="Asia/Shanghai",
    weekly={day: NINE_TO_SIX for day in ("mon", "tue", "wed", "thu", "fri")},
    special_days=[
        SpecialDay(date=date(2026, 10, 1), name="国庆节"),
        # Make-up working Saturday (调休) with shorter hours.
        SpecialDay(date=date(2026, 10, 10), name="调休", hours=[Interval("10:00", "16:00")]),
    ],
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (utc(2026, 11, 23, 1, 0), True),  # Mon 09:00 Shanghai: opening minute is open
        (utc(2026, 11, 23, 0, 59), False),  # Mon 08:59
        (utc(2026, 11, 23, 4, 30), False),  # Mon 12:30 lunch break
        (utc(2026, 11, 23, 9, 59), True),  # Mon 17:59
        (utc(2026, 11, 23, 10, 0), False),  # Mon 18:00: the end is exclusive
        (utc(2026, 11, 22, 3, 0), False),  # Sunday 11:00
        (utc(2026, 10, 1, 3, 0), False),  # Thursday, but the national holiday
        (utc(2026, 10, 10, 3, 0), True),  # Saturday 11:00, a make-up working day
        (utc(2026, 10, 10, 8, 30), False),  # make-up day closes at 16:00
        (utc(2026, 11, 23, 17, 30), False),  # Mon 17:30 UTC = Tue 01:30 Shanghai
        (utc(2026, 11, 24, 1, 30), True),  # Tue 09:30 Shanghai
    ],
)
def test_is_open_in_the_calendars_own_time_zone(now: datetime, expected: bool) -> None:
    assert is_open(SHANGHAI, now) is expected


def test_daylight_saving_shift_keeps_local_opening_time() -> None:
    berlin = Calendar(timezone="Europe/Berlin", weekly={"mon": [Interval("09:00", "17:00")]})
    # 09:00 Berlin is 07:00 UTC in summer and 08:00 UTC in winter.
    assert is_open(berlin, utc(2026, 7, 6, 7, 0))
    assert not is_open(berlin, utc(2026, 11, 23, 7, 0))
    assert is_open(berlin, utc(2026, 11, 23, 8, 0))


def test_next_open_skips_lunch_weekend_and_holidays() -> None:
    assert next_open(SHANGHAI, utc(2026, 11, 23, 4, 30)) == utc(2026, 11, 23, 5, 0)
    # Friday 19:00 Shanghai -> Monday 09:00
    assert next_open(SHANGHAI, utc(2026, 11, 27, 11, 0)) == utc(2026, 11, 30, 1, 0)
    # Wednesday 30 Sept evening -> the 1st is a holiday -> Friday 2 Oct 09:00
    assert next_open(SHANGHAI, utc(2026, 9, 30, 12, 0)) == utc(2026, 10, 2, 1, 0)
    now = utc(2026, 11, 23, 2, 0)
    assert next_open(SHANGHAI, now) == now


def test_empty_calendar_never_opens() -> None:
    assert next_open(Calendar(timezone="UTC"), utc(2026, 1, 1)) is None


@pytest.mark.parametrize(
    ("calendar", "problem"),
    [
        (Calendar(timezone="Mars/Olympus"), "unknown time zone"),
        (Calendar(weekly={"monday": []}), "unknown weekday"),
        (Calendar(weekly={"mon": [Interval("9:00", "18:00")]}), "HH:MM"),
        (Calendar(weekly={"mon": [Interval("22:00", "06:00")]}), "night shift"),
        (
            Calendar(special_days=[SpecialDay(date=date(2026, 1, 1))] * 2),
            "listed twice",
        ),
    ],
)
def test_validate_names_each_problem(calendar: Calendar, problem: str) -> None:
    assert any(problem in p for p in validate(calendar))


def test_valid_calendar_has_no_problems() -> None:
    assert validate(SHANGHAI) == []
    assert validate(Calendar(weekly={"sun": [Interval("00:00", "24:00")]})) == []
