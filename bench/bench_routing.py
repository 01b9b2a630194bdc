"""Routing throughput on PostgreSQL: 10,000 queued conversations, 500 online agents in
5 skill groups (least-busy, round-robin, longest-idle, sticky, region match), capacity
for everyone. Measures `assign_waiting` serving the whole queue (one process), and the
same queue served by two processes at once. Prints and returns one line per figure.

    .venv/bin/python -m bench.bench_routing
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from bench.databases import drop_database, fresh_database
from kefu.app import build_kefu
from kefu.db.metadata import all_tables
from kefu.db.tables import (
    Contact,
    Conversation,
    GroupMember,
    Inbox,
    SkillGroup,
    User,
    Workspace,
)
from kefu.model import new_id, utcnow
from kefu.routing import service as routing
from kefu.settings import Settings

DB_NAME = "kefu_bench_routing"
QUEUED = 10_000
AGENTS = 500
GROUPS = [
    ("least busy", "least_busy", {}),
    ("round robin", "round_robin", {}),
    ("longest idle", "longest_idle", {}),
    ("sticky", "least_busy", {"sticky_days": 7}),
    ("region", "least_busy", {"region_match": True, "vip_first": True}),
]


async def _fresh_database() -> str:
    return await fresh_database(DB_NAME)


async def _seed(url: str) -> uuid.UUID:
    """Bulk rows with Core inserts: the seeding is not what is measured."""
    engine = create_async_engine(url)
    now = utcnow()
    workspace_id = new_id()
    inbox_id = new_id()
    group_ids = [new_id() for _ in GROUPS]
    regions = ["north", "south", "east", "west"]
    async with engine.begin() as conn:
        await conn.execute(sa.insert(Workspace).values(id=workspace_id, slug="bench", name="bench"))
        await conn.execute(
            sa.insert(SkillGroup),
            [
                {
                    "id": gid,
                    "workspace_id": workspace_id,
                    "name": name,
                    "strategy": strategy,
                    "settings": settings,
                }
                for gid, (name, strategy, settings) in zip(group_ids, GROUPS, strict=True)
            ],
        )
        await conn.execute(
            sa.insert(Inbox).values(
                id=inbox_id,
                workspace_id=workspace_id,
                kind="web",
                name="web",
                public_key="bench-routing",
                default_group_id=group_ids[0],
            )
        )
        agents = [new_id() for _ in range(AGENTS)]
        await conn.execute(
            sa.insert(User),
            [
                {
                    "id": aid,
                    "workspace_id": workspace_id,
                    "email": f"a{n}@bench.kefu",
                    "name": f"agent {n}",
                    "password_hash": "-",
                    "presence": "online",
                    "presence_changed_at": now - timedelta(minutes=n % 60),
                    "capacity": {"web": 25, "*": 5},
                    "region": regions[n % 4],
                }
                for n, aid in enumerate(agents)
            ],
        )
        await conn.execute(
            sa.insert(GroupMember),
            [
                {
                    "group_id": group_ids[n % len(group_ids)],
                    "user_id": aid,
                    "workspace_id": workspace_id,
                }
                for n, aid in enumerate(agents)
            ],
        )
        contacts = [new_id() for _ in range(QUEUED)]
        await conn.execute(
            sa.insert(Contact),
            [
                {
                    "id": cid,
                    "workspace_id": workspace_id,
                    "region": regions[n % 4],
                    "vip_level": n % 3,
                    "tags": [],
                    "attributes": {},
                }
                for n, cid in enumerate(contacts)
            ],
        )
        # Sticky history: every 4th contact was served before by some agent.
        earlier = [
            {
                "id": new_id(),
                "workspace_id": workspace_id,
                "inbox_id": inbox_id,
                "contact_id": cid,
                "channel": "web",
                "status": "resolved",
                "group_id": group_ids[3],
                "assignee_id": agents[n % AGENTS],
                "assigned_at": now - timedelta(days=1),
                "resolved_at": now - timedelta(days=1),
                "priority": 0,
                "labels": [],
                "attributes": {},
                "last_seq": 1,
            }
            for n, cid in enumerate(contacts)
            if n % 4 == 0
        ]
        await conn.execute(sa.insert(Conversation), earlier)
        await conn.execute(
            sa.insert(Conversation),
            [
                {
                    "id": new_id(),
                    "workspace_id": workspace_id,
                    "inbox_id": inbox_id,
                    "contact_id": cid,
                    "channel": "web",
                    "status": "queued",
                    "group_id": group_ids[n % len(group_ids)],
                    "priority": n % 2,
                    "queued_at": now - timedelta(seconds=QUEUED - n),
                    "labels": [],
                    "attributes": {},
                    "last_seq": 1,
                }
                for n, cid in enumerate(contacts)
            ],
        )
    async with engine.begin() as conn:
        # Fresh statistics, as autovacuum would have by now on a live database.
        await conn.execute(sa.text("ANALYZE"))
    await engine.dispose()
    return workspace_id


async def _check(url: str, workspace_id: uuid.UUID) -> tuple[int, int, bool]:
    engine = create_async_engine(url)
    async with engine.connect() as conn:
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
        worst = await conn.scalar(
            sa.select(sa.func.max(sa.literal_column("n"))).select_from(
                sa.select(sa.func.count().label("n"))
                .where(Conversation.workspace_id == workspace_id, Conversation.status == "open")
                .group_by(Conversation.assignee_id)
                .subquery()
            )
        )
    await engine.dispose()
    return statuses["open"], statuses["queued"], int(worst or 0) <= 25


async def _workspace(url: str) -> uuid.UUID:
    engine = create_async_engine(url)
    async with engine.connect() as conn:
        workspace_id = await conn.scalar(sa.select(Workspace.id).where(Workspace.slug == "bench"))
    await engine.dispose()
    assert workspace_id is not None
    return workspace_id


async def _one_process(url: str) -> str:
    workspace_id = await _seed(url)
    kefu = build_kefu(Settings(database_url=url, secret_key="bench", run_dispatcher=False))
    started = time.perf_counter()
    events = await routing.assign_waiting(kefu, workspace_id, utcnow())
    elapsed = time.perf_counter() - started
    await kefu.db.dispose()
    assigned = sum(1 for e in events if e.change == "assigned")
    opened, queued, within = await _check(url, workspace_id)
    assert opened == assigned == QUEUED and queued == 0 and within, (opened, assigned, queued)
    return (
        f"routing: assign_waiting served {assigned} queued conversations to {AGENTS} agents "
        f"in {elapsed:.2f} s = {assigned / elapsed:,.0f} assignments/s "
        f"(PostgreSQL, one process, 5 groups incl. sticky/region/round-robin)"
    )


async def _arrivals(url: str, workspace_id: uuid.UUID, count: int = 1000) -> str:
    """Latency of routing one arriving conversation inside its own transaction (rules,
    locks on the group's agents, load count, choice, writes), 500 agents already busy."""
    kefu = build_kefu(Settings(database_url=url, secret_key="bench", run_dispatcher=False))
    async with kefu.db.session() as session:
        inbox_id = await session.scalar(
            sa.select(Inbox.id).where(Inbox.workspace_id == workspace_id)
        )
    assert inbox_id is not None
    contact_ids = [new_id() for _ in range(count)]
    async with kefu.db.transaction() as session:
        await session.execute(
            sa.insert(Contact),
            [
                {"id": cid, "workspace_id": workspace_id, "tags": [], "attributes": {}}
                for cid in contact_ids
            ],
        )
    took: list[float] = []
    assigned = 0
    for contact_id in contact_ids:
        started = time.perf_counter()
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
            await routing.route(session, conversation, now)
            assigned += conversation.status == "open"
        took.append(time.perf_counter() - started)
    await kefu.db.dispose()
    took.sort()
    p50, p95 = took[len(took) // 2] * 1000, took[int(len(took) * 0.95)] * 1000
    return (
        f"routing: route() of {count} arriving conversations (each its own transaction, "
        f"100 agents per group, 10,000 already open): p50 {p50:.1f} ms, p95 {p95:.1f} ms, "
        f"{assigned} assigned at once"
    )


def _serve(url: str, workspace_id: uuid.UUID, barrier: Any, out: Any) -> None:
    async def run() -> int:
        kefu = build_kefu(Settings(database_url=url, secret_key="bench", run_dispatcher=False))
        events = await routing.assign_waiting(kefu, workspace_id, utcnow())
        await kefu.db.dispose()
        return sum(1 for e in events if e.change == "assigned")

    barrier.wait()
    started = time.perf_counter()
    count = asyncio.run(run())
    out.put((count, started, time.perf_counter()))


async def _two_processes(url: str) -> str:
    import multiprocessing

    engine = create_async_engine(url)
    names = ", ".join(f'"{t.name}"' for t in all_tables().sorted_tables)
    async with engine.begin() as conn:
        await conn.execute(sa.text(f"TRUNCATE {names} CASCADE"))
    await engine.dispose()
    workspace_id = await _seed(url)
    ctx = multiprocessing.get_context("spawn")
    barrier, out = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_serve, args=(url, workspace_id, barrier, out)) for _ in range(2)]
    for p in procs:
        p.start()
    results = [out.get(timeout=600) for _ in procs]
    for p in procs:
        p.join()
    assigned = sum(r[0] for r in results)
    elapsed = max(r[2] for r in results) - min(r[1] for r in results)
    opened, queued, within = await _check(url, workspace_id)
    assert opened == assigned == QUEUED and queued == 0 and within, (opened, assigned, queued)
    split = " + ".join(str(r[0]) for r in results)
    return (
        f"routing: two processes served {assigned} ({split}) queued conversations to "
        f"{AGENTS} agents in {elapsed:.2f} s = {assigned / elapsed:,.0f} assignments/s, "
        f"no agent over capacity, none assigned twice (PostgreSQL)"
    )


async def main() -> list[str]:
    url = await _fresh_database()
    lines = [await _one_process(url)]
    print(lines[-1], flush=True)
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.execute(sa.text("ANALYZE"))
    await engine.dispose()
    lines.append(await _arrivals(url, await _workspace(url)))
    print(lines[-1], flush=True)
    lines.append(await _two_processes(url))
    print(lines[-1], flush=True)
    await drop_database(DB_NAME)
    return lines


if __name__ == "__main__":
    asyncio.run(main())
