"""The widget's self-service, before a chat starts: search, read and rate the published,
public entries of the workspace that owns a widget key. No login: the key is public by
design, so nothing here may reach a draft or an internal entry."""

from __future__ import annotations

import uuid

import msgspec
import sqlalchemy as sa

from kefu.context import Kefu
from kefu.db.tables import Inbox
from kefu.errors import NotFound
from kefu.knowledge import assist, index
from kefu.knowledge.entries import get_entry
from kefu.knowledge.schemas import EntryStatus, FeedbackIn, PublicEntryView, SearchResults
from kefu.knowledge.search.base import SearchFilters


async def workspace_of_inbox(kefu: Kefu, public_key: str) -> Inbox:
    async with kefu.db.session() as session:
        inbox = await session.scalar(
            sa.select(Inbox).where(Inbox.public_key == public_key, Inbox.active.is_(True))
        )
    if inbox is None:
        raise NotFound("unknown widget key")
    return inbox


async def public_search(
    kefu: Kefu, public_key: str, query: str, locale: str | None, limit: int = 5
) -> SearchResults:
    """Published, public entries only, for visitors before they start a chat."""
    inbox = await workspace_of_inbox(kefu, public_key)
    filters = SearchFilters(locale=locale, status=("published",), visibility="public")
    return await index.search(kefu, inbox.workspace_id, query, filters, limit)


async def public_entry(kefu: Kefu, public_key: str, entry_id: uuid.UUID) -> PublicEntryView:
    inbox = await workspace_of_inbox(kefu, public_key)
    view = await get_entry(kefu, inbox.workspace_id, entry_id)
    if view.status != EntryStatus.published or view.visibility != "public":
        raise NotFound(f"knowledge entry {entry_id} not found")
    return PublicEntryView(
        id=view.id,
        kind=view.kind,
        title=view.title,
        body=view.channels.get("web") or view.body,
        locale=view.locale,
        category=view.category,
    )


async def public_feedback(
    kefu: Kefu, public_key: str, entry_id: uuid.UUID, feedback: FeedbackIn
) -> None:
    """A visitor's "did this help?". Anonymous: a visitor cannot tie it to a conversation."""
    inbox = await workspace_of_inbox(kefu, public_key)
    anonymous = msgspec.structs.replace(feedback, conversation_id=None)
    await assist.record_feedback(
        kefu, inbox.workspace_id, entry_id, anonymous, source="visitor", public_only=True
    )
