"""A connector's inbox as a frozen value, looked up by id or by public key.

Not cached: an admin who rotates a secret or disables an inbox expects the very next
webhook to see it, in every process, and a primary-key read is one indexed lookup.
"""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from kefu.context import Kefu
from kefu.db.engine import Database
from kefu.db.tables import Inbox
from kefu.errors import Gone
from kefu.i18n import Text
from kefu.model import ChannelKind


class ChannelInbox(msgspec.Struct, frozen=True, kw_only=True):
    """What a connector may read of its inbox row (it satisfies `InboxView`)."""

    id: uuid.UUID
    workspace_id: uuid.UUID
    kind: str
    name: str
    public_key: str
    config: dict[str, Any]
    secrets: dict[str, Any]
    default_group_id: uuid.UUID | None
    active: bool


def view_of(row: Inbox) -> ChannelInbox:
    return ChannelInbox(
        id=row.id,
        workspace_id=row.workspace_id,
        kind=row.kind,
        name=row.name,
        public_key=row.public_key,
        config=dict(row.config or {}),
        secrets=dict(row.secrets or {}),
        default_group_id=row.default_group_id,
        active=row.active,
    )


INBOX_ARCHIVED = Text(
    "This inbox is archived and accepts no new messages.",
    "该收件箱已归档，不再接收新消息。",
)


def _usable(row: Inbox | None, kind: ChannelKind | str | None) -> ChannelInbox | None:
    """None for an inbox that is missing, disabled or of another kind; an archived one is
    refused with its reason (410), so a webhook sender stops retrying and knows why."""
    if row is None or (kind is not None and row.kind != kind):
        return None
    if row.archived_at is not None:
        raise Gone(INBOX_ARCHIVED)
    if not row.active:
        return None
    return view_of(row)


async def active_inbox(
    kefu: Kefu, inbox_id: uuid.UUID, kind: ChannelKind | str | None = None
) -> ChannelInbox | None:
    """The inbox if it exists, is active and (when given) of `kind`; else None."""
    async with kefu.db.session() as session:
        return _usable(await session.get(Inbox, inbox_id), kind)


async def active_inbox_by_key(
    kefu: Kefu, public_key: str, kind: ChannelKind | str
) -> ChannelInbox | None:
    """The active inbox of `kind` that has this public key (a widget's `data-inbox`)."""
    async with kefu.db.session() as session:
        row = await session.scalar(
            sa.select(Inbox).where(Inbox.public_key == public_key, Inbox.kind == kind)
        )
        return _usable(row, kind)


class DatabaseUnreadable(Exception):
    """A command-line tool could not read the database (wrong URL, server down)."""

    def __init__(self, database: str, reason: str) -> None:
        super().__init__(f"{database}: {reason}")
        self.database = database
        self.reason = reason


def redacted(database_url: str) -> str:
    """The database URL without its password, to name it in an error."""
    return sa.make_url(database_url).render_as_string(hide_password=True)


async def read_inbox(database_url: str, inbox_id: uuid.UUID) -> ChannelInbox | None:
    """For command-line tools that run without an app: one read, then the engine closes.
    Raises `DatabaseUnreadable` when the database cannot be read at all."""
    db = Database(database_url)
    try:
        async with db.session() as session:
            row = await session.get(Inbox, inbox_id)
            return view_of(row) if row is not None else None
    except (SQLAlchemyError, OSError) as exc:
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise DatabaseUnreadable(redacted(database_url), reason) from exc
    finally:
        await db.dispose()
