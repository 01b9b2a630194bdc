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
from litestar.static_files import create_static_files_router

from kefu import deps, openapi, problems, secretbox
from kefu.audit.api import ROUTES as AUDIT_ROUTES
from kefu.audit.middleware import audit_middleware
from kefu.calls.api import ROUTES as CALL_ROUTES
from kefu.calls.service import run_call_sweep
from kefu.connectors import api, email, sms, voice, web, wechat
from kefu.connectors.base import Registry
from kefu.contacts.api import ROUTES as CONTACT_ROUTES
from kefu.context import Kefu
from kefu.conversations.api import ROUTES as CONVERSATION_ROUTES
from kefu.conversations.outbox import run_dispatcher
from kefu.db.engine import Database
from kefu.demo_site.page import ROUTES as DEMO_SITE_ROUTES
from kefu.helpcenter.api import ROUTES as HELP_CENTRE_ROUTES
from kefu.inboxes.api import ROUTES as INBOX_ROUTES
from kefu.knowledge import bot as knowledge_bot
from kefu.knowledge import index as knowledge_index
from kefu.knowledge.api import ROUTES as KNOWLEDGE_ROUTES
from kefu.media import MEDIA_ROUTES
from kefu.people.api import ROUTES as PEOPLE_ROUTES
from kefu.quickreplies.api import ROUTES as QUICK_REPLY_ROUTES
from kefu.realtime.bus import EventBus, make_plugin
from kefu.realtime.ws import agent_socket
from kefu.reports.api import ROUTES as REPORT_ROUTES
from kefu.reports.mailing import run_schedule_sweep
from kefu.routing.api import ROUTES as ROUTING_ROUTES
from kefu.routing.timer import run_queue_timer
from kefu.settings import Settings, load
from kefu.tickets.api import ROUTES as TICKET_ROUTES
from kefu.tickets.sweep import run_sla_sweep
from kefu.validation import refuse_unstorable, refuse_unstorable_params
from kefu.visitors.api import ROUTES as VISITOR_ROUTES

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


# Every installed channel: one package under connectors/ with an `install(kefu)`.
CHANNELS = (web, wechat, api, email, sms, voice)


def build_kefu(settings: Settings) -> Kefu:
    """The running core: database, fan-out and every channel's connector."""
    secretbox.use(settings)  # inbox secrets seal and open with settings.secret_key
    kefu = Kefu(
        settings=settings,
        db=Database(
            settings.database_url,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            pool_timeout=settings.db_pool_timeout,
            cache_check_seconds=settings.cache_check_seconds,
        ),
        events=EventBus(make_plugin(settings)),
        connectors=Registry(),
    )
    for channel in CHANNELS:
        channel.install(kefu)
    return kefu


async def stop_within(seconds: float, workers: list[asyncio.Task[None]], kefu: Kefu) -> None:
    """Let background workers finish their round and spawned work end, for at most
    `seconds` together; cancel what is left."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    if workers:
        _, pending = await asyncio.wait(workers, timeout=seconds)
        for task in pending:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
    await kefu.drain(within=max(0.0, deadline - loop.time()))


def create_app(settings: Settings | None = None, *, kefu: Kefu | None = None) -> Litestar:
    settings = settings or (kefu.settings if kefu else load())
    kefu = kefu or build_kefu(settings)
    # The bot answers conversations in `bot` status once their message is committed.
    if knowledge_bot.on_ingest not in kefu.after_ingest:
        kefu.after_ingest.append(knowledge_bot.on_ingest)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        stop = asyncio.Event()
        # Background workers: the outbox dispatcher sends replies; the queue timer acts on
        # deadlines nobody requests (overflow after a group's maximum wait).
        workers = (
            [
                asyncio.create_task(run_dispatcher(kefu, stop)),
                asyncio.create_task(run_queue_timer(kefu, stop, settings.queue_sweep_seconds)),
                # tickets (issue 17): SLA breaches
                asyncio.create_task(run_sla_sweep(kefu, stop, settings.ticket_sla_sweep_seconds)),
                # reports (issue 19): scheduled summaries by e-mail
                asyncio.create_task(
                    run_schedule_sweep(kefu, stop, settings.report_schedule_sweep_seconds)
                ),
                # calls (issue 18): ring timeouts, max waits, IVR silence, wrap-up ends
                asyncio.create_task(run_call_sweep(kefu, stop, settings.call_sweep_seconds)),
            ]
            if settings.run_dispatcher
            else []
        )
        # Channel workers (e-mail's IMAP reader), with the other background work.
        if settings.run_dispatcher:
            workers += [asyncio.create_task(job) for job in kefu.connectors.background(stop)]
        kefu.spawn(knowledge_index.warm_up(kefu))
        try:
            yield
        finally:
            stop.set()
            # Bounded (conc): uvicorn has drained requests for the first half of
            # shutdown_seconds (cli.py); workers and spawned work get the second half,
            # then are cancelled.
            await stop_within(settings.shutdown_seconds / 2, workers, kefu)
            await kefu.connectors.aclose()
            await kefu.outbound.aclose()
            await knowledge_index.close(kefu)
            if kefu.limiter is not None:
                await kefu.limiter.aclose()
            await kefu.db.dispose()

    return Litestar(
        route_handlers=[
            health,
            agent_socket,
            *kefu.connectors.routes(),
            *PEOPLE_ROUTES,
            *INBOX_ROUTES,
            *CONVERSATION_ROUTES,
            *CONTACT_ROUTES,
            *ROUTING_ROUTES,
            *KNOWLEDGE_ROUTES,
            *QUICK_REPLY_ROUTES,
            *REPORT_ROUTES,
            *AUDIT_ROUTES,
            *VISITOR_ROUTES,
            *DEMO_SITE_ROUTES,
            *HELP_CENTRE_ROUTES,
            *TICKET_ROUTES,
            *CALL_ROUTES,
            *MEDIA_ROUTES,
            # The agent console, a single-page app built by `make` from widgets/console.
            create_static_files_router(
                path="/console",
                directories=[STATIC / "console"],
                html_mode=True,
                include_in_schema=False,
            ),
        ],
        dependencies=deps.DEPENDENCIES,
        plugins=[kefu.events.plugin],
        middleware=[audit_middleware],
        guards=[refuse_unstorable_params],
        before_request=refuse_unstorable,
        exception_handlers=problems.HANDLERS,
        lifespan=[lifespan],
        state=State({"kefu": kefu}),
        request_max_body_size=settings.max_body_bytes,
        openapi_config=OpenAPIConfig(
            title="kefu",
            version="1",
            path="/schema",
            render_plugins=[SwaggerRenderPlugin(path="/"), openapi.TrueJson()],
        ),
        debug=settings.debug,
    )
