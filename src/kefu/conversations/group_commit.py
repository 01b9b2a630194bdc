"""Group commit: work that arrives together is stored in one transaction.

A transaction per inbound message costs a commit (an fsync) and a round trip for each
lookup; under load that, not the work itself, bounds throughput. Callers `submit()` an
item and wait; a few workers take whatever is waiting, up to `batch` items, and store it
in one go. An idle system pays nothing: a lone item is a batch of one, taken at once.

One worker serves light load: every batch has fixed costs (round trips, a commit), so
fewer, fuller batches keep latency low. More workers start only when a backlog builds,
so that one batch's round trips overlap another's work.

The store function may decline any item (answer `None` for it): the caller then stores
that item alone, the slow and general way. A batch that fails as a whole (a unique-index
race, a deadlock) is declined item by item, so one bad item never fails its neighbours.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

StoreBatch = Callable[[Sequence[T]], Awaitable[Sequence[R | None]]]


class GroupCommit(Generic[T, R]):
    def __init__(self, store: StoreBatch[T, R], *, batch: int, workers: int) -> None:
        self._store = store
        self._batch = batch
        self._workers = workers
        self._waiting: deque[tuple[T, asyncio.Future[R | None]]] = deque()
        self._running = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def submit(self, item: T) -> R | None:
        """Store `item` with whatever else is waiting; `None` if the store declined it."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a new event loop (tests): forget the old one's state
            self._loop, self._waiting, self._running = loop, deque(), 0
        future: asyncio.Future[R | None] = loop.create_future()
        self._waiting.append((item, future))
        backlog = len(self._waiting) >= max(1, self._batch // 4)
        if self._running == 0 or (backlog and self._running < self._workers):
            self._running += 1
            task = loop.create_task(self._work())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return await future

    async def _work(self) -> None:
        batch: list[tuple[T, asyncio.Future[R | None]]] = []
        try:
            while self._waiting:
                batch = [
                    self._waiting.popleft() for _ in range(min(self._batch, len(self._waiting)))
                ]
                # A caller that gave up (a closed request) is not stored on its behalf.
                batch = [(item, future) for item, future in batch if not future.done()]
                if not batch:
                    continue
                try:
                    stored: Sequence[R | None] = await self._store([item for item, _ in batch])
                except Exception:
                    log.debug(
                        "group commit of %d items failed; storing each alone",
                        len(batch),
                        exc_info=True,
                    )
                    stored = [None] * len(batch)
                for (_, future), value in zip(batch, stored, strict=True):
                    if not future.done():
                        future.set_result(value)
                batch = []
        finally:
            self._running -= 1
            for _, future in batch:  # cancelled mid-batch: release the callers
                if not future.done():
                    future.cancel()
