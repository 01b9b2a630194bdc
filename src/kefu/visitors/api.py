"""HTTP: staff see whether a widget visitor is blocked, block them (revoking every token
they hold) and unblock them."""

from __future__ import annotations

import uuid

import msgspec
from litestar import Controller, get, post

from kefu.context import Kefu
from kefu.people.auth import STAFF, AuthUser, require_role
from kefu.visitors import sessions


class VisitorBlock(msgspec.Struct, frozen=True):
    visitor_id: uuid.UUID
    blocked: bool


class VisitorsController(Controller):
    path = "/api/v1/visitors"
    tags = ["visitors"]
    guards = [require_role(*STAFF)]

    @get("/{visitor_id:uuid}")
    async def state(self, kefu: Kefu, user: AuthUser, visitor_id: uuid.UUID) -> VisitorBlock:
        """Whether the visitor is blocked: the console's contact panel shows it."""
        visitor = await sessions.in_workspace(kefu, user.workspace_id, visitor_id)
        return VisitorBlock(visitor.id, visitor.blocked)

    @post("/{visitor_id:uuid}/block", status_code=200)
    async def block(self, kefu: Kefu, user: AuthUser, visitor_id: uuid.UUID) -> VisitorBlock:
        visitor = await sessions.set_blocked(kefu, user.workspace_id, visitor_id, blocked=True)
        return VisitorBlock(visitor.id, visitor.blocked)

    @post("/{visitor_id:uuid}/unblock", status_code=200)
    async def unblock(self, kefu: Kefu, user: AuthUser, visitor_id: uuid.UUID) -> VisitorBlock:
        visitor = await sessions.set_blocked(kefu, user.workspace_id, visitor_id, blocked=False)
        return VisitorBlock(visitor.id, visitor.blocked)


ROUTES = [VisitorsController]
