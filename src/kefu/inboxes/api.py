from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, delete, get, patch, post

from kefu.context import Kefu
from kefu.i18n import locale_of
from kefu.inboxes import service
from kefu.inboxes.schemas import (
    ConnectionTestOut,
    InboxCreate,
    InboxOut,
    InboxUpdate,
    ItemsChannels,
    ItemsInboxes,
)
from kefu.model import Role
from kefu.people.auth import AuthUser, require_role


class ChannelsController(Controller):
    """The channels this server can run, each with the form its inboxes are set up with."""

    path = "/api/v1/channels"
    tags = ["inboxes"]
    guards = [require_role(Role.admin, Role.supervisor)]

    @get("/")
    async def list_channels(self, kefu: Kefu) -> ItemsChannels:
        return ItemsChannels(kefu.connectors.schemas())


class InboxesController(Controller):
    path = "/api/v1/inboxes"
    tags = ["inboxes"]
    guards = [require_role(Role.admin, Role.supervisor)]

    @get("/")
    async def list_inboxes(self, kefu: Kefu, user: AuthUser) -> ItemsInboxes:
        return ItemsInboxes(await service.list_inboxes(kefu, user.workspace_id))

    @get("/{inbox_id:uuid}")
    async def get_inbox(self, kefu: Kefu, user: AuthUser, inbox_id: uuid.UUID) -> InboxOut:
        return await service.read_inbox(kefu, user.workspace_id, inbox_id)

    @post("/", guards=[require_role(Role.admin)])
    async def create_inbox(self, kefu: Kefu, user: AuthUser, data: InboxCreate) -> InboxOut:
        return await service.create_inbox(kefu, user.workspace_id, data)

    @patch("/{inbox_id:uuid}", guards=[require_role(Role.admin)])
    async def update_inbox(
        self, kefu: Kefu, user: AuthUser, inbox_id: uuid.UUID, data: InboxUpdate
    ) -> InboxOut:
        return await service.update_inbox(kefu, user.workspace_id, inbox_id, data)

    @post(
        "/{inbox_id:uuid}/secrets/{name:str}/rotate",
        guards=[require_role(Role.admin)],
        status_code=200,
    )
    async def rotate_secret(
        self, kefu: Kefu, user: AuthUser, inbox_id: uuid.UUID, name: str
    ) -> InboxOut:
        return await service.rotate_secret(kefu, user.workspace_id, inbox_id, name)

    @post("/{inbox_id:uuid}/test", guards=[require_role(Role.admin)], status_code=200)
    async def test_connection(
        self, kefu: Kefu, user: AuthUser, request: Request[Any, Any, Any], inbox_id: uuid.UUID
    ) -> ConnectionTestOut:
        checked = await service.test_connection(kefu, user.workspace_id, inbox_id)
        locale = locale_of(request.headers.get("accept-language"))
        return ConnectionTestOut(ok=checked.ok, message=checked.message.render(locale))

    @post("/{inbox_id:uuid}/archive", guards=[require_role(Role.admin)], status_code=200)
    async def archive_inbox(self, kefu: Kefu, user: AuthUser, inbox_id: uuid.UUID) -> InboxOut:
        return await service.set_archived(kefu, user.workspace_id, inbox_id, archived=True)

    @post("/{inbox_id:uuid}/unarchive", guards=[require_role(Role.admin)], status_code=200)
    async def unarchive_inbox(self, kefu: Kefu, user: AuthUser, inbox_id: uuid.UUID) -> InboxOut:
        return await service.set_archived(kefu, user.workspace_id, inbox_id, archived=False)

    @delete("/{inbox_id:uuid}", guards=[require_role(Role.admin)])
    async def delete_inbox(self, kefu: Kefu, user: AuthUser, inbox_id: uuid.UUID) -> None:
        await service.delete_inbox(kefu, user.workspace_id, inbox_id)


ROUTES = [ChannelsController, InboxesController]
