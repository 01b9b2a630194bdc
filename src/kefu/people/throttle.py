"""The sign-in throttle, shared by every process: per account and per client IP, a few
free failures, then each failure doubles the wait up to a cap.

An attempt is counted as a failure when it is *admitted*, before the password is
checked, so a hundred guesses sent at once cannot all slip past the check together; a
correct password then gives the account a clean slate and takes its own attempt back
from the IP. The store is Redis when KEFU_REDIS_URL is set, else the database."""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, NamedTuple, Protocol

import sqlalchemy as sa
from redis.exceptions import RedisError
from sqlalchemy.exc import DBAPIError

from kefu.db.engine import Database
from kefu.people.tables import LoginThrottle
from kefu.settings import Settings

if TYPE_CHECKING:
    from kefu.context import Kefu

log = logging.getLogger("kefu.auth")


class Key(NamedTuple):
    name: str
    # Failures allowed before the first wait.
    free: int
    # An account starts afresh after a correct password; an IP only takes back one attempt
    # (else one valid account would reset the counter for guesses at all the others).
    reset_on_success: bool


class Policy(NamedTuple):
    base: float
    cap: float
    window: float

    @classmethod
    def of(cls, settings: Settings) -> Policy:
        return cls(
            settings.login_backoff_seconds,
            settings.login_backoff_max_seconds,
            settings.login_failure_window_seconds,
        )


def lock_seconds(failures: int, free: int, base: float, cap: float) -> float:
    """How long to refuse after the `failures`-th failure: nothing for the first
    `free - 1`, then base, 2 × base, 4 × base, … never more than `cap`."""
    if failures < free or base <= 0:
        return 0.0
    return min(cap, base * 2.0 ** min(failures - free, 62))


def keys_for(settings: Settings, email: str, client_ip: str) -> list[Key]:
    # Hashed: fixed length whatever was typed, and no list of tried addresses at rest.
    account = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:40]
    keys = [Key(f"account:{account}", settings.login_free_failures, True)]
    if client_ip:
        keys.append(Key(f"ip:{client_ip[:64]}", settings.login_ip_free_failures, False))
    return keys


class Store(Protocol):
    async def admit(self, keys: Sequence[Key], now: datetime) -> float:
        """0 when the attempt may go ahead (it is counted as a failure); else the
        seconds until it may (and nothing is counted)."""
        ...

    async def succeeded(self, keys: Sequence[Key]) -> None: ...


class _Locked(Exception):
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds


class DatabaseStore:
    """One row per key; the upsert holds the row until commit, so concurrent attempts on
    one key are counted one after another in every process."""

    CLEANUP_EVERY = 100

    def __init__(self, db: Database, policy: Policy) -> None:
        self.db = db
        self.policy = policy
        self._admitted = 0

    async def admit(self, keys: Sequence[Key], now: datetime) -> float:
        forget_before = now - timedelta(seconds=self.policy.window)
        table = LoginThrottle
        try:
            async with self.db.transaction() as session:
                # Keys are always taken in the same order (account, then IP): no deadlock.
                for key in keys:
                    insert = _insert(session.bind.dialect.name if session.bind else "sqlite")
                    statement = (
                        insert.values(
                            key=key.name, failures=1, last_failure_at=now, locked_until=None
                        )
                        .on_conflict_do_update(
                            index_elements=[table.key],
                            set_={
                                "failures": sa.case(
                                    (table.last_failure_at < forget_before, 1),
                                    else_=table.failures + 1,
                                ),
                                "last_failure_at": now,
                            },
                            where=sa.or_(table.locked_until.is_(None), table.locked_until <= now),
                        )
                        .returning(table.failures)
                    )
                    failures = (await session.execute(statement)).scalar_one_or_none()
                    if failures is None:
                        until = await session.scalar(
                            sa.select(table.locked_until).where(table.key == key.name)
                        )
                        seconds = (until - now).total_seconds() if until else 0.0
                        raise _Locked(max(seconds, 0.001))
                    lock = lock_seconds(failures, key.free, self.policy.base, self.policy.cap)
                    if lock > 0:
                        await session.execute(
                            sa.update(table)
                            .where(table.key == key.name)
                            .values(locked_until=now + timedelta(seconds=lock))
                        )
        except _Locked as locked:
            return locked.seconds
        self._admitted += 1
        if self._admitted % self.CLEANUP_EVERY == 0:
            await self._forget(now, forget_before)
        return 0.0

    async def succeeded(self, keys: Sequence[Key]) -> None:
        table = LoginThrottle
        async with self.db.transaction() as session:
            for key in keys:
                if key.reset_on_success:
                    await session.execute(sa.delete(table).where(table.key == key.name))
                    continue
                await session.execute(
                    sa.update(table)
                    .where(table.key == key.name)
                    .values(
                        failures=sa.case((table.failures > 0, table.failures - 1), else_=0),
                        locked_until=sa.case(
                            (table.failures - 1 < key.free, None), else_=table.locked_until
                        ),
                    )
                )

    async def _forget(self, now: datetime, before: datetime) -> None:
        """Drop rows nobody has failed on for a window (a spray of made-up addresses
        must not grow the table for ever)."""
        table = LoginThrottle
        try:
            async with self.db.transaction() as session:
                await session.execute(
                    sa.delete(table).where(
                        table.last_failure_at < before,
                        sa.or_(table.locked_until.is_(None), table.locked_until <= now),
                    )
                )
        except DBAPIError as exc:  # another process cleaning at once; next time then
            log.info("login throttle clean-up skipped: %s", exc.orig)


def _insert(dialect: str) -> sa.dialects.postgresql.Insert | sa.dialects.sqlite.Insert:
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(LoginThrottle)
    from sqlalchemy.dialects.sqlite import insert as lite_insert

    return lite_insert(LoginThrottle)


# KEYS: per key its counter then its lock. ARGV: window ms, base ms, cap ms, free per key.
# Returns 0 (admitted, counted) or the lock's remaining ms (refused, nothing counted).
_ADMIT = """
local n = #KEYS / 2
for i = 1, n do
  local ttl = redis.call('PTTL', KEYS[2 * i])
  if ttl > 0 then return ttl end
end
local window, base, cap = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
for i = 1, n do
  local failures = redis.call('INCR', KEYS[2 * i - 1])
  redis.call('PEXPIRE', KEYS[2 * i - 1], window)
  local free = tonumber(ARGV[3 + i])
  if failures >= free and base > 0 then
    local ms = math.floor(math.min(cap, base * 2 ^ math.min(failures - free, 62)))
    if ms > 0 then redis.call('SET', KEYS[2 * i], '1', 'PX', ms) end
  end
end
return 0
"""

# KEYS: counter, lock. ARGV: free. One attempt taken back; the lock lifted below `free`.
_TAKE_BACK = """
local failures = redis.call('DECR', KEYS[1])
if failures < 0 then redis.call('DEL', KEYS[1]) end
if failures < tonumber(ARGV[1]) then redis.call('DEL', KEYS[2]) end
return failures
"""


class RedisStore:
    """Counters and locks as Redis keys with expiry; each decision is one Lua script, so
    it is atomic across processes. A connection per call: sign-ins are rare enough, and
    nothing is left open when the app stops. While Redis cannot be reached the database
    keeps count instead: sign-in neither fails nor goes unthrottled."""

    def __init__(
        self, url: str, namespace: str, policy: Policy, fallback: DatabaseStore | None = None
    ) -> None:
        self.url = url
        self.prefix = f"kefu:{namespace}:login:"
        self.policy = policy
        self.fallback = fallback

    def _names(self, key: Key) -> list[str]:
        return [self.prefix + key.name + ":n", self.prefix + key.name + ":lock"]

    async def admit(self, keys: Sequence[Key], now: datetime) -> float:
        try:
            return await self._admit(keys)
        except (RedisError, OSError) as exc:
            if self.fallback is None:
                raise
            log.warning("Redis unreachable for the sign-in throttle (%s); using the database", exc)
            return await self.fallback.admit(keys, now)

    async def succeeded(self, keys: Sequence[Key]) -> None:
        try:
            await self._succeeded(keys)
        except (RedisError, OSError) as exc:
            if self.fallback is None:
                raise
            log.warning("Redis unreachable for the sign-in throttle (%s); using the database", exc)
            await self.fallback.succeeded(keys)

    async def _admit(self, keys: Sequence[Key]) -> float:
        from redis.asyncio import Redis

        names = [name for key in keys for name in self._names(key)]
        window, base, cap = (
            str(math.ceil(seconds * 1000))
            for seconds in (self.policy.window, self.policy.base, self.policy.cap)
        )
        args = [window, base, cap, *(str(key.free) for key in keys)]
        async with Redis.from_url(self.url) as redis:
            waited = await redis.eval(_ADMIT, len(names), *names, *args)
        return int(waited) / 1000.0

    async def _succeeded(self, keys: Sequence[Key]) -> None:
        from redis.asyncio import Redis

        async with Redis.from_url(self.url) as redis:
            for key in keys:
                names = self._names(key)
                if key.reset_on_success:
                    await redis.delete(*names)
                else:
                    await redis.eval(_TAKE_BACK, 2, *names, str(key.free))


def store_for(kefu: Kefu) -> Store:
    store = kefu.login_throttle
    if store is None:
        settings = kefu.settings
        policy = Policy.of(settings)
        if settings.redis_url:
            # Deployments sharing one Redis are told apart by their database.
            namespace = hashlib.sha256(settings.database_url.encode()).hexdigest()[:12]
            store = RedisStore(
                settings.redis_url, namespace, policy, fallback=DatabaseStore(kefu.db, policy)
            )
        else:
            store = DatabaseStore(kefu.db, policy)
        kefu.login_throttle = store
    return store
