"""The webhook WeChat calls: `GET|POST /connectors/wechat/{inbox_id}`.

WeChat waits five seconds for an answer and then retries the same message, three times
in all. So the handler only verifies, parses and commits (`ingest`, which stores a
repeated MsgId once) before answering `success`; downloading the media a user sent
happens after the answer, in a task of its own.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.enums import MediaType

from kefu import ratelimit
from kefu.channel_state.inboxes import ChannelInbox, active_inbox
from kefu.connectors.base import DeliveryError
from kefu.connectors.media import URL_PREFIX
from kefu.connectors.wechat.config import account_keys
from kefu.connectors.wechat.connector import WeChatConnector
from kefu.connectors.wechat.crypto import WeChatRequestError
from kefu.connectors.wechat.parse import NotAMessage, to_inbound
from kefu.connectors.wechat.webhook import WebhookQuery, open_message, verify_url
from kefu.connectors.wechat.window import ReplyWindow
from kefu.context import Kefu
from kefu.conversations.attachments import attachments_of, replace_attachments
from kefu.conversations.ingest import ingest
from kefu.conversations.replies import reply_facts
from kefu.errors import Invalid, KefuError, NotFound
from kefu.model import Attachment, ChannelKind, utcnow
from kefu.people.auth import STAFF, AuthUser, require_role

log = logging.getLogger(__name__)

# A WeChat message is a few hundred bytes; an envelope with a long text stays far below.
MAX_BODY = 64 * 1024
SUCCESS = "success"  # what WeChat expects when we send no passive reply


def _query(request: Request[Any, Any, Any]) -> WebhookQuery:
    fields = {name: request.query_params.get(name, "") for name in WebhookQuery.__struct_fields__}
    return WebhookQuery(**fields)


class WebhookRefused(KefuError):
    """A request that is not WeChat's, or that this inbox cannot open: a problem document
    whose `reason` says which check failed."""

    def __init__(self, exc: WeChatRequestError) -> None:
        super().__init__(exc.detail, extra={"reason": exc.reason.value})
        self.status_code = exc.status
        self.title = {403: "Forbidden", 503: "Service unavailable"}.get(exc.status, self.title)


async def _inbox(kefu: Kefu, inbox_id: str) -> ChannelInbox:
    try:
        key = uuid.UUID(inbox_id)
    except ValueError:
        key = None
    inbox = await active_inbox(kefu, key, ChannelKind.wechat) if key is not None else None
    if inbox is None:
        raise NotFound(f"no WeChat inbox {inbox_id[:64]}")
    return inbox


class WeChatWebhook(Controller):
    path = "/connectors/wechat"
    tags = ("connectors",)
    guards = (ratelimit.per_path_param("webhook_per_inbox", "inbox_id"),)

    @get("/{inbox_id:str}", media_type=MediaType.TEXT)
    async def verify(
        self, kefu: Kefu, request: Request[Any, Any, Any], inbox_id: str
    ) -> Response[Any]:
        """URL verification: WeChat sends it when an admin saves the server URL."""
        inbox = await _inbox(kefu, inbox_id)
        try:
            echostr = verify_url(
                account_keys(inbox),
                _query(request),
                now=utcnow(),
                tolerance_seconds=kefu.settings.webhook_tolerance_seconds,
            )
        except WeChatRequestError as exc:
            raise WebhookRefused(exc) from None
        return Response(echostr, media_type=MediaType.TEXT)

    @post(
        "/{inbox_id:str}",
        media_type=MediaType.TEXT,
        status_code=200,
        request_max_body_size=MAX_BODY,
    )
    async def receive(
        self, kefu: Kefu, request: Request[Any, Any, Any], inbox_id: str
    ) -> Response[Any]:
        # Order matters: nothing is parsed, let alone stored, before the signature holds.
        inbox = await _inbox(kefu, inbox_id)
        body = await request.body()
        try:
            plain = open_message(
                account_keys(inbox),
                _query(request),
                body,
                now=utcnow(),
                tolerance_seconds=kefu.settings.webhook_tolerance_seconds,
            )
            inbound = to_inbound(inbox.id, plain)
        except WeChatRequestError as exc:
            raise WebhookRefused(exc) from None
        except NotAMessage:
            return Response(SUCCESS, media_type=MediaType.TEXT)
        result = await ingest(kefu, inbound)
        pending = [a for a in inbound.attachments if a.channel_ref]
        if pending and result.message_id is not None and not result.duplicate:
            kefu.spawn(download_media(kefu, inbox, result.message_id))
        return Response(SUCCESS, media_type=MediaType.TEXT)


async def download_media(kefu: Kefu, inbox: ChannelInbox, message_id: uuid.UUID) -> None:
    """Fetch what the user sent (WeChat keeps it three days) into kefu's media store and
    point the message's attachments at the stored copies."""
    try:
        connector = kefu.connectors.get(ChannelKind.wechat)
    except DeliveryError:
        log.warning("no WeChat connector registered; media of %s stays at WeChat", message_id)
        return
    if not isinstance(connector, WeChatConnector):
        return
    attachments = await attachments_of(kefu, message_id)
    if attachments is None:
        return
    api = connector.api_for(inbox)
    stored: list[Attachment] = []
    for attachment in attachments:
        if not attachment.channel_ref or attachment.url.startswith(URL_PREFIX):
            stored.append(attachment)
            continue
        try:
            media = await api.download_media(attachment.channel_ref)
            url = await connector.media.save(
                f"wechat/{inbox.id}/{attachment.name}", media.content, media.content_type
            )
        except Exception:  # a failed download must not lose the message, only the copy
            log.exception("could not download WeChat media %s", attachment.channel_ref)
            stored.append(attachment)
            continue
        stored.append(
            msgspec.structs.replace(
                attachment, url=url, size=len(media.content), content_type=media.content_type
            )
        )
    if stored != attachments:
        await replace_attachments(kefu, message_id, stored)


class ReplyWindowController(Controller):
    """What the console shows above the reply box of a WeChat conversation: how many
    replies WeChat will still take, and until when."""

    path = "/api/v1/wechat/conversations"
    tags = ("connectors",)
    guards = (require_role(*STAFF),)

    @get("/{conversation_id:uuid}/reply-window")
    async def reply_window(
        self, kefu: Kefu, user: AuthUser, conversation_id: uuid.UUID
    ) -> ReplyWindow:
        conversation = await reply_facts(kefu, user, conversation_id)
        if conversation.channel != ChannelKind.wechat:
            raise Invalid("only WeChat conversations have a reply window")
        connector = kefu.connectors.get(ChannelKind.wechat)
        if not isinstance(connector, WeChatConnector):
            raise Invalid("no WeChat connector is configured")
        return await connector.window(conversation.conversation_id, conversation.last_inbound_at)
