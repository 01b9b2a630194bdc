"""Reading one row of a workspace: the tenancy check every service makes."""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.db.tables import Base
from kefu.errors import NotFound

Row = TypeVar("Row", bound=Base)


async def one_in_workspace(
    session: AsyncSession,
    model: type[Row],
    workspace_id: uuid.UUID,
    row_id: uuid.UUID,
    what: str,
    *,
    lock: bool = False,
) -> Row:
    """The row with this id if it belongs to the workspace, else `NotFound`: another
    workspace's row and a missing one look the same, so ids reveal nothing."""
    table: Any = model
    query = sa.select(model).where(table.id == row_id, table.workspace_id == workspace_id)
    if lock:
        query = query.with_for_update()
    row = await session.scalar(query)
    if row is None:
        raise NotFound(f"{what} {row_id} not found")
    return row
