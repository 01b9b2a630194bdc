"""The PostgreSQL databases the benchmarks make for themselves.

Each benchmark creates and drops only its own database (`kefu_bench...`), through the
admin connection in KEFU_BENCH_ADMIN_URL (default: the local server's `postgres`
maintenance database), so a benchmark never connects to, creates or drops another suite's
database, such as the tests' `test`.
"""

from __future__ import annotations

import asyncpg
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from kefu.db.metadata import all_tables
from kefu.settings import load

PREFIX = "kefu_bench"


def admin_url() -> str:
    return load().bench_admin_url


def database_url(name: str) -> str:
    """The SQLAlchemy (asyncpg) URL of database `name` on the admin connection's server."""
    admin = sa.make_url(admin_url())
    return admin.set(drivername="postgresql+asyncpg", database=name).render_as_string(
        hide_password=False
    )


def _checked(name: str) -> str:
    if not name.startswith(PREFIX):
        raise ValueError(f"a benchmark database is named {PREFIX}...; refusing {name!r}")
    return name


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(admin_url())
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def fresh_database(name: str) -> str:
    """Drop and re-create `name`, create kefu's tables in it, and return its URL."""
    await drop_database(name)
    await _admin(f'CREATE DATABASE "{_checked(name)}"')
    url = database_url(name)
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(all_tables().create_all)
    await engine.dispose()
    return url


async def drop_database(name: str) -> None:
    await _admin(f'DROP DATABASE IF EXISTS "{_checked(name)}" WITH (FORCE)')
