"""Retry a whole unit of work when the database asks for it.

PostgreSQL ends one of two transactions in a lock cycle with a deadlock (40P01) and a
transaction that cannot be serialized with a serialization failure (40001); SQLite
answers "database is busy/locked" when another process holds the write lock longer than
the busy timeout. None of these mean the work was wrong: run it again, from the start,
in a new transaction. `run()` and `@retrying` do that with a bounded number of attempts
and jittered exponential back-off, so two colliding units do not collide again in step.

A unit of work is one function that opens its own transaction and publishes only after
commit (every action, ingest, routing's queue service, the bot's turn bookkeeping):
rerunning it cannot publish twice, because nothing was published before it failed.
Never wrap code that runs inside someone else's transaction: the retry belongs to
whoever owns the transaction.

Lock order (what makes deadlocks rare in the first place) is in docs/architecture.md.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import sqlite3
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

# PostgreSQL SQLSTATEs that mean "run the transaction again".
RETRYABLE_SQLSTATES = {
    "40P01": "deadlock",
    "40001": "serialization failure",
}
# SQLite's primary result codes for "another connection holds the lock".
_SQLITE_BUSY = {5, 6}  # SQLITE_BUSY, SQLITE_LOCKED

ATTEMPTS = 5
BASE_SECONDS = 0.02
CAP_SECONDS = 0.5


def retry_reason(exc: BaseException) -> str | None:
    """Why `exc` is worth a retry ("deadlock", "serialization failure", "sqlite busy"),
    or None. Looks through SQLAlchemy's wrapper and the driver's cause chain."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        state = getattr(current, "sqlstate", None) or getattr(current, "pgcode", None)
        if isinstance(state, str) and state in RETRYABLE_SQLSTATES:
            return RETRYABLE_SQLSTATES[state]
        if isinstance(current, sqlite3.OperationalError):
            code = getattr(current, "sqlite_errorcode", None)
            if (code is not None and code & 0xFF in _SQLITE_BUSY) or (
                "database is locked" in str(current) or "database is busy" in str(current)
            ):
                return "sqlite busy"
        nxt = getattr(current, "orig", None)
        current = nxt if isinstance(nxt, BaseException) else current.__cause__
    return None


def backoff(attempt: int, base: float = BASE_SECONDS, cap: float = CAP_SECONDS) -> float:
    """Seconds to wait before attempt `attempt + 1`: half of the capped exponential step
    for sure, the other half at random ("equal jitter"), so waits grow and never align."""
    step = min(cap, base * 2.0 ** (attempt - 1))
    return step / 2 + random.uniform(0, step / 2)


async def run(
    unit: Callable[[], Awaitable[T]], *, attempts: int = ATTEMPTS, what: str = "unit of work"
) -> T:
    """Run `unit()`; when it fails with a retryable database error, wait and run it
    again, at most `attempts` times in all. The last failure is raised unchanged."""
    for attempt in range(1, attempts + 1):
        try:
            return await unit()
        except Exception as exc:
            reason = retry_reason(exc)
            if reason is None or attempt >= attempts:
                raise
            delay = backoff(attempt)
            log.info("%s: %s, retrying in %.3fs (attempt %d)", what, reason, delay, attempt + 1)
            await asyncio.sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover


def retrying(fn: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    """Decorate a unit of work (an async function owning its transaction) with `run`."""

    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        return await run(lambda: fn(*args, **kwargs), what=fn.__qualname__)

    return wrapper
