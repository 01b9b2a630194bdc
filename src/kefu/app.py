"""`create_app(settings)`: the one place that wires plugins, routers and background work."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import msgspec
import sqlalchemy as sa
from litestar import Litestar, get
from litestar.datastructures import State
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin

from kefu import deps, problems
from kefu.connectors.api_channel import ApiConnector, ApiWebhook
from kefu.connectors.base import Registry
from kefu.contacts.api import ROUTES as CONTACT_ROUTES
from kefu.context import Kefu
from kefu.conversations.api import ROUTES as CONVERSATION_ROUTES
from kefu.conversations.outbox import run_dispatcher
from kefu.db.engine import Database
from kefu.inboxes.api import ROUTES as INBOX_ROUTES
from kefu.people.api import ROUTES as PEOPLE_ROUTES
from kefu.realtime.bus import EventBus, make_plugin
from kefu.realtime.ws import agent_socket
from kefu.settings import Settings, load

log = logging.getLogger("kefu")
STATIC = Path(__file__).parent / "static"


class Health(msgspec.Struct, frozen=True):
    status: str
    database: str


@get("/health", tags=["ops"])
async def health(kefu: Any) -> Health:
    async with kefu.db.session() as session:
        await session.execute(sa.text("SELECT 1"))
    return Health(status="ok", database="ok")


def build_kefu(settings: Settings, connectors: Registry | None = None) -> Kefu:
    plugin = make_plugin(settings)
    if connectors is None:
        connectors = Registry()
        connectors.register(ApiConnector())
    return Kefu(
        settings=settings,
        db=Database(settings.database_url),
        events=EventBus(plugin),
        connectors=connectors,
    )


def create_app(settings: Settings | None = None, *, kefu: Kefu | None = None) -> Litestar:
    settings = settings or (kefu.settings if kefu else load())
    kefu = kefu or build_kefu(settings)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        stop = asyncio.Event()
        dispatcher = (
            asyncio.create_task(run_dispatcher(kefu, stop)) if settings.run_dispatcher else None
        )
        try:
            yield
        finally:
            stop.set()
            if dispatcher is not None:
                await dispatcher
            await kefu.drain()
            await kefu.db.dispose()

    return Litestar(
        route_handlers=[
            health,
            agent_socket,
            ApiWebhook,
            *PEOPLE_ROUTES,
            *INBOX_ROUTES,
            *CONVERSATION_ROUTES,
            *CONTACT_ROUTES,
        ],
        dependencies=deps.DEPENDENCIES,
        plugins=[kefu.events.plugin],
        exception_handlers=problems.HANDLERS,
        lifespan=[lifespan],
        state=State({"kefu": kefu}),
        request_max_body_size=settings.max_body_bytes,
        openapi_config=OpenAPIConfig(
            title="kefu",
            version="1",
            path="/schema",
            render_plugins=[SwaggerRenderPlugin(path="/")],
        ),
        debug=settings.debug,
    )
