"""Knowledge entries (FAQ and articles): create, edit, delete, list, every change kept as
a version that can be restored (a deleted entry too), and import / export by key.

Every write commits first and tells the search index after (`index.changed`), so a failed
index update never loses an edit.
"""

from __future__ import annotations

import re
import uuid
from collections import Counter
from collections.abc import Callable, Iterable

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.context import Kefu
from kefu.errors import Conflict, FieldError, Invalid, NotFound
from kefu.i18n import Text
from kefu.knowledge import index
from kefu.knowledge.categories import clean_path, ensure_category, paths_by_id
from kefu.knowledge.schemas import (
    Channels,
    EntryIn,
    EntryKind,
    EntryPage,
    EntryPatch,
    EntryStatus,
    EntryView,
    ImportReport,
    VersionView,
    Visibility,
)
from kefu.knowledge.search import text as tx
from kefu.knowledge.search.base import SearchDocument
from kefu.knowledge.tables import KnowledgeEntry, KnowledgeVersion
from kefu.model import Attachment, utcnow

# What a version records as changed (and what an import compares).
FIELDS = (
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


def snapshot_of(row: KnowledgeEntry, category: str | None) -> EntryIn:
    return EntryIn(
        title=row.title,
        kind=EntryKind(row.kind),
        key=row.key,
        similar=list(row.similar or []),
        body=row.body,
        channels=msgspec.convert(row.channels or {}, Channels),
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
        bot_answers=row.bot_answers,
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
    if not data.title.strip():
        # Stored stripped: a title of spaces would become an empty one.
        raise Invalid(
            Text("The title cannot be blank.", "标题不能为空。"),
            errors=[FieldError("title", Text("This cannot be empty.", "此项不能为空。"))],
        )
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
    row.channels = {str(k): v for k, v in data.channels.items()}
    row.attachments = msgspec.to_builtins(data.attachments)
    row.locale = data.locale
    row.category_id = category_id
    row.tags = list(data.tags)
    row.status = str(data.status)
    row.visibility = str(data.visibility)


def _diff(before: EntryIn | None, after: EntryIn) -> list[str]:
    if before is None:
        return list(FIELDS)
    return [f for f in FIELDS if getattr(before, f) != getattr(after, f)]


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


async def load_for_update(
    session: AsyncSession, workspace_id: uuid.UUID, entry_id: uuid.UUID
) -> KnowledgeEntry:
    """The entry, locked until the transaction ends (counters and edits never race)."""
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
        session.add(_version_row(row, "created", list(FIELDS), data, user_id))
        view = view_of(row, data.category)
        doc = index.document_of(row, data.category)
    await index.changed(kefu, workspace_id, [doc])
    return view


def _patched(current: EntryIn, patch: EntryPatch) -> EntryIn:
    changes = {f: getattr(patch, f) for f in FIELDS if getattr(patch, f) is not msgspec.UNSET}
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
        row = await load_for_update(session, workspace_id, entry_id)
        if patch.version is not msgspec.UNSET and patch.version != row.version:
            raise Conflict(
                f"the entry changed since you loaded it (now version {row.version}, you edited "
                f"version {patch.version}); reload and apply your edit again"
            )
        paths = await paths_by_id(session, workspace_id)
        before = snapshot_of(row, paths.get(row.category_id))
        after = _normalize_in(_patched(before, patch))
        view, doc = await _save(session, row, before, after, user_id, change)
    if doc is not None:
        await index.changed(kefu, workspace_id, [doc])
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
    return view_of(row, after.category), index.document_of(row, after.category)


async def delete_entry(
    kefu: Kefu, workspace_id: uuid.UUID, entry_id: uuid.UUID, user_id: uuid.UUID | None
) -> None:
    async with kefu.db.transaction() as session:
        row = await load_for_update(session, workspace_id, entry_id)
        paths = await paths_by_id(session, workspace_id)
        snapshot = snapshot_of(row, paths.get(row.category_id))
        row.version += 1
        row.updated_at = utcnow()
        # The last version records the deletion, so the entry can be recreated from it.
        session.add(_version_row(row, "deleted", [], snapshot, user_id))
        await session.delete(row)
    await index.changed(kefu, workspace_id, [], [str(entry_id)])


async def get_entry(kefu: Kefu, workspace_id: uuid.UUID, entry_id: uuid.UUID) -> EntryView:
    async with kefu.db.session() as session:
        row = await session.scalar(
            sa.select(KnowledgeEntry).where(
                KnowledgeEntry.id == entry_id, KnowledgeEntry.workspace_id == workspace_id
            )
        )
        if row is None:
            raise NotFound(f"knowledge entry {entry_id} not found")
        paths = await paths_by_id(session, workspace_id)
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
        paths = await paths_by_id(session, workspace_id)
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
            session.add(_version_row(row, "restored", list(FIELDS), target, user_id))
            view = view_of(row, target.category)
            doc: SearchDocument | None = index.document_of(row, target.category)
        else:
            paths = await paths_by_id(session, workspace_id)
            before = snapshot_of(row, paths.get(row.category_id))
            view, doc = await _save(session, row, before, target, user_id, "restored")
    if doc is not None:
        await index.changed(kefu, workspace_id, [doc])
    return view


# import / export: by key, so importing the same files twice changes nothing


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
            paths = await paths_by_id(session, workspace_id)
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
                    session.add(_version_row(row, "imported", list(FIELDS), data, user_id))
                    docs.append(index.document_of(row, data.category))
                    report.created += 1
                else:
                    before = snapshot_of(row, paths.get(row.category_id))
                    if keep:
                        kept = {f: getattr(before, f) for f in keep if f in FIELDS}
                        data = msgspec.structs.replace(data, **kept)
                    _view, doc = await _save(session, row, before, data, user_id, "imported")
                    if doc is None:
                        report.unchanged += 1
                    else:
                        docs.append(doc)
                        report.updated += 1
        await index.changed(kefu, workspace_id, docs)
        done += len(chunk)
        if progress is not None:
            progress(done)
    return report


async def export_entries(kefu: Kefu, workspace_id: uuid.UUID) -> list[EntryIn]:
    async with kefu.db.session() as session:
        paths = await paths_by_id(session, workspace_id)
        rows = await session.scalars(
            sa.select(KnowledgeEntry)
            .where(KnowledgeEntry.workspace_id == workspace_id)
            .order_by(KnowledgeEntry.locale, KnowledgeEntry.key)
        )
        return [snapshot_of(r, paths.get(r.category_id)) for r in rows]
