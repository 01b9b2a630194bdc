"""The workspace's report settings: its time zone (what a "day" is) and the call
service-level threshold T. Admins only; changing the zone rebuilds the roll-up's
recent past so old rows do not keep the old day boundaries."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec
import sqlalchemy as sa
from litestar import Controller, get, put

from kefu.context import Kefu
from kefu.db.tables import Workspace
from kefu.errors import FieldError, Invalid
from kefu.i18n import Text
from kefu.model import Role, utcnow
from kefu.people.auth import AuthUser, require_role
from kefu.reports import compute, rollup
from kefu.reports.tables import ReportDay

REBUILD_DAYS = 400


class ReportSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    timezone: Annotated[
        str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_+\-/]+$")
    ]
    call_service_level_seconds: Annotated[int, msgspec.Meta(ge=1, le=3600)] = 20


class ReportSettingsController(Controller):
    path = "/api/v1/reports/settings"
    tags = ("reports",)

    @get("/", guards=[require_role(Role.admin, Role.supervisor)])
    async def read(self, kefu: Kefu, user: AuthUser) -> ReportSettings:
        async with kefu.db.session() as session:
            settings = await session.scalar(
                sa.select(Workspace.settings).where(Workspace.id == user.workspace_id)
            )
        settings = settings or {}
        return ReportSettings(
            timezone=rollup.workspace_timezone(settings),
            call_service_level_seconds=int(settings.get("call_service_level_seconds", 20)),
        )

    @put("/", guards=[require_role(Role.admin)])
    async def write(self, kefu: Kefu, user: AuthUser, data: ReportSettings) -> ReportSettings:
        try:
            ZoneInfo(data.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            said = Text(en="not a known IANA time zone", zh="不是有效的 IANA 时区名")
            raise Invalid(
                Text(en=f"timezone: {said.en}", zh=f"timezone：{said.zh}"),
                errors=[FieldError("timezone", said)],
            ) from None
        async with kefu.db.transaction() as session:
            ws = await session.get(Workspace, user.workspace_id, with_for_update=True)
            assert ws is not None
            ws.settings = {
                **(ws.settings or {}),
                "timezone": data.timezone,
                "call_service_level_seconds": data.call_service_level_seconds,
            }
            await session.flush()
            # Day boundaries or T may have changed: recompute the recent past (older rows
            # would keep the old zone's days).
            await session.execute(
                sa.delete(ReportDay).where(ReportDay.workspace_id == user.workspace_id)
            )
            since = compute.local_day(utcnow(), data.timezone) - timedelta(days=REBUILD_DAYS)
            await rollup.rebuild(session, user.workspace_id, since)
        return data


ROUTES = [ReportSettingsController]
