"""Pure arithmetic behind the board: no database, no clock (callers pass `now`)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta


def start_of_day(now: datetime, utc_offset_minutes: int = 0) -> datetime:
    """Midnight of `now`'s day in the workspace's zone (a fixed offset), as UTC."""
    offset = timedelta(minutes=utc_offset_minutes)
    local = now + offset
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight - offset


def service_level(
    arrivals: Iterable[tuple[datetime, datetime | None]], now: datetime, threshold_seconds: int
) -> tuple[int, int]:
    """(offered, answered within threshold) for (arrived_at, first_reply_at) pairs.

    A conversation still unanswered but inside the threshold is not decided yet, so it
    is left out rather than counted as a miss that may turn into a hit a second later.
    """
    limit = timedelta(seconds=threshold_seconds)
    offered = answered = 0
    for arrived, replied in arrivals:
        if replied is not None:
            offered += 1
            if replied - arrived <= limit:
                answered += 1
        elif now - arrived > limit:
            offered += 1
    return offered, answered


def longest_wait_seconds(waiting_since: Iterable[datetime], now: datetime) -> float:
    return max(((now - since).total_seconds() for since in waiting_since), default=0.0)


def capacity_of(capacity: dict[str, object] | None, channel: str = "*") -> int:
    """An agent's concurrent-conversation limit: per channel kind, "*" as the default."""
    if not capacity:
        return 5
    value = capacity.get(channel, capacity.get("*", 5))
    return value if isinstance(value, int) else 5
