"""Two OS processes route and assign against one PostgreSQL database at the same time:
600 conversations arrive at once (half through each process, each routed inside its own
transaction, while both processes also serve the queue), then capacity frees and both
serve the queue together. No agent may ever exceed capacity and no conversation may be
assigned twice."""

from __future__ import annotations

import asyncio
import multiprocessing
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from kefu.app import build_kefu
from kefu.db.engine import Database
from kefu.db.metadata import all_tables
from kefu.db.tables import (
    Contact,
    Conversation,
    ConversationEventRow,
    GroupMember,
    Inbox,
    SkillGroup,
    User,
    Workspace,
)
from kefu.model import utcnow
from kefu.routing.queue import assign_waiting
from kefu.routing.route import route
from kefu.settings import Settings

pytestmark = pytest.mark.postgres

AGENTS = 40
CAPACITY = 5
CONVERSATIONS = 600
TASKS_PER_PROCESS = 16


@pytest.fixture
def pg_url(pg_database: str) -> Iterator[str]:
    async def truncate() -> None:
        engine = create_async_engine(pg_database)
        names = ", ".join(f'"{t.name}"' for t in all_tables().sorted_tables)
        async with engine.begin() as conn:
            await conn.execute(sa.text(f"TRUNCATE {names} CASCADE"))
        await engine.dispose()

    asyncio.run(truncate())
    yield pg_database


async def _seed(url: str, strategy: str) -> dict[str, Any]:
    db = Database(url)
    async with db.transaction() as session:
        workspace = Workspace(slug="race", name="race")
        session.add(workspace)
        await session.flush()
        group = SkillGroup(workspace_id=workspace.id, name="all", strategy=strategy)
        session.add(group)
        await session.flush()
        inbox = Inbox(
            workspace_id=workspace.id,
            kind="web",
            name="web",
            public_key="race-" + uuid.uuid4().hex[:8],
            default_group_id=group.id,
        )
        session.add(inbox)
        for n in range(AGENTS):
            user = User(
                workspace_id=workspace.id,
                email=f"a{n}@race.kefu",
                name=f"agent {n}",
                password_hash="-",
                presence="online",
                capacity={"web": CAPACITY, "*": 1},
            )
            session.add(user)
            await session.flush()
            session.add(GroupMember(group_id=group.id, user_id=user.id, workspace_id=workspace.id))
        contacts = [Contact(workspace_id=workspace.id, name=f"c{n}") for n in range(CONVERSATIONS)]
        session.add_all(contacts)
        await session.flush()
        seeded = {
            "workspace_id": workspace.id,
            "inbox_id": inbox.id,
            "contacts": [c.id for c in contacts],
        }
    async with db.engine.begin() as conn:
        await conn.execute(sa.text("ANALYZE"))
    await db.dispose()
    return seeded


async def _arrive_and_serve(
    url: str, workspace_id: uuid.UUID, inbox_id: uuid.UUID, contacts: list[uuid.UUID]
) -> None:
    kefu = build_kefu(Settings(database_url=url, secret_key="x", run_dispatcher=False))
    pending = list(contacts)

    async def open_conversations() -> None:
        while pending:
            contact_id = pending.pop()
            async with kefu.db.transaction() as session:
                now = utcnow()
                conversation = Conversation(
                    workspace_id=workspace_id,
                    inbox_id=inbox_id,
                    contact_id=contact_id,
                    channel="web",
                    status="queued",
                    created_at=now,
                    updated_at=now,
                )
                session.add(conversation)
                await session.flush()
                await route(session, conversation, now)

    async def serve_queue() -> None:
        while pending:
            await assign_waiting(kefu, workspace_id, utcnow())

    await asyncio.gather(
        *(open_conversations() for _ in range(TASKS_PER_PROCESS)),
        serve_queue(),
        serve_queue(),
    )
    await kefu.db.dispose()


async def _serve_only(url: str, workspace_id: uuid.UUID) -> None:
    kefu = build_kefu(Settings(database_url=url, secret_key="x", run_dispatcher=False))
    await asyncio.gather(
        *(assign_waiting(kefu, workspace_id, utcnow()) for _ in range(TASKS_PER_PROCESS))
    )
    await kefu.db.dispose()


def _worker(barrier: Any, phase: str, url: str, args: tuple[Any, ...]) -> None:
    barrier.wait()  # both processes start their burst together
    if phase == "arrive":
        asyncio.run(_arrive_and_serve(url, *args))
    else:
        asyncio.run(_serve_only(url, *args))


def _run_two(phase: str, url: str, first: tuple[Any, ...], second: tuple[Any, ...]) -> None:
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(2)
    procs = [ctx.Process(target=_worker, args=(barrier, phase, url, a)) for a in (first, second)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=300)
    assert [p.exitcode for p in procs] == [0, 0], "a worker process failed (see its stderr)"


async def _state(
    url: str, workspace_id: uuid.UUID
) -> tuple[Counter[uuid.UUID], Counter[str], Counter[uuid.UUID]]:
    engine = create_async_engine(url)
    async with engine.connect() as conn:
        loads = Counter(
            dict(
                (
                    await conn.execute(
                        sa.select(Conversation.assignee_id, sa.func.count())
                        .where(
                            Conversation.workspace_id == workspace_id,
                            Conversation.status.in_(["open", "pending"]),
                        )
                        .group_by(Conversation.assignee_id)
                    )
                ).all()
            )
        )
        statuses = Counter(
            dict(
                (
                    await conn.execute(
                        sa.select(Conversation.status, sa.func.count())
                        .where(Conversation.workspace_id == workspace_id)
                        .group_by(Conversation.status)
                    )
                ).all()
            )
        )
        assigned_events = Counter(
            dict(
                (
                    await conn.execute(
                        sa.select(ConversationEventRow.conversation_id, sa.func.count())
                        .where(
                            ConversationEventRow.workspace_id == workspace_id,
                            ConversationEventRow.type == "assigned",
                        )
                        .group_by(ConversationEventRow.conversation_id)
                    )
                ).all()
            )
        )
    await engine.dispose()
    return loads, statuses, assigned_events


async def _resolve_some(url: str, workspace_id: uuid.UUID, count: int) -> None:
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        ids = (
            (
                await conn.execute(
                    sa.select(Conversation.id)
                    .where(Conversation.workspace_id == workspace_id, Conversation.status == "open")
                    .order_by(Conversation.id)
                    .limit(count)
                )
            )
            .scalars()
            .all()
        )
        await conn.execute(
            sa.update(Conversation)
            .where(Conversation.id.in_(ids))
            .values(status="resolved", resolved_at=utcnow())
        )
    await engine.dispose()


@pytest.mark.parametrize("strategy", ["least_busy", "round_robin"])
def test_two_processes_never_overfill_an_agent_nor_assign_twice(pg_url: str, strategy: str) -> None:
    seeded = asyncio.run(_seed(pg_url, strategy))
    ws, inbox, contacts = seeded["workspace_id"], seeded["inbox_id"], seeded["contacts"]
    half = len(contacts) // 2
    slots = AGENTS * CAPACITY

    _run_two("arrive", pg_url, (ws, inbox, contacts[:half]), (ws, inbox, contacts[half:]))
    loads, statuses, assigned = asyncio.run(_state(pg_url, ws))
    assert max(loads.values()) <= CAPACITY
    assert max(assigned.values()) == 1
    # Every slot got filled and the rest wait: nothing was lost or double-counted.
    assert statuses == Counter({"open": slots, "queued": CONVERSATIONS - slots})
    assert sum(loads.values()) == slots == len(assigned)

    freed = 150
    asyncio.run(_resolve_some(pg_url, ws, freed))
    _run_two("serve", pg_url, (ws,), (ws,))
    loads, statuses, assigned = asyncio.run(_state(pg_url, ws))
    assert max(loads.values()) <= CAPACITY
    assert max(assigned.values()) == 1
    assert statuses == Counter(
        {"open": slots, "resolved": freed, "queued": CONVERSATIONS - slots - freed}
    )
