"""The e-mail connector's durable state, read and written here (connectors never open
sessions). Every function is one short transaction."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime

import msgspec
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.channel_state.inboxes import ChannelInbox, view_of
from kefu.context import Kefu
from kefu.db.tables import ContactIdentity, Conversation, Inbox
from kefu.mail import reasons
from kefu.mail.tables import MailCursor, MailItem, MailMessage
from kefu.model import utcnow

RAW_KEPT = 5 * 1024 * 1024  # bytes of a failed mail kept for a person to look at


def id_key(message_id: str) -> str:
    """A Message-ID as stored: as it is when it fits the column, else hashed."""
    if len(message_id) <= 255:
        return message_id
    return "sha256:" + hashlib.sha256(message_id.encode("utf-8", "replace")).hexdigest()


class Cursor(msgspec.Struct, frozen=True):
    uidvalidity: int
    last_uid: int


async def cursor(kefu: Kefu, inbox_id: uuid.UUID, folder: str) -> Cursor | None:
    async with kefu.db.session() as session:
        row = await session.get(MailCursor, (inbox_id, folder))
        return Cursor(row.uidvalidity, row.last_uid) if row is not None else None


async def _cursor_row(session: AsyncSession, inbox_id: uuid.UUID, folder: str) -> MailCursor:
    """The folder's cursor row, locked; a new one (at UID 0) on first use."""
    row = await session.get(MailCursor, (inbox_id, folder), with_for_update=True)
    if row is None:
        row = MailCursor(inbox_id=inbox_id, folder=folder, uidvalidity=0, last_uid=0)
        session.add(row)
    return row


async def save_cursor(
    kefu: Kefu, inbox_id: uuid.UUID, folder: str, uidvalidity: int, last_uid: int
) -> None:
    """Move the cursor (never backwards under the same UIDVALIDITY)."""
    now = utcnow()
    async with kefu.db.transaction() as session:
        row = await _cursor_row(session, inbox_id, folder)
        if row.uidvalidity != uidvalidity:
            row.uidvalidity, row.last_uid = uidvalidity, last_uid
        else:
            row.last_uid = max(row.last_uid or 0, last_uid)
        row.error, row.checked_at, row.updated_at = None, now, now


async def record_error(kefu: Kefu, inbox_id: uuid.UUID, folder: str, error: str | None) -> None:
    """What the last IMAP attempt said (None: it worked), for the inbox to show."""
    now = utcnow()
    async with kefu.db.transaction() as session:
        row = await _cursor_row(session, inbox_id, folder)
        row.error, row.checked_at, row.updated_at = error, now, now


async def last_error(kefu: Kefu, inbox_id: uuid.UUID) -> str | None:
    async with kefu.db.session() as session:
        return await session.scalar(
            sa.select(MailCursor.error)
            .where(MailCursor.inbox_id == inbox_id, MailCursor.error.is_not(None))
            .limit(1)
        )


async def known(kefu: Kefu, inbox_id: uuid.UUID, message_id: str) -> bool:
    """Whether this Message-ID was stored or sent by this inbox before (even if its
    conversation has since been deleted)."""
    async with kefu.db.session() as session:
        found = await session.get(MailMessage, (inbox_id, id_key(message_id)))
        return found is not None


async def thread_of(
    kefu: Kefu,
    inbox_id: uuid.UUID,
    *,
    referenced: list[str],
    tokens: list[str],
    sender: str,
    subject_key: str,
    since: datetime,
) -> str | None:
    """The thread a mail belongs to: by the Message-IDs it refers to, then by a token
    we issued, then (only when `subject_key` is given) by the same sender and subject
    since `since`."""
    async with kefu.db.session() as session:
        if referenced:
            keys = [id_key(i) for i in referenced[-100:]]
            rows = (
                await session.execute(
                    sa.select(MailMessage.message_id, MailMessage.thread_key).where(
                        MailMessage.inbox_id == inbox_id, MailMessage.message_id.in_(keys)
                    )
                )
            ).all()
            by_id = {m: t for m, t in rows}
            # The most direct reference wins (In-Reply-To first, then the last References).
            for key in keys:
                if key in by_id:
                    return by_id[key]
        for token in tokens:
            found = await session.scalar(
                sa.select(MailMessage.thread_key)
                .where(MailMessage.inbox_id == inbox_id, MailMessage.thread_key == token)
                .limit(1)
            )
            if found is not None:
                return found
        if subject_key and sender:
            return await session.scalar(
                sa.select(MailMessage.thread_key)
                .where(
                    MailMessage.inbox_id == inbox_id,
                    MailMessage.sender == sender,
                    MailMessage.subject_key == subject_key,
                    MailMessage.direction == "in",
                    MailMessage.created_at >= since,
                )
                .order_by(MailMessage.created_at.desc())
                .limit(1)
            )
    return None


async def relayed_conversation(
    kefu: Kefu, inbox_id: uuid.UUID, thread_key: str
) -> uuid.UUID | None:
    """The conversation of another inbox this inbox mailed in `thread_key` (a widget
    conversation's reply sent by e-mail), which an answer in the thread continues."""
    async with kefu.db.session() as session:
        found: uuid.UUID | None = await session.scalar(
            sa.select(MailMessage.conversation_id)
            .join(Conversation, Conversation.id == MailMessage.conversation_id)
            .where(
                MailMessage.inbox_id == inbox_id,
                MailMessage.thread_key == thread_key[:64],
                MailMessage.direction == "out",
                Conversation.inbox_id != inbox_id,
            )
            .limit(1)
        )
        return found


async def remember(
    kefu: Kefu,
    inbox_id: uuid.UUID,
    message_id: str,
    *,
    thread_key: str,
    direction: str,
    conversation_id: uuid.UUID | None,
    kefu_message_id: uuid.UUID | None,
    sender: str = "",
    subject: str = "",
    subject_key: str = "",
) -> None:
    """Keep a Message-ID with its thread; a second call for the same id is a no-op."""
    try:
        async with kefu.db.transaction() as session:
            if await session.get(MailMessage, (inbox_id, id_key(message_id))) is not None:
                return
            session.add(
                MailMessage(
                    inbox_id=inbox_id,
                    message_id=id_key(message_id),
                    thread_key=thread_key[:64],
                    conversation_id=conversation_id,
                    kefu_message_id=kefu_message_id,
                    direction=direction,
                    sender=sender[:254],
                    subject=subject[:998],
                    subject_key=subject_key[:200],
                    created_at=utcnow(),
                )
            )
    except IntegrityError:
        return  # a concurrent delivery of the same mail stored it first


class ThreadView(msgspec.Struct, frozen=True):
    """What a reply needs to thread: the subject and the Message-IDs so far, oldest first."""

    subject: str
    message_ids: list[str]
    last_inbound: str | None
    # Set by the agent in the composer (the conversation's `attributes.email`).
    to: list[str] = msgspec.field(default_factory=list)
    cc: list[str] = msgspec.field(default_factory=list)


async def conversation_thread(kefu: Kefu, conversation_id: uuid.UUID) -> ThreadView:
    async with kefu.db.session() as session:
        rows = (
            await session.execute(
                sa.select(MailMessage.message_id, MailMessage.direction, MailMessage.subject)
                .where(MailMessage.conversation_id == conversation_id)
                .order_by(MailMessage.created_at)
                .limit(500)
            )
        ).all()
        attributes = await session.scalar(
            sa.select(Conversation.attributes).where(Conversation.id == conversation_id)
        )
    envelope = (attributes or {}).get("email") or {}
    subject = (
        envelope.get("subject")
        or next((s for _, d, s in rows if d == "in" and s), "")
        or next((s for _, _, s in rows if s), "")
    )
    last_in = next((m for m, d, _ in reversed(rows) if d == "in"), None)
    return ThreadView(
        subject,
        [m for m, _, _ in rows if not m.startswith("sha256:")],
        last_in,
        to=list(envelope.get("to") or []),
        cc=list(envelope.get("cc") or []),
    )


async def sent_message(kefu: Kefu, inbox_id: uuid.UUID, message_id: str) -> uuid.UUID | None:
    """The kefu message we sent as `message_id` (for a bounce)."""
    async with kefu.db.session() as session:
        row = await session.get(MailMessage, (inbox_id, id_key(message_id)))
        return row.kefu_message_id if row is not None and row.direction == "out" else None


async def record_item(
    kefu: Kefu,
    inbox_id: uuid.UUID,
    *,
    source: str,
    status: str,
    reason: str,
    raw: bytes | None,
    message_id: str | None = None,
    uidvalidity: int | None = None,
    uid: int | None = None,
) -> uuid.UUID:
    async with kefu.db.transaction() as session:
        item = MailItem(
            inbox_id=inbox_id,
            source=source,
            status=status,
            reason=reason.replace("\x00", "")[:2000],
            message_id=id_key(message_id) if message_id else None,
            uidvalidity=uidvalidity,
            uid=uid,
            size=len(raw or b""),
            raw=raw if raw is not None and len(raw) <= RAW_KEPT else None,
            created_at=utcnow(),
        )
        session.add(item)
        await session.flush()
        return item.id


class Item(msgspec.Struct, frozen=True):
    id: uuid.UUID
    source: str
    status: str
    reason: str
    message_id: str | None
    uid: int | None
    size: int
    created_at: datetime


async def items(kefu: Kefu, inbox_id: uuid.UUID, limit: int = 100) -> list[Item]:
    async with kefu.db.session() as session:
        rows = (
            await session.scalars(
                sa.select(MailItem)
                .where(MailItem.inbox_id == inbox_id)
                .order_by(MailItem.created_at.desc())
                .limit(limit)
            )
        ).all()
    return [
        Item(r.id, r.source, r.status, r.reason, r.message_id, r.uid, r.size, r.created_at)
        for r in rows
    ]


async def contact_known(kefu: Kefu, workspace_id: uuid.UUID, address: str) -> bool:
    async with kefu.db.session() as session:
        found = await session.scalar(
            sa.select(ContactIdentity.id)
            .where(
                ContactIdentity.workspace_id == workspace_id,
                ContactIdentity.kind == "email",
                ContactIdentity.value == address,
            )
            .limit(1)
        )
        return found is not None


async def conversation_exists(kefu: Kefu, conversation_id: uuid.UUID) -> bool:
    async with kefu.db.session() as session:
        return await session.get(Conversation, conversation_id) is not None


async def email_inboxes(kefu: Kefu) -> list[ChannelInbox]:
    """Every active e-mail inbox (the IMAP worker's list)."""
    async with kefu.db.session() as session:
        rows = (
            await session.scalars(
                sa.select(Inbox).where(Inbox.kind == "email", Inbox.active.is_(True))
            )
        ).all()
        return [view_of(r) for r in rows]


class ItemView(msgspec.Struct, frozen=True, kw_only=True):
    """A mail that did not become a message, as the inbox's admin page lists it."""

    id: uuid.UUID
    source: str
    status: str
    reason: str
    message_id: str | None
    size: int
    created_at: datetime


class MailStatus(msgspec.Struct, frozen=True, kw_only=True):
    """What the inbox's mailbox last said, and the latest mails set aside."""

    error: str | None
    checked_at: datetime | None
    items: list[ItemView]


async def status(kefu: Kefu, inbox_id: uuid.UUID, limit: int = 50) -> MailStatus:
    async with kefu.db.session() as session:
        cursor = await session.scalar(
            sa.select(MailCursor)
            .where(MailCursor.inbox_id == inbox_id)
            .order_by(MailCursor.error.is_(None), MailCursor.checked_at.desc())
            .limit(1)
        )
        rows = (
            await session.scalars(
                sa.select(MailItem)
                .where(MailItem.inbox_id == inbox_id)
                .order_by(MailItem.created_at.desc())
                .limit(limit)
            )
        ).all()
    return MailStatus(
        error=cursor.error if cursor else None,
        checked_at=cursor.checked_at if cursor else None,
        items=[
            ItemView(
                id=r.id,
                source=r.source,
                status=r.status,
                reason=r.reason,
                message_id=r.message_id,
                size=r.size,
                created_at=r.created_at,
            )
            for r in rows
        ],
    )


def localized(status: MailStatus, locale: str) -> MailStatus:
    """The reasons of the mails set aside, said in `locale` (kefu.mail.reasons)."""
    return msgspec.structs.replace(
        status,
        error=reasons.localized(status.error, locale),
        items=[
            msgspec.structs.replace(i, reason=reasons.localized(i.reason, locale) or i.reason)
            for i in status.items
        ],
    )
