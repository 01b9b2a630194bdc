"""Routing configuration is kept per process (kefu.routing.cache): decisions stop
reading rules, calendars and group policies each time, yet a change is seen by the
writing process at once, by another process once it re-reads the counters, and inside
the transaction that made it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager

import msgspec
import pytest
from sqlalchemy import event

from kefu.context import Kefu
from kefu.conversations.ingest import ingest
from kefu.db.tables import Conversation
from kefu.demo import Demo
from kefu.model import Identity, Inbound, utcnow
from kefu.routing.route import decide
from kefu.routing.rules import RoutingFacts, TargetKind
from kefu.routing.tables import RoutingRule
from kefu.settings import Settings
from tests.conftest import running_kefu

pytestmark = pytest.mark.engine_sensitive


@pytest.fixture
async def twin(settings: Settings) -> AsyncIterator[Kefu]:
    """Another process, as far as caching can tell (nothing in memory shared); it
    re-reads the counters on every decision."""
    async with running_kefu(msgspec.structs.replace(settings, cache_check_seconds=0)) as other:
        yield other


@contextmanager
def statements(kefu: Kefu) -> Iterator[list[str]]:
    seen: list[str] = []

    def note(*args: object) -> None:
        seen.append(str(args[2]))

    event.listen(kefu.db.engine.sync_engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(kefu.db.engine.sync_engine, "before_cursor_execute", note)


async def group_of(kefu: Kefu, demo: Demo, visitor: str) -> uuid.UUID | None:
    result = await ingest(
        kefu,
        Inbound(
            inbox_id=demo.inbox_id,
            identity=Identity(kind="web_visitor", value=visitor),
            client_message_id=uuid.uuid4().hex,
            body="hello",
        ),
    )
    async with kefu.db.session() as session:
        found = await session.get(Conversation, result.conversation_id)
        assert found is not None
        return found.group_id


async def add_rule_to(kefu: Kefu, demo: Demo, group: str) -> None:
    async with kefu.db.transaction() as session:
        session.add(
            RoutingRule(
                workspace_id=demo.workspace_id,
                name=f"all to {group}",
                priority=100,
                conditions=[],
                target={"kind": "group", "group_id": str(demo.groups[group])},
            )
        )


async def test_a_decision_reads_no_routing_configuration_once_it_is_kept(
    kefu: Kefu, workspace: Demo
) -> None:
    await group_of(kefu, workspace, "warm")
    with statements(kefu) as seen:
        await group_of(kefu, workspace, "second")
    read = " ".join(seen)
    for table in ("routing_rules", "business_calendars", "skill_groups", "FROM inboxes"):
        assert table not in read, seen


async def test_the_writing_process_sees_a_new_rule_at_once(kefu: Kefu, workspace: Demo) -> None:
    assert await group_of(kefu, workspace, "before") == workspace.groups["presales"]
    await add_rule_to(kefu, workspace, "aftersales")
    assert await group_of(kefu, workspace, "after") == workspace.groups["aftersales"]


async def test_another_process_sees_a_new_rule_when_it_rereads_the_counters(
    kefu: Kefu, twin: Kefu, workspace: Demo
) -> None:
    assert await group_of(twin, workspace, "before") == workspace.groups["presales"]
    await add_rule_to(kefu, workspace, "aftersales")  # written by the first process
    assert await group_of(twin, workspace, "after") == workspace.groups["aftersales"]


async def test_a_rule_written_in_the_open_transaction_decides_in_it(
    kefu: Kefu, workspace: Demo
) -> None:
    facts = RoutingFacts(channel="web", inbox_id=workspace.inbox_id)
    async with kefu.db.transaction() as session:
        before = await decide(session, workspace.workspace_id, workspace.inbox_id, facts, utcnow())
        session.add(
            RoutingRule(
                workspace_id=workspace.workspace_id,
                name="bot first",
                priority=100,
                conditions=[],
                target={"kind": "bot"},
            )
        )
        await session.flush()
        after = await decide(session, workspace.workspace_id, workspace.inbox_id, facts, utcnow())
    assert before.target.kind is TargetKind.group
    assert after.target.kind is TargetKind.bot
