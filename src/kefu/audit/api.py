"""HTTP: admins read the audit log."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from litestar import Controller, get
from litestar.params import Parameter, QueryParameter

from kefu.audit import catalogue, service
from kefu.audit.schemas import ActionOut, AuditPage, ItemsActions
from kefu.context import Kefu
from kefu.model import NO_NUL, Role
from kefu.people.auth import AuthUser, require_role


class AuditController(Controller):
    path = "/api/v1/audit"
    tags = ["audit"]
    guards = [require_role(Role.admin)]

    @get("/")
    async def list_entries(
        self,
        kefu: Kefu,
        user: AuthUser,
        actor: uuid.UUID | None = None,
        action: Annotated[str | None, Parameter(max_length=64, pattern=NO_NUL)] = None,
        object_id: Annotated[
            str | None, QueryParameter(name="object", max_length=64, pattern=NO_NUL)
        ] = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
        cursor: Annotated[str | None, Parameter(max_length=200, pattern=NO_NUL)] = None,
    ) -> AuditPage:
        """Newest first; filter by actor, action (`routing.*` for a family), object id and
        time range [since, until); follow `next` as `cursor` for older entries."""
        return await service.entries(
            kefu,
            user.workspace_id,
            actor=actor,
            action=action,
            object_id=object_id,
            since=since,
            until=until,
            limit=limit,
            cursor=cursor,
        )

    @get("/actions")
    async def list_actions(self, user: AuthUser) -> ItemsActions:
        return ItemsActions([ActionOut(a, label.both()) for a, label in catalogue.actions()])


ROUTES = [AuditController]
