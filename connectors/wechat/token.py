"""One access_token per official account, shared by every kefu process.

WeChat gives each account one valid token at a time (a new one retires the old after
five minutes), so per-process caches would keep invalidating each other. The token
lives in the core's shared state (`kefu.channel_state.shared`); a process that finds it
missing, expiring or rejected takes a short lease on it and refreshes it while the others
wait and then read the result.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from kefu.channel_state.shared import SharedState
from kefu.model import utcnow

# Refresh this long before WeChat's expiry: WeChat itself renews stable tokens five
# minutes early, and a request in flight must not carry a token that dies on the way.
REFRESH_MARGIN = timedelta(seconds=300)
# How long one process may hold the refresh; a crashed refresher's lease just lapses.
LEASE = timedelta(seconds=15)

# (stale token or None) -> (new token, seconds it is valid)
Fetch = Callable[[str | None], Awaitable[tuple[str, int]]]


def _usable(
    now: datetime, rejected: str | None, value: dict[str, Any], expires_at: datetime | None
) -> bool:
    token = value.get("token")
    fresh = expires_at is not None and expires_at > now + REFRESH_MARGIN
    return bool(token) and fresh and token != rejected


class SharedToken:
    def __init__(
        self,
        state: SharedState,
        key: str,
        fetch: Fetch,
        *,
        clock: Callable[[], datetime] = utcnow,
        poll_seconds: float = 0.05,
    ) -> None:
        self.state = state
        self.key = key
        self._fetch = fetch
        self._clock = clock
        self._poll = poll_seconds

    async def get(self, *, rejected: str | None = None) -> str:
        """A token valid for at least REFRESH_MARGIN. `rejected` is a token WeChat just
        refused (40001/42001/40014): it is never returned again."""
        deadline = self._clock() + LEASE * 2
        while True:
            now = self._clock()
            value, leased = await self.state.read_or_lease(
                self.key, now=now, lease=LEASE, usable=partial(_usable, now, rejected)
            )
            if value is not None:
                return str(value["token"])
            if leased:
                return await self._refresh(rejected)
            if self._clock() > deadline:
                raise TimeoutError(f"no access_token for {self.key}: the refresher did not finish")
            # Another process holds the lease and is fetching; its result lands in the row.
            await asyncio.sleep(self._poll)

    async def _refresh(self, rejected: str | None) -> str:
        try:
            token, expires_in = await self._fetch(rejected)
        except BaseException:
            await self.state.release(self.key)
            raise
        now = self._clock()
        await self.state.store(
            self.key, {"token": token}, expires_at=now + timedelta(seconds=expires_in), now=now
        )
        return token
