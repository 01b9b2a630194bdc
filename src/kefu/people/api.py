"""HTTP: sign in and out, the agent's own profile, presence and password, admin CRUD of
agents (and signing one out everywhere) and skill groups."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, Response, delete, get, patch, post, put
from litestar.datastructures import Cookie
from litestar.status_codes import HTTP_204_NO_CONTENT

from kefu.clientip import client_ip_of
from kefu.context import Kefu
from kefu.i18n import locale_of
from kefu.model import Role
from kefu.people import service
from kefu.people.auth import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    STAFF,
    AuthUser,
    LoginThrottled,
    cookie_secure,
    login,
    logout,
    require_json,
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
    PasswordChange,
    PresenceUpdate,
    SessionsRevoked,
)
from kefu.problems import problem, rendered


def _session_cookies(kefu: Kefu, token: str, csrf: str, max_age: int) -> list[Cookie]:
    secure = cookie_secure(kefu.settings)
    return [
        Cookie(
            key=SESSION_COOKIE,
            value=token,
            httponly=True,
            samesite="lax",
            max_age=max_age,
            secure=secure,
            path="/",
        ),
        Cookie(
            key=CSRF_COOKIE,
            value=csrf,
            httponly=False,
            samesite="lax",
            max_age=max_age,
            secure=secure,
            path="/",
        ),
    ]


def on_throttled(request: Request[Any, Any, Any], exc: LoginThrottled) -> Response[Any]:
    locale = locale_of(request.headers.get("accept-language"))
    return problem(
        exc.status_code, rendered(exc.text, locale), exc.title, retry_after=exc.retry_after
    )


class AuthController(Controller):
    path = "/api/v1/auth"
    tags = ["auth"]

    @post(
        "/login",
        status_code=200,
        guards=[require_json],
        exception_handlers={LoginThrottled: on_throttled},
    )
    async def login(
        self, kefu: Kefu, request: Request[Any, Any, Any], data: LoginRequest
    ) -> Response[LoginResponse]:
        client_ip = client_ip_of(kefu, request.scope)
        result = await login(kefu, data.email, data.password, data.workspace, client_ip)
        # The audit log records who signed in (there is no session on the way in).
        request.scope.setdefault("state", {})["kefu_user"] = result.user
        async with kefu.db.session() as session:
            user = await service.get_agent(session, result.user.workspace_id, result.user.id)
            out = await service.agent_out(session, user)
        max_age = int(kefu.settings.session_hours * 3600)
        return Response(
            LoginResponse(token=result.token, csrf_token=result.csrf_token, user=out),
            cookies=_session_cookies(kefu, result.token, result.csrf_token, max_age),
        )

    @post("/logout", guards=[require_user], status_code=HTTP_204_NO_CONTENT)
    async def logout(self, kefu: Kefu, user: AuthUser) -> Response[None]:
        await logout(kefu, user)
        return Response(
            None, status_code=HTTP_204_NO_CONTENT, cookies=_session_cookies(kefu, "", "", 0)
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

    @put("/password", status_code=HTTP_204_NO_CONTENT)
    async def change_password(self, kefu: Kefu, user: AuthUser, data: PasswordChange) -> None:
        await service.change_own_password(kefu, user, data.current_password, data.new_password)


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
        return await service.update_agent(
            kefu, user.workspace_id, agent_id, data, current_session=user.session_id
        )

    @delete("/{agent_id:uuid}/sessions", guards=[require_role(Role.admin)], status_code=200)
    async def sign_out_everywhere(
        self, kefu: Kefu, user: AuthUser, agent_id: uuid.UUID
    ) -> SessionsRevoked:
        return SessionsRevoked(await service.sign_out_everywhere(kefu, user.workspace_id, agent_id))

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
