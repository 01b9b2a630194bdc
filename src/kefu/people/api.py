"""HTTP: sign in and out, the agent's own profile and presence, admin CRUD of agents
and skill groups."""

from __future__ import annotations

import uuid

from litestar import Controller, Response, delete, get, patch, post, put
from litestar.datastructures import Cookie
from litestar.exceptions import NotAuthorizedException
from litestar.status_codes import HTTP_204_NO_CONTENT

from kefu.context import Kefu
from kefu.model import Role
from kefu.people import service
from kefu.people.auth import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    STAFF,
    AuthUser,
    LoginFailed,
    login,
    logout,
    require_role,
    require_user,
)
from kefu.people.schemas import (
    AgentCreate,
    AgentOut,
    AgentUpdate,
    GroupCreate,
    GroupOut,
    GroupUpdate,
    ItemsAgents,
    ItemsGroups,
    LoginRequest,
    LoginResponse,
    PresenceUpdate,
)


class AuthController(Controller):
    path = "/api/v1/auth"
    tags = ["auth"]

    @post("/login", status_code=200)
    async def login(self, kefu: Kefu, data: LoginRequest) -> Response[LoginResponse]:
        try:
            result = await login(kefu, data.email, data.password, data.workspace)
        except LoginFailed as exc:
            raise NotAuthorizedException(str(exc)) from None
        async with kefu.db.session() as session:
            user = await service.get_agent(session, result.user.workspace_id, result.user.id)
            out = await service.agent_out(session, user)
        max_age = int(kefu.settings.session_hours * 3600)
        secure = kefu.settings.cookie_secure
        return Response(
            LoginResponse(token=result.token, csrf_token=result.csrf_token, user=out),
            cookies=[
                Cookie(
                    key=SESSION_COOKIE,
                    value=result.token,
                    httponly=True,
                    samesite="lax",
                    max_age=max_age,
                    secure=secure,
                    path="/",
                ),
                Cookie(
                    key=CSRF_COOKIE,
                    value=result.csrf_token,
                    httponly=False,
                    samesite="lax",
                    max_age=max_age,
                    secure=secure,
                    path="/",
                ),
            ],
        )

    @post("/logout", guards=[require_user], status_code=HTTP_204_NO_CONTENT)
    async def logout(self, kefu: Kefu, user: AuthUser) -> Response[None]:
        await logout(kefu, user)
        return Response(
            None,
            status_code=HTTP_204_NO_CONTENT,
            cookies=[
                Cookie(key=SESSION_COOKIE, value="", max_age=0, path="/"),
                Cookie(key=CSRF_COOKIE, value="", max_age=0, path="/"),
            ],
        )


class MeController(Controller):
    path = "/api/v1/agents/me"
    tags = ["agents"]
    guards = [require_user]

    @get("/")
    async def me(self, kefu: Kefu, user: AuthUser) -> AgentOut:
        async with kefu.db.session() as session:
            return await service.agent_out(
                session, await service.get_agent(session, user.workspace_id, user.id)
            )

    @put("/presence")
    async def presence(self, kefu: Kefu, user: AuthUser, data: PresenceUpdate) -> AgentOut:
        return await service.set_presence(kefu, user.workspace_id, user.id, data.presence)


class AgentsController(Controller):
    """Every staff member may list colleagues (for @mentions and transfers); only admins
    change them, and admins or supervisors set someone else's presence."""

    path = "/api/v1/agents"
    tags = ["agents"]
    guards = [require_role(*STAFF)]

    @get("/")
    async def list_agents(self, kefu: Kefu, user: AuthUser) -> ItemsAgents:
        return ItemsAgents(await service.list_agents(kefu, user.workspace_id))

    @get("/{agent_id:uuid}")
    async def get_agent(self, kefu: Kefu, user: AuthUser, agent_id: uuid.UUID) -> AgentOut:
        async with kefu.db.session() as session:
            return await service.agent_out(
                session, await service.get_agent(session, user.workspace_id, agent_id)
            )

    @post("/", guards=[require_role(Role.admin)])
    async def create_agent(self, kefu: Kefu, user: AuthUser, data: AgentCreate) -> AgentOut:
        return await service.create_agent(kefu, user.workspace_id, data)

    @patch("/{agent_id:uuid}", guards=[require_role(Role.admin)])
    async def update_agent(
        self, kefu: Kefu, user: AuthUser, agent_id: uuid.UUID, data: AgentUpdate
    ) -> AgentOut:
        return await service.update_agent(kefu, user.workspace_id, agent_id, data)

    @put("/{agent_id:uuid}/presence", guards=[require_role(Role.admin, Role.supervisor)])
    async def set_presence(
        self, kefu: Kefu, user: AuthUser, agent_id: uuid.UUID, data: PresenceUpdate
    ) -> AgentOut:
        return await service.set_presence(kefu, user.workspace_id, agent_id, data.presence)


class GroupsController(Controller):
    path = "/api/v1/groups"
    tags = ["groups"]
    guards = [require_user]

    @get("/")
    async def list_groups(self, kefu: Kefu, user: AuthUser) -> ItemsGroups:
        return ItemsGroups(await service.list_groups(kefu, user.workspace_id))

    @get("/{group_id:uuid}")
    async def get_group(self, kefu: Kefu, user: AuthUser, group_id: uuid.UUID) -> GroupOut:
        async with kefu.db.session() as session:
            return await service.group_out(
                session, await service.get_group(session, user.workspace_id, group_id)
            )

    @post("/", guards=[require_role(Role.admin)])
    async def create_group(self, kefu: Kefu, user: AuthUser, data: GroupCreate) -> GroupOut:
        return await service.create_group(kefu, user.workspace_id, data)

    @patch("/{group_id:uuid}", guards=[require_role(Role.admin)])
    async def update_group(
        self, kefu: Kefu, user: AuthUser, group_id: uuid.UUID, data: GroupUpdate
    ) -> GroupOut:
        return await service.update_group(kefu, user.workspace_id, group_id, data)

    @delete("/{group_id:uuid}", guards=[require_role(Role.admin)])
    async def delete_group(self, kefu: Kefu, user: AuthUser, group_id: uuid.UUID) -> None:
        await service.delete_group(kefu, user.workspace_id, group_id)


ROUTES = [AuthController, MeController, AgentsController, GroupsController]
