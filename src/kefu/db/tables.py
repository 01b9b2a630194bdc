"""The whole conversation model, readable in one place.

Every row carries `workspace_id` and every query filters on it. Ids are UUIDv7 (sortable).
Times are timezone-aware UTC. JSON columns hold open-ended facts (custom attributes,
channel config), never things we query by.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, ClassVar

import msgspec
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from kefu.caching import watch
from kefu.model import new_id, utcnow
from kefu.secretbox import SealedJSON


class UTCDateTime(TypeDecorator[datetime]):
    """SQLite forgets the zone; give every datetime back as aware UTC on both engines."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            from datetime import UTC

            return value.replace(tzinfo=UTC)
        return value


JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime,
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


def _id() -> Mapped[uuid.UUID]:
    return mapped_column(sa.Uuid, primary_key=True, default=new_id)


def _ws() -> Mapped[uuid.UUID]:
    return mapped_column(sa.ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)


def _created() -> Mapped[datetime]:
    return mapped_column(default=utcnow)


class Workspace(Base):
    __tablename__ = "workspaces"
    id: Mapped[uuid.UUID] = _id()
    slug: Mapped[str] = mapped_column(sa.String(63), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = _created()


class User(Base):
    """An agent, supervisor, knowledge manager or admin of one workspace."""

    __tablename__ = "users"
    __table_args__ = (sa.UniqueConstraint("workspace_id", "email"),)
    id: Mapped[uuid.UUID] = _id()
    workspace_id: Mapped[uuid.UUID] = _ws()
    email: Mapped[str] = mapped_column(sa.String(320))
    name: Mapped[str] = mapped_column(sa.String(200))
    password_hash: Mapped[str] = mapped_column(sa.String(200))
    role: Mapped[str] = mapped_column(sa.String(32), default="agent")
    presence: Mapped[str] = mapped_column(sa.String(16), default="offline")
    presence_changed_at: Mapped[datetime] = _created()
    # Concurrent conversations per channel kind, e.g. {"web": 5, "voice": 1}; "*" is the default.
    capacity: Mapped[dict[str, Any]] = mapped_column(default=lambda: {"*": 5})
    region: Mapped[str | None] = mapped_column(sa.String(64))
    locale: Mapped[str] = mapped_column(sa.String(16), default="zh-CN")
    avatar_url: Mapped[str | None] = mapped_column(sa.String(500))
    active: Mapped[bool] = mapped_column(default=True)
    last_assigned_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = _created()


class AuthSession(Base):
    """A login: the console's cookie and an API client's bearer token are both one of these.
    Only the SHA-256 of the secret is stored."""

    __tablename__ = "auth_sessions"
    id: Mapped[uuid.UUID] = _id()
    workspace_id: Mapped[uuid.UUID] = _ws()
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    csrf_token: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = _created()
    expires_at: Mapped[datetime]


class SkillGroup(Base):
    __tablename__ = "skill_groups"
    __table_args__ = (sa.UniqueConstraint("workspace_id", "name"),)
    id: Mapped[uuid.UUID] = _id()
    workspace_id: Mapped[uuid.UUID] = _ws()
    name: Mapped[str] = mapped_column(sa.String(200))
    # ACD strategy: round_robin | least_busy | longest_idle; modifiers live in settings.
    strategy: Mapped[str] = mapped_column(sa.String(32), default="least_busy")
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = _created()


class GroupMember(Base):
    __tablename__ = "group_members"
    group_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("skill_groups.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    workspace_id: Mapped[uuid.UUID] = _ws()


class Inbox(Base):
    """One configured channel endpoint: a widget key, a WeChat account, a mailbox ...
    `config` is shown to admins; `secrets` never leaves the server."""

    __tablename__ = "inboxes"
    id: Mapped[uuid.UUID] = _id()
    workspace_id: Mapped[uuid.UUID] = _ws()
    kind: Mapped[str] = mapped_column(sa.String(16))
    name: Mapped[str] = mapped_column(sa.String(200))
    public_key: Mapped[str] = mapped_column(sa.String(64), unique=True)
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Sealed at rest with a key from KEFU_SECRET_KEY (kefu.secretbox).
    secrets: Mapped[dict[str, Any]] = mapped_column(SealedJSON(), default=dict)
    default_group_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("skill_groups.id", ondelete="SET NULL")
    )
    active: Mapped[bool] = mapped_column(default=True)
    # An archived inbox takes no new messages and is out of routing; only an archived
    # inbox with conversations may be deleted (inboxes.service).
    archived_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = _created()


class Contact(Base):
    __tablename__ = "contacts"
    id: Mapped[uuid.UUID] = _id()
    workspace_id: Mapped[uuid.UUID] = _ws()
    name: Mapped[str | None] = mapped_column(sa.String(200))
    email: Mapped[str | None] = mapped_column(sa.String(320), index=True)
    phone: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    region: Mapped[str | None] = mapped_column(sa.String(64))
    gender: Mapped[str | None] = mapped_column(sa.String(16))
    age: Mapped[int | None]
    language: Mapped[str | None] = mapped_column(sa.String(16))
    vip_level: Mapped[int] = mapped_column(default=0)
    verified: Mapped[bool] = mapped_column(default=False)
    tags: Mapped[list[Any]] = mapped_column(default=list)
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Set when merged: the surviving contact. Merged contacts keep their rows for audit.
    merged_into_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("contacts.id"))
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _created()


class ContactIdentity(Base):
    __tablename__ = "contact_identities"
    __table_args__ = (sa.UniqueConstraint("workspace_id", "kind", "value"),)
    id: Mapped[uuid.UUID] = _id()
    workspace_id: Mapped[uuid.UUID] = _ws()
    contact_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(sa.String(32))
    value: Mapped[str] = mapped_column(sa.String(320))
    created_at: Mapped[datetime] = _created()


ACTIVE = "status != 'resolved'"


class Conversation(Base):
    __tablename__ = "conversations"
    __table_args__ = (
        # At most one unresolved conversation per contact and inbox (and thread, for a
        # threaded channel such as e-mail): concurrent first messages race on this index
        # and the loser retries into the winner's conversation.
        sa.Index(
            "uq_conversations_active",
            "inbox_id",
            "contact_id",
            sa.text("coalesce(thread_key, '')"),
            unique=True,
            sqlite_where=sa.text(ACTIVE),
            postgresql_where=sa.text(ACTIVE),
        ),
        sa.Index("ix_conversations_ws_status", "workspace_id", "status", "id"),
        sa.Index("ix_conversations_ws_assignee", "workspace_id", "assignee_id", "status"),
    )
    id: Mapped[uuid.UUID] = _id()
    workspace_id: Mapped[uuid.UUID] = _ws()
    inbox_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("inboxes.id", ondelete="CASCADE"))
    contact_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(sa.String(16))
    # The identity the customer wrote from: replies go back to it.
    identity_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("contact_identities.id", ondelete="SET NULL")
    )
    status: Mapped[str] = mapped_column(sa.String(16), default="queued")
    priority: Mapped[int] = mapped_column(default=0)
    group_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("skill_groups.id", ondelete="SET NULL")
    )
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    entry_point: Mapped[str | None] = mapped_column(sa.String(200))
    first_page: Mapped[str | None] = mapped_column(sa.String(2000))
    referrer: Mapped[str | None] = mapped_column(sa.String(2000))
    language: Mapped[str | None] = mapped_column(sa.String(16))
    labels: Mapped[list[Any]] = mapped_column(default=list)
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    thread_key: Mapped[str | None] = mapped_column(sa.String(500))
    last_seq: Mapped[int] = mapped_column(default=0)
    last_message_at: Mapped[datetime | None]
    last_inbound_at: Mapped[datetime | None]
    queued_at: Mapped[datetime | None]
    assigned_at: Mapped[datetime | None]
    first_response_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    snoozed_until: Mapped[datetime | None]
    csat_score: Mapped[int | None]
    csat_comment: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _created()


INBOUND = "direction IN ('in', 'event')"
REPLY = "direction IN ('out', 'note')"


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        sa.UniqueConstraint("inbox_id", "channel_message_id"),
        # A client id names one send of one author: the customer's are the connector's,
        # scoped by visitor, so a resend is one message across the inbox (even after the
        # conversation it landed in was resolved); an agent's reply is idempotent within
        # its conversation, so the console may reuse a client id in another one.
        sa.Index(
            "uq_messages_inbound_client_id",
            "inbox_id",
            "client_message_id",
            unique=True,
            sqlite_where=sa.text(INBOUND),
            postgresql_where=sa.text(INBOUND),
        ),
        sa.Index(
            "uq_messages_reply_client_id",
            "conversation_id",
            "client_message_id",
            unique=True,
            sqlite_where=sa.text(REPLY),
            postgresql_where=sa.text(REPLY),
        ),
        sa.UniqueConstraint("conversation_id", "seq"),
    )
    id: Mapped[uuid.UUID] = _id()
    workspace_id: Mapped[uuid.UUID] = _ws()
    conversation_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("conversations.id", ondelete="CASCADE")
    )
    inbox_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("inboxes.id", ondelete="CASCADE"))
    seq: Mapped[int]
    direction: Mapped[str] = mapped_column(sa.String(8))
    sender_kind: Mapped[str] = mapped_column(sa.String(16))
    sender_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    type: Mapped[str] = mapped_column(sa.String(16), default="text")
    body: Mapped[str] = mapped_column(sa.Text, default="")
    attachments: Mapped[list[Any]] = mapped_column(default=list)
    channel_message_id: Mapped[str | None] = mapped_column(sa.String(255))
    client_message_id: Mapped[str | None] = mapped_column(sa.String(64))
    delivery_status: Mapped[str] = mapped_column(sa.String(16), default="sent")
    failure_reason: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = _created()


class NewMessage(msgspec.Struct, kw_only=True, frozen=True):
    """A `messages` row as plain data, about to be inserted: the group commit inserts
    these in bulk, skipping the ORM's per-object cost; the single path adds them as
    `Message(**asdict(row))`. A test holds its fields to the table's columns."""

    id: uuid.UUID
    workspace_id: uuid.UUID
    conversation_id: uuid.UUID
    inbox_id: uuid.UUID
    seq: int
    direction: str
    sender_kind: str
    sender_id: uuid.UUID | None
    type: str
    body: str
    attachments: list[Any]
    channel_message_id: str | None
    client_message_id: str | None
    delivery_status: str
    failure_reason: str | None = None
    created_at: datetime


class ConversationEventRow(Base):
    """Append-only history of every state change; reports and audit read only this."""

    __tablename__ = "events"
    __table_args__ = (sa.Index("ix_events_ws_type_created", "workspace_id", "type", "created_at"),)
    id: Mapped[uuid.UUID] = _id()
    workspace_id: Mapped[uuid.UUID] = _ws()
    conversation_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    type: Mapped[str] = mapped_column(sa.String(48))
    actor_kind: Mapped[str] = mapped_column(sa.String(16), default="system")
    actor_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = _created()


class OutboxJob(Base):
    """A reply waiting for its channel. Committed with the message; the dispatcher
    claims due jobs (SKIP LOCKED on PostgreSQL) and retries with backoff."""

    __tablename__ = "outbox"
    __table_args__ = (sa.Index("ix_outbox_due", "state", "next_attempt_at"),)
    id: Mapped[uuid.UUID] = _id()
    workspace_id: Mapped[uuid.UUID] = _ws()
    message_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("messages.id", ondelete="CASCADE"), unique=True
    )
    # Replies in one conversation go out in order: a job waits for earlier ones.
    conversation_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    inbox_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("inboxes.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(sa.String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = _created()
    # A claim: the job is in flight until then; a crashed sender's claim simply lapses.
    locked_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = _created()


class InboundReceipt(Base):
    """The de-duplication key of an inbound that made no message row (a WeChat
    unsubscribe with no conversation open), so a channel's retry is still seen once."""

    __tablename__ = "inbound_receipts"
    inbox_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("inboxes.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    created_at: Mapped[datetime] = _created()


class KeyValue(Base):
    """Small shared state every process must see the same (e.g. a channel's access
    token), with an optional lease so only one process refreshes it at a time."""

    __tablename__ = "shared_state"
    key: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(default=dict)
    expires_at: Mapped[datetime | None]
    lease_until: Mapped[datetime | None]
    updated_at: Mapped[datetime] = _created()


# speed: every process's copy of inbox rows (channel_state.inboxes) is dropped when one
# is written, whichever code path writes it (kefu.caching).
watch(Inbox, "inboxes")
