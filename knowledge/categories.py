"""The category tree of the knowledge base. A node is stored with its full path
("售后/退款"), so an entry's category and all its ancestors are one lookup; renaming or
deleting a node rewrites its subtree and tells the search index the new paths."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.context import Kefu
from kefu.errors import Conflict, Invalid, NotFound
from kefu.knowledge import index
from kefu.knowledge.relevance import category_paths
from kefu.knowledge.schemas import CategoryView
from kefu.knowledge.tables import KnowledgeCategory, KnowledgeEntry


async def paths_by_id(
    session: AsyncSession, workspace_id: uuid.UUID
) -> dict[uuid.UUID | None, str]:
    """Every category's path by its id (look an entry's up with `.get(row.category_id)`)."""
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
        docs = [index.document_of(e, paths.get(e.category_id)) for e in entries]
    await index.changed(kefu, workspace_id, docs)
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
        docs = [index.document_of(e, None) for e in entries]
    await index.changed(kefu, workspace_id, docs)


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
