"""Business-hours calendars: weekly opening hours in a named time zone, with special days.

Pure: every function takes `now`; nothing reads the clock. A special day either closes the
desk (a public holiday: no intervals) or replaces that date's hours (the Chinese make-up
working Saturday, 调休). An interval ends at "24:00" at the latest; a night shift across
midnight is written as two intervals, "22:00-24:00" today and "00:00-06:00" tomorrow.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$|^24:00$")


class Interval(msgspec.Struct, frozen=True):
    """Open from `start` (inclusive) to `end` (exclusive), local wall-clock "HH:MM"."""

    start: str
    end: str


class SpecialDay(msgspec.Struct, frozen=True, omit_defaults=True):
    """A date whose hours differ from the week: `hours` empty means closed all day."""

    date: date
    name: str = ""
    hours: list[Interval] = msgspec.field(default_factory=list)


class Calendar(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    timezone: str = "Asia/Shanghai"
    # Keys are "mon".."sun"; a missing day is closed.
    weekly: dict[str, list[Interval]] = msgspec.field(default_factory=dict)
    special_days: list[SpecialDay] = msgspec.field(default_factory=list)


class CalendarError(ValueError):
    pass


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def validate(calendar: Calendar) -> list[str]:
    """Every problem an admin has to fix, as readable sentences (empty when valid)."""
    problems: list[str] = []
    try:
        ZoneInfo(calendar.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(f"unknown time zone {calendar.timezone!r} (use an IANA name)")
    for day in calendar.weekly:
        if day not in WEEKDAYS:
            problems.append(f"unknown weekday {day!r}; use one of {', '.join(WEEKDAYS)}")
    labelled = [(f"weekly {day}", ivs) for day, ivs in calendar.weekly.items()]
    labelled += [(f"special day {sd.date.isoformat()}", sd.hours) for sd in calendar.special_days]
    for label, intervals in labelled:
        for iv in intervals:
            if not _HHMM.match(iv.start) or not _HHMM.match(iv.end):
                problems.append(f"{label}: times must be HH:MM, got {iv.start!r}-{iv.end!r}")
            elif _minutes(iv.start) >= _minutes(iv.end):
                problems.append(
                    f"{label}: {iv.start}-{iv.end} ends before it starts; "
                    "split a night shift at midnight"
                )
    seen: set[date] = set()
    for sd in calendar.special_days:
        if sd.date in seen:
            problems.append(f"special day {sd.date.isoformat()} is listed twice")
        seen.add(sd.date)
    return problems


def _zone(calendar: Calendar) -> ZoneInfo:
    try:
        return ZoneInfo(calendar.timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise CalendarError(f"unknown time zone {calendar.timezone!r}") from exc


def hours_on(calendar: Calendar, day: date) -> list[Interval]:
    for special in calendar.special_days:
        if special.date == day:
            return list(special.hours)
    return list(calendar.weekly.get(WEEKDAYS[day.weekday()], []))


def is_open(calendar: Calendar, now: datetime) -> bool:
    local = now.astimezone(_zone(calendar))
    minute = local.hour * 60 + local.minute
    return any(
        _minutes(iv.start) <= minute < _minutes(iv.end) for iv in hours_on(calendar, local.date())
    )


def next_open(calendar: Calendar, now: datetime, horizon_days: int = 31) -> datetime | None:
    """When the desk next opens (`now` itself when open), as UTC-aware; None if it stays
    closed for the whole horizon (e.g. an empty calendar)."""
    zone = _zone(calendar)
    local = now.astimezone(zone)
    if is_open(calendar, now):
        return now
    for offset in range(horizon_days + 1):
        day = local.date() + timedelta(days=offset)
        for iv in sorted(hours_on(calendar, day), key=lambda iv: _minutes(iv.start)):
            start_min = _minutes(iv.start)
            start = datetime.combine(day, time(start_min // 60, start_min % 60), tzinfo=zone)
            if start > local:
                return start.astimezone(now.tzinfo)
    return None
