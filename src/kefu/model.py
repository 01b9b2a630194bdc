"""The msgspec types every part of kefu shares: channel-neutral values at the core's edges.

Connectors turn the outside world into `Inbound` and `Outbound` back into channel calls;
realtime events are published after commit as the tagged `Event` union.
"""

from __future__ import annotations

import enum
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec

# A string pattern with no NUL and no unpaired surrogate: PostgreSQL refuses NUL in text
# and neither can be encoded for it, which would surface as a 500 where the client
# deserves a 4xx naming the field.
NO_NUL = r"^[^\x00\ud800-\udfff]*$"


class ChannelKind(enum.StrEnum):
    web = "web"
    wechat = "wechat"
    email = "email"
    sms = "sms"
    voice = "voice"
    api = "api"


class ConversationStatus(enum.StrEnum):
    bot = "bot"
    queued = "queued"
    open = "open"
    pending = "pending"
    resolved = "resolved"


class Direction(enum.StrEnum):
    inbound = "in"
    outbound = "out"
    note = "note"
    event = "event"


class SenderKind(enum.StrEnum):
    contact = "contact"
    agent = "agent"
    bot = "bot"
    system = "system"


class MessageType(enum.StrEnum):
    text = "text"
    image = "image"
    file = "file"
    voice = "voice"
    video = "video"
    location = "location"
    link = "link"
    card = "card"
    call = "call"
    event = "event"


class DeliveryStatus(enum.StrEnum):
    pending = "pending"
    sent = "sent"
    delivered = "delivered"
    read = "read"
    failed = "failed"


class Role(enum.StrEnum):
    admin = "admin"
    supervisor = "supervisor"
    agent = "agent"
    knowledge_manager = "knowledge_manager"


class Presence(enum.StrEnum):
    online = "online"
    busy = "busy"
    away = "away"
    offline = "offline"


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> uuid.UUID:
    """A UUIDv7: time-ordered, so ids sort by creation and index pages stay warm."""
    import uuid_utils.compat

    return uuid_utils.compat.uuid7()


INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
# Whole numbers an INTEGER column holds: PostgreSQL refuses more than int32 (a 500 where
# the client deserves a 4xx naming the field); SQLite would store it.
Int32 = Annotated[int, msgspec.Meta(ge=-(2**31), le=INT32_MAX)]
# Sequence numbers, versions, counts, seconds: never negative.
Count = Annotated[int, msgspec.Meta(ge=0, le=INT32_MAX)]


class Attachment(msgspec.Struct, frozen=True, omit_defaults=True):
    # Limits apply where an attachment is decoded from a client (widget, API channel).
    name: Annotated[str, msgspec.Meta(max_length=255)]
    content_type: Annotated[str, msgspec.Meta(max_length=255)]
    size: Annotated[int, msgspec.Meta(ge=0, le=INT64_MAX)] = 0
    url: Annotated[str, msgspec.Meta(max_length=2000)] = ""
    # Channel-specific handle (a WeChat media_id, a MIME content-id) kept for re-sending.
    channel_ref: Annotated[str, msgspec.Meta(max_length=255)] = ""


class Identity(msgspec.Struct, frozen=True):
    """How a channel knows a person: `kind` is e.g. `web_visitor`, `wechat_openid`,
    `wechat_unionid`, `email`, `phone`, `external`; `value` is unique per workspace and kind."""

    kind: str
    value: str


class ContactFacts(msgspec.Struct, frozen=True, omit_defaults=True):
    """What a channel learned about the person; applied to the contact without erasing."""

    name: str | None = None
    email: str | None = None
    phone: str | None = None
    language: str | None = None
    region: str | None = None
    verified: bool = False
    attributes: dict[str, Any] = msgspec.field(default_factory=dict)


class ConversationFacts(msgspec.Struct, frozen=True, omit_defaults=True):
    """Routing facts that travel with a conversation: where and how the customer came in."""

    entry_point: str | None = None
    page_url: str | None = None
    page_title: str | None = None
    referrer: str | None = None
    language: str | None = None
    attributes: dict[str, Any] = msgspec.field(default_factory=dict)


class Inbound(msgspec.Struct, frozen=True, kw_only=True):
    """One thing a customer sent, normalized by a connector. `channel_message_id` is the
    channel's own id (the de-duplication key, unique per inbox); widgets send
    `client_message_id` so that a resend after reconnect is stored once."""

    inbox_id: uuid.UUID
    identity: Identity
    also_known_as: tuple[Identity, ...] = ()
    channel_message_id: str | None = None
    client_message_id: str | None = None
    type: MessageType = MessageType.text
    body: str = ""
    attachments: tuple[Attachment, ...] = ()
    sent_at: datetime | None = None
    contact: ContactFacts = msgspec.field(default_factory=ContactFacts)
    facts: ConversationFacts = msgspec.field(default_factory=ConversationFacts)
    thread_key: str | None = None
    # An `Inbound` that only updates facts (a WeChat subscribe, a page view) is stored
    # as an event message and does not count as the customer writing.
    is_event: bool = False


class Outbound(msgspec.Struct, frozen=True, kw_only=True):
    """One reply to deliver, read by the outbox dispatcher and handed to a connector."""

    message_id: uuid.UUID
    conversation_id: uuid.UUID
    inbox_id: uuid.UUID
    workspace_id: uuid.UUID
    channel: ChannelKind
    recipient: Identity
    type: MessageType = MessageType.text
    body: str = ""
    attachments: tuple[Attachment, ...] = ()
    thread_key: str | None = None
    sender_name: str | None = None
    last_inbound_at: datetime | None = None


class SendResult(msgspec.Struct, frozen=True):
    channel_message_id: str | None = None


# ---------------------------------------------------------------------------
# Realtime events (published after commit; a doorbell: clients resync by `seq`).


class MessageView(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    conversation_id: uuid.UUID
    seq: int
    direction: Direction
    sender_kind: SenderKind
    sender_id: uuid.UUID | None
    sender_name: str | None
    type: MessageType
    body: str
    attachments: list[Attachment]
    delivery_status: DeliveryStatus
    failure_reason: str | None
    client_message_id: str | None
    created_at: datetime


class MessageEvent(msgspec.Struct, frozen=True, tag="message", kw_only=True):
    workspace_id: uuid.UUID
    conversation_id: uuid.UUID
    seq: int
    # Dropped when too large for a NOTIFY payload; the client then reads it by seq.
    message: MessageView | None


class ConversationEvent(msgspec.Struct, frozen=True, tag="conversation", kw_only=True):
    workspace_id: uuid.UUID
    conversation_id: uuid.UUID
    change: str
    status: ConversationStatus
    assignee_id: uuid.UUID | None
    group_id: uuid.UUID | None
    queue_position: int | None = None
    # change "mentioned": the colleagues a note just named (their sockets hear it).
    mentioned: list[uuid.UUID] = msgspec.field(default_factory=list)


class PresenceEvent(msgspec.Struct, frozen=True, tag="presence", kw_only=True):
    workspace_id: uuid.UUID
    user_id: uuid.UUID
    presence: Presence


class TypingEvent(msgspec.Struct, frozen=True, tag="typing", kw_only=True):
    workspace_id: uuid.UUID
    conversation_id: uuid.UUID
    sender_kind: SenderKind
    sender_name: str | None
    typing: bool


class CallEvent(msgspec.Struct, frozen=True, tag="call", kw_only=True):
    """A call changed (`kind` "call.updated") or rings agents ("call.ringing").
    `agent_ids`: the agents it concerns (rung, on the call, just left it); supervisors
    and admins hear every call. `call` is the API's Call object (`calls.schemas`)."""

    kind: str
    workspace_id: uuid.UUID
    agent_ids: list[uuid.UUID]
    call: dict[str, Any]


Event = MessageEvent | ConversationEvent | PresenceEvent | TypingEvent | CallEvent
