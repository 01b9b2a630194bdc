"""What the shared rate limiter costs on the widget message path.

One app on PostgreSQL, visitors posting `POST /api/v1/widget/messages` over the ASGI
interface (no sockets, so the server path is what is timed), concurrency 16. The same
run alternates the limiter's store — off, Redis, the database — round by round, so
the machine's drift hits each alike; the limits are set high enough that nothing is
refused, so every request pays for a take and nothing else changes. Reported: requests
per second per store and the ratio to "off"."""

from __future__ import annotations

import asyncio
import logging
import statistics
import time
import uuid
from typing import Any

import httpx

from bench.databases import drop_database, fresh_database
from kefu.app import build_kefu, create_app
from kefu.demo import seed
from kefu.ratelimit import RateLimits, Rule
from kefu.settings import Settings

REDIS = "redis://127.0.0.1:6379/0"
STORES = ("off", "redis", "database")
ROUNDS = 4
SECONDS = 3.0
CONCURRENCY = 16
VISITORS = 64
WIDE = Rule(burst=10**9, per_second=10**6)


async def _round(client: httpx.AsyncClient, tokens: list[str], seconds: float) -> float:
    done = 0
    stop = time.monotonic() + seconds

    async def worker(n: int) -> None:
        nonlocal done
        while time.monotonic() < stop:
            token = tokens[(n + done) % len(tokens)]
            response = await client.post(
                "/api/v1/widget/messages",
                json={"client_id": "b" + uuid.uuid4().hex[:20], "body": "多少钱？"},
                headers={"Authorization": f"Bearer {token}"},
            )
            if response.status_code != 200:
                raise RuntimeError(f"{response.status_code}: {response.text[:200]}")
            done += 1

    started = time.monotonic()
    await asyncio.gather(*(worker(n) for n in range(CONCURRENCY)))
    return done / (time.monotonic() - started)


async def main() -> list[str]:
    logging.getLogger("httpx").setLevel(logging.WARNING)
    name = "kefu_bench_ratelimit"
    url = await fresh_database(name)
    settings = Settings(
        database_url=url,
        secret_key="bench-" + uuid.uuid4().hex,
        redis_url=REDIS,
        fanout="memory",
        run_dispatcher=False,
    )
    kefu = build_kefu(settings)
    await kefu.events.plugin._on_startup()
    lines: list[str] = []
    try:
        demo = await seed(kefu, slug="bench", password="bench-pass-2026")
        kefu.rate_limits = RateLimits(
            message_per_visitor=WIDE, message_per_ip=WIDE, session_per_ip=WIDE
        )
        app = create_app(kefu=kefu)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            tokens = []
            for _ in range(VISITORS):
                made = await client.post("/api/v1/widget/sessions", json={"inbox": demo.widget_key})
                tokens.append(made.json()["token"])
            await _round(client, tokens, 1.0)  # warm-up
            rates: dict[str, list[float]] = {store: [] for store in STORES}
            for _ in range(ROUNDS):
                for store in STORES:
                    if kefu.limiter is not None:
                        await kefu.limiter.aclose()
                    kefu.limiter = None
                    settings.rate_limit_store = store
                    rates[store].append(await _round(client, tokens, SECONDS))
        if kefu.limiter is not None:
            await kefu.limiter.aclose()
        base = statistics.median(rates["off"])
        lines.append(
            f"Widget message path, shared rate limiter on vs off (PostgreSQL, in-process ASGI,"
            f" {CONCURRENCY} concurrent, {ROUNDS} alternated rounds of {SECONDS:.0f} s):"
        )
        lines.append("| limiter store | req/s (median) | rounds | ratio to off |")
        lines.append("|---|---|---|---|")
        for store in STORES:
            median = statistics.median(rates[store])
            each = ", ".join(f"{r:.0f}" for r in rates[store])
            lines.append(f"| {store} | {median:.0f} | {each} | {median / base:.2f} |")
    finally:
        await kefu.drain()
        await kefu.events.plugin._on_shutdown()
        await kefu.db.dispose()
        await drop_database(name)
        await _cleanup(settings)
    for line in lines:
        print(line, flush=True)
    return lines


async def _cleanup(settings: Settings) -> None:
    import hashlib

    from redis.asyncio import Redis

    namespace = hashlib.sha256(settings.database_url.encode()).hexdigest()[:12]
    async with Redis.from_url(REDIS) as redis:
        found: list[Any] = [key async for key in redis.scan_iter(f"kefu:{namespace}:*")]
        if found:
            await redis.delete(*found)


if __name__ == "__main__":
    asyncio.run(main())
