"""A real `kefu serve` killed with SIGKILL after its IMAP worker fetched a mail and before
the mail was committed: the next server fetches it again and stores it exactly once.

The moment is made, not hoped for: the test holds PostgreSQL's lock on
`contact_identities` (the new customer's row is written in the same transaction as the
message), so the server can read the mail and start storing it but not commit it, and
the test sees the server waiting on the lock before it pulls the plug.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import asyncpg
import pytest
import sqlalchemy as sa

from kefu.context import Kefu
from kefu.db.tables import Conversation, Message
from kefu.demo import Demo
from kefu.inboxes.schemas import InboxCreate
from kefu.inboxes.service import create_inbox
from kefu.model import ChannelKind
from kefu.settings import Settings
from tests.conftest import _truncate
from tests.mail_servers import PASSWORD, USER, Dovecot, dovecot
from tests.servers import KefuProcess

# The lock that holds the server between fetch and commit is PostgreSQL's.
pytestmark = pytest.mark.postgres

MAIL = (
    b"From: =?utf-8?B?5pyx6ZWV5Z+6?= <zhu@example.cn>\r\nTo: " + USER.encode() + b"\r\n"
    b"Subject: kill\r\nMessage-ID: <sigkill-1@example.cn>\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n\r\n" + "服务器崩溃前收到的邮件。\r\n".encode()
)


@pytest.fixture
def database_url(pg_database: str) -> str:
    asyncio.run(_truncate(pg_database))
    return pg_database


@pytest.fixture
def imap() -> Dovecot:
    with dovecot() as server:
        yield server  # type: ignore[misc]


async def _counts(kefu: Kefu) -> tuple[int, int]:
    async with kefu.db.session() as session:
        conversations = await session.scalar(sa.select(sa.func.count()).select_from(Conversation))
        messages = await session.scalar(sa.select(sa.func.count()).select_from(Message))
    return int(conversations or 0), int(messages or 0)


async def _until(check: Callable[[], Awaitable[bool]], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.2)


async def test_sigkill_between_fetch_and_commit_refetches_and_stores_once(
    kefu: Kefu, settings: Settings, workspace: Demo, imap: Dovecot, database_url: str
) -> None:
    await create_inbox(
        kefu,
        workspace.workspace_id,
        InboxCreate(
            kind=ChannelKind.email,
            name="Mail",
            config={
                "address": USER,
                "imap_host": "127.0.0.1",
                "imap_port": imap.port,
                "imap_security": "none",
                "imap_user": USER,
                "imap_password": PASSWORD,
            },
        ),
    )
    before = await _counts(kefu)
    holder = await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://"))
    first = await asyncio.to_thread(KefuProcess, settings)
    try:
        blocker = holder.transaction()
        await blocker.start()
        await holder.execute("LOCK TABLE contact_identities IN EXCLUSIVE MODE")
        uid = imap.append(MAIL)

        async def server_waits() -> bool:
            return bool(
                await holder.fetchval(
                    "SELECT count(*) FROM pg_locks WHERE NOT granted"
                    " AND relation = 'contact_identities'::regclass"
                )
            )

        # A loaded machine (CI runs browsers beside this) can take a while to start the
        # worker, log in to IMAP and fetch.
        await _until(server_waits, 120)
        if not await server_waits():
            seen = await holder.fetch(
                "SELECT state, wait_event_type, left(query, 80) AS query FROM pg_stat_activity"
                " WHERE pid <> pg_backend_pid() AND datname = current_database()"
            )
            cursors = await holder.fetch("SELECT folder, last_uid, error FROM mail_cursors")
            raise AssertionError(
                f"the server never tried to store the mail; sessions {seen}; "
                f"cursors {cursors}; log {first.tail()}"
            )
        first.kill()
        await blocker.rollback()
    finally:
        first.kill()
        await holder.close()
    assert await _counts(kefu) == before  # nothing of the mail was committed
    assert "$KefuImported" not in imap.flags(uid)  # and it was not acknowledged

    second = await asyncio.to_thread(KefuProcess, settings)
    try:

        async def stored() -> bool:
            return await _counts(kefu) != before

        async def acknowledged() -> bool:
            return "$KefuImported" in imap.flags(uid)

        await _until(stored, 30)
        await _until(acknowledged, 10)
        await asyncio.sleep(1.5)  # a second copy, if there were one, would have landed
        assert await _counts(kefu) == (before[0] + 1, before[1] + 1), second.tail()
        assert await acknowledged()
    finally:
        second.stop()
    async with kefu.db.session() as session:
        body = await session.scalar(
            sa.select(Message.body).where(Message.channel_message_id == "sigkill-1@example.cn")
        )
    assert body == "服务器崩溃前收到的邮件。"
