"""Deadlocks between ingest and bot/routing updates of one conversation (issue 12 item 2).

Found as: under a widget flood on PostgreSQL, ingest (which locks the contact, then the
conversation) and the bot's reply / hand-over (which locked the conversation first)
deadlocked; the victim surfaced as a 500 on the widget and as "bot failed … handing
over". Reproduced here with the two lock orders as they were, then shown gone with the
one order every unit of work now follows (contact → conversation → agents), and the
retry helper shown to turn a deadlock into a rerun. The flood in test_retry.py drives
the real ingest, bot, hand-over and agent actions on both databases."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

import kefu.knowledge.tables  # noqa: F401  (registers the bot tables)
from kefu.context import Kefu
from kefu.conversations.ingest import ingest
from kefu.conversations.locks import lock_in_order
from kefu.db import retry
from kefu.db.tables import Contact, Conversation
from kefu.demo import Demo
from kefu.model import Identity, Inbound, utcnow
from tests.conftest import _truncate

# Row locks and deadlock detection are PostgreSQL's (SQLite has one writer at a time:
# the flood in test_retry.py runs on both).
pytestmark = pytest.mark.postgres


@pytest.fixture
def database_url(pg_database: str) -> str:
    asyncio.run(_truncate(pg_database))
    return pg_database


async def _one_conversation(kefu: Kefu, demo: Demo) -> tuple[uuid.UUID, uuid.UUID]:
    result = await ingest(
        kefu,
        Inbound(
            inbox_id=demo.inbox_id,
            identity=Identity("web_visitor", "dl-" + uuid.uuid4().hex[:8]),
            client_message_id=uuid.uuid4().hex,
            body="你好",
        ),
    )
    await kefu.drain()
    assert result.conversation_id is not None
    return result.contact_id, result.conversation_id


async def _until_waiting(kefu: Kefu, count: int = 1, deadline: float = 10.0) -> None:
    """Wait until `count` backends of this database wait on a row lock."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        async with kefu.db.session() as session:
            waiting = await session.scalar(
                sa.text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND wait_event_type = 'Lock'"
                )
            )
        if (waiting or 0) >= count:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("no transaction started waiting for a lock")


async def _ingest_order(
    kefu: Kefu, contact_id: uuid.UUID, conversation_id: uuid.UUID, between: asyncio.Event
) -> None:
    """Ingest's order (single path and group commit): the contact, then the conversation."""
    async with kefu.db.transaction() as session:
        await session.execute(
            sa.select(Contact.id).where(Contact.id == contact_id).with_for_update(key_share=True)
        )
        between.set()
        await _until_waiting(kefu)
        await session.execute(
            sa.select(Conversation.id)
            .where(Conversation.id == conversation_id)
            .with_for_update(key_share=True)
        )
        await session.execute(
            sa.update(Contact).where(Contact.id == contact_id).values(updated_at=utcnow())
        )


async def _old_bot_order(kefu: Kefu, contact_id: uuid.UUID, conversation_id: uuid.UUID) -> None:
    """The bot/routing order before the fix: the conversation (FOR UPDATE, as
    `load_conversation` took it), then the contact (routing reading and touching it)."""
    async with kefu.db.transaction() as session:
        await session.execute(
            sa.select(Conversation.id).where(Conversation.id == conversation_id).with_for_update()
        )
        await session.execute(
            sa.update(Contact).where(Contact.id == contact_id).values(updated_at=utcnow())
        )


async def _new_bot_order(kefu: Kefu, conversation_id: uuid.UUID) -> None:
    """What every action does now: `lock_in_order` (contact, then conversation)."""
    async with kefu.db.transaction() as session:
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None
        await lock_in_order(session, conversation)
        conversation.updated_at = utcnow()
        await session.execute(
            sa.update(Contact)
            .where(Contact.id == conversation.contact_id)
            .values(updated_at=utcnow())
        )


async def test_the_old_lock_orders_deadlock_on_postgresql(kefu: Kefu, workspace: Demo) -> None:
    contact_id, conversation_id = await _one_conversation(kefu, workspace)
    first = asyncio.Event()

    async def bot_side() -> None:
        await first.wait()
        await _old_bot_order(kefu, contact_id, conversation_id)

    results = await asyncio.gather(
        _ingest_order(kefu, contact_id, conversation_id, first), bot_side(), return_exceptions=True
    )
    failures = [r for r in results if isinstance(r, BaseException)]
    assert len(failures) == 1, results
    (failure,) = failures
    assert isinstance(failure, DBAPIError)
    assert retry.retry_reason(failure) == "deadlock"


async def test_the_one_lock_order_never_deadlocks(kefu: Kefu, workspace: Demo) -> None:
    contact_id, conversation_id = await _one_conversation(kefu, workspace)
    for _ in range(3):
        first = asyncio.Event()

        async def bot_side(started: asyncio.Event = first) -> None:
            await started.wait()
            await _new_bot_order(kefu, conversation_id)

        results = await asyncio.gather(
            _ingest_order(kefu, contact_id, conversation_id, first),
            bot_side(),
            return_exceptions=True,
        )
        assert not [r for r in results if isinstance(r, BaseException)], results


async def test_the_retry_helper_reruns_the_deadlock_victim_to_completion(
    kefu: Kefu, workspace: Demo
) -> None:
    contact_id, conversation_id = await _one_conversation(kefu, workspace)
    runs = {"ingest": 0, "bot": 0}
    first = asyncio.Event()

    async def ingest_unit() -> None:
        runs["ingest"] += 1
        if runs["ingest"] == 1:
            await _ingest_order(kefu, contact_id, conversation_id, first)
        else:  # a rerun needs nobody to wait for
            async with kefu.db.transaction() as session:
                await session.execute(
                    sa.update(Contact).where(Contact.id == contact_id).values(updated_at=utcnow())
                )

    async def bot_unit() -> None:
        runs["bot"] += 1
        await first.wait()
        await _old_bot_order(kefu, contact_id, conversation_id)

    await asyncio.gather(retry.run(ingest_unit, what="ingest"), retry.run(bot_unit, what="bot"))
    assert sorted(runs.values()) == [1, 2]  # the victim ran twice, the survivor once
