"""Sign-in throttle (issue 12): 200 wrong passwords used to be answered 200 times and
then the right one worked, each try costing ~0.7 s of argon2 for anyone. Now a few
failures per account and per client IP are free, then the wait doubles up to a cap,
shared by every process through the database or Redis, decided before any hashing."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any, Literal

import httpx
import pytest
from argon2 import PasswordHasher

import kefu.people.auth as auth
from kefu.app import build_kefu, create_app
from kefu.context import Kefu
from kefu.demo import seed
from kefu.model import utcnow
from kefu.people import throttle
from kefu.settings import Settings
from tests.conftest import PASSWORD, make_settings

REDIS_URL = "redis://127.0.0.1:6379/0"


class CountingHasher(PasswordHasher):
    """The cheap test hasher, counting every password check."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.verifies = 0

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        self.verifies += 1
        return super().verify(hash, password)


@pytest.fixture
def hasher(monkeypatch: pytest.MonkeyPatch) -> CountingHasher:
    counting = CountingHasher()
    monkeypatch.setattr(auth, "_hasher", counting)
    return counting


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[Kefu]:
    kefu = build_kefu(settings)
    store = throttle.store_for(kefu)
    if isinstance(store, throttle.RedisStore) and store.url == REDIS_URL:
        # Redis outlives the per-test database: start from a clean namespace.
        from redis.asyncio import Redis

        async with Redis.from_url(store.url) as redis:
            stale = [key async for key in redis.scan_iter(match=store.prefix + "*")]
            if stale:
                await redis.delete(*stale)
    await kefu.events.plugin._on_startup()
    try:
        yield kefu
    finally:
        await kefu.drain()
        await kefu.events.plugin._on_shutdown()
        await kefu.db.dispose()


@asynccontextmanager
async def client_of(kefu: Kefu, ip: str = "127.0.0.1") -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(kefu=kefu), client=(ip, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


def throttled_settings(database_url: str, store: str, **overrides: Any) -> Settings:
    # A lock of ten minutes cannot lapse while the test runs: no timing luck involved.
    values: dict[str, Any] = {"login_backoff_seconds": 600.0, **overrides}
    if store == "redis":
        values["redis_url"] = REDIS_URL
    return make_settings(database_url, **values)


async def sign_in(
    client: httpx.AsyncClient, email: str, password: str, **headers: str
) -> httpx.Response:
    return await client.post(
        "/api/v1/auth/login", json={"email": email, "password": password}, headers=headers
    )


@pytest.mark.parametrize("store", ["database", "redis"])
async def test_200_wrong_passwords_across_two_processes_are_throttled_without_hashing(
    database_url: str, store: str, hasher: CountingHasher
) -> None:
    settings = throttled_settings(database_url, store)
    async with running(settings) as one, running(settings) as two:
        assert type(throttle.store_for(one)).__name__ == (
            "RedisStore" if store == "redis" else "DatabaseStore"
        )
        demo = await seed(one, slug=f"acme{uuid.uuid4().hex[:6]}", password=PASSWORD)
        email = next(x.email for x in demo.logins if x.email.startswith("admin@"))
        async with client_of(one) as a, client_of(two) as b:
            statuses: list[int] = []
            for attempt in range(200):
                client = a if attempt % 2 == 0 else b
                response = await sign_in(client, email, f"wrong-{attempt}")
                statuses.append(response.status_code)
            assert statuses[:5] == [401] * 5
            assert statuses[5:] == [429] * 195
            # Only the five admitted attempts were hashed; the 195 refused cost nothing.
            assert hasher.verifies == 5

            right = await sign_in(a, email, PASSWORD)
            assert right.status_code == 429, "the right password must wait like any other"
            other_process = await sign_in(b, email, PASSWORD, **{"Accept-Language": "zh-CN"})
            assert other_process.status_code == 429
            assert hasher.verifies == 5
            retry_after = int(right.headers["retry-after"])
            assert 0 < retry_after <= 600
            assert right.headers["content-type"].startswith("application/problem+json")
            assert right.json()["detail"] == (
                f"Too many sign-in attempts; try again in {retry_after} seconds."
            )
            assert "登录尝试次数过多" in other_process.json()["detail"]


@pytest.mark.parametrize("store", ["database", "redis"])
async def test_guesses_sent_all_at_once_do_not_slip_past_the_check_together(
    database_url: str, store: str, hasher: CountingHasher
) -> None:
    """Each attempt is counted when admitted, before its password is checked: 60 guesses
    in flight at once on two processes still get only the five free checks."""
    settings = throttled_settings(database_url, store)
    async with running(settings) as one, running(settings) as two:
        demo = await seed(one, slug=f"acme{uuid.uuid4().hex[:6]}", password=PASSWORD)
        email = next(x.email for x in demo.logins if x.email.startswith("admin@"))
        async with client_of(one) as a, client_of(two) as b:
            responses = await asyncio.gather(
                *(sign_in(a if i % 2 else b, email, f"guess-{i}") for i in range(60))
            )
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [401] * 5 + [429] * 55
        assert hasher.verifies == 5


@pytest.mark.parametrize("store", ["database", "redis"])
async def test_a_correct_password_resets_the_account_but_not_the_ip(
    database_url: str, store: str, hasher: CountingHasher
) -> None:
    settings = throttled_settings(database_url, store, login_ip_free_failures=7)
    async with running(settings) as kefu:
        demo = await seed(kefu, slug=f"acme{uuid.uuid4().hex[:6]}", password=PASSWORD)
        email = next(x.email for x in demo.logins if x.email.startswith("lina@"))
        async with client_of(kefu, ip="198.51.100.7") as client:
            for _ in range(4):
                assert (await sign_in(client, email, "typo-typo")).status_code == 401
            assert (await sign_in(client, email, PASSWORD)).status_code == 200
            # The account starts afresh: four more mistakes are free again ...
            statuses = [(await sign_in(client, email, "typo-typo")).status_code for _ in range(3)]
            # ... but this IP has failed 7 times now (4 + 3; the success was taken back).
            assert statuses == [401, 401, 401]
            assert (await sign_in(client, email, "typo-typo")).status_code == 429
        async with client_of(kefu, ip="198.51.100.8") as elsewhere:
            assert (await sign_in(elsewhere, email, PASSWORD)).status_code == 200


@pytest.mark.parametrize("store", ["database", "redis"])
async def test_one_ip_guessing_many_accounts_is_throttled(
    database_url: str, store: str, hasher: CountingHasher
) -> None:
    settings = throttled_settings(database_url, store, login_ip_free_failures=3)
    async with running(settings) as kefu:
        demo = await seed(kefu, slug=f"acme{uuid.uuid4().hex[:6]}", password=PASSWORD)
        async with client_of(kefu, ip="203.0.113.9") as sprayer:
            statuses = [
                (await sign_in(sprayer, f"nobody{i}@example.com", "guess-guess")).status_code
                for i in range(6)
            ]
            assert statuses == [401, 401, 401, 429, 429, 429]
            assert hasher.verifies == 3
            real = next(x.email for x in demo.logins if x.email.startswith("tom@"))
            assert (await sign_in(sprayer, real, PASSWORD)).status_code == 429
        async with client_of(kefu, ip="203.0.113.10") as colleague:
            assert (await sign_in(colleague, real, PASSWORD)).status_code == 200


async def test_with_redis_down_the_database_keeps_count(
    database_url: str, hasher: CountingHasher
) -> None:
    # Nothing listens on port 1: every Redis call fails to connect.
    settings = throttled_settings(database_url, "database", redis_url="redis://127.0.0.1:1/0")
    settings.fanout = "memory"
    async with running(settings) as kefu:
        assert isinstance(throttle.store_for(kefu), throttle.RedisStore)
        demo = await seed(kefu, slug=f"acme{uuid.uuid4().hex[:6]}", password=PASSWORD)
        email = next(x.email for x in demo.logins if x.email.startswith("lina@"))
        async with client_of(kefu) as client:
            assert (await sign_in(client, email, PASSWORD)).status_code == 200
            statuses = [(await sign_in(client, email, "wrong-wrong")).status_code for _ in range(7)]
        assert statuses == [401] * 5 + [429] * 2


async def test_the_wait_doubles_after_each_failure_and_is_forgotten_later(kefu: Kefu) -> None:
    store = throttle.DatabaseStore(kefu.db, throttle.Policy(base=1.0, cap=4.0, window=3600.0))
    keys = [throttle.Key("account:test", free=2, reset_on_success=True)]
    t0 = utcnow()

    def at(seconds: float) -> datetime:
        return t0 + timedelta(seconds=seconds)

    assert await store.admit(keys, at(0)) == 0  # failure 1: free
    assert await store.admit(keys, at(0)) == 0  # failure 2: now wait 1 s
    assert await store.admit(keys, at(0.5)) == pytest.approx(0.5)
    assert await store.admit(keys, at(1.0)) == 0  # failure 3: wait 2 s
    assert await store.admit(keys, at(2.9)) == pytest.approx(0.1)
    assert await store.admit(keys, at(3.0)) == 0  # failure 4: wait 4 s (the cap)
    assert await store.admit(keys, at(6.9)) == pytest.approx(0.1)
    assert await store.admit(keys, at(7.0)) == 0  # failure 5: still the cap
    assert await store.admit(keys, at(10.9)) == pytest.approx(0.1)
    # An hour after the last failure the count starts again from one.
    assert await store.admit(keys, at(3612.0)) == 0
    assert await store.admit(keys, at(3612.0)) == 0
    assert await store.admit(keys, at(3612.0)) == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("failures", "expected"),
    [(1, 0.0), (4, 0.0), (5, 2.0), (6, 4.0), (7, 8.0), (12, 256.0), (13, 300.0), (10**6, 300.0)],
)
def test_lock_seconds(failures: int, expected: float) -> None:
    assert throttle.lock_seconds(failures, free=5, base=2.0, cap=300.0) == expected


def test_argon2_parameters_come_from_settings() -> None:
    chosen = Settings(
        database_url="sqlite+aiosqlite://",
        argon2_time_cost=2,
        argon2_memory_cost=2048,
        argon2_parallelism=1,
    )
    hashed = auth.hash_password("pass-word-1", chosen)
    assert "m=2048,t=2,p=1" in hashed
    assert auth.verify_password(hashed, "pass-word-1", chosen)
    # Defaults are the library's production values (and the hasher tests may swap).
    defaults = Settings()
    assert (defaults.argon2_time_cost, defaults.argon2_memory_cost) == (3, 65536)
    assert defaults.argon2_parallelism == 4
    assert auth.hasher(defaults) is auth._hasher
