"""The generic API channel: any system that can sign a webhook becomes an inbox.

In: `POST /connectors/api/{inbox_id}` with a signed JSON `ApiInbound`.
Out: replies are POSTed, signed the same way, to the inbox's `webhook_url`."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Annotated, Any

import httpx
import msgspec
from litestar import Controller, Request, post
from litestar.status_codes import HTTP_202_ACCEPTED
from litestar.types import ControllerRouterHandler

from kefu import ratelimit
from kefu.channel_state.inboxes import active_inbox
from kefu.connectors.api.config import ApiConfig, ApiSecrets
from kefu.connectors.base import Capabilities, DeliveryError, InboxView
from kefu.connectors.signing import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    SignatureError,
    signed_headers,
    verify,
)
from kefu.context import Kefu
from kefu.conversations.ingest import ingest
from kefu.errors import FieldError, Forbidden, KefuError, NotFound
from kefu.i18n import Text
from kefu.model import (
    Attachment,
    ChannelKind,
    ContactFacts,
    ConversationFacts,
    Identity,
    Inbound,
    Outbound,
    SendResult,
)
from kefu.outbound import OutboundClient, OutboundRefused, status_reason
from kefu.validation import decode

# Limits are the columns' (contacts, conversations, message ids).
Id = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Attributes = Annotated[
    dict[Annotated[str, msgspec.Meta(max_length=64)], Any], msgspec.Meta(max_length=100)
]


class ApiUser(msgspec.Struct, frozen=True, kw_only=True):
    id: Id
    name: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    email: Annotated[str, msgspec.Meta(max_length=320)] | None = None
    phone: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    language: Annotated[str, msgspec.Meta(max_length=16)] | None = None


class ApiInbound(msgspec.Struct, frozen=True, kw_only=True):
    message_id: Id
    user: ApiUser
    text: Annotated[str, msgspec.Meta(max_length=20_000)] = ""
    attachments: Annotated[list[Attachment], msgspec.Meta(max_length=10)] = msgspec.field(
        default_factory=list
    )
    entry_point: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    attributes: Attributes = msgspec.field(default_factory=dict)


class Accepted(msgspec.Struct, frozen=True):
    conversation_id: uuid.UUID | None
    message_id: uuid.UUID | None
    duplicate: bool


class ApiOutbound(msgspec.Struct, frozen=True, kw_only=True):
    message_id: uuid.UUID
    conversation_id: uuid.UUID
    recipient: str
    text: str
    attachments: list[Attachment]
    sender_name: str | None


def to_inbound(inbox_id: uuid.UUID, payload: ApiInbound) -> Inbound:
    if not payload.text.strip() and not payload.attachments:
        raise ValueError("a message needs text or an attachment")
    return Inbound(
        inbox_id=inbox_id,
        identity=Identity("external", payload.user.id),
        channel_message_id=payload.message_id,
        body=payload.text,
        attachments=tuple(payload.attachments),
        contact=ContactFacts(
            name=payload.user.name,
            email=payload.user.email,
            phone=payload.user.phone,
            language=payload.user.language,
        ),
        facts=ConversationFacts(entry_point=payload.entry_point, attributes=payload.attributes),
    )


class ApiWebhook(Controller):
    path = "/connectors/api"
    tags = ["connectors"]
    guards = (ratelimit.per_path_param("webhook_per_inbox", "inbox_id"),)

    @post("/{inbox_id:uuid}", status_code=HTTP_202_ACCEPTED)
    async def receive(
        self, kefu: Kefu, request: Request[Any, Any, Any], inbox_id: uuid.UUID
    ) -> Accepted:
        # Order matters: nothing is parsed, let alone stored, before the signature holds.
        body = await request.body()
        inbox = await active_inbox(kefu, inbox_id, ChannelKind.api)
        if inbox is None:
            raise NotFound(f"no API inbox {inbox_id}")
        try:
            verify(
                inbox.secrets.get("signing_secret", ""),
                body,
                request.headers.get(TIMESTAMP_HEADER),
                request.headers.get(SIGNATURE_HEADER),
                tolerance=kefu.settings.webhook_tolerance_seconds,
            )
        except SignatureError as exc:
            raise Forbidden(str(exc)) from None
        payload = decode(body, ApiInbound)
        try:
            inbound = to_inbound(inbox.id, payload)
        except ValueError as exc:
            raise KefuError(f"malformed message: {exc}") from None
        result = await ingest(kefu, inbound)
        return Accepted(result.conversation_id, result.message_id, result.duplicate)


class ApiConnector:
    kind = ChannelKind.api
    label = Text("API (signed webhooks)", "API（签名 Webhook）")
    config_type = ApiConfig
    secrets_type = ApiSecrets
    capabilities = Capabilities(media=True)

    def __init__(self, outbound: OutboundClient | None = None) -> None:
        # Without one given, the default client: public addresses only.
        self.outbound = outbound or OutboundClient()

    def webhook_path(self, inbox_id: uuid.UUID) -> str:
        return f"/connectors/api/{inbox_id}"

    def routes(self) -> Sequence[ControllerRouterHandler]:
        return [ApiWebhook]

    def check(self, public: ApiConfig, secrets: ApiSecrets) -> list[FieldError]:
        return []

    async def send(self, inbox: InboxView, outbound: Outbound) -> SendResult:
        url = inbox.config.get("webhook_url")
        if not url:
            raise DeliveryError(
                "this API inbox has no webhook_url to deliver replies to", retryable=False
            )
        body = msgspec.json.encode(
            ApiOutbound(
                message_id=outbound.message_id,
                conversation_id=outbound.conversation_id,
                recipient=outbound.recipient.value,
                text=outbound.body,
                attachments=list(outbound.attachments),
                sender_name=outbound.sender_name,
            )
        )
        headers = signed_headers(inbox.secrets.get("signing_secret", ""), body)
        host = httpx.URL(url).host or url[:100]
        try:
            response = await self.outbound.post(url, content=body, headers=headers)
        except OutboundRefused as exc:
            raise DeliveryError(_both(exc.reason), retryable=False) from None
        except httpx.HTTPError as exc:
            raise DeliveryError(
                _both(
                    Text("could not reach {host} ({error})", "无法连接 {host}（{error}）").format(
                        host=host, error=type(exc).__name__
                    )
                )
            ) from None
        status = response.status_code
        if 200 <= status < 300:
            return SendResult(channel_message_id=None)
        # What the receiver said is not shown: the body of an internal page would be.
        raise DeliveryError(_both(_said(host, status)), retryable=status >= 500 or status == 429)


def _said(host: str, status: int) -> Text:
    why = status_reason(status)
    return Text(f"{host}: {why.en}", f"{host}：{why.zh}")


def _both(text: Text) -> str:
    """A `DeliveryError` carries one string, so it carries both languages."""
    return f"{text.en} / {text.zh}"
