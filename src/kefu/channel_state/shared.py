"""Small values every process must see the same (a channel's access token), in the
`shared_state` table, with a lease so that only one process refreshes a value at a time.

The store only keeps rows; when a value is stale and who refreshes it how is the
caller's protocol (see `kefu.connectors.wechat.token`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from kefu.context import Kefu
from kefu.db.engine import Database
from kefu.db.tables import KeyValue

# (value, expires_at) -> whether the stored value may still be used
Usable = Callable[[dict[str, Any], datetime | None], bool]


class SharedState:
    def __init__(self, db: Database) -> None:
        self._db = db

    @classmethod
    def of(cls, kefu: Kefu) -> SharedState:
        """The running core's store (what connectors use)."""
        return cls(kefu.db)

    async def read_or_lease(
        self, key: str, *, now: datetime, lease: timedelta, usable: Usable
    ) -> tuple[dict[str, Any] | None, bool]:
        """In one transaction: `(value, False)` when the stored value is usable; else
        `(None, True)` when this caller took the refresh lease, `(None, False)` when
        another process holds it (wait and read again)."""
        try:
            async with self._db.transaction() as session:
                row = await session.get(KeyValue, key, populate_existing=True)
                if row is not None:
                    value = dict(row.value or {})
                    if usable(value, row.expires_at):
                        return value, False
                    # Conditional update: of two processes racing here, one matches.
                    taken = await session.execute(
                        sa.update(KeyValue)
                        .where(
                            KeyValue.key == key,
                            sa.or_(KeyValue.lease_until.is_(None), KeyValue.lease_until < now),
                        )
                        .values(lease_until=now + lease)
                        .execution_options(synchronize_session=False)
                    )
                    return None, getattr(taken, "rowcount", 0) == 1
                session.add(KeyValue(key=key, value={}, lease_until=now + lease, updated_at=now))
                await session.flush()
                return None, True
        except IntegrityError:
            # Another process created the row first; it holds the lease.
            return None, False

    async def store(
        self, key: str, value: dict[str, Any], *, expires_at: datetime | None, now: datetime
    ) -> None:
        """Write the refreshed value and give up the lease."""
        async with self._db.transaction() as session:
            await session.execute(
                sa.update(KeyValue)
                .where(KeyValue.key == key)
                .values(value=value, expires_at=expires_at, lease_until=None, updated_at=now)
                .execution_options(synchronize_session=False)
            )

    async def release(self, key: str) -> None:
        """Give up the lease without a new value (the refresh failed)."""
        async with self._db.transaction() as session:
            await session.execute(
                sa.update(KeyValue)
                .where(KeyValue.key == key)
                .values(lease_until=None)
                .execution_options(synchronize_session=False)
            )
