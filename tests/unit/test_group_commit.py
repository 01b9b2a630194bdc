"""The group-commit queue on its own: what it batches, what it hands back."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from kefu.conversations.group_commit import GroupCommit


class Recorder:
    def __init__(self, *, decline: set[int] | None = None, fail: bool = False) -> None:
        self.batches: list[list[int]] = []
        self.decline = decline or set()
        self.fail = fail

    async def __call__(self, items: Sequence[int]) -> list[str | None]:
        self.batches.append(list(items))
        await asyncio.sleep(0.01)  # a commit takes time; more work queues meanwhile
        if self.fail:
            raise RuntimeError("unique violation")
        return [None if i in self.decline else f"stored {i}" for i in items]


async def test_a_lone_item_is_stored_at_once_in_a_batch_of_one() -> None:
    store = Recorder()
    group: GroupCommit[int, str] = GroupCommit(store, batch=10, workers=2)
    assert await group.submit(7) == "stored 7"
    assert store.batches == [[7]]


async def test_items_arriving_together_are_stored_together_in_order_up_to_the_batch_size() -> None:
    store = Recorder()
    group: GroupCommit[int, str] = GroupCommit(store, batch=10, workers=1)
    results = await asyncio.gather(*(group.submit(i) for i in range(25)))
    assert results == [f"stored {i}" for i in range(25)]
    assert [len(b) for b in store.batches] == [10, 10, 5]
    assert [i for b in store.batches for i in b] == list(range(25))


async def test_declined_items_come_back_as_none_and_a_failed_batch_declines_all() -> None:
    group: GroupCommit[int, str] = GroupCommit(Recorder(decline={1, 3}), batch=10, workers=1)
    assert await asyncio.gather(*(group.submit(i) for i in range(4))) == [
        "stored 0",
        None,
        "stored 2",
        None,
    ]
    failing: GroupCommit[int, str] = GroupCommit(Recorder(fail=True), batch=10, workers=1)
    assert await asyncio.gather(*(failing.submit(i) for i in range(3))) == [None, None, None]


async def test_a_caller_that_gave_up_before_its_batch_started_is_not_stored() -> None:
    store = Recorder()
    group: GroupCommit[int, str] = GroupCommit(store, batch=1, workers=1)
    first = asyncio.create_task(group.submit(1))
    second = asyncio.create_task(group.submit(2))
    await asyncio.sleep(0)  # both queued; the worker is storing 1
    second.cancel()
    assert await first == "stored 1"
    with pytest.raises(asyncio.CancelledError):
        await second
    await asyncio.sleep(0.05)
    assert store.batches == [[1]]


async def test_one_worker_serves_light_load_and_more_start_when_a_backlog_builds() -> None:
    in_flight = peak = 0

    async def store(items: Sequence[int]) -> list[str]:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.01)
        in_flight -= 1
        return [str(i) for i in items]

    group: GroupCommit[int, str] = GroupCommit(store, batch=8, workers=3)
    await asyncio.gather(*(group.submit(i) for i in range(1)))
    await asyncio.gather(*(group.submit(i) for i in range(2)))
    assert peak == 1  # below a quarter batch waiting: one worker
    assert len(await asyncio.gather(*(group.submit(i) for i in range(40)))) == 40
    assert peak == 3  # a backlog: every worker busy at once


def test_the_bulk_message_row_has_exactly_the_message_tables_columns() -> None:
    import msgspec

    from kefu.db.tables import Message, NewMessage

    fields = {f.name for f in msgspec.structs.fields(NewMessage)}
    assert fields == set(Message.__table__.columns.keys())
