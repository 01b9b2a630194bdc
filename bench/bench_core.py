"""Ingest throughput and ingest-to-agent-socket latency, each next to a baseline measured
in the same run: a bare `websockets` relay carrying messages of the same size. Also the
memory one process needs to hold 10,000 idle agent sockets."""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
import uvicorn
import websockets

from bench.databases import fresh_database
from kefu.app import build_kefu, create_app
from kefu.context import Kefu
from kefu.conversations.ingest import ingest
from kefu.db.metadata import all_tables
from kefu.demo import seed
from kefu.model import Identity, Inbound
from kefu.settings import Settings

BODY = "您好，我想问一下订单 20261122-0042 的物流，什么时候能到？Thanks!"
CONVERSATIONS = 1000
MESSAGES = 10_000
# 1,000 concurrent conversations: each has one message in flight at a time, as a visitor
# or a webhook waits for the answer before sending the next.
CONCURRENCY = CONVERSATIONS
PG_DATABASE = "kefu_bench"


async def _fresh_database(kind: str, workdir: Path) -> str:
    if kind == "postgres":
        return await fresh_database(PG_DATABASE)
    path = workdir / "bench.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    url = f"sqlite+aiosqlite:///{path}"
    engine = sa.ext.asyncio.create_async_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(all_tables().create_all)
    await engine.dispose()
    return url


async def _bounded(n: int, concurrency: int, fn: Callable[[int], Awaitable[Any]]) -> None:
    counter = iter(range(n))

    async def worker() -> None:
        for i in counter:
            await fn(i)

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def relay_baseline(messages: int) -> float:
    """msgs/s through a bare websockets relay: producer -> server -> consumer."""
    consumers: set[Any] = set()
    done = asyncio.Event()
    received = 0

    async def handler(socket: Any) -> None:
        if socket.request.path == "/consume":
            consumers.add(socket)
            await socket.wait_closed()
            return
        async for frame in socket:
            for consumer in list(consumers):
                await consumer.send(frame)

    async with websockets.serve(handler, "127.0.0.1", 0) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        async with websockets.connect(f"ws://127.0.0.1:{port}/consume") as consumer:
            while not consumers:
                await asyncio.sleep(0.01)

            async def consume() -> None:
                nonlocal received
                async for _ in consumer:
                    received += 1
                    if received == messages:
                        done.set()
                        return

            task = asyncio.create_task(consume())
            payload = json.dumps({"conversation_id": str(uuid.uuid4()), "body": BODY})
            started = time.perf_counter()
            async with websockets.connect(f"ws://127.0.0.1:{port}/produce") as producer:
                for _ in range(messages):
                    await producer.send(payload)
                await done.wait()
            elapsed = time.perf_counter() - started
            task.cancel()
    return messages / elapsed


async def ingest_throughput(
    kefu: Kefu,
    inbox_id: uuid.UUID,
    messages: int = MESSAGES,
    tag: str = "m",
    concurrency: int = CONCURRENCY,
) -> float:
    # Open the conversations first so the run measures steady-state messages.
    await _bounded(
        CONVERSATIONS,
        concurrency,
        lambda i: ingest(kefu, _inbound(inbox_id, i, f"open-{i}")),
    )
    started = time.perf_counter()
    await _bounded(
        messages,
        concurrency,
        lambda i: ingest(kefu, _inbound(inbox_id, i % CONVERSATIONS, f"{tag}-{i}")),
    )
    return messages / (time.perf_counter() - started)


def _inbound(inbox_id: uuid.UUID, visitor: int, msgid: str) -> Inbound:
    return Inbound(
        inbox_id=inbox_id,
        identity=Identity("web_visitor", f"bench-{visitor}"),
        channel_message_id=msgid,
        body=BODY,
    )


async def socket_latency(
    kefu: Kefu, inbox_id: uuid.UUID, base_url: str, token: str, rate: int, seconds: float
) -> tuple[float, float]:
    """p50/p99 ms from calling ingest() to the event arriving on an agent socket, at a
    steady offered rate."""
    sent: dict[str, float] = {}
    latencies: list[float] = []
    total = int(rate * seconds)
    ws_url = base_url.replace("http", "ws") + "/ws/agent"
    async with websockets.connect(
        ws_url, additional_headers={"Authorization": f"Bearer {token}"}, max_queue=None
    ) as socket:
        await socket.recv()  # hello
        finished = asyncio.Event()

        async def listen() -> None:
            async for raw in socket:
                event = json.loads(raw)
                if event.get("type") == "message" and event["message"]:
                    key = event["message"]["body"]
                    if key in sent:
                        latencies.append((time.perf_counter() - sent.pop(key)) * 1000)
                        if len(latencies) == total:
                            finished.set()
                            return

        listener = asyncio.create_task(listen())
        # A bound on ingests in flight, as a server has (each holds a request). Queueing
        # still counts: latency is taken before the gate.
        gate = asyncio.Semaphore(256)

        async def limited(kefu: Kefu, inbound: Inbound) -> None:
            async with gate:
                await ingest(kefu, inbound)

        interval = 1 / rate
        start = time.perf_counter()
        pending: set[asyncio.Task[Any]] = set()
        for i in range(total):
            target = start + i * interval
            delay = target - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            body = f"{BODY} #{rate}-{i}"
            sent[body] = time.perf_counter()
            task = asyncio.create_task(
                limited(
                    kefu,
                    Inbound(
                        inbox_id=inbox_id,
                        # The 1,000 conversations the throughput run opened: messages
                        # of ongoing chats, as in steady state.
                        identity=Identity("web_visitor", f"bench-{i % CONVERSATIONS}"),
                        channel_message_id=f"lat-{rate}-{i}",
                        body=body,
                    ),
                )
            )
            pending.add(task)
            task.add_done_callback(pending.discard)
        try:
            await asyncio.wait_for(finished.wait(), timeout=60)
        except TimeoutError:
            pass
        listener.cancel()
    latencies.sort()
    if not latencies:
        return float("nan"), float("nan")
    return statistics.median(latencies), latencies[
        min(len(latencies) - 1, int(len(latencies) * 0.99))
    ]


async def run_database(kind: str, relay: float, workdir: Path) -> str:
    url = await _fresh_database(kind, workdir)
    settings = Settings(
        database_url=url, secret_key="bench", run_dispatcher=False, demo_password="bench-pass-1"
    )
    kefu = build_kefu(settings)
    app = create_app(kefu=kefu)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", ws="websockets-sansio")
    )
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.05)
    base_url = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    try:
        demo = await seed(kefu, slug="bench", password="bench-pass-1")
        # The same path with group commit off, a baseline of one transaction per message
        # (fewer messages: it is slow; as many in flight as the connection pool serves,
        # since a thousand callers queueing for 40 connections time out).
        batch, kefu.settings.ingest_batch = kefu.settings.ingest_batch, 1
        alone = await ingest_throughput(
            kefu, demo.inbox_id, messages=2000, tag="alone", concurrency=64
        )
        kefu.settings.ingest_batch = batch
        rate = await ingest_throughput(kefu, demo.inbox_id)
        async with httpx.AsyncClient(base_url=base_url) as http:
            token = (
                await http.post(
                    "/api/v1/auth/login",
                    json={"email": "admin@bench.kefu", "password": "bench-pass-1"},
                )
            ).json()["token"]
        p50, p99 = await socket_latency(kefu, demo.inbox_id, base_url, token, rate=500, seconds=6)
        # At 500 msgs/s offered a slower ingest measures its queue; at half of what it
        # sustains, the same path shows its own latency.
        easy = max(10, int(rate / 2))
        e50, e99 = await socket_latency(kefu, demo.inbox_id, base_url, token, rate=easy, seconds=6)
    finally:
        server.should_exit = True
        await serving
    name = "postgres" if kind == "postgres" else "sqlite"
    # A component figure: ingest() called inside the server process, not the real path
    # (which bench_e2e measures from outside, through HTTP and websockets).
    return (
        f"component (in-process ingest(), not end to end): ingest {name}: {rate:,.0f} msgs/s, relay {relay:,.0f} msgs/s, "
        f"ratio {rate / relay:.2f}, p50 {p50:.1f} ms, p99 {p99:.1f} ms\n"
        f"ingest {name} with group commit off (a transaction per message): "
        f"{alone:,.0f} msgs/s; group commit is {rate / alone:.1f}x that\n"
        f"latency {name} at {easy} msgs/s offered (half the sustained rate): "
        f"p50 {e50:.1f} ms, p99 {e99:.1f} ms"
    )


async def idle_socket_memory(count: int = 10_000) -> str:
    """RSS growth of a `kefu serve` process holding `count` idle agent sockets."""
    from tests.servers import KefuProcess

    workdir = Path("var/bench")
    url = await _fresh_database("sqlite", workdir)
    settings = Settings(database_url=url, secret_key="bench", demo_password="bench-pass-1")
    kefu = build_kefu(settings)
    await seed(kefu, slug="bench", password="bench-pass-1")
    await kefu.db.dispose()
    process = await asyncio.to_thread(KefuProcess, settings)
    try:
        async with httpx.AsyncClient(base_url=process.url) as http:
            token = (
                await http.post(
                    "/api/v1/auth/login",
                    json={"email": "admin@bench.kefu", "password": "bench-pass-1"},
                )
            ).json()["token"]

        def rss() -> int:
            return (
                int(
                    Path(f"/proc/{process.proc.pid}/status")
                    .read_text()
                    .split("VmRSS:")[1]
                    .split()[0]
                )
                * 1024
            )

        before = rss()
        ws_url = process.url.replace("http", "ws") + f"/ws/agent?token={token}"
        sockets = []
        for start in range(0, count, 250):
            batch = await asyncio.gather(
                *(
                    websockets.connect(ws_url, open_timeout=60)
                    for _ in range(min(250, count - start))
                )
            )
            sockets.extend(batch)
        await asyncio.sleep(2)
        after = rss()
        for socket in sockets:
            await socket.close()
    finally:
        process.stop()
    per = (after - before) / count
    return f"idle agent sockets: {count:,} held, RSS {before / 2**20:.0f} MiB -> {after / 2**20:.0f} MiB ({per / 1024:.1f} KiB per socket)"


async def main() -> list[str]:
    workdir = Path("var/bench")
    workdir.mkdir(parents=True, exist_ok=True)
    relay = await relay_baseline(MESSAGES)
    lines = []
    for kind in ("sqlite", "postgres"):
        line = await run_database(kind, relay, workdir)
        print(line, flush=True)
        lines.append(line)
    line = await idle_socket_memory(int(os.environ.get("KEFU_BENCH_SOCKETS", "10000")))
    print(line, flush=True)
    lines.append(line)
    return lines


if __name__ == "__main__":
    asyncio.run(main())
