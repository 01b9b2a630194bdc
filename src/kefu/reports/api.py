"""HTTP: the supervisor board. Read-only; supervisors and admins only."""

from __future__ import annotations

from litestar import Controller, get

from kefu.context import Kefu
from kefu.model import Role, utcnow
from kefu.people.auth import AuthUser, require_role
from kefu.reports.schemas import Board
from kefu.reports.service import build_board


class ReportsController(Controller):
    path = "/api/v1/reports"
    tags = ("reports",)
    guards = (require_role(Role.admin, Role.supervisor),)

    @get("/board")
    async def board(self, kefu: Kefu, user: AuthUser) -> Board:
        async with kefu.db.session() as session:
            return await build_board(session, user.workspace_id, utcnow())


ROUTES = [ReportsController]
