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

from kefu.i18n import Text
from kefu.routing.checks import Problem, sentences

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


def calendar_problems(calendar: Calendar) -> list[Problem]:
    """Every problem an admin has to fix, each on its field (empty when valid)."""
    problems: list[Problem] = []
    try:
        ZoneInfo(calendar.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        said = Text(
            f"unknown time zone {calendar.timezone!r} (use an IANA name)",
            f"未知的时区 {calendar.timezone!r}，请选择列表中的时区（如 Asia/Shanghai）",
        )
        problems.append(Problem("timezone", said))
    for day in calendar.weekly:
        if day not in WEEKDAYS:
            said = Text(
                f"unknown weekday {day!r}; use one of {', '.join(WEEKDAYS)}",
                f"未知的星期 {day!r}，请使用 {', '.join(WEEKDAYS)} 之一",
            )
            problems.append(Problem(f"weekly.{day}", said))
    labelled = [
        (f"weekly.{day}", Text(f"weekly {day}", f"每周 {day}"), ivs)
        for day, ivs in calendar.weekly.items()
    ]
    labelled += [
        (
            f"special_days[{index}].hours",
            Text(f"special day {sd.date.isoformat()}", f"特殊日期 {sd.date.isoformat()}"),
            sd.hours,
        )
        for index, sd in enumerate(calendar.special_days)
    ]
    for path, where, intervals in labelled:
        for index, iv in enumerate(intervals):
            at = f"{path}[{index}]"
            bad = [f for f, v in (("start", iv.start), ("end", iv.end)) if not _HHMM.match(v)]
            if bad:
                said = Text(
                    f"times must be HH:MM, got {iv.start!r}-{iv.end!r}",
                    f"时间格式应为 HH:MM（如 09:00），现在是 {iv.start!r}-{iv.end!r}",
                )
                problems.append(Problem(f"{at}.{bad[0]}", said, where))
            elif _minutes(iv.start) >= _minutes(iv.end):
                said = Text(
                    f"{iv.start}-{iv.end} ends before it starts; split a night shift at midnight",
                    f"{iv.start}-{iv.end} 的结束时间早于开始时间；跨夜班次请在午夜拆成两段",
                )
                problems.append(Problem(f"{at}.end", said, where))
    seen: set[date] = set()
    for index, sd in enumerate(calendar.special_days):
        if sd.date in seen:
            said = Text(
                f"special day {sd.date.isoformat()} is listed twice",
                f"特殊日期 {sd.date.isoformat()} 重复了，请删去一个",
            )
            problems.append(Problem(f"special_days[{index}].date", said))
        seen.add(sd.date)
    return problems


def validate(calendar: Calendar) -> list[str]:
    """`calendar_problems` as readable English sentences (empty when valid)."""
    return sentences(calendar_problems(calendar))


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
