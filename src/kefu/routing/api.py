"""HTTP: explain a routing decision, see a conversation's place in the queue, and manage
rules, business-hours calendars and group ACD policies (admins). Groups, memberships and
agent capacities themselves are managed by the people API."""

from __future__ import annotations

import uuid

from litestar import Controller, delete, get, post, put
from litestar.status_codes import HTTP_204_NO_CONTENT

from kefu.context import Kefu
from kefu.db.tables import Conversation
from kefu.errors import NotFound
from kefu.model import Role, utcnow
from kefu.people.auth import MANAGERS, STAFF, AuthUser, require_role
from kefu.routing import admin
from kefu.routing.acd import GroupPolicy
from kefu.routing.explain import explain
from kefu.routing.queue import QueueStatus, queue_status
from kefu.routing.schemas import (
    CalendarIn,
    CalendarList,
    CalendarOut,
    ExplainRequest,
    ExplainResponse,
    PolicyOut,
    RuleIn,
    RuleList,
    RuleOut,
)


class RoutingController(Controller):
    path = "/api/v1/routing"
    tags = ("routing",)
    guards = (require_role(*STAFF),)

    @post("/explain", status_code=200, guards=[require_role(*MANAGERS)])
    async def explain(self, kefu: Kefu, user: AuthUser, data: ExplainRequest) -> ExplainResponse:
        async with kefu.db.session() as session:
            return await explain(session, user.workspace_id, data, utcnow())

    @get("/conversations/{conversation_id:uuid}/queue")
    async def queue(self, kefu: Kefu, user: AuthUser, conversation_id: uuid.UUID) -> QueueStatus:
        async with kefu.db.session() as session:
            conversation = await session.get(Conversation, conversation_id)
            if conversation is None or conversation.workspace_id != user.workspace_id:
                raise NotFound(f"conversation {conversation_id} not found")
            return await queue_status(session, conversation, utcnow())


class RulesController(Controller):
    path = "/api/v1/routing/rules"
    tags = ("routing",)
    guards = (require_role(Role.admin),)

    @get("/")
    async def list_rules(self, kefu: Kefu, user: AuthUser) -> RuleList:
        async with kefu.db.session() as session:
            rows = await admin.list_rules(session, user.workspace_id)
            return RuleList(items=[admin.rule_out(r) for r in rows])

    @get("/{rule_id:uuid}")
    async def get_rule(self, kefu: Kefu, user: AuthUser, rule_id: uuid.UUID) -> RuleOut:
        async with kefu.db.session() as session:
            return admin.rule_out(await admin.get_rule(session, user.workspace_id, rule_id))

    @post("/")
    async def create_rule(self, kefu: Kefu, user: AuthUser, data: RuleIn) -> RuleOut:
        async with kefu.db.transaction() as session:
            row = await admin.create_rule(session, user.workspace_id, data, utcnow())
            return admin.rule_out(row)

    @put("/{rule_id:uuid}")
    async def update_rule(
        self, kefu: Kefu, user: AuthUser, rule_id: uuid.UUID, data: RuleIn
    ) -> RuleOut:
        async with kefu.db.transaction() as session:
            row = await admin.update_rule(session, user.workspace_id, rule_id, data, utcnow())
            return admin.rule_out(row)

    @delete("/{rule_id:uuid}", status_code=HTTP_204_NO_CONTENT)
    async def delete_rule(self, kefu: Kefu, user: AuthUser, rule_id: uuid.UUID) -> None:
        async with kefu.db.transaction() as session:
            await admin.delete_rule(session, user.workspace_id, rule_id)


class CalendarsController(Controller):
    path = "/api/v1/routing/calendars"
    tags = ("routing",)
    guards = (require_role(Role.admin),)

    @get("/")
    async def list_calendars(self, kefu: Kefu, user: AuthUser) -> CalendarList:
        now = utcnow()
        async with kefu.db.session() as session:
            rows = await admin.list_calendars(session, user.workspace_id)
            return CalendarList(items=[admin.calendar_out(r, now) for r in rows])

    @get("/{calendar_id:uuid}")
    async def get_calendar(self, kefu: Kefu, user: AuthUser, calendar_id: uuid.UUID) -> CalendarOut:
        async with kefu.db.session() as session:
            row = await admin.get_calendar(session, user.workspace_id, calendar_id)
            return admin.calendar_out(row, utcnow())

    @post("/")
    async def create_calendar(self, kefu: Kefu, user: AuthUser, data: CalendarIn) -> CalendarOut:
        now = utcnow()
        async with kefu.db.transaction() as session:
            row = await admin.create_calendar(session, user.workspace_id, data, now)
            return admin.calendar_out(row, now)

    @put("/{calendar_id:uuid}")
    async def update_calendar(
        self, kefu: Kefu, user: AuthUser, calendar_id: uuid.UUID, data: CalendarIn
    ) -> CalendarOut:
        now = utcnow()
        async with kefu.db.transaction() as session:
            row = await admin.update_calendar(session, user.workspace_id, calendar_id, data, now)
            return admin.calendar_out(row, now)

    @delete("/{calendar_id:uuid}", status_code=HTTP_204_NO_CONTENT)
    async def delete_calendar(self, kefu: Kefu, user: AuthUser, calendar_id: uuid.UUID) -> None:
        async with kefu.db.transaction() as session:
            await admin.delete_calendar(session, user.workspace_id, calendar_id)


class GroupPolicyController(Controller):
    path = "/api/v1/routing/groups/{group_id:uuid}/policy"
    tags = ("routing",)
    guards = (require_role(Role.admin),)

    @get("/")
    async def get_policy(self, kefu: Kefu, user: AuthUser, group_id: uuid.UUID) -> PolicyOut:
        async with kefu.db.session() as session:
            policy = await admin.get_policy(session, user.workspace_id, group_id)
        return PolicyOut(group_id=group_id, policy=policy)

    @put("/")
    async def set_policy(
        self, kefu: Kefu, user: AuthUser, group_id: uuid.UUID, data: GroupPolicy
    ) -> PolicyOut:
        async with kefu.db.transaction() as session:
            policy = await admin.set_policy(session, user.workspace_id, group_id, data)
        return PolicyOut(group_id=group_id, policy=policy)


ROUTES = [RoutingController, RulesController, CalendarsController, GroupPolicyController]
