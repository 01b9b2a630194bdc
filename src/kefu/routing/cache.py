"""What routing reads on every decision and an admin changes rarely — a workspace's
rules, business-hours calendars, skill-group policies and inboxes' default groups —
kept per process, invalidated through `kefu.caching` like the inbox copies: a write to
any of those rows bumps its counter ("routing", or "inboxes" for an inbox), the process
that wrote sees the change as soon as it commits and every other process within
`Settings.cache_check_seconds`.

Routing runs inside the caller's transaction and is handed only its session: the copy
lives with the `Database` the session came from (`Database.caches`). A session that has
itself written one of those rows in its open transaction reads them afresh, so a change
and a decision in one transaction always agree. A session from elsewhere (a bare
sessionmaker) reads afresh too.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.caching import Versions, pending_writes, read_versions
from kefu.db.tables import Inbox, SkillGroup
from kefu.routing import acd
from kefu.routing.hours import Calendar
from kefu.routing.rules import Rule

if TYPE_CHECKING:
    from kefu.db.engine import Database

# The counters a copy depends on.
KINDS = ("routing", "inboxes")


class WorkspaceRouting(msgspec.Struct, frozen=True, kw_only=True):
    rules: Sequence[Rule]
    calendars: Mapping[uuid.UUID, Calendar]
    policies: Mapping[uuid.UUID | None, acd.GroupPolicy]
    default_groups: Mapping[uuid.UUID, uuid.UUID | None]


class RoutingCache:
    def __init__(self, interval: float) -> None:
        self.versions = Versions(interval)
        self.key: tuple[int, ...] = ()
        self.by_workspace: dict[uuid.UUID, WorkspaceRouting] = {}


async def routing_of(session: AsyncSession, workspace_id: uuid.UUID) -> WorkspaceRouting:
    """The workspace's routing configuration, from this process's copy when it is
    current (see the module docstring), else read in `session`."""
    db: Database | None = session.info.get("kefu_database")
    if db is None or pending_writes(session) & set(KINDS):
        return await load(session, workspace_id)
    cache = db.caches.get("routing")
    if not isinstance(cache, RoutingCache):
        cache = db.caches["routing"] = RoutingCache(db.cache_check_seconds)
    seen = await cache.versions.current(lambda: read_versions(session))
    key = tuple(seen.get(kind, 0) for kind in KINDS)
    if key != cache.key:
        cache.by_workspace, cache.key = {}, key
    found = cache.by_workspace.get(workspace_id)
    if found is None:
        found = await load(session, workspace_id)
        if cache.key == key:  # not if it was dropped while this one was read
            cache.by_workspace[workspace_id] = found
    return found


async def load(session: AsyncSession, workspace_id: uuid.UUID) -> WorkspaceRouting:
    # Imported here: loaders imports this module for policies_of.
    from kefu.routing.loaders import load_calendars, load_rules

    groups = await session.execute(
        sa.select(SkillGroup.id, SkillGroup.strategy, SkillGroup.settings).where(
            SkillGroup.workspace_id == workspace_id
        )
    )
    policies = {
        gid: acd.GroupPolicy.from_group(strategy, settings or {})
        for gid, strategy, settings in groups
    }
    inboxes = await session.execute(
        sa.select(Inbox.id, Inbox.default_group_id).where(Inbox.workspace_id == workspace_id)
    )
    return WorkspaceRouting(
        rules=tuple(await load_rules(session, workspace_id)),
        calendars=await load_calendars(session, workspace_id),
        policies=policies,
        default_groups={inbox_id: group_id for inbox_id, group_id in inboxes},
    )
