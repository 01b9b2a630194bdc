"""Migration 0003 on both engines: an inbox's `bot_enabled` flag becomes a "bot first"
routing rule and its `business_hours` dict a linked calendar; downgrade gives both back."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from kefu.db import migrate
from tests.integration.test_migrations import empty_database  # noqa: F401  (fixture)

REVISION = "0003_bot_first_rules"
HOURS = {
    "timezone": "Asia/Shanghai",
    "weekly": {"mon": [{"start": "09:00", "end": "18:00"}]},
    "special_days": [{"date": "2026-10-01", "name": "国庆节", "hours": []}],
}


async def _run(url: str, statements: list[tuple[str, dict[str, Any]]]) -> None:
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        for sql, params in statements:
            await conn.execute(sa.text(sql), params)
    await engine.dispose()


async def _rows(url: str, sql: str) -> list[Any]:
    engine = create_async_engine(url)
    async with engine.connect() as conn:
        rows = list((await conn.execute(sa.text(sql))).all())
    await engine.dispose()
    return rows


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _hex(value: uuid.UUID, url: str) -> str:
    # sa.Uuid stores 32 hex digits on SQLite and a native uuid on PostgreSQL.
    return value.hex if url.startswith("sqlite") else str(value)


def test_bot_flag_and_business_hours_become_a_rule_and_a_calendar_and_come_back(
    empty_database: str,  # noqa: F811
) -> None:
    url = empty_database
    migrate.upgrade(url, "0001")
    workspace, bot_inbox, hours_inbox = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    now = datetime.now(UTC)
    insert_inbox = (
        "INSERT INTO inboxes (id, workspace_id, kind, name, public_key, config, secrets, active,"
        " created_at) VALUES (:id, :ws, 'web', :name, :key, :config, '{}', true, :now)"
    )
    asyncio.run(
        _run(
            url,
            [
                (
                    "INSERT INTO workspaces (id, slug, name, settings, created_at)"
                    " VALUES (:id, 'w', 'W', '{}', :now)",
                    {"id": _hex(workspace, url), "now": now},
                ),
                (
                    insert_inbox,
                    {
                        "id": _hex(bot_inbox, url),
                        "ws": _hex(workspace, url),
                        "name": "Shop",
                        "key": "k1",
                        "config": json.dumps({"bot_enabled": True, "title": "Hi"}),
                        "now": now,
                    },
                ),
                (
                    insert_inbox,
                    {
                        "id": _hex(hours_inbox, url),
                        "ws": _hex(workspace, url),
                        "name": "Help",
                        "key": "k2",
                        "config": json.dumps({"business_hours": HOURS}),
                        "now": now,
                    },
                ),
            ],
        )
    )
    migrate.upgrade(url, REVISION)

    rules = asyncio.run(_rows(url, "SELECT name, priority, conditions, target FROM routing_rules"))
    assert [(r[0], r[1], _json(r[2]), _json(r[3])) for r in rules] == [
        (
            "Bot first",
            1000,
            [{"field": "inbox", "op": "equals", "value": str(bot_inbox)}],
            {"kind": "bot"},
        )
    ]
    configs = {
        r[0]: _json(r[1]) for r in asyncio.run(_rows(url, "SELECT public_key, config FROM inboxes"))
    }
    assert configs["k1"] == {"title": "Hi"}
    (calendar,) = asyncio.run(
        _rows(url, "SELECT id, name, timezone, weekly, special_days FROM business_calendars")
    )
    assert configs["k2"] == {"calendar_id": str(uuid.UUID(str(calendar[0])))}
    assert (calendar[1], calendar[2], _json(calendar[3]), _json(calendar[4])) == (
        "Help hours",
        HOURS["timezone"],
        HOURS["weekly"],
        HOURS["special_days"],
    )

    migrate.downgrade(url, "0001")
    configs = {
        r[0]: _json(r[1]) for r in asyncio.run(_rows(url, "SELECT public_key, config FROM inboxes"))
    }
    assert configs == {"k1": {"title": "Hi", "bot_enabled": True}, "k2": {"business_hours": HOURS}}
    assert asyncio.run(_rows(url, "SELECT id FROM routing_rules")) == []
