"""A connector's inbox as a frozen value, looked up by id or by public key.

Kept per process (every webhook and widget message reads its inbox, and it rarely
changes), invalidated through `kefu.caching`: a write to an inbox row bumps its counter,
the process that wrote sees the change at once and every other process within
`Settings.cache_check_seconds`. An admin who rotates a secret or disables an inbox
therefore has the old one refused by all processes within that bound.
"""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from kefu.caching import Versions, read_versions
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
    archived: bool = False


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
        archived=row.archived_at is not None,
    )


INBOX_ARCHIVED = Text(
    "This inbox is archived and accepts no new messages.",
    "该收件箱已归档，不再接收新消息。",
)


def _usable(view: ChannelInbox | None, kind: ChannelKind | str | None) -> ChannelInbox | None:
    """None for an inbox that is missing, disabled or of another kind; an archived one is
    refused with its reason (410), so a webhook sender stops retrying and knows why."""
    if view is None or (kind is not None and view.kind != kind):
        return None
    if view.archived:
        raise Gone(INBOX_ARCHIVED)
    if not view.active:
        return None
    return view


class InboxCache:
    """Inbox views by id and ids by (kind, public key), valid for one counter value.
    Only inboxes that exist are kept: an unknown id is read each time."""

    def __init__(self, interval: float) -> None:
        self.versions = Versions(interval)
        self.version = -1
        self.by_id: dict[uuid.UUID, ChannelInbox] = {}
        self.by_key: dict[tuple[str, str], uuid.UUID] = {}
        self.by_kind: dict[str, list[uuid.UUID]] = {}

    async def fresh(self, kefu: Kefu) -> int:
        """Drop everything when an inbox changed anywhere; the counter now trusted."""

        async def read() -> dict[str, int]:
            async with kefu.db.session() as session:
                return await read_versions(session)

        version = (await self.versions.current(read)).get("inboxes", 0)
        if version != self.version:
            self.by_id, self.by_key, self.version = {}, {}, version
            self.by_kind = {}
        return version

    def keep(self, version: int, view: ChannelInbox) -> None:
        if version == self.version:  # not if it was dropped while this one was read
            self.by_id[view.id] = view
            self.by_key[(view.kind, view.public_key)] = view.id


def _cache(kefu: Kefu) -> InboxCache:
    if kefu.inbox_cache is None:
        kefu.inbox_cache = InboxCache(kefu.settings.cache_check_seconds)
    return kefu.inbox_cache


async def cached_inbox(kefu: Kefu, inbox_id: uuid.UUID) -> ChannelInbox | None:
    """The inbox, active or not, from this process's copy (read on a miss)."""
    cache = _cache(kefu)
    version = await cache.fresh(kefu)
    view = cache.by_id.get(inbox_id)
    if view is None:
        async with kefu.db.session() as session:
            row = await session.get(Inbox, inbox_id)
            if row is None:
                return None
            view = view_of(row)
        cache.keep(version, view)
    return view


async def active_inbox(
    kefu: Kefu, inbox_id: uuid.UUID, kind: ChannelKind | str | None = None
) -> ChannelInbox | None:
    """The inbox if it exists, is active and (when given) of `kind`; else None."""
    return _usable(await cached_inbox(kefu, inbox_id), kind)


async def active_inbox_by_key(
    kefu: Kefu, public_key: str, kind: ChannelKind | str
) -> ChannelInbox | None:
    """The active inbox of `kind` that has this public key (a widget's `data-inbox`)."""
    cache = _cache(kefu)
    version = await cache.fresh(kefu)
    inbox_id = cache.by_key.get((str(kind), public_key))
    if inbox_id is not None and inbox_id in cache.by_id:
        return _usable(cache.by_id[inbox_id], kind)
    async with kefu.db.session() as session:
        row = await session.scalar(
            sa.select(Inbox).where(Inbox.public_key == public_key, Inbox.kind == kind)
        )
        view = view_of(row) if row is not None else None
    if view is not None:
        cache.keep(version, view)
    return _usable(view, kind)


async def active_inboxes(kefu: Kefu, kind: ChannelKind | str) -> list[ChannelInbox]:
    """Every active, unarchived inbox of `kind`, oldest first (a webhook shared by the
    deployment, such as LiveKit's, finds its inbox by what the request is signed with)."""
    cache = _cache(kefu)
    version = await cache.fresh(kefu)
    ids = cache.by_kind.get(str(kind))
    if ids is None or any(i not in cache.by_id for i in ids):
        async with kefu.db.session() as session:
            rows = (
                await session.scalars(
                    sa.select(Inbox)
                    .where(Inbox.kind == kind, Inbox.active.is_(True), Inbox.archived_at.is_(None))
                    .order_by(Inbox.id)
                )
            ).all()
            views = [view_of(row) for row in rows]
        for view in views:
            cache.keep(version, view)
        if version == cache.version:
            cache.by_kind[str(kind)] = [v.id for v in views]
        return views
    return [cache.by_id[i] for i in ids]


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
