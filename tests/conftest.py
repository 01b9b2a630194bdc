"""Shared fixtures.

Which backend a test runs on. Every test that takes `database_url` (so `settings`,
`kefu`, `workspace`, `app`, `client`, `live_server`, ...) runs on SQLite. It runs on
PostgreSQL as well when it is marked `@pytest.mark.engine_sensitive` (on the test, its
class, or the module's `pytestmark`): the places where the two engines behave
differently and a SQLite pass proves nothing about production. Mark a test when it
touches

- locking: SELECT ... FOR UPDATE, SKIP LOCKED, the queue and capacity under concurrency;
- races decided by a unique index: dedup of retried webhooks and client ids, token
  refresh, "a taken shortcut is a conflict";
- group commit and batch writes (dialect-specific UPDATE ... FROM and upserts);
- LISTEN/NOTIFY and anything that crosses processes through the database;
- migrations;
- ordering, collation, ILIKE, aggregates and date arithmetic in SQL (the board, the
  queue order, "sort by usage");
- what the database refuses at the edge: NUL bytes, int32 and string-length limits, and
  the bad-input tests that assert "a problem, not a 500, and nothing written".

Plain CRUD and API-shape tests run on SQLite only, and so do the browser tests (the
engine under a browser test is never what it checks). `KEFU_TEST_ALL_BACKENDS=1` runs
every test on both, for when a change is suspected of being engine-sensitive.

Setup cost. The SQLite schema is created once per session into a template file that each
test copies (a copy is ~1 ms, create_all ~120 ms). PostgreSQL gets one database per
pytest process (named by pid, so parallel runs and xdist workers never share one), its
schema created once, and each test empties it with one DELETE per table in a single
round trip (~7 ms; TRUNCATE of every table was 85-155 ms and CREATE DATABASE ... TEMPLATE
plus DROP ~100 ms, measured on this machine). PostgreSQL missing is a failure under
CI=true and a loud skip on a laptop."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import sqlalchemy as sa
from litestar import Litestar

from kefu.app import build_kefu, create_app
from kefu.context import Kefu
from kefu.db.metadata import all_tables
from kefu.demo import Demo, seed
from kefu.settings import Settings
from tests.servers import serve

PG_ADMIN_DSN = os.environ.get("KEFU_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
ALL_BACKENDS = os.environ.get("KEFU_TEST_ALL_BACKENDS", "").lower() in ("1", "true", "yes")
PASSWORD = "correct horse battery"
LOOPBACK_ALLOWED = "127.0.0.0/8,::1"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """SQLite for every test that needs a database; PostgreSQL too when engine-sensitive."""
    if "database_url" not in metafunc.fixturenames:
        return
    definitions = metafunc._arg2fixturedefs.get("database_url", ())
    if not definitions or definitions[-1].func.__module__ != __name__:
        return  # a module brings its own database_url
    both = ALL_BACKENDS or metafunc.definition.get_closest_marker("engine_sensitive") is not None
    backends: list[Any] = ["sqlite"]
    if both:
        backends.append(pytest.param("postgres", marks=pytest.mark.postgres))
    metafunc.parametrize("database_url", backends, indirect=True)


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


async def _create_all(url: str) -> None:
    engine = sa.ext.asyncio.create_async_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(all_tables().create_all)
    await engine.dispose()


def _table_names() -> frozenset[str]:
    return frozenset(all_tables().tables)


# Schemas already built, by database: a module imported after the first test may
# register more tables, and then the schema is brought up to date (create_all skips
# what exists).
_built: dict[str, frozenset[str]] = {}


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A PostgreSQL database of our own for this pytest process, schema created once."""
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
    asyncio.run(_create_all(url))
    _built[url] = _table_names()
    yield url
    _built.pop(url, None)
    asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _truncate(url: str) -> None:
    """Empty every table of a PostgreSQL test database. DELETE, not TRUNCATE: on tables
    this small one DELETE per table in one round trip takes a few milliseconds, where
    TRUNCATE pays for new files per table (no table has a sequence to restart)."""
    if _built.get(url) != _table_names():
        await _create_all(url)
        _built[url] = _table_names()
    tables = [t.name for t in reversed(all_tables().sorted_tables)]
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"), timeout=5)
    try:
        async with conn.transaction():
            # A connection a previous test leaked would block for ever: fail instead.
            await conn.execute("SET LOCAL lock_timeout = '30s'")
            try:
                async with conn.transaction():
                    await conn.execute("; ".join(f'DELETE FROM "{t}"' for t in tables))
            except asyncpg.ForeignKeyViolationError:
                # A reference DELETE's table order cannot satisfy: TRUNCATE clears it.
                await conn.execute("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " CASCADE")
    finally:
        await conn.close()


class _SqliteSchema:
    """SQLite files with the whole schema, built once per set of tables and copied."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.templates: dict[frozenset[str], Path] = {}

    def copy_to(self, path: Path) -> None:
        names = _table_names()
        template = self.templates.get(names)
        if template is None:
            template = self.folder / f"schema-{len(self.templates)}.db"
            asyncio.run(_create_all(f"sqlite+aiosqlite:///{template}"))
            self.templates[names] = template
        shutil.copyfile(template, path)


@pytest.fixture(scope="session")
def _sqlite_schema(tmp_path_factory: pytest.TempPathFactory) -> _SqliteSchema:
    return _SqliteSchema(tmp_path_factory.mktemp("schema"))


@pytest.fixture
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, _sqlite_schema: _SqliteSchema
) -> str:
    if getattr(request, "param", "sqlite") == "sqlite":
        path = tmp_path / "kefu.db"
        _sqlite_schema.copy_to(path)
        return f"sqlite+aiosqlite:///{path}"
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
        # The fake providers (WeChat stand-in, webhook receivers) listen on loopback,
        # which the outbound client refuses by default; SSRF tests use the default.
        "outbound_allow": LOOPBACK_ALLOWED,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, media_dir=str(tmp_path / "media"))


@asynccontextmanager
async def running_kefu(settings: Settings) -> AsyncIterator[Kefu]:
    """What the `kefu` fixture yields, for fixtures that need it in another loop scope."""
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
async def kefu(settings: Settings) -> AsyncIterator[Kefu]:
    async with running_kefu(settings) as kefu:
        yield kefu


@pytest.fixture
async def workspace(kefu: Kefu) -> Demo:
    return await seed(kefu, slug="acme", password=PASSWORD)


@pytest.fixture
async def other_workspace(kefu: Kefu) -> Demo:
    return await seed(kefu, slug="globex", password=PASSWORD)


@pytest.fixture
def app(kefu: Kefu) -> Litestar:
    return create_app(kefu=kefu)


@asynccontextmanager
async def asgi_client(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    """HTTP straight into the app, in the caller's event loop (Litestar's test client
    runs the app on another loop, which asyncpg connections cannot follow). The app's
    lifespan is not run: the `kefu` fixture owns the database and the channels."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as test_client:
        yield test_client


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(app) as test_client:
        yield test_client


@pytest.fixture
async def live_server(app: Litestar) -> AsyncIterator[str]:
    """The app served by uvicorn on a free loopback port, for websockets and browsers."""
    async with serve(app, lifespan="off", ws="websockets-sansio") as url:
        yield url


async def login_headers(
    client: httpx.AsyncClient, email: str, password: str = PASSWORD
) -> dict[str, str]:
    response = await client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    client.cookies.clear()
    return {"Authorization": f"Bearer {response.json()['token']}"}


def login_of(demo: Demo, local: str) -> str:
    return next(login.email for login in demo.logins if login.email.startswith(local + "@"))
