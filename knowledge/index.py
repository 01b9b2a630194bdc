"""The search index of the knowledge base: one per process (Meilisearch when
`KEFU_MEILI_URL` is set, else the embedded index), each workspace loaded on first use or
at warm-up, kept in step with every committed edit, and queried by `search`.

Writers commit first and call `changed` after, so a failed index update never loses an
edit; `reindex` repairs any drift from the database, the source of truth.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence

import sqlalchemy as sa

from kefu.context import Kefu
from kefu.knowledge.relevance import category_paths
from kefu.knowledge.schemas import SearchResults
from kefu.knowledge.search import text as tx
from kefu.knowledge.search.base import Index, SearchDocument, SearchFilters, SearchHit
from kefu.knowledge.search.embedded import EmbeddedIndex
from kefu.knowledge.tables import KnowledgeCategory, KnowledgeEntry

Change = tuple[list[SearchDocument], list[str]]  # (upserted, deleted ids)


class IndexState:
    """The process's search index and what it knows per workspace: which workspaces the
    embedded index holds, and the changes made while a workspace is being rebuilt (they
    are replayed after the swap, so an edit during a rebuild is never lost)."""

    def __init__(self, index: Index) -> None:
        self.index = index
        self.loaded: set[uuid.UUID] = set()
        self.pending: dict[uuid.UUID, list[Change]] = {}
        self.locks: dict[uuid.UUID, asyncio.Lock] = {}


def _state(kefu: Kefu) -> IndexState:
    state = kefu.knowledge_index
    if state is None:
        index: Index
        if kefu.settings.meili_url:
            from kefu.knowledge.search.meilisearch import MeilisearchIndex

            index = MeilisearchIndex(kefu.settings.meili_url, kefu.settings.meili_key)
        else:
            index = EmbeddedIndex()
        state = kefu.knowledge_index = IndexState(index)
    return state


def search_index(kefu: Kefu) -> Index:
    """Meilisearch when `KEFU_MEILI_URL` is set, else the embedded index."""
    return _state(kefu).index


def document_of(row: KnowledgeEntry, category: str | None) -> SearchDocument:
    return SearchDocument(
        id=str(row.id),
        kind=row.kind,
        title=row.title,
        similar=tuple(row.similar or ()),
        body=tx.plain(row.body),
        locale=row.locale,
        status=row.status,
        visibility=row.visibility,
        categories=category_paths(category),
        tags=tuple(row.tags or ()),
    )


async def _all_documents(kefu: Kefu, workspace_id: uuid.UUID) -> list[SearchDocument]:
    async with kefu.db.session() as session:
        rows = await session.execute(
            sa.select(KnowledgeEntry, KnowledgeCategory.path)
            .outerjoin(KnowledgeCategory, KnowledgeCategory.id == KnowledgeEntry.category_id)
            .where(KnowledgeEntry.workspace_id == workspace_id)
        )
        return [document_of(entry, path) for entry, path in rows]


async def _ready_index(kefu: Kefu, workspace_id: uuid.UUID) -> Index:
    """The index, with this workspace loaded. The embedded index lives in memory, so each
    process builds a workspace's part from the database on first use (or at startup, see
    `warm_up`); Meilisearch keeps its own copy and needs no loading."""
    state = _state(kefu)
    if workspace_id not in state.loaded:
        if isinstance(state.index, EmbeddedIndex):
            await _rebuild(kefu, workspace_id, only_if_missing=True)
        else:
            state.loaded.add(workspace_id)
    return state.index


async def _rebuild(kefu: Kefu, workspace_id: uuid.UUID, *, only_if_missing: bool = False) -> int:
    state = _state(kefu)
    async with state.locks.setdefault(workspace_id, asyncio.Lock()):
        if only_if_missing and workspace_id in state.loaded:
            return -1  # another task built it while we waited
        state.pending[workspace_id] = []
        try:
            docs = await _all_documents(kefu, workspace_id)
            await state.index.replace_all(workspace_id, docs)
            for changed_docs, deleted in state.pending[workspace_id]:
                await _apply(state.index, workspace_id, changed_docs, deleted)
        finally:
            state.pending.pop(workspace_id, None)
        state.loaded.add(workspace_id)
        return len(docs)


async def _apply(
    index: Index, workspace_id: uuid.UUID, docs: Sequence[SearchDocument], deleted: Sequence[str]
) -> None:
    if docs:
        await index.upsert(workspace_id, docs)
    if deleted:
        await index.delete(workspace_id, deleted)


async def changed(
    kefu: Kefu, workspace_id: uuid.UUID, docs: Sequence[SearchDocument], deleted: Sequence[str] = ()
) -> None:
    """Tell the index what a committed write changed: documents to upsert, ids deleted."""
    state = _state(kefu)
    if workspace_id in state.pending:
        state.pending[workspace_id].append((list(docs), list(deleted)))
    if isinstance(state.index, EmbeddedIndex) and workspace_id not in state.loaded:
        return  # built from the database, this change included, on first search
    await _apply(state.index, workspace_id, docs, deleted)


async def warm_up(kefu: Kefu) -> None:
    """Build the embedded index of every workspace that has knowledge; meant to run in
    the background at startup (`kefu.spawn(warm_up(kefu))`) so the first search is fast."""
    if not isinstance(search_index(kefu), EmbeddedIndex):
        return
    await asyncio.to_thread(tx.warm)  # off the event loop, even if no workspace has entries
    async with kefu.db.session() as session:
        workspaces = list(await session.scalars(sa.select(KnowledgeEntry.workspace_id).distinct()))
    for workspace_id in workspaces:
        await _ready_index(kefu, workspace_id)


async def reindex(kefu: Kefu, workspace_id: uuid.UUID) -> int:
    """Rebuild a workspace's index from the database (`kefu knowledge reindex`)."""
    return await _rebuild(kefu, workspace_id)


async def close(kefu: Kefu) -> None:
    """Release the backend's connections (shutdown); a no-op if no index was made."""
    if kefu.knowledge_index is not None:
        await kefu.knowledge_index.index.close()


async def search(
    kefu: Kefu,
    workspace_id: uuid.UUID,
    query: str,
    filters: SearchFilters | None = None,
    limit: int = 10,
) -> SearchResults:
    started = time.perf_counter()
    query = query.strip()[:500]
    hits: list[SearchHit] = []
    if query:
        index = await _ready_index(kefu, workspace_id)
        hits = await index.search(workspace_id, query, filters, limit)
    took = round((time.perf_counter() - started) * 1000, 2)
    return SearchResults(query=query, hits=hits, took_ms=took)
