"""Alembic environment: the schema changes only through the revisions in versions/.
The database URL comes from kefu's settings (KEFU_DATABASE_URL) unless the caller set one."""

from __future__ import annotations

import asyncio
from typing import Any

import sqlalchemy as sa
from alembic import context
from sqlalchemy.ext.asyncio import create_async_engine

from kefu.db import metadata
from kefu.db.tables import UTCDateTime

config = context.config
target_metadata = metadata.all_tables()


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from kefu.settings import load

    return load().database_url


def _secret_keys() -> tuple[str, list[str]]:
    """The key revisions seal inbox secrets with, and older ones that may still open
    them (KEFU_SECRET_KEY, KEFU_PREVIOUS_SECRET_KEYS): handed to revisions through
    `config.attributes`, so a revision imports nothing of kefu."""
    from kefu.settings import load

    settings = load()
    previous = [k.strip() for k in settings.previous_secret_keys.split(",") if k.strip()]
    return settings.secret_key, previous


if "secret_key" not in config.attributes:
    config.attributes["secret_key"], config.attributes["previous_secret_keys"] = _secret_keys()


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    # Revisions must not import kefu's types: they have to run against any later code.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if type_ == "type" and isinstance(obj, sa.JSON) and obj._variant_mapping:
        return "sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')"
    return False


def _configure(connection: sa.Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        render_item=render_item,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    engine = create_async_engine(_url())
    async with engine.connect() as connection:
        await connection.run_sync(_configure)
        await connection.commit()
    await engine.dispose()


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
    else:
        asyncio.run(_run_async())


if context.is_offline_mode():
    context.configure(
        url=_url(), target_metadata=target_metadata, literal_binds=True, render_item=render_item
    )
    with context.begin_transaction():
        context.run_migrations()
else:
    run()
