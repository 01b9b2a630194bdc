"""The async engine and sessions, for SQLite (embedded default) and PostgreSQL alike."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

# The pool when no settings are given (scripts, tests); `kefu serve` passes its settings.
POOL_SIZE = 10
MAX_OVERFLOW = 10
POOL_TIMEOUT = 5.0


class Database:
    def __init__(
        self,
        url: str,
        *,
        pool_size: int = POOL_SIZE,
        max_overflow: int = MAX_OVERFLOW,
        pool_timeout: float = POOL_TIMEOUT,
        cache_check_seconds: float = 1.0,
        **engine_args: Any,
    ) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            _ensure_sqlite_dir(url)
            # One connection per task is fine; a long busy_timeout turns writer contention
            # into waiting instead of "database is locked" errors.
            engine_args.setdefault("connect_args", {"timeout": 30})
        else:
            # Bounded per process (settings db_pool_*): a wait past pool_timeout raises
            # sqlalchemy's TimeoutError, which answers 503 + Retry-After (problems.py).
            engine_args.setdefault("pool_size", pool_size)
            engine_args.setdefault("max_overflow", max_overflow)
            engine_args.setdefault("pool_timeout", pool_timeout)
        self.engine: AsyncEngine = create_async_engine(url, **engine_args)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
            event.listen(self.engine.sync_engine, "begin", _sqlite_begin_immediate)
        # Per-process copies of rarely changing rows that code holding only a session
        # reaches through `session.info` (kefu.routing.cache), trusted this long.
        self.cache_check_seconds = cache_check_seconds
        self.caches: dict[str, object] = {}
        self.sessions = async_sessionmaker(
            self.engine, expire_on_commit=False, info={"kefu_database": self}
        )
        self._write_lock = asyncio.Lock()

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self.sessions() as session:
            yield session

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session inside one transaction: committed on success, rolled back on error."""
        if not self.is_sqlite:
            async with self.sessions() as session, session.begin():
                yield session
            return
        # SQLite has one writer. Queueing writers on an asyncio lock is far cheaper than
        # letting them spin in SQLite's busy handler, and BEGIN IMMEDIATE (asked for by
        # the execution option) keeps other processes from slipping in between.
        async with self._write_lock, self.sessions() as session, session.begin():
            await session.connection(execution_options={"kefu_write": True})
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()


def _ensure_sqlite_dir(url: str) -> None:
    path = url.split(":///", 1)[-1]
    if path and path != ":memory:" and not path.startswith("file:"):
        Path(path).parent.mkdir(parents=True, exist_ok=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # aiosqlite's own transaction handling would BEGIN DEFERRED lazily; we issue BEGIN ourselves.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin_immediate(conn: Any) -> None:
    # A write transaction takes the write lock at BEGIN: a deferred one that reads then
    # writes fails with SQLITE_BUSY when another writer slipped in between, and no retry
    # helps then. Reads begin deferred and never block writers (WAL).
    if conn.get_execution_options().get("kefu_write"):
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.exec_driver_sql("BEGIN")
