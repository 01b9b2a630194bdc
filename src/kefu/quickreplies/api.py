"""HTTP: quick replies for the composer (`/` search) and the admin page."""

from __future__ import annotations

import uuid

from litestar import Controller, delete, get, patch, post
from litestar.status_codes import HTTP_200_OK, HTTP_204_NO_CONTENT

from kefu.context import Kefu
from kefu.people.auth import STAFF, AuthUser, require_role
from kefu.quickreplies import service
from kefu.quickreplies.schemas import (
    QuickReplyCreate,
    QuickReplyOut,
    QuickReplyPage,
    QuickReplyUpdate,
    Rendered,
    RenderRequest,
)


class QuickRepliesController(Controller):
    path = "/api/v1/quick-replies"
    tags = ("quick replies",)
    guards = (require_role(*STAFF),)

    @get("/")
    async def list_replies(self, kefu: Kefu, user: AuthUser, q: str = "") -> QuickReplyPage:
        return QuickReplyPage(await service.list_replies(kefu, user, q))

    @post("/")
    async def create_reply(
        self, kefu: Kefu, user: AuthUser, data: QuickReplyCreate
    ) -> QuickReplyOut:
        return await service.create(kefu, user, data)

    @patch("/{reply_id:uuid}")
    async def update_reply(
        self, kefu: Kefu, user: AuthUser, reply_id: uuid.UUID, data: QuickReplyUpdate
    ) -> QuickReplyOut:
        return await service.update(kefu, user, reply_id, data)

    @delete("/{reply_id:uuid}", status_code=HTTP_204_NO_CONTENT)
    async def delete_reply(self, kefu: Kefu, user: AuthUser, reply_id: uuid.UUID) -> None:
        await service.delete(kefu, user, reply_id)

    @post("/{reply_id:uuid}/render", status_code=HTTP_200_OK)
    async def render_reply(
        self, kefu: Kefu, user: AuthUser, reply_id: uuid.UUID, data: RenderRequest
    ) -> Rendered:
        return await service.render(kefu, user, reply_id, data.conversation_id)


ROUTES = [QuickRepliesController]
