"""The retry helper (`kefu.db.retry`) and a widget flood on a "bot first" inbox through
the real ingest, bot, hand-over and agent actions, on SQLite and PostgreSQL (issue 12
item 2: the flood surfaced deadlocks as a 500 and "bot failed … handing over")."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, OperationalError

import kefu.knowledge.tables  # noqa: F401  (registers the bot tables)
from kefu.context import Kefu
from kefu.conversations.actions import Actor, assign, change_status, reply
from kefu.conversations.ingest import ingest
from kefu.db import retry
from kefu.db.tables import Conversation, Inbox, Message
from kefu.demo import Demo
from kefu.errors import Conflict
from kefu.knowledge import bot
from kefu.model import ConversationStatus, Identity, Inbound, SenderKind
from kefu.routing import bot_first

# Engine-sensitive (row locks and their deadlocks on PostgreSQL, one writer on SQLite).
pytestmark = pytest.mark.engine_sensitive


def _sqlite_busy() -> OperationalError:
    try:
        raise sqlite3.OperationalError("database is locked")
    except sqlite3.OperationalError as exc:
        return OperationalError("BEGIN IMMEDIATE", {}, exc)


class _State(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


async def test_retry_reasons_backoff_and_the_bound() -> None:
    assert retry.retry_reason(_sqlite_busy()) == "sqlite busy"
    serialization = DBAPIError("UPDATE", {}, _State("40001"))
    assert retry.retry_reason(serialization) == "serialization failure"
    assert retry.retry_reason(DBAPIError("INSERT", {}, _State("23505"))) is None
    assert retry.retry_reason(ValueError("no")) is None
    for attempt in range(1, 12):
        wait = retry.backoff(attempt)
        step = min(retry.CAP_SECONDS, retry.BASE_SECONDS * 2 ** (attempt - 1))
        assert step / 2 <= wait <= step

    calls = 0

    async def always_busy() -> None:
        nonlocal calls
        calls += 1
        raise _sqlite_busy()

    with pytest.raises(OperationalError):
        await retry.run(always_busy, attempts=3)
    assert calls == 3

    calls = 0

    async def not_retryable() -> None:
        nonlocal calls
        calls += 1
        raise Conflict("no")

    with pytest.raises(Conflict):
        await retry.run(not_retryable)
    assert calls == 1


async def test_widget_flood_on_a_bot_inbox_with_hand_overs_and_agents_raises_nothing(
    kefu: Kefu, workspace: Demo, caplog: pytest.LogCaptureFixture
) -> None:
    """Twelve visitors write six messages each at once to a "bot first" inbox while the
    bot answers, hands over, and agents take and reply: every message is stored once,
    nobody sees an error, and the bot never gives up with "bot failed"."""
    async with kefu.db.transaction() as session:
        inbox = await session.get(Inbox, workspace.inbox_id)
        assert inbox is not None
        await bot_first.start_with_bot(session, workspace.workspace_id, workspace.inbox_id)
    kefu.after_ingest.append(bot.on_ingest)
    visitors = [f"flood-{n}" for n in range(12)]
    admin = next(x for x in workspace.logins if x.email.startswith("admin@"))
    agent = Actor(
        workspace_id=workspace.workspace_id, kind=SenderKind.agent, user_id=admin.id, name="A"
    )
    system = Actor(workspace_id=workspace.workspace_id, kind=SenderKind.system)
    errors: list[BaseException] = []

    async def guarded(work: Callable[[], Awaitable[Any]]) -> None:
        try:
            await work()
        except Conflict:
            pass  # "already queued": a hand-over raced another, as it may
        except BaseException as exc:
            errors.append(exc)

    async def visitor(name: str) -> None:
        for n in range(6):
            text = "人工" if n == 3 else f"请问退款要多久 {n}"
            await guarded(
                lambda text=text, n=n: ingest(
                    kefu,
                    Inbound(
                        inbox_id=workspace.inbox_id,
                        identity=Identity("web_visitor", name),
                        client_message_id=f"{name}-{n}",
                        body=text,
                    ),
                )
            )

    async def agents_meanwhile() -> None:
        for _ in range(30):
            async with kefu.db.session() as session:
                ids = list(
                    await session.scalars(
                        sa.select(Conversation.id).where(
                            Conversation.workspace_id == workspace.workspace_id
                        )
                    )
                )
            for cid in ids:
                await guarded(
                    lambda cid=cid: change_status(kefu, cid, system, ConversationStatus.queued)
                )
                await guarded(lambda cid=cid: reply(kefu, cid, agent, "稍等"))
                await guarded(lambda cid=cid: assign(kefu, cid, system, assignee_id=None))
            await asyncio.sleep(0)

    with caplog.at_level(logging.INFO):
        await asyncio.gather(*(visitor(v) for v in visitors), agents_meanwhile())
        await kefu.drain()
    assert not errors, errors[:3]
    assert "bot failed" not in caplog.text
    async with kefu.db.session() as session:
        stored = await session.scalar(
            sa.select(sa.func.count()).where(
                Message.inbox_id == workspace.inbox_id, Message.direction == "in"
            )
        )
    assert stored == len(visitors) * 6
    retried = caplog.text.count("retrying in")
    print(f"flood: {stored} messages stored once, {retried} units retried")
