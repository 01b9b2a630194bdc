"""`Kefu`: the running core every service function receives (database, settings,
event bus, connectors), built once by `create_app` or by a test fixture."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from kefu.connectors.base import Registry
from kefu.db.engine import Database
from kefu.outbound import OutboundClient
from kefu.ratelimit import Buckets, Limiter, parse_limits
from kefu.realtime.bus import EventBus
from kefu.settings import Settings

if TYPE_CHECKING:
    from kefu.channel_state.inboxes import InboxCache
    from kefu.conversations.group_commit import GroupCommit
    from kefu.conversations.messages import IngestResult, Stored
    from kefu.knowledge.index import IndexState
    from kefu.model import Inbound
    from kefu.people.throttle import Store as LoginThrottle

AfterIngest = Callable[["Kefu", "IngestResult"], Awaitable[None]]


class Kefu:
    # A plain class, not a dataclass: Litestar inspects dataclass fields of injected
    # values, and these (an engine, a plugin) are not data.
    def __init__(
        self, settings: Settings, db: Database, events: EventBus, connectors: Registry
    ) -> None:
        self.settings = settings
        self.db = db
        self.events = events
        self.connectors = connectors
        # Every request the server makes on its own goes through this one client.
        self.outbound = OutboundClient(settings)
        # Run after an inbound message is committed and published (the bot, notifications).
        self.after_ingest: list[AfterIngest] = []
        # Wakes the outbox dispatcher at once instead of at its next poll.
        self.outbox_wakeup = asyncio.Event()
        # The public endpoints' limits (KEFU_RATE_LIMITS; tests tighten them) and the
        # buckets they fill.
        self.rate_limits = parse_limits(settings.rate_limits)
        self.buckets = Buckets()
        # The store the limits are counted in, shared by the processes (`kefu.ratelimit`).
        self.limiter: Limiter | None = None
        # Inbound messages stored together, made on first use (`conversations.batch`).
        self.group_commit: GroupCommit[Inbound, Stored] | None = None
        # Senders whose messages this process stored (inbox, identity): a hint for
        # which path a message takes (`conversations.batch.seen`).
        self.ingest_senders: dict[tuple[uuid.UUID, str, str], None] = {}
        # State made on first use by the domain that owns it.
        self.knowledge_index: IndexState | None = None  # knowledge.index
        self.login_throttle: LoginThrottle | None = None  # people.throttle
        self.inbox_cache: InboxCache | None = None  # channel_state.inboxes
        # One bot turn at a time per conversation (knowledge.bot).
        self.bot_locks: dict[uuid.UUID, asyncio.Lock] = {}
        # Console sockets open per agent in this process, and the grace timers that take
        # an agent offline when their last one closed (routing.presence).
        self.agent_sockets: dict[uuid.UUID, int] = {}
        self.presence_timers: dict[uuid.UUID, asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, coro: Awaitable[None]) -> None:
        """Run work after a response without losing the task to the garbage collector."""

        async def run() -> None:
            await coro

        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self, within: float | None = None) -> None:
        """Wait for spawned work (tests, shutdown); with `within`, what is still running
        after that many seconds is cancelled (a bounded shutdown). Presence grace timers
        still running are dropped: their agents are still inside the reload window."""
        for timer in list(self.presence_timers.values()):
            timer.cancel()
        if within is None:
            while self._tasks:
                await asyncio.gather(*list(self._tasks), return_exceptions=True)
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while self._tasks and loop.time() < deadline:
            await asyncio.wait(list(self._tasks), timeout=deadline - loop.time())
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
