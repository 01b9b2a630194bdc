"""The knowledge base's logic: entries with versions, categories, import and export,
search (index kept in step with every change), agent suggestions, usage, feedback and
unanswered questions. Controllers and the CLI call these; tests reach them directly.

Every write commits first and updates the search index after, so a failed index update
never loses an edit; `reindex` repairs any drift.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.context import Kefu
from kefu.db.tables import Conversation, Inbox, Message
from kefu.errors import Conflict, Invalid, NotFound
from kefu.knowledge.relevance import category_paths
from kefu.knowledge.schemas import (
    CategoryView,
    EntryIn,
    EntryKind,
    EntryPage,
    EntryPatch,
    EntryStatus,
    EntryView,
    FeedbackIn,
    ImportReport,
    PublicEntryView,
    SearchResults,
    Suggestion,
    Suggestions,
    UnansweredView,
    VersionView,
    Visibility,
)
from kefu.knowledge.search import text as tx
from kefu.knowledge.search.base import Index, SearchDocument, SearchFilters, SearchHit
from kefu.knowledge.search.embedded import EmbeddedIndex
from kefu.knowledge.tables import (
    KnowledgeCategory,
    KnowledgeEntry,
    KnowledgeFeedback,
    KnowledgeUsage,
    KnowledgeVersion,
    UnansweredQuestion,
)
from kefu.model import Attachment, Direction, utcnow

STATE_KEY = "knowledge.search"
_FIELDS = (
    "title",
    "kind",
    "key",
    "similar",
    "body",
    "channels",
    "attachments",
    "locale",
    "category",
    "tags",
    "status",
    "visibility",
)


# ---------------------------------------------------------------------------
# the search index: one per process, chosen by settings


class _IndexState:
    """The process's search index and what it knows per workspace: which workspaces the
    embedded index holds, and the changes made while a workspace is being rebuilt (they
    are replayed after the swap, so an edit during a rebuild is never lost)."""

    def __init__(self, index: Index) -> None:
        self.index = index
        self.loaded: set[uuid.UUID] = set()
        self.pending: dict[uuid.UUID, list[tuple[list[SearchDocument], list[str]]]] = {}
        self.locks: dict[uuid.UUID, asyncio.Lock] = {}


def _state(kefu: Kefu) -> _IndexState:
    state: _IndexState | None = kefu.extras.get(STATE_KEY)
    if state is None:
        index: Index
        if kefu.settings.meili_url:
            from kefu.knowledge.search.meilisearch import MeilisearchIndex

            index = MeilisearchIndex(kefu.settings.meili_url, kefu.settings.meili_key)
        else:
            index = EmbeddedIndex()
        state = kefu.extras[STATE_KEY] = _IndexState(index)
    return state


def search_index(kefu: Kefu) -> Index:
    """Meilisearch when `KEFU_MEILI_URL` is set, else the embedded index."""
    return _state(kefu).index


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
            for changed, deleted in state.pending[workspace_id]:
                await _apply_change(state.index, workspace_id, changed, deleted)
        finally:
            state.pending.pop(workspace_id, None)
        state.loaded.add(workspace_id)
        return len(docs)


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


async def _all_documents(kefu: Kefu, workspace_id: uuid.UUID) -> list[SearchDocument]:
    async with kefu.db.session() as session:
        paths = await _category_paths(session, workspace_id)
        rows = await session.scalars(
            sa.select(KnowledgeEntry).where(KnowledgeEntry.workspace_id == workspace_id)
        )
        return [document_of(row, paths.get(row.category_id)) for row in rows]


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


async def _apply_change(
    index: Index, workspace_id: uuid.UUID, docs: Sequence[SearchDocument], deleted: Sequence[str]
) -> None:
    if docs:
        await index.upsert(workspace_id, docs)
    if deleted:
        await index.delete(workspace_id, deleted)


async def _index_changed(
    kefu: Kefu, workspace_id: uuid.UUID, docs: Sequence[SearchDocument], deleted: Sequence[str] = ()
) -> None:
    state = _state(kefu)
    if workspace_id in state.pending:
        state.pending[workspace_id].append((list(docs), list(deleted)))
    if isinstance(state.index, EmbeddedIndex) and workspace_id not in state.loaded:
        return  # built from the database, this change included, on first search
    await _apply_change(state.index, workspace_id, docs, deleted)


async def reindex(kefu: Kefu, workspace_id: uuid.UUID) -> int:
    """Rebuild a workspace's index from the database (`kefu knowledge reindex`)."""
    return await _rebuild(kefu, workspace_id)


# ---------------------------------------------------------------------------
# categories


async def _category_paths(session: AsyncSession, workspace_id: uuid.UUID) -> dict[Any, str]:
    rows = await session.execute(
        sa.select(KnowledgeCategory.id, KnowledgeCategory.path).where(
            KnowledgeCategory.workspace_id == workspace_id
        )
    )
    return {row.id: row.path for row in rows}


def clean_path(path: str | None) -> str | None:
    if path is None:
        return None
    parts = [p.strip() for p in path.split("/") if p.strip()]
    if any(len(p) > 200 for p in parts):
        raise Invalid("a category name is at most 200 characters")
    return "/".join(parts) or None


async def ensure_category(
    session: AsyncSession, workspace_id: uuid.UUID, path: str | None
) -> uuid.UUID | None:
    """The category at `path`, creating it and its missing ancestors."""
    path = clean_path(path)
    if path is None:
        return None
    parent: uuid.UUID | None = None
    for prefix in category_paths(path):
        found = await session.scalar(
            sa.select(KnowledgeCategory.id).where(
                KnowledgeCategory.workspace_id == workspace_id, KnowledgeCategory.path == prefix
            )
        )
        if found is None:
            row = KnowledgeCategory(
                workspace_id=workspace_id,
                parent_id=parent,
                name=prefix.rsplit("/", 1)[-1],
                path=prefix,
            )
            session.add(row)
            await session.flush()
            found = row.id
        parent = found
    return parent


async def rename_category(
    kefu: Kefu, workspace_id: uuid.UUID, category_id: uuid.UUID, name: str
) -> CategoryView:
    """Rename a node; its descendants' paths follow, and the index learns the new paths."""
    name = name.strip()
    if not name or "/" in name or len(name) > 200:
        raise Invalid("a category name is 1-200 characters and has no '/'")
    async with kefu.db.transaction() as session:
        node = await session.scalar(
            sa.select(KnowledgeCategory)
            .where(
                KnowledgeCategory.id == category_id, KnowledgeCategory.workspace_id == workspace_id
            )
            .with_for_update()
        )
        if node is None:
            raise NotFound(f"category {category_id} not found")
        old = node.path
        new = f"{old.rsplit('/', 1)[0]}/{name}" if "/" in old else name
        if new != old and await session.scalar(
            sa.select(KnowledgeCategory.id).where(
                KnowledgeCategory.workspace_id == workspace_id, KnowledgeCategory.path == new
            )
        ):
            raise Conflict(f"a category {new!r} exists already")
        subtree = list(
            await session.scalars(
                sa.select(KnowledgeCategory).where(
                    KnowledgeCategory.workspace_id == workspace_id,
                    sa.or_(
                        KnowledgeCategory.path == old,
                        KnowledgeCategory.path.startswith(f"{old}/", autoescape=True),
                    ),
                )
            )
        )
        for row in subtree:
            row.path = new + row.path[len(old) :]
        node.name = name
        ids = [row.id for row in subtree]
        view = CategoryView(id=node.id, name=node.name, path=node.path, parent_id=node.parent_id)
        paths: dict[uuid.UUID | None, str] = {row.id: row.path for row in subtree}
        entries = list(
            await session.scalars(
                sa.select(KnowledgeEntry).where(
                    KnowledgeEntry.workspace_id == workspace_id, KnowledgeEntry.category_id.in_(ids)
                )
            )
        )
        docs = [document_of(e, paths.get(e.category_id)) for e in entries]
    await _index_changed(kefu, workspace_id, docs)
    return view


async def delete_category(kefu: Kefu, workspace_id: uuid.UUID, category_id: uuid.UUID) -> None:
    """Delete a node and its subtree; their entries stay, without a category."""
    async with kefu.db.transaction() as session:
        node = await session.scalar(
            sa.select(KnowledgeCategory).where(
                KnowledgeCategory.id == category_id, KnowledgeCategory.workspace_id == workspace_id
            )
        )
        if node is None:
            raise NotFound(f"category {category_id} not found")
        subtree = list(
            await session.scalars(
                sa.select(KnowledgeCategory.id).where(
                    KnowledgeCategory.workspace_id == workspace_id,
                    sa.or_(
                        KnowledgeCategory.path == node.path,
                        KnowledgeCategory.path.startswith(f"{node.path}/", autoescape=True),
                    ),
                )
            )
        )
        entries = list(
            await session.scalars(
                sa.select(KnowledgeEntry).where(
                    KnowledgeEntry.workspace_id == workspace_id,
                    KnowledgeEntry.category_id.in_(subtree),
                )
            )
        )
        for entry in entries:
            entry.category_id = None
        await session.flush()
        await session.execute(sa.delete(KnowledgeCategory).where(KnowledgeCategory.id.in_(subtree)))
        docs = [document_of(e, None) for e in entries]
    await _index_changed(kefu, workspace_id, docs)


async def list_categories(kefu: Kefu, workspace_id: uuid.UUID) -> list[CategoryView]:
    async with kefu.db.session() as session:
        rows = await session.scalars(
            sa.select(KnowledgeCategory)
            .where(KnowledgeCategory.workspace_id == workspace_id)
            .order_by(KnowledgeCategory.path)
        )
        return [
            CategoryView(id=r.id, name=r.name, path=r.path, parent_id=r.parent_id) for r in rows
        ]


# ---------------------------------------------------------------------------
# entries


def snapshot_of(row: KnowledgeEntry, category: str | None) -> EntryIn:
    return EntryIn(
        title=row.title,
        kind=EntryKind(row.kind),
        key=row.key,
        similar=list(row.similar or []),
        body=row.body,
        channels=dict(row.channels or {}),
        attachments=msgspec.convert(row.attachments or [], list[Attachment]),
        locale=row.locale,
        category=category,
        tags=list(row.tags or []),
        status=EntryStatus(row.status),
        visibility=Visibility(row.visibility),
    )


def view_of(row: KnowledgeEntry, category: str | None) -> EntryView:
    return EntryView(
        id=row.id,
        key=row.key,
        kind=EntryKind(row.kind),
        title=row.title,
        similar=list(row.similar or []),
        body=row.body,
        channels=dict(row.channels or {}),
        attachments=msgspec.convert(row.attachments or [], list[Attachment]),
        locale=row.locale,
        category=category,
        tags=list(row.tags or []),
        status=EntryStatus(row.status),
        visibility=Visibility(row.visibility),
        version=row.version,
        insertions=row.insertions,
        helpful=row.helpful,
        not_helpful=row.not_helpful,
        created_at=row.created_at,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
    )


def slug(title: str) -> str:
    """A key for an entry created without one: ASCII words of the title plus a short id,
    so keys stay unique and readable in exported file names."""
    words = re.sub(r"[^a-z0-9]+", "-", tx.normalize(title)).strip("-")[:40]
    return f"{words or 'entry'}-{uuid.uuid4().hex[:8]}"


def _normalize_in(data: EntryIn) -> EntryIn:
    similar = [s.strip() for s in dict.fromkeys(data.similar) if s.strip() and s != data.title]
    tags = [t.strip() for t in dict.fromkeys(data.tags) if t.strip()]
    return msgspec.structs.replace(
        data,
        title=data.title.strip(),
        similar=similar,
        tags=tags,
        category=clean_path(data.category),
        key=data.key or slug(data.title),
    )


def _apply(row: KnowledgeEntry, data: EntryIn, category_id: uuid.UUID | None) -> None:
    row.title = data.title
    row.kind = str(data.kind)
    row.key = data.key or row.key
    row.similar = list(data.similar)
    row.body = data.body
    row.channels = dict(data.channels)
    row.attachments = msgspec.to_builtins(data.attachments)
    row.locale = data.locale
    row.category_id = category_id
    row.tags = list(data.tags)
    row.status = str(data.status)
    row.visibility = str(data.visibility)


def _diff(before: EntryIn | None, after: EntryIn) -> list[str]:
    if before is None:
        return list(_FIELDS)
    return [f for f in _FIELDS if getattr(before, f) != getattr(after, f)]


def _version_row(
    row: KnowledgeEntry,
    change: str,
    fields: list[str],
    snapshot: EntryIn,
    user_id: uuid.UUID | None,
) -> KnowledgeVersion:
    return KnowledgeVersion(
        workspace_id=row.workspace_id,
        entry_id=row.id,
        version=row.version,
        change=change,
        changed_fields=fields,
        snapshot=msgspec.to_builtins(snapshot),
        changed_by=user_id,
        created_at=row.updated_at,
    )


async def _load(
    session: AsyncSession, workspace_id: uuid.UUID, entry_id: uuid.UUID
) -> KnowledgeEntry:
    row = await session.scalar(
        sa.select(KnowledgeEntry)
        .where(KnowledgeEntry.id == entry_id, KnowledgeEntry.workspace_id == workspace_id)
        .with_for_update()
    )
    if row is None:
        raise NotFound(f"knowledge entry {entry_id} not found")
    return row


async def _key_taken(
    session: AsyncSession, workspace_id: uuid.UUID, key: str, but: uuid.UUID | None = None
) -> bool:
    query = sa.select(KnowledgeEntry.id).where(
        KnowledgeEntry.workspace_id == workspace_id, KnowledgeEntry.key == key
    )
    if but is not None:
        query = query.where(KnowledgeEntry.id != but)
    return (await session.scalar(query)) is not None


async def create_entry(
    kefu: Kefu, workspace_id: uuid.UUID, data: EntryIn, user_id: uuid.UUID | None
) -> EntryView:
    data = _normalize_in(data)
    async with kefu.db.transaction() as session:
        assert data.key is not None
        if await _key_taken(session, workspace_id, data.key):
            raise Conflict(f"an entry with key {data.key!r} exists; choose another key")
        category_id = await ensure_category(session, workspace_id, data.category)
        now = utcnow()
        row = KnowledgeEntry(
            workspace_id=workspace_id,
            version=1,
            created_by=user_id,
            updated_by=user_id,
            created_at=now,
            updated_at=now,
        )
        _apply(row, data, category_id)
        session.add(row)
        await session.flush()
        session.add(_version_row(row, "created", list(_FIELDS), data, user_id))
        view = view_of(row, data.category)
        doc = document_of(row, data.category)
    await _index_changed(kefu, workspace_id, [doc])
    return view


def _patched(current: EntryIn, patch: EntryPatch) -> EntryIn:
    changes = {f: getattr(patch, f) for f in _FIELDS if getattr(patch, f) is not msgspec.UNSET}
    try:
        # Through convert, so EntryIn's own checks (channel names) run on the result.
        return msgspec.convert(
            {**msgspec.to_builtins(current), **msgspec.to_builtins(changes)}, EntryIn
        )
    except msgspec.ValidationError as exc:
        raise Invalid(str(exc)) from exc


async def update_entry(
    kefu: Kefu,
    workspace_id: uuid.UUID,
    entry_id: uuid.UUID,
    patch: EntryPatch,
    user_id: uuid.UUID | None,
    *,
    change: str = "updated",
) -> EntryView:
    async with kefu.db.transaction() as session:
        row = await _load(session, workspace_id, entry_id)
        if patch.version is not msgspec.UNSET and patch.version != row.version:
            raise Conflict(
                f"the entry changed since you loaded it (now version {row.version}, you edited "
                f"version {patch.version}); reload and apply your edit again"
            )
        paths = await _category_paths(session, workspace_id)
        before = snapshot_of(row, paths.get(row.category_id))
        after = _normalize_in(_patched(before, patch))
        view, doc = await _save(session, row, before, after, user_id, change)
    if doc is not None:
        await _index_changed(kefu, workspace_id, [doc])
    return view


async def _save(
    session: AsyncSession,
    row: KnowledgeEntry,
    before: EntryIn,
    after: EntryIn,
    user_id: uuid.UUID | None,
    change: str,
) -> tuple[EntryView, SearchDocument | None]:
    """Write `after` over `row` with a new version; nothing (no version) if nothing changed."""
    fields = _diff(before, after)
    if not fields:
        return view_of(row, before.category), None
    assert after.key is not None
    if "key" in fields and await _key_taken(session, row.workspace_id, after.key, but=row.id):
        raise Conflict(f"an entry with key {after.key!r} exists; choose another key")
    category_id = await ensure_category(session, row.workspace_id, after.category)
    _apply(row, after, category_id)
    row.version += 1
    row.updated_by = user_id
    row.updated_at = utcnow()
    session.add(_version_row(row, change, fields, after, user_id))
    await session.flush()
    return view_of(row, after.category), document_of(row, after.category)


async def delete_entry(
    kefu: Kefu, workspace_id: uuid.UUID, entry_id: uuid.UUID, user_id: uuid.UUID | None
) -> None:
    async with kefu.db.transaction() as session:
        row = await _load(session, workspace_id, entry_id)
        paths = await _category_paths(session, workspace_id)
        snapshot = snapshot_of(row, paths.get(row.category_id))
        row.version += 1
        row.updated_at = utcnow()
        # The last version records the deletion, so the entry can be recreated from it.
        session.add(_version_row(row, "deleted", [], snapshot, user_id))
        await session.delete(row)
    await _index_changed(kefu, workspace_id, [], [str(entry_id)])


async def get_entry(kefu: Kefu, workspace_id: uuid.UUID, entry_id: uuid.UUID) -> EntryView:
    async with kefu.db.session() as session:
        row = await session.scalar(
            sa.select(KnowledgeEntry).where(
                KnowledgeEntry.id == entry_id, KnowledgeEntry.workspace_id == workspace_id
            )
        )
        if row is None:
            raise NotFound(f"knowledge entry {entry_id} not found")
        paths = await _category_paths(session, workspace_id)
        return view_of(row, paths.get(row.category_id))


async def list_entries(
    kefu: Kefu,
    workspace_id: uuid.UUID,
    *,
    status: EntryStatus | None = None,
    locale: str | None = None,
    category: str | None = None,
    kind: str | None = None,
    tag: str | None = None,
    sort: str = "updated",
    offset: int = 0,
    limit: int = 50,
) -> EntryPage:
    """Entries, newest edit first, or by `sort`: insertions, bot_answers, helpful,
    not_helpful (most first), so managers see what is used and what disappoints."""
    async with kefu.db.session() as session:
        paths = await _category_paths(session, workspace_id)
        query = sa.select(KnowledgeEntry).where(KnowledgeEntry.workspace_id == workspace_id)
        if status is not None:
            query = query.where(KnowledgeEntry.status == status.value)
        if locale:
            query = query.where(KnowledgeEntry.locale == locale)
        if kind:
            query = query.where(KnowledgeEntry.kind == kind)
        if category:
            wanted = clean_path(category)
            ids = [cid for cid, p in paths.items() if p == wanted or p.startswith(f"{wanted}/")]
            query = query.where(KnowledgeEntry.category_id.in_(ids))
        order = {
            "insertions": KnowledgeEntry.insertions,
            "bot_answers": KnowledgeEntry.bot_answers,
            "helpful": KnowledgeEntry.helpful,
            "not_helpful": KnowledgeEntry.not_helpful,
        }.get(sort, KnowledgeEntry.updated_at)
        query = query.order_by(order.desc(), KnowledgeEntry.updated_at.desc())
        rows = list(await session.scalars(query))
        if tag:
            # Tags are a JSON list (portable across SQLite and PostgreSQL): filter here.
            rows = [r for r in rows if tag in (r.tags or [])]
        page = rows[offset : offset + limit]
        return EntryPage(
            items=[view_of(r, paths.get(r.category_id)) for r in page], total=len(rows)
        )


async def list_versions(
    kefu: Kefu, workspace_id: uuid.UUID, entry_id: uuid.UUID
) -> list[VersionView]:
    async with kefu.db.session() as session:
        rows = list(
            await session.scalars(
                sa.select(KnowledgeVersion)
                .where(
                    KnowledgeVersion.workspace_id == workspace_id,
                    KnowledgeVersion.entry_id == entry_id,
                )
                .order_by(KnowledgeVersion.version.desc())
            )
        )
    if not rows:
        raise NotFound(f"knowledge entry {entry_id} has no history here")
    return [
        VersionView(
            version=r.version,
            entry_id=r.entry_id,
            changed_by=r.changed_by,
            change=r.change,
            changed_fields=list(r.changed_fields or []),
            snapshot=msgspec.convert(r.snapshot, EntryIn),
            created_at=r.created_at,
        )
        for r in rows
    ]


async def restore_version(
    kefu: Kefu,
    workspace_id: uuid.UUID,
    entry_id: uuid.UUID,
    version: int,
    user_id: uuid.UUID | None,
) -> EntryView:
    """Make the entry what it was at `version` (a new version; history is kept). A deleted
    entry comes back with its old id."""
    async with kefu.db.transaction() as session:
        old = await session.scalar(
            sa.select(KnowledgeVersion).where(
                KnowledgeVersion.workspace_id == workspace_id,
                KnowledgeVersion.entry_id == entry_id,
                KnowledgeVersion.version == version,
            )
        )
        if old is None:
            raise NotFound(f"knowledge entry {entry_id} has no version {version}")
        target = _normalize_in(msgspec.convert(old.snapshot, EntryIn))
        row = await session.scalar(
            sa.select(KnowledgeEntry)
            .where(KnowledgeEntry.id == entry_id, KnowledgeEntry.workspace_id == workspace_id)
            .with_for_update()
        )
        if row is None:
            last = await session.scalar(
                sa.select(sa.func.max(KnowledgeVersion.version)).where(
                    KnowledgeVersion.entry_id == entry_id
                )
            )
            assert target.key is not None
            if await _key_taken(session, workspace_id, target.key):
                raise Conflict(f"another entry now uses key {target.key!r}; rename it first")
            row = KnowledgeEntry(
                id=entry_id, workspace_id=workspace_id, version=int(last or 0), created_by=user_id
            )
            _apply(row, target, await ensure_category(session, workspace_id, target.category))
            row.version += 1
            row.updated_by = user_id
            row.updated_at = row.created_at = utcnow()
            session.add(row)
            await session.flush()
            session.add(_version_row(row, "restored", list(_FIELDS), target, user_id))
            view = view_of(row, target.category)
            doc: SearchDocument | None = document_of(row, target.category)
        else:
            paths = await _category_paths(session, workspace_id)
            before = snapshot_of(row, paths.get(row.category_id))
            view, doc = await _save(session, row, before, target, user_id, "restored")
    if doc is not None:
        await _index_changed(kefu, workspace_id, [doc])
    return view


# ---------------------------------------------------------------------------
# import / export


async def import_entries(
    kefu: Kefu,
    workspace_id: uuid.UUID,
    entries: Iterable[EntryIn],
    user_id: uuid.UUID | None = None,
    *,
    progress: Callable[[int], None] | None = None,
    batch: int = 200,
    keep: frozenset[str] = frozenset(),
) -> ImportReport:
    """Create or update by `key`; an entry whose content is unchanged is left alone (no
    version, no index write), so importing the same files twice changes nothing. Fields
    in `keep` (those a CSV has no column for) keep their current value on update."""
    report = ImportReport()
    pending = [_normalize_in(e) for e in entries]
    counts = Counter(e.key or "" for e in pending)
    duplicates = sorted(k for k, n in counts.items() if n > 1)
    if duplicates:
        raise Invalid(f"these keys appear more than once in the import: {duplicates[:10]}")
    done = 0
    for start in range(0, len(pending), batch):
        chunk = pending[start : start + batch]
        docs: list[SearchDocument] = []
        async with kefu.db.transaction() as session:
            paths = await _category_paths(session, workspace_id)
            existing = {
                r.key: r
                for r in await session.scalars(
                    sa.select(KnowledgeEntry).where(
                        KnowledgeEntry.workspace_id == workspace_id,
                        KnowledgeEntry.key.in_([e.key for e in chunk]),
                    )
                )
            }
            for data in chunk:
                row = existing.get(data.key or "")
                if row is None:
                    now = utcnow()
                    row = KnowledgeEntry(
                        workspace_id=workspace_id,
                        version=1,
                        created_by=user_id,
                        updated_by=user_id,
                        created_at=now,
                        updated_at=now,
                    )
                    category_id = await ensure_category(session, workspace_id, data.category)
                    _apply(row, data, category_id)
                    session.add(row)
                    await session.flush()
                    session.add(_version_row(row, "imported", list(_FIELDS), data, user_id))
                    docs.append(document_of(row, data.category))
                    report.created += 1
                else:
                    before = snapshot_of(row, paths.get(row.category_id))
                    if keep:
                        kept = {f: getattr(before, f) for f in keep if f in _FIELDS}
                        data = msgspec.structs.replace(data, **kept)
                    _view, doc = await _save(session, row, before, data, user_id, "imported")
                    if doc is None:
                        report.unchanged += 1
                    else:
                        docs.append(doc)
                        report.updated += 1
        await _index_changed(kefu, workspace_id, docs)
        done += len(chunk)
        if progress is not None:
            progress(done)
    return report


async def export_entries(kefu: Kefu, workspace_id: uuid.UUID) -> list[EntryIn]:
    async with kefu.db.session() as session:
        paths = await _category_paths(session, workspace_id)
        rows = await session.scalars(
            sa.select(KnowledgeEntry)
            .where(KnowledgeEntry.workspace_id == workspace_id)
            .order_by(KnowledgeEntry.locale, KnowledgeEntry.key)
        )
        return [snapshot_of(r, paths.get(r.category_id)) for r in rows]


# ---------------------------------------------------------------------------
# search, suggestions, usage, feedback


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


def answer_for(row: KnowledgeEntry, channel: str) -> str:
    """The answer shaped for a channel: its own variant if written, else the body (as
    plain text for WeChat and SMS, which show Markdown literally)."""
    variants = row.channels or {}
    if channel in variants and variants[channel].strip():
        return str(variants[channel])
    if channel in ("wechat", "sms", "voice"):
        return tx.plain(row.body)
    return row.body


async def entries_by_id(
    session: AsyncSession, workspace_id: uuid.UUID, ids: Iterable[str]
) -> dict[str, KnowledgeEntry]:
    wanted = []
    for i in ids:
        try:
            wanted.append(uuid.UUID(i))
        except ValueError:
            continue
    if not wanted:
        return {}
    rows = await session.scalars(
        sa.select(KnowledgeEntry).where(
            KnowledgeEntry.workspace_id == workspace_id, KnowledgeEntry.id.in_(wanted)
        )
    )
    return {str(r.id): r for r in rows}


async def last_customer_text(session: AsyncSession, conversation_id: uuid.UUID) -> str:
    body = await session.scalar(
        sa.select(Message.body)
        .where(
            Message.conversation_id == conversation_id,
            Message.direction == Direction.inbound.value,
            Message.type == "text",
        )
        .order_by(Message.seq.desc())
        .limit(1)
    )
    return body or ""


async def suggestions(
    kefu: Kefu,
    conversation: Conversation,
    *,
    query: str | None = None,
    limit: int = 5,
    internal: bool = True,
) -> Suggestions:
    """Answers for the customer's last message (or the agent's own `query`), for the agent
    to insert. Agents also see internal entries (they are written for them); drafts and
    archived entries never."""
    if not query:
        async with kefu.db.session() as session:
            query = await last_customer_text(session, conversation.id)
    filters = SearchFilters(
        status=(EntryStatus.published.value,),
        visibility=None if internal else "public",
    )
    results = await search(kefu, conversation.workspace_id, query, filters, limit * 2)
    hits = results.hits
    if conversation.language:
        # Prefer the customer's language, but an answer in another beats none.
        same = [h for h in hits if h.locale.split("-")[0] == conversation.language.split("-")[0]]
        hits = same or hits
    async with kefu.db.session() as session:
        rows = await entries_by_id(session, conversation.workspace_id, [h.id for h in hits])
    out = [
        Suggestion(hit=h, answer=answer_for(rows[h.id], conversation.channel))
        for h in hits
        if h.id in rows
    ][:limit]
    return Suggestions(conversation_id=conversation.id, query=query, suggestions=out)


async def record_usage(
    kefu: Kefu,
    workspace_id: uuid.UUID,
    entry_id: uuid.UUID,
    kind: str,
    *,
    user_id: uuid.UUID | None = None,
    conversation_id: uuid.UUID | None = None,
) -> int:
    """Count one insertion (or bot answer); returns the entry's new count."""
    async with kefu.db.transaction() as session:
        row = await _load(session, workspace_id, entry_id)
        if conversation_id is not None:
            await _require_conversation(session, workspace_id, conversation_id)
        session.add(
            KnowledgeUsage(
                workspace_id=workspace_id,
                entry_id=entry_id,
                kind=kind,
                conversation_id=conversation_id,
                user_id=user_id,
            )
        )
        if kind == "inserted":
            row.insertions += 1
            return row.insertions
        row.bot_answers += 1
        return row.bot_answers


async def _require_conversation(
    session: AsyncSession, workspace_id: uuid.UUID, conversation_id: uuid.UUID
) -> None:
    found = await session.scalar(
        sa.select(Conversation.id).where(
            Conversation.id == conversation_id, Conversation.workspace_id == workspace_id
        )
    )
    if found is None:
        raise Invalid(f"conversation {conversation_id} is not in this workspace")


async def record_feedback(
    kefu: Kefu,
    workspace_id: uuid.UUID,
    entry_id: uuid.UUID,
    feedback: FeedbackIn,
    *,
    source: str,
    user_id: uuid.UUID | None = None,
    public_only: bool = False,
) -> None:
    async with kefu.db.transaction() as session:
        row = await _load(session, workspace_id, entry_id)
        if public_only and (row.visibility != "public" or row.status != "published"):
            raise NotFound(f"knowledge entry {entry_id} not found")
        if feedback.conversation_id is not None:
            await _require_conversation(session, workspace_id, feedback.conversation_id)
        session.add(
            KnowledgeFeedback(
                workspace_id=workspace_id,
                entry_id=entry_id,
                helpful=feedback.helpful,
                comment=feedback.comment,
                source=source,
                conversation_id=feedback.conversation_id,
                user_id=user_id,
            )
        )
        if feedback.helpful:
            row.helpful += 1
        else:
            row.not_helpful += 1


# ---------------------------------------------------------------------------
# unanswered questions


_PUNCT = re.compile(r"[\s\W_]+", re.UNICODE)


def question_key(text: str) -> str:
    """Group "退款 怎么弄？" with "退款怎么弄": normalized, punctuation and spaces removed."""
    return _PUNCT.sub("", tx.normalize(text))[:500]


async def record_unanswered(
    kefu: Kefu,
    workspace_id: uuid.UUID,
    question: str,
    *,
    locale: str | None,
    conversation_id: uuid.UUID | None,
) -> None:
    key = question_key(question)
    if not key:
        return
    for _attempt in range(3):
        try:
            async with kefu.db.transaction() as session:
                row = await session.scalar(
                    sa.select(UnansweredQuestion)
                    .where(
                        UnansweredQuestion.workspace_id == workspace_id,
                        UnansweredQuestion.normalized == key,
                    )
                    .with_for_update()
                )
                now = utcnow()
                if row is None:
                    session.add(
                        UnansweredQuestion(
                            workspace_id=workspace_id,
                            normalized=key,
                            question=question.strip()[:2000],
                            locale=locale,
                            last_conversation_id=conversation_id,
                            first_asked_at=now,
                            last_asked_at=now,
                        )
                    )
                else:
                    row.count += 1
                    row.question = question.strip()[:2000]
                    row.last_asked_at = now
                    row.last_conversation_id = conversation_id
                    if row.status == "resolved":
                        row.status = "open"  # asked again: the answer did not cover it
            return
        except IntegrityError:
            continue  # two first askings raced on the unique key; the retry increments


async def list_unanswered(
    kefu: Kefu, workspace_id: uuid.UUID, *, status: str = "open", limit: int = 100
) -> list[UnansweredView]:
    async with kefu.db.session() as session:
        rows = await session.scalars(
            sa.select(UnansweredQuestion)
            .where(
                UnansweredQuestion.workspace_id == workspace_id, UnansweredQuestion.status == status
            )
            .order_by(UnansweredQuestion.count.desc(), UnansweredQuestion.last_asked_at.desc())
            .limit(limit)
        )
        return [
            UnansweredView(
                question=r.question,
                count=r.count,
                locale=r.locale,
                last_asked_at=r.last_asked_at,
                sample_conversation_id=r.last_conversation_id,
                resolved_entry_id=r.resolved_entry_id,
            )
            for r in rows
        ]


async def resolve_unanswered(
    kefu: Kefu,
    workspace_id: uuid.UUID,
    question: str,
    *,
    entry_id: uuid.UUID | None,
    ignore: bool = False,
) -> None:
    """Close a group of unanswered questions: answered by an entry, or ignored."""
    async with kefu.db.transaction() as session:
        row = await session.scalar(
            sa.select(UnansweredQuestion).where(
                UnansweredQuestion.workspace_id == workspace_id,
                UnansweredQuestion.normalized == question_key(question),
            )
        )
        if row is None:
            raise NotFound("no such unanswered question")
        if entry_id is not None:
            await _load(session, workspace_id, entry_id)
        row.status = "ignored" if ignore else "resolved"
        row.resolved_entry_id = entry_id


# ---------------------------------------------------------------------------
# the widget's self-service


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
    return await search(kefu, inbox.workspace_id, query, filters, limit)


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
