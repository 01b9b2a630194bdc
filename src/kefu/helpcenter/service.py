"""What the help centre shows: a workspace's published, public knowledge in one language
(categories, entries, search, one entry by its key), and visitors' "was this helpful?".
Nothing here reaches a draft, an entry in review or an internal entry."""

from __future__ import annotations

import uuid
from collections import Counter

import msgspec
import sqlalchemy as sa

from kefu.context import Kefu
from kefu.db.tables import Inbox, Workspace
from kefu.errors import NotFound
from kefu.knowledge import assist, index
from kefu.knowledge.categories import paths_by_id
from kefu.knowledge.schemas import FeedbackIn
from kefu.knowledge.search.base import SearchFilters, SearchHit
from kefu.knowledge.tables import KnowledgeEntry


class Site(msgspec.Struct, frozen=True, kw_only=True):
    workspace_id: uuid.UUID
    slug: str
    name: str
    widget_key: str | None  # the first active web inbox, for "chat with us"


class Article(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    key: str
    kind: str
    title: str
    body: str
    category: str | None
    updated_at_iso: str


class Found(msgspec.Struct, frozen=True, kw_only=True):
    article: Article
    hit: SearchHit


async def site(kefu: Kefu, slug: str) -> Site:
    async with kefu.db.session() as session:
        workspace = await session.scalar(sa.select(Workspace).where(Workspace.slug == slug))
        if workspace is None:
            raise NotFound(f"no help centre named {slug!r}")
        key = await session.scalar(
            sa.select(Inbox.public_key)
            .where(
                Inbox.workspace_id == workspace.id,
                Inbox.kind == "web",
                Inbox.active.is_(True),
                Inbox.public_key.is_not(None),
            )
            .order_by(Inbox.created_at)
            .limit(1)
        )
    return Site(workspace_id=workspace.id, slug=workspace.slug, name=workspace.name, widget_key=key)


def _public(workspace_id: uuid.UUID, locale: str) -> sa.Select[KnowledgeEntry]:
    """Published, public entries in one language."""
    return sa.select(KnowledgeEntry).where(
        KnowledgeEntry.workspace_id == workspace_id,
        KnowledgeEntry.status == "published",
        KnowledgeEntry.visibility == "public",
        KnowledgeEntry.locale == locale,
    )


def _article(row: KnowledgeEntry, category: str | None) -> Article:
    return Article(
        id=row.id,
        key=row.key,
        kind=row.kind,
        title=row.title,
        body=assist.answer_for(row, "web"),
        category=category,
        updated_at_iso=row.updated_at.date().isoformat(),
    )


async def articles(
    kefu: Kefu, workspace_id: uuid.UUID, locale: str, category: str | None = None
) -> tuple[list[Article], Counter[str]]:
    """The entries (under `category` if given, subcategories included), articles first
    then by title, and how many entries each category (with its ancestors) holds."""
    async with kefu.db.session() as session:
        paths = await paths_by_id(session, workspace_id)
        rows = list(await session.scalars(_public(workspace_id, locale)))
    counts: Counter[str] = Counter()
    out = []
    for row in rows:
        path = paths.get(row.category_id)
        if path:
            parts = path.split("/")
            for n in range(1, len(parts) + 1):
                counts["/".join(parts[:n])] += 1
        if category is None or (path and (path == category or path.startswith(f"{category}/"))):
            out.append(_article(row, path))
    out.sort(key=lambda a: (a.kind != "article", a.title))
    return out, counts


async def article(kefu: Kefu, workspace_id: uuid.UUID, key: str) -> Article:
    async with kefu.db.session() as session:
        row = await session.scalar(
            sa.select(KnowledgeEntry).where(
                KnowledgeEntry.workspace_id == workspace_id,
                KnowledgeEntry.key == key,
                KnowledgeEntry.status == "published",
                KnowledgeEntry.visibility == "public",
            )
        )
        if row is None:
            raise NotFound("no such article")
        paths = await paths_by_id(session, workspace_id)
        return _article(row, paths.get(row.category_id))


async def search(
    kefu: Kefu, workspace_id: uuid.UUID, query: str, locale: str, limit: int = 20
) -> list[Found]:
    filters = SearchFilters(locale=locale, status=("published",), visibility="public")
    hits = (await index.search(kefu, workspace_id, query, filters, limit)).hits
    async with kefu.db.session() as session:
        rows = await assist.entries_by_id(session, workspace_id, [h.id for h in hits])
        paths = await paths_by_id(session, workspace_id)
    return [
        Found(article=_article(rows[h.id], paths.get(rows[h.id].category_id)), hit=h)
        for h in hits
        if h.id in rows
    ]


async def feedback(
    kefu: Kefu, workspace_id: uuid.UUID, entry_id: uuid.UUID, helpful: bool, comment: str | None
) -> None:
    """Anonymous, like the widget's: a visitor of the help centre has no conversation."""
    await assist.record_feedback(
        kefu,
        workspace_id,
        entry_id,
        FeedbackIn(helpful=helpful, comment=comment or None),
        source="visitor",
        public_only=True,
    )
