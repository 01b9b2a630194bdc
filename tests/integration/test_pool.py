"""The connection pool is bounded by settings (issue 12 item 2): with the defaults four
processes fit a default PostgreSQL, and a request that cannot get a connection within
KEFU_DB_POOL_TIMEOUT answers 503 with Retry-After instead of a 500.

Found as: the pool was fixed at 20 + 20 per process; 80 requests in flight on two
processes met "too many clients" (max_connections 100) as 500s."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa

from kefu.app import create_app
from kefu.demo import seed
from kefu.settings import Settings, load
from tests.conftest import (
    PASSWORD,
    _truncate,
    asgi_client,
    login_headers,
    make_settings,
    running_kefu,
)

pytestmark = pytest.mark.postgres


@pytest.fixture
def database_url(pg_database: str) -> str:
    asyncio.run(_truncate(pg_database))
    return pg_database


def test_four_processes_at_the_defaults_fit_a_default_postgresql() -> None:
    settings = Settings()
    per_process = settings.db_pool_size + settings.db_max_overflow
    # max_connections 100, 3 reserved for superusers; one LISTEN connection per process
    # (NOTIFY fan-out) and a few for migrations and psql.
    assert 4 * (per_process + 1) <= 100 - 3 - 5
    env = load(
        {"KEFU_DB_POOL_SIZE": "3", "KEFU_DB_MAX_OVERFLOW": "2", "KEFU_DB_POOL_TIMEOUT": "1.5"}
    )
    assert (env.db_pool_size, env.db_max_overflow, env.db_pool_timeout) == (3, 2, 1.5)


async def test_an_exhausted_pool_answers_503_with_retry_after(database_url: str) -> None:
    settings = make_settings(database_url, db_pool_size=1, db_max_overflow=0, db_pool_timeout=0.3)
    async with running_kefu(settings) as kefu:
        pool = kefu.db.engine.pool
        assert (pool.size(), pool._max_overflow, pool._timeout) == (1, 0, 0.3)  # type: ignore[attr-defined]
        demo = await seed(kefu, slug="pool", password=PASSWORD)
        app = create_app(kefu=kefu)
        async with asgi_client(app) as client:
            admin = next(x.email for x in demo.logins if x.email.startswith("admin@"))
            headers = await login_headers(client, admin)
            async with kefu.db.engine.connect() as held:  # the one connection, busy
                await held.execute(sa.text("SELECT 1"))
                for lang, words in (("en", "busy"), ("zh-CN", "繁忙")):
                    busy = await client.get(
                        "/api/v1/conversations", headers={**headers, "Accept-Language": lang}
                    )
                    assert busy.status_code == 503, busy.text
                    assert busy.headers["retry-after"] == "2"
                    assert words in busy.json()["detail"]
            # Free again: served.
            assert (await client.get("/api/v1/conversations", headers=headers)).status_code == 200
