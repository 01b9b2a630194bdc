"""When a scheduled report is due and which days it covers (pure: no database, no clock).

A daily report sent on day D covers D - 1; a weekly one covers the last complete ISO week
(Monday to Sunday) before the day it is sent; a monthly one the previous calendar month.
Times are the workspace's local wall clock (its `timezone` setting)."""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo


class Frequency(enum.StrEnum):
    daily = "daily"
    weekly = "weekly"
    monthly = "monthly"


def _due_on(day: date, frequency: Frequency, weekday: int, day_of_month: int) -> bool:
    if frequency is Frequency.daily:
        return True
    if frequency is Frequency.weekly:
        return day.weekday() == weekday
    return day.day == day_of_month


def next_run(
    after: datetime,
    frequency: Frequency,
    hour: int,
    tz: str,
    *,
    weekday: int = 0,
    day_of_month: int = 1,
) -> datetime:
    """The first send time strictly after `after` (UTC-aware in, UTC-aware out)."""
    zone = ZoneInfo(tz)
    day = after.astimezone(zone).date()
    for _ in range(62):  # a monthly schedule is due within two months
        if _due_on(day, frequency, weekday, day_of_month):
            at = datetime(day.year, day.month, day.day, hour, tzinfo=zone).astimezone(UTC)
            if at > after:
                return at
        day += timedelta(days=1)
    raise ValueError("no send time within two months")  # pragma: no cover - day_of_month <= 28


def period_of(run_at: datetime, frequency: Frequency, tz: str) -> tuple[date, date, str]:
    """(first day, last day, label) of what a report sent at `run_at` covers."""
    sent = run_at.astimezone(ZoneInfo(tz)).date()
    if frequency is Frequency.daily:
        day = sent - timedelta(days=1)
        return day, day, day.isoformat()
    if frequency is Frequency.weekly:
        end = sent - timedelta(days=sent.weekday() + 1)  # the Sunday before
        start = end - timedelta(days=6)
        year, week, _ = start.isocalendar()
        return start, end, f"{year}-W{week:02d}"
    end = sent.replace(day=1) - timedelta(days=1)
    return end.replace(day=1), end, f"{end.year}-{end.month:02d}"
