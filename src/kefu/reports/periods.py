"""Report periods: the label a day falls into for day / week / month / quarter / year."""

from __future__ import annotations

from datetime import date
from enum import StrEnum


class GroupBy(StrEnum):
    # One day only (today's hourly view), computed straight from its events.
    hour = "hour"
    day = "day"
    week = "week"
    month = "month"
    quarter = "quarter"
    year = "year"


def period_of(day: date, group_by: GroupBy) -> str:
    if group_by is GroupBy.day:
        return day.isoformat()
    if group_by is GroupBy.week:
        iso = day.isocalendar()
        return f"{iso.year}-W{iso.week:02d}"
    if group_by is GroupBy.month:
        return f"{day.year}-{day.month:02d}"
    if group_by is GroupBy.quarter:
        return f"{day.year}-Q{(day.month - 1) // 3 + 1}"
    return str(day.year)
