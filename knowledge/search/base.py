"""The one search interface every backend implements, and the values that cross it.

An index holds one workspace's knowledge as `SearchDocument`s (flattened, plain text)
and answers `SearchQuery`s with ranked `SearchHit`s. The database stays the source of
truth: an index can always be rebuilt from it (`replace_all`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Protocol

import msgspec


class SearchDocument(msgspec.Struct, frozen=True, kw_only=True):
    """One FAQ entry or article as the index sees it."""

    id: str
    kind: str  # "faq" | "article"
    title: str  # the standard question, or the article's title
    similar: tuple[str, ...] = ()  # other phrasings of the question
    body: str = ""  # answer or article body as plain text
    locale: str = "zh-CN"
    status: str = "published"
    visibility: str = "public"
    # The entry's category and all its ancestors, so filtering on a parent finds children.
    categories: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()


class SearchFilters(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Every given filter must hold; `tags` requires all listed tags."""

    locale: str | None = None
    status: tuple[str, ...] | None = None
    visibility: str | None = None
    category: str | None = None
    tags: tuple[str, ...] = ()
    kind: str | None = None

    def accepts(self, doc: SearchDocument) -> bool:
        return (
            (self.locale is None or doc.locale == self.locale)
            and (self.status is None or doc.status in self.status)
            and (self.visibility is None or doc.visibility == self.visibility)
            and (self.category is None or self.category in doc.categories)
            and (self.kind is None or doc.kind == self.kind)
            and all(t in doc.tags for t in self.tags)
        )


class SearchHit(msgspec.Struct, frozen=True, kw_only=True):
    """A ranked result. `score` is in [0, 1] on every backend (1 = the query is the
    question), which is what the bot's thresholds compare against. `highlight` and
    `snippet` are HTML-escaped with matches wrapped in <mark>."""

    id: str
    kind: str
    title: str
    highlight: str
    snippet: str
    score: float
    locale: str
    # The similar question that matched better than the title, if any.
    matched_question: str | None = None


class Index(Protocol):
    """A search backend. All methods are scoped to one workspace; nothing crosses tenants."""

    async def upsert(self, workspace_id: uuid.UUID, docs: Sequence[SearchDocument]) -> None: ...

    async def delete(self, workspace_id: uuid.UUID, ids: Sequence[str]) -> None: ...

    async def replace_all(
        self, workspace_id: uuid.UUID, docs: Sequence[SearchDocument]
    ) -> None: ...

    async def search(
        self,
        workspace_id: uuid.UUID,
        query: str,
        filters: SearchFilters | None = None,
        limit: int = 10,
    ) -> list[SearchHit]: ...

    async def close(self) -> None: ...
