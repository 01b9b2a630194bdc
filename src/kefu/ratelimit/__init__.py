"""Token-bucket rate limits for the public (unauthenticated) endpoints: the widget's
visitor API and socket, its knowledge search and feedback, the help centre's search and
feedback form, and the channels' webhooks.

`Kefu.rate_limits` holds the rules (tests tighten them); `limiter_for(kefu)` the store,
shared by every process of a deployment:

- Redis when `KEFU_REDIS_URL` is set: each take is one Lua script (one round trip),
  atomic across processes, timed by the Redis server's clock.
- The database otherwise, on PostgreSQL: one upsert per take (`rate_buckets`).
- Process memory on SQLite: a SQLite deployment is one process, and one more write
  per request would queue behind its single writer for nothing.

`KEFU_RATE_LIMIT_STORE` (memory / database / redis / off) overrides the choice; `off`
exists for the benchmark that measures what the limiter costs. `KEFU_RATE_LIMITS`
changes single rules (`parse_limits`): a busy API inbox, say, needs more than
`webhook_per_inbox`'s default.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Protocol

import msgspec
import sqlalchemy as sa
from redis.exceptions import RedisError

from kefu.clientip import client_ip_of
from kefu.errors import TooManyRequests
from kefu.i18n import Text

if TYPE_CHECKING:
    from litestar.connection import ASGIConnection
    from litestar.handlers.base import BaseRouteHandler

    from kefu.context import Kefu
    from kefu.db.engine import Database

log = logging.getLogger("kefu.ratelimit")


class Rule(msgspec.Struct, frozen=True):
    burst: int
    per_second: float


class RateLimits(msgspec.Struct, frozen=True, kw_only=True):
    session_per_ip: Rule = Rule(burst=30, per_second=0.5)
    message_per_visitor: Rule = Rule(burst=20, per_second=1.0)
    message_per_ip: Rule = Rule(burst=120, per_second=5.0)
    upload_per_visitor: Rule = Rule(burst=6, per_second=0.2)
    leave_message_per_ip: Rule = Rule(burst=5, per_second=0.05)
    page_view_per_visitor: Rule = Rule(burst=30, per_second=0.5)
    typing_per_visitor: Rule = Rule(burst=30, per_second=2.0)
    knowledge_search_per_ip: Rule = Rule(burst=30, per_second=1.0)
    helpcenter_search_per_ip: Rule = Rule(burst=30, per_second=1.0)
    # "Was this helpful?" writes a row: from the help centre page or the widget, one bucket.
    article_feedback_per_ip: Rule = Rule(burst=10, per_second=0.1)
    # tickets (issue 17): the customer's progress page /t/<token> and its reply box.
    ticket_page_per_ip: Rule = Rule(burst=60, per_second=1.0)
    ticket_reply_per_ip: Rule = Rule(burst=10, per_second=0.1)
    # A channel provider sends for all of its users from a few addresses: count per inbox.
    webhook_per_inbox: Rule = Rule(burst=2000, per_second=200.0)
    # Every frame of one visitor socket, whatever it is (kept with the socket: a socket
    # lives in one process).
    frame_per_socket: Rule = Rule(burst=60, per_second=10.0)


def parse_limits(text: str, base: RateLimits | None = None) -> RateLimits:
    """`base` (the defaults) with the rules `text` names changed:
    "webhook_per_inbox=20000/2000,message_per_ip=240/10" gives each named rule a burst
    and tokens per second. An unknown name or a malformed rule is a ValueError naming
    it, so a typo stops the server at start instead of leaving a default in force."""
    limits = base or RateLimits()
    names = set(limits.__struct_fields__)
    changed: dict[str, Rule] = {}
    for item in text.split(","):
        if not item.strip():
            continue
        name, _, value = (part.strip() for part in item.partition("="))
        if name not in names:
            raise ValueError(f"KEFU_RATE_LIMITS: unknown rule {name!r} (one of {sorted(names)})")
        burst, slash, rate = value.partition("/")
        try:
            rule = Rule(burst=int(burst), per_second=float(rate))
        except ValueError:
            rule = None
        if not slash or rule is None or rule.burst < 0 or not rule.per_second >= 0:
            raise ValueError(
                f"KEFU_RATE_LIMITS: {name} needs <burst>/<tokens per second>, e.g. 2000/200;"
                f" got {value!r}"
            )
        changed[name] = rule
    return msgspec.structs.replace(limits, **changed) if changed else limits


class RateLimited(TooManyRequests):
    def __init__(self, seconds: float) -> None:
        retry_after = max(1, math.ceil(seconds)) if math.isfinite(seconds) else 3600
        super().__init__(
            Text(
                "Too many requests; try again in {seconds} seconds.",
                "请求过于频繁，请在 {seconds} 秒后重试。",
            ).format(seconds=retry_after),
            extra={"retry_after": retry_after},
        )
        self.retry_after = retry_after


Take = tuple[str, Rule]


class Limiter(Protocol):
    async def take(self, takes: Sequence[Take]) -> float:
        """A token from each bucket that has one; 0 when every bucket had one, else the
        seconds until the slowest of the refusing buckets has one."""
        ...

    async def aclose(self) -> None: ...


def _wait(tokens: float, rule: Rule) -> float:
    return (1.0 - tokens) / rule.per_second if rule.per_second > 0 else math.inf


class Buckets:
    """Buckets by key in this process; `take` returns 0 when allowed or the seconds to
    wait. Pure apart from the dict it mutates: the caller passes `now`."""

    def __init__(self, max_keys: int = 100_000) -> None:
        self._state: dict[str, tuple[float, float]] = {}
        self._max_keys = max_keys

    def take(self, key: str, rule: Rule, now: float) -> float:
        tokens, stamp = self._state.get(key, (float(rule.burst), now))
        tokens = min(float(rule.burst), tokens + (now - stamp) * rule.per_second)
        if tokens >= 1.0:
            self._remember(key, tokens - 1.0, now)
            return 0.0
        self._remember(key, tokens, now)
        return _wait(tokens, rule)

    def _remember(self, key: str, tokens: float, now: float) -> None:
        if key not in self._state and len(self._state) >= self._max_keys:
            # Forget the oldest half rather than grow without bound under a key flood.
            for stale in list(self._state)[: self._max_keys // 2]:
                del self._state[stale]
        self._state[key] = (tokens, now)


class MemoryLimiter:
    def __init__(self, buckets: Buckets | None = None) -> None:
        self.buckets = buckets or Buckets()

    async def take(self, takes: Sequence[Take]) -> float:
        now = time.monotonic()
        return max((self.buckets.take(key, rule, now) for key, rule in takes), default=0.0)

    async def aclose(self) -> None:
        return None


class OffLimiter:
    """Everything allowed (benchmarks only)."""

    async def take(self, takes: Sequence[Take]) -> float:
        return 0.0

    async def aclose(self) -> None:
        return None


class DatabaseLimiter:
    """One upsert per take. The refill is computed in the statement from the row's own
    values, so concurrent takes on one key in any process are serialised by the row
    lock; a refused take changes nothing (the `WHERE` of the update) and returns no row,
    and the wait is then given as its bound, one token's refill time."""

    CLEANUP_EVERY = 1000
    IDLE_SECONDS = 3600.0

    def __init__(self, db: Database, clock: Any = time.time) -> None:
        self.db = db
        self.clock = clock
        self._takes = 0
        self._statement: Any = None

    def _upsert(self) -> Any:
        if self._statement is not None:
            return self._statement
        from sqlalchemy.dialects import postgresql, sqlite

        from kefu.ratelimit.tables import RateBucket as t

        insert: Any = sqlite.insert if self.db.is_sqlite else postgresql.insert
        now = sa.bindparam("now", type_=sa.Float)
        burst = sa.bindparam("burst", type_=sa.Float)
        rate = sa.bindparam("rate", type_=sa.Float)
        elapsed = sa.case((now > t.stamp, now - t.stamp), else_=0.0)
        refilled = t.tokens + elapsed * rate
        level = sa.case((refilled > burst, burst), else_=refilled)
        statement = insert(t).values(key=sa.bindparam("key"), tokens=burst - 1.0, stamp=now)
        self._statement = statement.on_conflict_do_update(
            index_elements=[t.key],
            set_={"tokens": level - 1.0, "stamp": sa.case((now > t.stamp, now), else_=t.stamp)},
            where=level >= 1.0,
        ).returning(t.tokens)
        return self._statement

    async def take(self, takes: Sequence[Take]) -> float:
        now = float(self.clock())
        wait = 0.0
        async with self._statements() as execute:
            for key, rule in takes:
                params = {
                    "key": key[:200],
                    "now": now,
                    "burst": float(rule.burst),
                    "rate": float(rule.per_second),
                }
                left = (await execute(self._upsert(), params)).scalar_one_or_none()
                if left is None or rule.burst < 1:
                    wait = max(wait, _wait(0.0, rule))
        self._takes += 1
        if self._takes % self.CLEANUP_EVERY == 0:
            await self._forget(now - self.IDLE_SECONDS)
        return wait

    @asynccontextmanager
    async def _statements(self) -> AsyncIterator[Any]:
        """Where the upserts run. On PostgreSQL each is its own autocommitted statement:
        in one BEGIN ... COMMIT the bucket's row stays locked until a busy event loop
        gets round to sending COMMIT, and every other take of that key (all webhooks of
        one inbox) queues behind it. Each take was independent already, so nothing
        else changes. SQLite keeps its one-writer transaction."""
        if self.db.is_sqlite:
            async with self.db.transaction() as session:
                yield session.execute
            return
        async with self.db.engine.connect() as connection:
            yield (await connection.execution_options(isolation_level="AUTOCOMMIT")).execute

    async def _forget(self, before: float) -> None:
        from kefu.ratelimit.tables import RateBucket

        try:
            async with self.db.transaction() as session:
                await session.execute(sa.delete(RateBucket).where(RateBucket.stamp < before))
        except sa.exc.DBAPIError as exc:  # another process cleaning at once; next time
            log.info("rate bucket clean-up skipped: %s", exc.orig)

    async def aclose(self) -> None:
        return None


# KEYS: the buckets. ARGV: per bucket its burst, tokens per second and expiry ms. The
# server's clock, so every process agrees. Returns the longest wait in seconds (-1: never)
# as a string (Lua numbers are floats; a number reply would be cut to an integer).
_TAKE = """
local t = redis.call('TIME')
local clock = tonumber(t[1]) + tonumber(t[2]) / 1000000
local longest = 0
for i = 1, #KEYS do
  local burst, rate = tonumber(ARGV[3 * i - 2]), tonumber(ARGV[3 * i - 1])
  local state = redis.call('HMGET', KEYS[i], 't', 's')
  local tokens = tonumber(state[1]) or burst
  local stamp = tonumber(state[2]) or clock
  local now = clock
  if now > stamp then tokens = math.min(burst, tokens + (now - stamp) * rate) end
  if now < stamp then now = stamp end
  if tokens >= 1 then
    tokens = tokens - 1
  elseif rate > 0 then
    if longest >= 0 then longest = math.max(longest, (1 - tokens) / rate) end
  else
    longest = -1
  end
  redis.call('HSET', KEYS[i], 't', tostring(tokens), 's', tostring(now))
  redis.call('PEXPIRE', KEYS[i], ARGV[3 * i])
end
return tostring(longest)
"""


class RedisLimiter:
    """One EVALSHA per take on a pooled connection. While Redis cannot be reached the
    process counts in its own memory (and says so in the log): the widget keeps working
    and stays limited, per process, until Redis is back."""

    def __init__(self, url: str, namespace: str) -> None:
        from redis.asyncio import Redis

        self.redis = Redis.from_url(url)
        self.prefix = f"kefu:{namespace}:rate:"
        self.script = self.redis.register_script(_TAKE)
        self.fallback = MemoryLimiter()
        self._warned = False

    async def take(self, takes: Sequence[Take]) -> float:
        args: list[str | int] = []
        for _, rule in takes:
            full = rule.burst / rule.per_second if rule.per_second > 0 else 86400.0
            args += [rule.burst, repr(rule.per_second), math.ceil(min(full, 86400.0) * 1000) + 1000]
        try:
            raw = await self.script(keys=[self.prefix + key for key, _ in takes], args=args)
        except (RedisError, OSError) as exc:
            if not self._warned:
                log.warning("Redis unreachable for rate limits (%s); counting in memory", exc)
                self._warned = True
            return await self.fallback.take(takes)
        self._warned = False
        wait = float(raw)
        return math.inf if wait < 0 else wait

    async def aclose(self) -> None:
        await self.redis.aclose()


def limiter_for(kefu: Kefu) -> Limiter:
    limiter: Limiter | None = kefu.limiter
    if limiter is None:
        settings = kefu.settings
        store = settings.rate_limit_store or (
            "redis" if settings.redis_url else "memory" if settings.is_sqlite else "database"
        )
        if store == "off":
            limiter = OffLimiter()
        elif store == "redis":
            import hashlib

            # Deployments sharing one Redis are told apart by their database.
            namespace = hashlib.sha256(settings.database_url.encode()).hexdigest()[:12]
            limiter = RedisLimiter(settings.redis_url, namespace)
        elif store == "database":
            limiter = DatabaseLimiter(kefu.db)
        else:
            limiter = MemoryLimiter(kefu.buckets)
        kefu.limiter = limiter
    return limiter


async def check(kefu: Kefu, *takes: Take) -> None:
    """Take a token from each (key, rule) bucket, in one round trip to the store, or
    refuse with 429 and Retry-After."""
    wait = await limiter_for(kefu).take(takes)
    if wait > 0:
        raise RateLimited(wait)


def per_ip(rule_name: str) -> Any:
    """A route guard: one token of `rule_name` per request from the client's address."""

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        kefu: Kefu = connection.app.state.kefu
        ip = client_ip_of(kefu, connection.scope)
        await check(kefu, (f"{rule_name}:ip:{ip}", getattr(kefu.rate_limits, rule_name)))

    return guard


def per_path_param(rule_name: str, param: str) -> Any:
    """A route guard counting per path parameter (webhooks: per inbox)."""

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        kefu: Kefu = connection.app.state.kefu
        value = str(connection.path_params.get(param, ""))[:64]
        rule = getattr(kefu.rate_limits, rule_name)
        await check(kefu, (f"{rule_name}:{param}:{value}", rule))

    return guard
