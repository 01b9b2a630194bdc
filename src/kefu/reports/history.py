"""Historical reports: the roll-up's days merged into periods, as series and totals."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from kefu.reports import compute, rollup, views
from kefu.reports.periods import GroupBy, period_of

COMMENTS_LIMIT = 200


class By(StrEnum):
    agent = "agent"
    group = "group"
    channel = "channel"
    inbox = "inbox"


async def report(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    metric: str,
    start: date,
    end: date,
    group_by: GroupBy,
    by: By | None = None,
) -> dict[str, Any]:
    """{"series": [{"period", [by], ...numbers}], "totals": {...}}; refreshes first, so
    the roll-up includes every committed event."""
    await rollup.refresh(session, workspace_id)
    view = views.METRICS[metric]
    if group_by is GroupBy.hour:
        return await _hourly(session, workspace_id, view, start, by)
    dim = str(by) if by else "all"
    days = await rollup.load_days(session, workspace_id, start, end, dim)
    grouped: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for day, key, state in days:
        grouped[(period_of(day, group_by), key)].append(state)
    if not by:
        # Every period shows, empty or not, so a chart's axis has no holes.
        day = start
        while day <= end:
            grouped.setdefault((period_of(day, group_by), ""), [])
            day += timedelta(days=1)
    series: list[dict[str, Any]] = []
    periods: list[compute.State] = []
    backlog = (
        await rollup.backlog_before(session, workspace_id, start) if metric == "tickets" else 0
    )
    for (period, key), states in sorted(grouped.items()):
        merged = compute.merge(states)
        periods.append(merged)
        row: dict[str, Any] = {"period": period}
        if by:
            row[str(by)] = key
        row.update(view(merged))
        if metric == "tickets" and not by:
            backlog += int(merged.get("tickets_backlog_delta", 0))
            row["backlog"] = backlog
        series.append(row)
    # The periods' states hold every day once (counters are integers, so their sums
    # are exact in any grouping): merging a dozen of them is cheaper than every day again.
    total_state = compute.merge(periods)
    totals = view(total_state)
    if metric == "tickets" and not by:
        totals["backlog"] = backlog
    if metric == "csat":
        comments = sorted(total_state.get("csat_comments", []), key=lambda c: c["at"], reverse=True)
        totals["comments"] = comments[:COMMENTS_LIMIT]
    return {"series": series, "totals": totals}


async def _hourly(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    view: Any,
    day: date,
    by: By | None,
) -> dict[str, Any]:
    """One day per local hour, from the raw events of that day (a day is small)."""
    base = await rollup.context_of(session, workspace_id)
    ctx = replace(base, hourly=True)
    cells = await rollup.cells_for(session, workspace_id, {day}, ctx)
    dim = str(by) if by else "all"
    grouped: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    kept: list[dict[str, Any]] = []
    for (hour, cell_dim, key), state in cells.items():
        if cell_dim == dim and isinstance(hour, datetime) and hour.date() == day:
            grouped[(hour.strftime("%Y-%m-%dT%H:00"), key)].append(state)
            kept.append(state)
    if not by:
        for h in range(24):
            grouped.setdefault((f"{day.isoformat()}T{h:02d}:00", ""), [])
    series = []
    for (period, key), states in sorted(grouped.items()):
        row: dict[str, Any] = {"period": period}
        if by:
            row[str(by)] = key
        row.update(view(compute.merge(states)))
        series.append(row)
    return {"series": series, "totals": view(compute.merge(kept))}
