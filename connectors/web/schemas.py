"""Request and response types of the visitor API and the visitor websocket."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

from kefu.model import Attachment, Count

# The visitor's view of a conversation is the core's (kefu.visitors); re-exported for
# the routes and tests that name it here.
from kefu.visitors.schemas import ConversationView, PageViewOut, VisitorMessage

__all__ = ["ConversationView", "PageViewOut", "VisitorMessage"]

Url = Annotated[str, msgspec.Meta(max_length=2000)]
Short = Annotated[str, msgspec.Meta(max_length=200)]
Body = Annotated[str, msgspec.Meta(max_length=5000)]
# The widget's id for one message; the server scopes it by visitor before storing.
ClientId = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_-]{8,31}$")]


class PageIn(msgspec.Struct, frozen=True, kw_only=True):
    url: Url = ""
    title: Annotated[str, msgspec.Meta(max_length=500)] = ""
    referrer: Url = ""


class SessionRequest(msgspec.Struct, frozen=True, kw_only=True):
    inbox: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    token: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    locale: Annotated[str, msgspec.Meta(max_length=16)] | None = None
    entry: Short | None = None
    page: PageIn = PageIn()


class IdentifyRequest(msgspec.Struct, frozen=True, kw_only=True):
    id: Annotated[str, msgspec.Meta(min_length=1, max_length=255)]
    hash: Annotated[str, msgspec.Meta(max_length=128)] | None = None
    name: Short | None = None
    email: Annotated[str, msgspec.Meta(max_length=320)] | None = None
    phone: Annotated[str, msgspec.Meta(max_length=64)] | None = None


class PrechatRequest(msgspec.Struct, frozen=True, kw_only=True):
    name: Short | None = None
    email: Annotated[str, msgspec.Meta(max_length=320)] | None = None
    phone: Annotated[str, msgspec.Meta(max_length=64)] | None = None


class AttributesRequest(msgspec.Struct, frozen=True, kw_only=True):
    attributes: dict[Annotated[str, msgspec.Meta(max_length=64)], Any]


class SendRequest(msgspec.Struct, frozen=True, kw_only=True):
    client_id: ClientId
    body: Body = ""
    type: Literal["text", "image", "file"] = "text"
    attachments: Annotated[list[Attachment], msgspec.Meta(max_length=5)] = msgspec.field(
        default_factory=list
    )


class LeaveMessageRequest(msgspec.Struct, frozen=True, kw_only=True):
    body: Annotated[str, msgspec.Meta(min_length=1, max_length=5000)]
    name: Short | None = None
    email: Annotated[str, msgspec.Meta(max_length=320)] | None = None
    phone: Annotated[str, msgspec.Meta(max_length=64)] | None = None


class RatingRequest(msgspec.Struct, frozen=True, kw_only=True):
    conversation_id: uuid.UUID
    score: Annotated[int, msgspec.Meta(ge=1, le=5)]
    comment: Annotated[str, msgspec.Meta(max_length=2000)] = ""


class TypingRequest(msgspec.Struct, frozen=True, kw_only=True):
    typing: bool


class ReadRequest(msgspec.Struct, frozen=True, kw_only=True):
    conversation_id: uuid.UUID
    seq: Count


class DurationRequest(msgspec.Struct, frozen=True, kw_only=True):
    seconds: Annotated[int, msgspec.Meta(ge=0, le=86_400 * 7)]


# --------------------------------------------------------------------------- out


class PrechatField(msgspec.Struct, frozen=True):
    name: Literal["name", "email", "phone"]
    required: bool = False


class WidgetConfig(msgspec.Struct, frozen=True, kw_only=True):
    """What the inbox settings tell the widget; never anything from `Inbox.secrets`."""

    title: str | dict[str, str] | None
    greeting: str | dict[str, str] | None
    brand_color: str
    avatar_url: str | None
    locales: list[str]
    prechat_fields: list[PrechatField]
    identity_mandatory: bool
    online: bool
    offline_mode: Literal["leave_message", "chat"]
    max_upload_bytes: int
    upload_types: list[str]
    # The widget offers a call button (issue 18): this inbox names a voice inbox
    # (`voice_inbox_id`, read by kefu.calls.api). Whether anyone can answer is asked on click.
    voice: bool = False


class SessionView(msgspec.Struct, frozen=True, kw_only=True):
    token: str
    token_expires_at: datetime
    visitor_id: uuid.UUID
    verified: bool
    prechat_done: bool
    config: WidgetConfig
    conversation: ConversationView | None
    messages: list[VisitorMessage]


class MessagesPage(msgspec.Struct, frozen=True, kw_only=True):
    conversation: ConversationView | None
    messages: list[VisitorMessage]


class SendResult(msgspec.Struct, frozen=True, kw_only=True):
    conversation_id: uuid.UUID
    seq: int
    duplicate: bool
    message: VisitorMessage


class PageViewCreated(msgspec.Struct, frozen=True):
    id: uuid.UUID


class LeftMessage(msgspec.Struct, frozen=True, kw_only=True):
    conversation_id: uuid.UUID
    # A left message that opened a web-form ticket (the inbox's `leave_message_ticket`).
    ticket_number: str | None = None
    ticket_emailed: bool = False


class PageViewList(msgspec.Struct, frozen=True):
    items: list[PageViewOut]


# --------------------------------------------------------------------------- websocket


class ClientFrame(msgspec.Struct, frozen=True, kw_only=True):
    """What the widget sends: resume | send | typing | read | ping."""

    type: str
    conversation_id: uuid.UUID | None = None
    after: Annotated[int, msgspec.Meta(ge=0)] = 0
    client_id: ClientId | None = None
    body: Body = ""
    message_type: Literal["text", "image", "file"] = "text"
    attachments: Annotated[list[Attachment], msgspec.Meta(max_length=5)] = msgspec.field(
        default_factory=list
    )
    typing: bool = False
    seq: Count = 0
