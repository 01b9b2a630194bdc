"""`make bench` makes and drops only its own databases, through the admin connection
named by KEFU_BENCH_ADMIN_URL."""

from __future__ import annotations

import asyncpg
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from bench import databases
from tests.conftest import PG_ADMIN_DSN

NAME = "kefu_bench_selftest"


@pytest.fixture
def admin(monkeypatch: pytest.MonkeyPatch) -> str:
    # The tests' own server, through its maintenance database as `make bench` would.
    url = PG_ADMIN_DSN.rsplit("/", 1)[0] + "/postgres"
    monkeypatch.setenv("KEFU_BENCH_ADMIN_URL", url)
    monkeypatch.setenv("KEFU_SECRET_KEY", "bench-test")
    return url


def test_the_admin_connection_defaults_to_the_maintenance_database(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("KEFU_BENCH_ADMIN_URL", raising=False)
    monkeypatch.setenv("KEFU_SECRET_KEY", "bench-test")
    assert databases.admin_url() == "postgresql://postgres@127.0.0.1:5432/postgres"
    assert databases.database_url("kefu_bench") == (
        "postgresql+asyncpg://postgres@127.0.0.1:5432/kefu_bench"
    )


def test_bench_databases_live_on_the_admin_connections_server(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KEFU_BENCH_ADMIN_URL", "postgresql://bench:pw@db.internal:6543/postgres")
    monkeypatch.setenv("KEFU_SECRET_KEY", "bench-test")
    assert databases.database_url("kefu_bench_routing") == (
        "postgresql+asyncpg://bench:pw@db.internal:6543/kefu_bench_routing"
    )


async def test_only_kefu_bench_databases_are_created_or_dropped(admin: str) -> None:
    with pytest.raises(ValueError, match="refusing 'test'"):
        await databases.drop_database("test")
    with pytest.raises(ValueError, match="refusing 'kefu_test_1'"):
        await databases.fresh_database("kefu_test_1")


async def test_fresh_database_has_kefu_tables_and_drop_removes_it(admin: str) -> None:
    try:
        url = await databases.fresh_database(NAME)
    except OSError as exc:
        pytest.fail(f"PostgreSQL is not reachable at {admin}: {exc}")
    try:
        engine = create_async_engine(url)
        async with engine.connect() as conn:
            count = await conn.scalar(sa.text("SELECT count(*) FROM conversations"))
        await engine.dispose()
        assert count == 0
    finally:
        await databases.drop_database(NAME)
    conn = await asyncpg.connect(admin)
    try:
        assert await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", NAME) is None
    finally:
        await conn.close()
