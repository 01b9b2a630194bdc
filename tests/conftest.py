"""Shared fixtures. Tests that take `kefu` (or anything built on it) run twice: on
SQLite and on PostgreSQL. PostgreSQL missing is a failure under CI=true and a loud
skip on a laptop."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import sqlalchemy as sa
import uvicorn
from litestar import Litestar

from kefu.app import build_kefu, create_app
from kefu.context import Kefu
from kefu.db.metadata import all_tables
from kefu.demo import Demo, seed
from kefu.settings import Settings

PG_ADMIN_DSN = os.environ.get("KEFU_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True, scope="session")
def _cheap_password_hashing() -> Iterator[None]:
    """Argon2 is slow on purpose; tests verify the same code with the cheapest parameters."""
    from argon2 import PasswordHasher

    import kefu.people.auth as auth

    original = auth._hasher
    auth._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield
    auth._hasher = original


def _pg_url(name: str) -> str:
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    return f"{base}/{name}"


async def _pg_admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A PostgreSQL database of our own for this pytest run, schema created once."""
    name = f"kefu_test_{os.getpid()}"
    try:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}"'))
        asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError) as exc:
        message = f"PostgreSQL is not reachable at {PG_ADMIN_DSN}: {exc}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip("SKIPPING POSTGRES TESTS: " + message)
    url = _pg_url(name)

    async def create() -> None:
        engine = sa.ext.asyncio.create_async_engine(url)
        async with engine.begin() as conn:
            await conn.run_sync(all_tables().create_all)
        await engine.dispose()

    asyncio.run(create())
    yield url
    asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _truncate(url: str) -> None:
    engine = sa.ext.asyncio.create_async_engine(url)
    names = ", ".join(f'"{t.name}"' for t in all_tables().sorted_tables)
    async with engine.begin() as conn:
        # A connection a previous test leaked would block TRUNCATE for ever: fail instead.
        await conn.execute(sa.text("SET LOCAL lock_timeout = '30s'"))
        await conn.execute(sa.text(f"TRUNCATE {names} CASCADE"))
    await engine.dispose()


async def _create_sqlite(url: str) -> None:
    engine = sa.ext.asyncio.create_async_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(all_tables().create_all)
    await engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path}/kefu.db"
        asyncio.run(_create_sqlite(url))
        return url
    url: str = request.getfixturevalue("pg_database")
    asyncio.run(_truncate(url))
    return url


def make_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "secret_key": "test-secret-" + uuid.uuid4().hex,
        "run_dispatcher": False,
        "outbox_backoff_seconds": 0.0,
        "demo_password": PASSWORD,
        "media_dir": str(Path(database_url.rsplit("/", 1)[-1]).parent / "media"),
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, media_dir=str(tmp_path / "media"))


@pytest.fixture
async def kefu(settings: Settings) -> AsyncIterator[Kefu]:
    kefu = build_kefu(settings)
    # The channels plugin normally starts with the app; tests that use the core
    # without HTTP still publish, so start its backend here.
    await kefu.events.plugin._on_startup()
    try:
        yield kefu
    finally:
        await kefu.drain()
        await kefu.events.plugin._on_shutdown()
        await kefu.db.dispose()


@pytest.fixture
async def workspace(kefu: Kefu) -> Demo:
    return await seed(kefu, slug="acme", password=PASSWORD)


@pytest.fixture
async def other_workspace(kefu: Kefu) -> Demo:
    return await seed(kefu, slug="globex", password=PASSWORD)


@pytest.fixture
def app(kefu: Kefu) -> Litestar:
    return create_app(kefu=kefu)


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    """HTTP straight into the app, in the test's own event loop (Litestar's test client
    runs the app on another loop, which asyncpg connections cannot follow). The app's
    lifespan is not run: the `kefu` fixture owns the database and the channels."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as test_client:
        yield test_client


@pytest.fixture
async def live_server(app: Litestar) -> AsyncIterator[str]:
    """The app served by uvicorn on a free loopback port, for websockets and browsers."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_level="warning", lifespan="off", ws="websockets-sansio"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
        if task.done():
            task.result()
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


async def login_headers(
    client: httpx.AsyncClient, email: str, password: str = PASSWORD
) -> dict[str, str]:
    response = await client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    client.cookies.clear()
    return {"Authorization": f"Bearer {response.json()['token']}"}


def login_of(demo: Demo, local: str) -> str:
    return next(login.email for login in demo.logins if login.email.startswith(local + "@"))
