"""One access_token per official account, shared by every kefu process.

WeChat gives each account one valid token at a time (a new one retires the old after
five minutes), so per-process caches would keep invalidating each other. The token
lives in `shared_state`; a process that finds it missing, expiring or rejected takes a
short lease on the row and refreshes it while the others wait and then read the result.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from kefu.db.engine import Database
from kefu.db.tables import KeyValue
from kefu.model import utcnow

# Refresh this long before WeChat's expiry: WeChat itself renews stable tokens five
# minutes early, and a request in flight must not carry a token that dies on the way.
REFRESH_MARGIN = timedelta(seconds=300)
# How long one process may hold the refresh; a crashed refresher's lease just lapses.
LEASE = timedelta(seconds=15)

# (stale token or None) -> (new token, seconds it is valid)
Fetch = Callable[[str | None], Awaitable[tuple[str, int]]]


class SharedToken:
    def __init__(
        self,
        db: Database,
        key: str,
        fetch: Fetch,
        *,
        clock: Callable[[], datetime] = utcnow,
        poll_seconds: float = 0.05,
    ) -> None:
        self.db = db
        self.key = key
        self._fetch = fetch
        self._clock = clock
        self._poll = poll_seconds

    async def get(self, *, rejected: str | None = None) -> str:
        """A token valid for at least REFRESH_MARGIN. `rejected` is a token WeChat just
        refused (40001/42001/40014): it is never returned again."""
        deadline = self._clock() + LEASE * 2
        while True:
            token, leased = await self._read_or_lease(rejected)
            if token is not None:
                return token
            if leased:
                return await self._refresh(rejected)
            if self._clock() > deadline:
                raise TimeoutError(f"no access_token for {self.key}: the refresher did not finish")
            # Another process holds the lease and is fetching; its result lands in the row.
            await asyncio.sleep(self._poll)

    async def _read_or_lease(self, rejected: str | None) -> tuple[str | None, bool]:
        now = self._clock()
        try:
            async with self.db.transaction() as session:
                row = await session.get(KeyValue, self.key, populate_existing=True)
                if row is not None:
                    token = (row.value or {}).get("token")
                    fresh = row.expires_at is not None and row.expires_at > now + REFRESH_MARGIN
                    if token and fresh and token != rejected:
                        return str(token), False
                    # Conditional update: of two processes racing here, one matches.
                    taken = await session.execute(
                        sa.update(KeyValue)
                        .where(
                            KeyValue.key == self.key,
                            sa.or_(KeyValue.lease_until.is_(None), KeyValue.lease_until < now),
                        )
                        .values(lease_until=now + LEASE)
                        .execution_options(synchronize_session=False)
                    )
                    return None, getattr(taken, "rowcount", 0) == 1
                session.add(
                    KeyValue(key=self.key, value={}, lease_until=now + LEASE, updated_at=now)
                )
                await session.flush()
                return None, True
        except IntegrityError:
            # Another process created the row first; it holds the lease.
            return None, False

    async def _refresh(self, rejected: str | None) -> str:
        try:
            token, expires_in = await self._fetch(rejected)
        except BaseException:
            await self._release()
            raise
        now = self._clock()
        async with self.db.transaction() as session:
            await session.execute(
                sa.update(KeyValue)
                .where(KeyValue.key == self.key)
                .values(
                    value={"token": token},
                    expires_at=now + timedelta(seconds=expires_in),
                    lease_until=None,
                    updated_at=now,
                )
                .execution_options(synchronize_session=False)
            )
        return token

    async def _release(self) -> None:
        async with self.db.transaction() as session:
            await session.execute(
                sa.update(KeyValue)
                .where(KeyValue.key == self.key)
                .values(lease_until=None)
                .execution_options(synchronize_session=False)
            )
