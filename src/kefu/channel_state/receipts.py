"""A channel's event id, remembered once per inbox (`inbound_receipts`), for events that
make no message row of their own (LiveKit's webhooks): the first `claim` of a key wins,
every later one, from any process, is told it was seen."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from kefu.context import Kefu
from kefu.db.tables import InboundReceipt

KEY_MAX = 255  # inbound_receipts.key


async def claim(kefu: Kefu, inbox_id: uuid.UUID, key: str) -> bool:
    """True for the first time `key` is claimed for the inbox, False ever after."""
    if not key or len(key) > KEY_MAX:
        raise ValueError(f"a receipt key is 1 to {KEY_MAX} characters")
    try:
        async with kefu.db.transaction() as session:
            session.add(InboundReceipt(inbox_id=inbox_id, key=key))
            await session.flush()
    except IntegrityError:
        return False
    return True


async def release(kefu: Kefu, inbox_id: uuid.UUID, key: str) -> None:
    """Forget a claim whose work failed, so the sender's retry is taken again."""
    async with kefu.db.transaction() as session:
        await session.execute(
            sa.delete(InboundReceipt).where(
                InboundReceipt.inbox_id == inbox_id, InboundReceipt.key == key
            )
        )


async def prune(kefu: Kefu, prefix: str, before: datetime) -> int:
    """Forget the receipts of keys starting with `prefix` claimed before `before` (a
    channel whose retries and replays cannot outlive that); answers how many."""
    pattern = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    async with kefu.db.transaction() as session:
        done = await session.execute(
            sa.delete(InboundReceipt).where(
                InboundReceipt.key.like(pattern, escape="\\"),
                InboundReceipt.created_at < before,
            )
        )
    return int(getattr(done, "rowcount", 0) or 0)
