"""HTTP: the supervisor board and the historical reports. Read-only; supervisors and
admins only; always the caller's own workspace."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any

from litestar import Controller, Response, get
from litestar.params import Parameter, QueryParameter

from kefu.context import Kefu
from kefu.errors import FieldError, KefuError, NotFound
from kefu.i18n import Text
from kefu.model import Role, utcnow
from kefu.people.auth import AuthUser, require_role
from kefu.reports import drill, export, history, views
from kefu.reports.periods import GroupBy
from kefu.reports.schedules_api import ROUTES as SCHEDULE_ROUTES
from kefu.reports.schemas import Board
from kefu.reports.service import build_board
from kefu.reports.settings_api import ROUTES as SETTINGS_ROUTES

# Ten years of days: a year by month is the common case; beyond this is a mistake.
MAX_DAYS = 3660
METRIC_NAMES = "|".join(views.METRICS)


class ReportsController(Controller):
    path = "/api/v1/reports"
    tags = ("reports",)
    guards = (require_role(Role.admin, Role.supervisor),)

    @get("/board")
    async def board(self, kefu: Kefu, user: AuthUser) -> Board:
        async with kefu.db.session() as session:
            return await build_board(session, user.workspace_id, utcnow())

    @get("/drill/{number:str}")
    async def drill(
        self,
        kefu: Kefu,
        user: AuthUser,
        number: Annotated[str, Parameter(max_length=32)],
        from_: Annotated[date, QueryParameter(name="from")],
        to: date,
        agent: uuid.UUID | None = None,
    ) -> list[dict[str, Any]]:
        """The conversations behind a number of a report (at most 200, newest first)."""
        if number not in drill.DRILLABLE:
            raise NotFound(Text(en="No such number to drill into.", zh="没有这个可下钻的指标。"))
        _check_range(from_, to)
        async with kefu.db.session() as session:
            return await drill.conversations_behind(
                session, user.workspace_id, number, from_, to, agent
            )

    @get("/{metric:str}")
    async def history(
        self,
        kefu: Kefu,
        user: AuthUser,
        metric: Annotated[str, Parameter(max_length=32)],
        from_: Annotated[date, QueryParameter(name="from")],
        to: date,
        group_by: GroupBy = GroupBy.day,
        by: history.By | None = None,
        format: Annotated[str, Parameter(pattern="^(json|csv|xlsx)$")] = "json",
    ) -> Response[Any]:
        if metric not in views.METRICS:
            raise NotFound(
                Text(
                    en=f"No such report (use one of {METRIC_NAMES}).",
                    zh=f"没有这个报表（可用：{METRIC_NAMES}）。",
                )
            )
        _check_range(from_, to)
        if group_by is GroupBy.hour and from_ != to:
            said = Text(en="hourly reports cover one day", zh="按小时的报表只能查询一天")
            raise _bad("group_by", said)
        async with kefu.db.transaction() as session:
            body = await history.report(session, user.workspace_id, metric, from_, to, group_by, by)
        name = f"{metric}-{from_.isoformat()}-{to.isoformat()}"
        if format == "csv":
            return Response(
                export.to_csv(body["series"]),
                media_type="text/csv; charset=utf-8",
                headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
            )
        if format == "xlsx":
            return Response(
                export.to_xlsx(body["series"], metric),
                media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
            )
        return Response(body)


class MyStatsController(Controller):
    """An agent's own numbers: any staff member, only their own agent row."""

    path = "/api/v1/reports/mine"
    tags = ("reports",)

    @get("/")
    async def mine(
        self,
        kefu: Kefu,
        user: AuthUser,
        from_: Annotated[date, QueryParameter(name="from")],
        to: date,
    ) -> dict[str, Any]:
        _check_range(from_, to)
        async with kefu.db.transaction() as session:
            body = await history.report(
                session, user.workspace_id, "agents", from_, to, GroupBy.year, history.By.agent
            )
        mine = compute_mine(body["series"], str(user.id))
        return {"agent_id": str(user.id), "totals": mine}


def compute_mine(series: list[dict[str, Any]], agent_id: str) -> dict[str, Any]:
    rows = [r for r in series if r.get("agent") == agent_id]
    if not rows:
        return views.agents({})
    if len(rows) == 1:
        return {k: v for k, v in rows[0].items() if k not in ("period", "agent")}
    # Across years: add the counters; averages of the latest year stand.
    out = dict(rows[-1])
    for name in ("handled", "resolved", "transfers", "csat_responses", "online_s"):
        out[name] = sum(int(r.get(name) or 0) for r in rows)
    out.pop("period", None)
    out.pop("agent", None)
    return out


def _check_range(from_: date, to: date) -> None:
    if to < from_:
        raise _bad("to", Text(en="ends before from", zh="结束日期早于开始日期"))
    if (to - from_).days >= MAX_DAYS:
        said = Text(en=f"a report spans at most {MAX_DAYS} days", zh=f"报表跨度最多 {MAX_DAYS} 天")
        raise _bad("to", said)


def _bad(field: str, message: Text) -> KefuError:
    return KefuError(
        Text(en=f"{field}: {message.en}", zh=f"{field}：{message.zh}"),
        errors=[FieldError(field, message)],
    )


ROUTES = [ReportsController, MyStatsController, *SETTINGS_ROUTES, *SCHEDULE_ROUTES]
