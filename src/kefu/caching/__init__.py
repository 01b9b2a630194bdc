"""Per-process copies of what rarely changes, invalidated across processes.

A write to a cached table (any ORM insert, update or delete of its rows, whichever code
path makes it) bumps that kind's counter in `cache_versions` inside the same
transaction. A process trusts its copy for at most `Settings.cache_check_seconds`, then
reads the counters (one small query, shared by every request waiting at that moment)
and drops what changed. Writes made by this process mark its copies stale as soon as
they commit, so the process that made a change sees it at once and every other process
within the bound.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session, object_session

__all__ = ["Versions", "pending_writes", "read_versions", "watch"]

_BUMP = sa.text(
    "INSERT INTO cache_versions (name, version) VALUES (:name, 1) "
    "ON CONFLICT (name) DO UPDATE SET version = cache_versions.version + 1"
)
_PENDING = "kefu_cache_bumped"

# Bumped when a transaction that wrote a cached table commits in this process.
_local_epoch = 0


def _on_write(name: str) -> Callable[..., None]:
    def bump(_mapper: Any, connection: sa.Connection, target: Any) -> None:
        session = object_session(target)
        pending: set[str] = session.info.setdefault(_PENDING, set()) if session else set()
        if name not in pending:  # once per kind and transaction
            pending.add(name)
            connection.execute(_BUMP, {"name": name})

    return bump


def watch(model: type[Any], name: str) -> None:
    """Bump `name`'s counter whenever a row of `model` is written through the ORM."""
    for kind in ("after_insert", "after_update", "after_delete"):
        event.listen(model, kind, _on_write(name))


def pending_writes(session: Any) -> set[str]:
    """The kinds this session has written in its open transaction (not yet committed):
    its own copies of them must not be trusted until it commits."""
    pending: set[str] = session.info.get(_PENDING) or set()
    return pending


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    global _local_epoch
    if session.info.pop(_PENDING, None):
        _local_epoch += 1


@event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    session.info.pop(_PENDING, None)


class Versions:
    """The counters as this process last read them, re-read at most every `interval`
    seconds (or at once after a local write committed)."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.seen: dict[str, int] = {}
        self._checked = -float("inf")
        self._epoch = -1
        self._reading: asyncio.Future[dict[str, int]] | None = None

    async def current(self, read: Callable[[], Awaitable[dict[str, int]]]) -> dict[str, int]:
        if self._epoch == _local_epoch and time.monotonic() - self._checked < self.interval:
            return self.seen
        if self._reading is None or self._reading.get_loop() is not asyncio.get_running_loop():
            epoch, started = _local_epoch, time.monotonic()
            self._reading = asyncio.get_running_loop().create_future()
            reading = self._reading
            try:
                seen = await read()
            except BaseException as exc:
                self._reading = None
                reading.set_exception(exc)
                reading.exception()  # retrieved: only the waiters re-raise it
                raise
            self.seen, self._checked, self._epoch = seen, started, epoch
            self._reading = None
            reading.set_result(seen)
            return seen
        return await asyncio.shield(self._reading)


# Text, not the table class: `kefu.db.tables` imports this module to watch its models.
_READ = sa.text("SELECT name, version FROM cache_versions")


async def read_versions(session: Any) -> dict[str, int]:
    """Every counter (the table is a handful of rows); a kind never written reads as 0."""
    rows = await session.execute(_READ)
    return {str(name): int(version) for name, version in rows}
