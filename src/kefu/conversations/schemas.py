from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

import msgspec

from kefu.model import Attachment, ChannelKind, ConversationStatus, MessageType, MessageView

Body = Annotated[str, msgspec.Meta(max_length=20_000)]
Label = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class ContactBrief(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    name: str | None
    email: str | None
    phone: str | None
    vip_level: int
    verified: bool


class ConversationOut(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    inbox_id: uuid.UUID
    channel: ChannelKind
    status: ConversationStatus
    priority: int
    group_id: uuid.UUID | None
    assignee_id: uuid.UUID | None
    contact: ContactBrief
    entry_point: str | None
    first_page: str | None
    referrer: str | None
    language: str | None
    labels: list[str]
    attributes: dict[str, Any]
    last_seq: int
    last_message: str | None
    last_message_at: datetime | None
    last_inbound_at: datetime | None
    first_response_at: datetime | None
    resolved_at: datetime | None
    snoozed_until: datetime | None
    csat_score: int | None
    csat_comment: str | None
    created_at: datetime


class ConversationPage(msgspec.Struct, frozen=True):
    items: list[ConversationOut]
    next: str | None


class MessagePage(msgspec.Struct, frozen=True):
    items: list[MessageView]


class ReplyRequest(msgspec.Struct, frozen=True, kw_only=True):
    body: Body = ""
    note: bool = False
    type: MessageType = MessageType.text
    attachments: list[Attachment] = msgspec.field(default_factory=list)
    client_message_id: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    # An admin or supervisor taking it past their own capacity (conc, issue 12 item 6).
    override_capacity: bool = False


class AssignRequest(msgspec.Struct, frozen=True, kw_only=True):
    assignee_id: uuid.UUID | None = None
    # Past the agent's capacity: admins and supervisors only, logged (event + audit).
    override_capacity: bool = False


class TransferRequest(msgspec.Struct, frozen=True, kw_only=True):
    assignee_id: uuid.UUID | None = None
    group_id: uuid.UUID | None = None
    note: Annotated[str, msgspec.Meta(max_length=2000)] | None = None
    override_capacity: bool = False


class SnoozeRequest(msgspec.Struct, frozen=True, kw_only=True):
    until: datetime | None = None


# One mailbox address (RFC 5321's 320-character limit), no display name, no list.
MailAddress = Annotated[
    str, msgspec.Meta(max_length=320, pattern=r"^[^@\s,;<>\"]+@[^@\s,;<>\"]+\.[^@\s,;<>\"]+$")
]


class MailEnvelope(msgspec.Struct, frozen=True, kw_only=True):
    """What an agent sets in an e-mail conversation's composer: the subject and the
    recipients of the replies that follow (empty `to`: the customer's address)."""

    subject: Annotated[str, msgspec.Meta(max_length=998)] = ""
    to: Annotated[list[MailAddress], msgspec.Meta(max_length=20)] = msgspec.field(
        default_factory=list
    )
    cc: Annotated[list[MailAddress], msgspec.Meta(max_length=20)] = msgspec.field(
        default_factory=list
    )


class ConversationUpdate(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    labels: list[Label] | None = None
    priority: Annotated[int, msgspec.Meta(ge=0, le=10)] | None = None
    email: MailEnvelope | None = None


class EventOut(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    type: str
    actor_kind: str
    actor_id: uuid.UUID | None
    data: dict[str, Any]
    created_at: datetime


class EventPage(msgspec.Struct, frozen=True):
    items: list[EventOut]
