from __future__ import annotations

import uuid

from litestar import Controller, delete, get, patch, post

from kefu.context import Kefu
from kefu.inboxes import service
from kefu.inboxes.schemas import InboxCreate, InboxOut, InboxUpdate, ItemsInboxes
from kefu.model import Role
from kefu.people.auth import AuthUser, require_role


class InboxesController(Controller):
    path = "/api/v1/inboxes"
    tags = ["inboxes"]
    guards = [require_role(Role.admin, Role.supervisor)]

    @get("/")
    async def list_inboxes(self, kefu: Kefu, user: AuthUser) -> ItemsInboxes:
        return ItemsInboxes(await service.list_inboxes(kefu, user.workspace_id))

    @get("/{inbox_id:uuid}")
    async def get_inbox(self, kefu: Kefu, user: AuthUser, inbox_id: uuid.UUID) -> InboxOut:
        async with kefu.db.session() as session:
            inbox = await service.get_inbox(session, user.workspace_id, inbox_id)
            return service.inbox_out(inbox, kefu.settings.public_url)

    @post("/", guards=[require_role(Role.admin)])
    async def create_inbox(self, kefu: Kefu, user: AuthUser, data: InboxCreate) -> InboxOut:
        return await service.create_inbox(kefu, user.workspace_id, data)

    @patch("/{inbox_id:uuid}", guards=[require_role(Role.admin)])
    async def update_inbox(
        self, kefu: Kefu, user: AuthUser, inbox_id: uuid.UUID, data: InboxUpdate
    ) -> InboxOut:
        return await service.update_inbox(kefu, user.workspace_id, inbox_id, data)

    @delete("/{inbox_id:uuid}", guards=[require_role(Role.admin)])
    async def delete_inbox(self, kefu: Kefu, user: AuthUser, inbox_id: uuid.UUID) -> None:
        await service.delete_inbox(kefu, user.workspace_id, inbox_id)


ROUTES = [InboxesController]
