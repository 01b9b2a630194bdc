"""E-mail's tables. `mail_messages` has no foreign key to conversations on purpose: a
deleted conversation's Message-IDs stay known, so old mail is never imported again."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from kefu.db.tables import Base
from kefu.model import new_id, utcnow


class MailCursor(Base):
    """Where the IMAP worker is in one folder: UIDs up to `last_uid` under `uidvalidity`
    are committed. `error` is the last login/fetch failure shown on the inbox."""

    __tablename__ = "mail_cursors"
    inbox_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("inboxes.id", ondelete="CASCADE"), primary_key=True
    )
    folder: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    uidvalidity: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    last_uid: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    error: Mapped[str | None] = mapped_column(sa.Text)
    checked_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class MailMessage(Base):
    """One Message-ID this inbox stored (in) or sent (out), and its thread."""

    __tablename__ = "mail_messages"
    __table_args__ = (
        sa.Index("ix_mail_messages_subject", "inbox_id", "sender", "subject_key", "created_at"),
        sa.Index("ix_mail_messages_conversation", "conversation_id", "created_at"),
        sa.Index("ix_mail_messages_kefu_message", "kefu_message_id"),
    )
    inbox_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("inboxes.id", ondelete="CASCADE"), primary_key=True
    )
    message_id: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    thread_key: Mapped[str] = mapped_column(sa.String(64))
    conversation_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    kefu_message_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    direction: Mapped[str] = mapped_column(sa.String(8))
    sender: Mapped[str] = mapped_column(sa.String(254), default="")
    subject: Mapped[str] = mapped_column(sa.String(998), default="")
    subject_key: Mapped[str] = mapped_column(sa.String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class MailItem(Base):
    """A mail that was not stored as a message: `failed` (could not be read, too large)
    or `ignored` (auto-reply, newsletter, unknown sender), with the reason and, up to a
    limit, its bytes. A failed UID is past the cursor: it is never fetched again."""

    __tablename__ = "mail_items"
    __table_args__ = (sa.Index("ix_mail_items_inbox", "inbox_id", "created_at"),)
    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=new_id)
    inbox_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("inboxes.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(sa.String(16))
    status: Mapped[str] = mapped_column(sa.String(16))
    reason: Mapped[str] = mapped_column(sa.Text)
    message_id: Mapped[str | None] = mapped_column(sa.String(255))
    uidvalidity: Mapped[int | None] = mapped_column(sa.BigInteger)
    uid: Mapped[int | None] = mapped_column(sa.BigInteger)
    size: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    raw: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
