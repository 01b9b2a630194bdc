"""The call ACD on PostgreSQL (issue 18): 2,000 calls arriving in a burst to 200 agents
in 4 skill groups, beside chat routing of the same burst in the same run.

Voice capacity is 1, so 200 agents take the burst in 10 waves: every wave, each free
agent is rung for one call; between waves (not timed) the rung calls are handled and the
agents freed. Measured, for calls and for chat with the same shape (capacity 1 for web):

- the queue served: 2,000 waiting calls (conversations) offered wave by wave by
  `calls.service.serve` (`routing.queue.assign_waiting`): assignments/s;
- arrivals: the same burst entering one by one through the real path, 20 at a time
  (`calls.service.start_call`: ingest, the call row, the queue, ringing;
  `conversations.ingest`: ingest and routing): assignments/s and p95 arrival→ringing
  (arrival→assigned for chat);

and after every wave that no agent has two calls. The media server is the tests' fake
voice connector (a LiveKit round trip is not what is measured).

    KEFU_BENCH_SUITES=bench.bench_calls .venv/bin/python -m bench
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from bench.databases import drop_database, fresh_database
from kefu.app import build_kefu
from kefu.calls import service
from kefu.calls.tables import AgentPhone, Call
from kefu.context import Kefu
from kefu.conversations.ingest import ingest
from kefu.db.tables import (
    Contact,
    Conversation,
    GroupMember,
    Inbox,
    SkillGroup,
    User,
    Workspace,
)
from kefu.model import ContactFacts, Identity, Inbound, new_id, utcnow
from kefu.routing.queue import assign_waiting
from kefu.settings import Settings
from tests.fake_voice import FakeVoice

DB_NAME = "kefu_bench_calls"
CALLS = 2_000
AGENTS = 200
GROUPS = 4
CONCURRENCY = 20


class Seeded:
    def __init__(self, workspace_id: uuid.UUID, voice: uuid.UUID, web: uuid.UUID) -> None:
        self.workspace_id = workspace_id
        self.voice = voice
        self.web = web


async def _seed(url: str) -> Seeded:
    engine = create_async_engine(url)
    names = ", ".join(f'"{t}"' for t in ("workspaces",))
    async with engine.begin() as conn:
        await conn.execute(sa.text(f"TRUNCATE {names} CASCADE"))
    now = utcnow()
    workspace_id, voice, web = new_id(), new_id(), new_id()
    group_ids = [new_id() for _ in range(GROUPS)]
    agents = [new_id() for _ in range(AGENTS)]
    async with engine.begin() as conn:
        await conn.execute(sa.insert(Workspace).values(id=workspace_id, slug="bench", name="b"))
        await conn.execute(
            sa.insert(SkillGroup),
            [
                {"id": g, "workspace_id": workspace_id, "name": f"g{n}", "strategy": "least_busy"}
                for n, g in enumerate(group_ids)
            ],
        )
        policy = {"ring_timeout_s": 20, "max_wait_s": 3600, "wrap_up_s": 0}
        await conn.execute(
            sa.insert(Inbox),
            [
                {
                    "id": voice,
                    "workspace_id": workspace_id,
                    "kind": "voice",
                    "name": "voice",
                    "public_key": "bench-voice",
                    "config": {"livekit_url": "wss://media.test", **policy},
                    "secrets": {},
                    "default_group_id": None,
                },
                {
                    "id": web,
                    "workspace_id": workspace_id,
                    "kind": "web",
                    "name": "web",
                    "public_key": "bench-web",
                    "config": {},
                    "secrets": {},
                    "default_group_id": None,
                },
            ],
        )
        await conn.execute(
            sa.insert(User),
            [
                {
                    "id": a,
                    "workspace_id": workspace_id,
                    "email": f"a{n}@bench.kefu",
                    "name": f"agent {n}",
                    "password_hash": "-",
                    "presence": "online",
                    "presence_changed_at": now - timedelta(minutes=n % 60),
                    # The same shape for chat: one conversation at a time.
                    "capacity": {"web": 1, "voice": 1, "*": 1},
                }
                for n, a in enumerate(agents)
            ],
        )
        await conn.execute(
            sa.insert(GroupMember),
            [
                {"group_id": group_ids[n % GROUPS], "user_id": a, "workspace_id": workspace_id}
                for n, a in enumerate(agents)
            ],
        )
        await conn.execute(
            sa.insert(AgentPhone),
            [
                {"user_id": a, "workspace_id": workspace_id, "state": "ready", "since": now}
                for a in agents
            ],
        )
    await engine.dispose()
    return Seeded(workspace_id, voice, web)


async def _queue_burst(url: str, seeded: Seeded, channel: str) -> None:
    """CALLS waiting conversations (and, for voice, their queued calls), arrived within
    the last few seconds, spread over the groups."""
    engine = create_async_engine(url)
    now = utcnow()
    group_ids = await _groups(engine, seeded.workspace_id)
    contacts = [new_id() for _ in range(CALLS)]
    conversations = [new_id() for _ in range(CALLS)]
    inbox = seeded.voice if channel == "voice" else seeded.web
    async with engine.begin() as conn:
        await conn.execute(
            sa.insert(Contact),
            [
                {"id": c, "workspace_id": seeded.workspace_id, "tags": [], "attributes": {}}
                for c in contacts
            ],
        )
        await conn.execute(
            sa.insert(Conversation),
            [
                {
                    "id": conv,
                    "workspace_id": seeded.workspace_id,
                    "inbox_id": inbox,
                    "contact_id": c,
                    "channel": channel,
                    "status": "queued",
                    "group_id": group_ids[n % GROUPS],
                    "priority": 0,
                    "queued_at": now - timedelta(milliseconds=CALLS - n),
                    "labels": [],
                    "attributes": {},
                    "last_seq": 1,
                }
                for n, (c, conv) in enumerate(zip(contacts, conversations, strict=True))
            ],
        )
        if channel == "voice":
            await conn.execute(
                sa.insert(Call),
                [
                    {
                        "id": (cid := new_id()),
                        "workspace_id": seeded.workspace_id,
                        "conversation_id": conv,
                        "inbox_id": inbox,
                        "contact_id": c,
                        "direction": "inbound",
                        "source": "sip",
                        "room": f"call-{cid}",
                        "caller_identity": f"caller-{cid}",
                        "status": "queued",
                        "priority": 0,
                        "ivr_path": [],
                        "rung": [],
                        "tried": [],
                        "group_id": group_ids[n % GROUPS],
                        "queued_at": now - timedelta(milliseconds=CALLS - n),
                        "hold_at_answer_s": 0,
                        "wait_s": 0,
                        "talk_s": 0,
                        "hold_s": 0,
                        "wrap_s": 0,
                        "version": 1,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for n, (c, conv) in enumerate(zip(contacts, conversations, strict=True))
                ],
            )
    async with engine.begin() as conn:
        await conn.execute(sa.text("ANALYZE"))
    await engine.dispose()


async def _groups(engine: sa.ext.asyncio.AsyncEngine, workspace_id: uuid.UUID) -> list[uuid.UUID]:
    async with engine.connect() as conn:
        rows = await conn.scalars(
            sa.select(SkillGroup.id)
            .where(SkillGroup.workspace_id == workspace_id)
            .order_by(SkillGroup.name)
        )
        return list(rows)


async def _handle_wave(kefu: Kefu, workspace_id: uuid.UUID) -> tuple[int, int]:
    """Not timed: the rung calls are taken and finished, the chats resolved; answers how
    many calls were rung this wave and the most calls any one agent had."""
    async with kefu.db.transaction() as session:
        worst = await session.scalar(
            sa.select(sa.func.max(sa.literal_column("n"))).select_from(
                sa.select(sa.func.count().label("n"))
                .select_from(AgentPhone)
                .where(AgentPhone.workspace_id == workspace_id, AgentPhone.call_id.is_not(None))
                .group_by(AgentPhone.user_id)
                .subquery()
            )
        )
        double = await session.scalar(
            sa.select(sa.func.count()).select_from(
                sa.select(Call.ringing_agent_id)
                .where(Call.workspace_id == workspace_id, Call.status == "ringing")
                .group_by(Call.ringing_agent_id)
                .having(sa.func.count() > 1)
                .subquery()
            )
        )
        rung = (
            await session.execute(
                sa.update(Call)
                .where(Call.workspace_id == workspace_id, Call.status == "ringing")
                .values(status="ended")
                .execution_options(synchronize_session=False)
            )
        ).rowcount
        await session.execute(
            sa.update(AgentPhone)
            .where(AgentPhone.workspace_id == workspace_id)
            .values(call_id=None)
        )
        await session.execute(
            sa.update(Conversation)
            .where(Conversation.workspace_id == workspace_id, Conversation.status == "open")
            .values(status="resolved", resolved_at=utcnow())
            .execution_options(synchronize_session=False)
        )
    return int(rung or 0), max(int(worst or 0), 2 if double else 0)


async def _waves(
    kefu: Kefu, workspace_id: uuid.UUID, serve: Callable[[], Awaitable[int]]
) -> tuple[int, float, int]:
    served, took, worst = 0, 0.0, 0
    while served < CALLS:
        started = time.perf_counter()
        count = await serve()
        took += time.perf_counter() - started
        if count == 0:
            break
        _, most = await _handle_wave(kefu, workspace_id)
        served += count
        worst = max(worst, most)
    return served, took, worst


async def _queue_served(url: str, seeded: Seeded, kefu: Kefu) -> tuple[float, float, str]:
    await _queue_burst(url, seeded, "voice")
    calls, call_s, worst = await _waves(
        kefu, seeded.workspace_id, lambda: service.serve(kefu, seeded.workspace_id)
    )
    assert calls == CALLS and worst <= 1, (calls, worst)
    await _queue_burst(url, seeded, "web")

    async def chat() -> int:
        events = await assign_waiting(kefu, seeded.workspace_id, utcnow())
        return sum(1 for e in events if e.change == "assigned")

    chats, chat_s, _ = await _waves(kefu, seeded.workspace_id, chat)
    assert chats == CALLS, chats
    call_rate, chat_rate = calls / call_s, chats / chat_s
    line = (
        f"calls: queue of {CALLS} calls served to {AGENTS} agents (voice capacity 1, 10 waves): "
        f"{call_rate:,.0f} assignments/s vs chat routing of the same burst "
        f"{chat_rate:,.0f}/s = {call_rate / chat_rate:.2f}x; no agent with two calls"
    )
    return call_rate, chat_rate, line


async def _arrivals(url: str, seeded: Seeded, kefu: Kefu) -> str:
    """The burst arriving through the real entry points, CONCURRENCY at a time; each wave
    is as many arrivals as agents, then (untimed) the agents are freed."""
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one_call(n: int, took: list[float]) -> bool:
        async with gate:
            started = time.perf_counter()
            result = await service.start_call(
                kefu,
                seeded.voice,
                identity=Identity(kind="phone", value=f"+86139{n:08d}"),
                contact=ContactFacts(phone=f"+86139{n:08d}"),
                source="sip",
                caller_identity=f"sip-{n}",
                room=f"sip-{n}-{uuid.uuid4().hex[:6]}",
            )
            took.append(time.perf_counter() - started)
            return result.call.status == "ringing"

    async def one_chat(n: int, took: list[float]) -> bool:
        async with gate:
            started = time.perf_counter()
            result = await ingest(
                kefu,
                Inbound(
                    inbox_id=seeded.web,
                    identity=Identity(kind="web_visitor", value=f"v{n}"),
                    client_message_id=f"m{n}",
                    body="你好",
                ),
            )
            took.append(time.perf_counter() - started)
            return str(result.status) == "open"

    figures: dict[str, tuple[float, float, int]] = {}
    for name, make in (("calls", one_call), ("chat", one_chat)):
        took: list[float] = []
        wall = 0.0
        rang = 0
        for wave in range(CALLS // AGENTS):
            started = time.perf_counter()
            done = await asyncio.gather(*(make(wave * AGENTS + i, took) for i in range(AGENTS)))
            wall += time.perf_counter() - started
            rang += sum(done)
            _, most = await _handle_wave(kefu, seeded.workspace_id)
            assert most <= 1, most
        took.sort()
        figures[name] = (rang / wall, took[int(len(took) * 0.95)] * 1000, rang)
    (call_rate, call_p95, rang), (chat_rate, chat_p95, opened) = figures["calls"], figures["chat"]
    return (
        f"calls: {CALLS} arriving calls ({CONCURRENCY} at a time, waves of {AGENTS}) via "
        f"start_call: {rang} rang on arrival, {call_rate:,.0f} calls/s, p95 arrival→ringing "
        f"{call_p95:.0f} ms; chat ingest of the same burst: {opened} assigned on arrival, "
        f"{chat_rate:,.0f}/s, p95 {chat_p95:.0f} ms; ratio calls/chat {call_rate / chat_rate:.2f}x "
        f"throughput, {call_p95 / chat_p95:.2f}x p95; no agent with two calls (PostgreSQL)"
    )


async def main() -> list[str]:
    url = await fresh_database(DB_NAME)
    seeded = await _seed(url)
    kefu = build_kefu(
        Settings(
            database_url=url,
            secret_key="bench",
            run_dispatcher=False,
            db_pool_size=CONCURRENCY,
            db_max_overflow=0,
            ingest_batch=1,
        )
    )
    kefu.connectors.register(FakeVoice())
    await kefu.events.plugin._on_startup()
    try:
        lines = [(await _queue_served(url, seeded, kefu))[2]]
        print(lines[-1], flush=True)
        await kefu.db.dispose()
        seeded = await _seed(url)
        lines.append(await _arrivals(url, seeded, kefu))
        print(lines[-1], flush=True)
    finally:
        await kefu.events.plugin._on_shutdown()
        await kefu.db.dispose()
    await drop_database(DB_NAME)
    return lines


if __name__ == "__main__":
    asyncio.run(main())
