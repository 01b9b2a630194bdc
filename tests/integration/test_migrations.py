"""The schema changes only through Alembic: revisions go up and down on both engines,
and the tables the code declares are exactly what the revisions build."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

from kefu.db import migrate
from kefu.db.metadata import all_tables
from tests.conftest import _pg_admin, _pg_url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path, pg_database: str) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path}/migrate.db"
    name = pg_database.rsplit("/", 1)[1] + "_mig"
    asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}"'))
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    request.addfinalizer(
        lambda: asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    )
    return _pg_url(name)


async def _inspect(url: str) -> tuple[set[str], list[object]]:
    engine = create_async_engine(url)
    async with engine.connect() as conn:

        def look(sync_conn: sa.Connection) -> tuple[set[str], list[object]]:
            tables = set(sa.inspect(sync_conn).get_table_names()) - {"alembic_version"}
            context = MigrationContext.configure(sync_conn, opts={"compare_type": True})
            return tables, list(compare_metadata(context, all_tables()))

        result = await conn.run_sync(look)
    await engine.dispose()
    return result


def test_migrations_go_up_and_down_and_match_the_models(empty_database: str) -> None:
    migrate.upgrade(empty_database)
    tables, drift = asyncio.run(_inspect(empty_database))
    assert tables == set(all_tables().tables)
    assert drift == [], f"models and migrations differ; add a revision: {drift}"

    migrate.downgrade(empty_database, "base")
    tables, _ = asyncio.run(_inspect(empty_database))
    assert tables == set()

    migrate.upgrade(empty_database)
    tables, _ = asyncio.run(_inspect(empty_database))
    assert tables == set(all_tables().tables)
