"""The supervisor board: queues, agents' load, work in progress and today's service
level, read through the service and through GET /api/v1/reports/board."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from kefu.context import Kefu
from kefu.conversations.actions import Actor, assign, change_status, reply
from kefu.conversations.ingest import ingest
from kefu.db.tables import ConversationEventRow
from kefu.demo import Demo
from kefu.model import ConversationStatus, Identity, Inbound, SenderKind, utcnow
from kefu.reports import metrics
from kefu.reports.service import build_board
from tests.conftest import login_headers, login_of

# Engine-sensitive (aggregates, MIN/COALESCE over timestamps and day boundaries in SQL): SQLite and PostgreSQL.
pytestmark = pytest.mark.engine_sensitive


async def visitor_writes(kefu: Kefu, demo: Demo, visitor: str, body: str = "你好") -> uuid.UUID:
    result = await ingest(
        kefu,
        Inbound(
            inbox_id=demo.inbox_id,
            identity=Identity(kind="web_visitor", value=visitor),
            client_message_id=uuid.uuid4().hex,
            body=body,
        ),
    )
    assert result.conversation_id is not None
    return result.conversation_id


def agent(demo: Demo, local: str) -> Actor:
    login = next(x for x in demo.logins if x.email.startswith(local + "@"))
    return Actor(
        workspace_id=demo.workspace_id, kind=SenderKind.agent, user_id=login.id, name=login.name
    )


async def board_of(kefu: Kefu, demo: Demo, now: datetime | None = None) -> Any:
    async with kefu.db.session() as session:
        return await build_board(session, demo.workspace_id, now or utcnow())


async def test_a_waiting_visitor_shows_in_its_groups_queue(kefu: Kefu, workspace: Demo) -> None:
    await visitor_writes(kefu, workspace, "v-1")
    await visitor_writes(kefu, workspace, "v-2")

    board = await board_of(kefu, workspace, utcnow() + timedelta(seconds=90))

    presales = next(q for q in board.queues if q.group_id == workspace.groups["presales"])
    aftersales = next(q for q in board.queues if q.group_id == workspace.groups["aftersales"])
    assert presales.queued == 2
    assert 89 <= presales.longest_wait_seconds <= 100
    assert aftersales.queued == 0 and aftersales.longest_wait_seconds == 0
    assert [r.status for r in board.in_progress] == ["queued", "queued"]


async def test_assigning_moves_the_conversation_from_queue_to_the_agents_load(
    kefu: Kefu, workspace: Demo
) -> None:
    conversation_id = await visitor_writes(kefu, workspace, "v-1")
    lina = agent(workspace, "lina")

    await assign(kefu, conversation_id, lina, assignee_id=lina.user_id)
    board = await board_of(kefu, workspace)

    assert sum(q.queued for q in board.queues) == 0
    row = next(a for a in board.agents if a.id == lina.user_id)
    assert (row.load, row.capacity) == (1, 5)
    tom = next(a for a in board.agents if a.name.startswith("Tom"))
    assert tom.load == 0
    [progress] = board.in_progress
    assert progress.status == "open"
    assert progress.assignee_name == lina.name


async def test_resolved_work_leaves_the_board_and_counts_for_today(
    kefu: Kefu, workspace: Demo
) -> None:
    conversation_id = await visitor_writes(kefu, workspace, "v-1")
    lina = agent(workspace, "lina")
    await assign(kefu, conversation_id, lina, assignee_id=lina.user_id)
    await reply(kefu, conversation_id, lina, "您好，请问有什么可以帮您？")
    await change_status(kefu, conversation_id, lina, ConversationStatus.resolved)

    board = await board_of(kefu, workspace)

    assert board.in_progress == []
    assert next(a for a in board.agents if a.id == lina.user_id).load == 0
    assert (board.today.created, board.today.resolved) == (1, 1)
    # Answered at once: inside the threshold.
    assert (board.service_level.offered, board.service_level.answered_within) == (1, 1)
    assert board.service_level.ratio == 1.0


async def test_service_level_counts_late_answers_and_long_waits_as_misses(
    kefu: Kefu, workspace: Demo
) -> None:
    """History arranged in the events log at chosen times: on time, late, still waiting
    past the threshold (a miss), still waiting inside it (undecided), and yesterday's."""
    now = datetime(2026, 11, 22, 15, 0, tzinfo=UTC)
    ids = [await visitor_writes(kefu, workspace, f"v-{i}") for i in range(5)]
    async with kefu.db.transaction() as session:
        await session.execute(
            ConversationEventRow.__table__.delete().where(
                ConversationEventRow.workspace_id == workspace.workspace_id
            )
        )

        def event(conversation_id: uuid.UUID, type_: str, at: datetime) -> None:
            session.add(
                ConversationEventRow(
                    workspace_id=workspace.workspace_id,
                    conversation_id=conversation_id,
                    type=type_,
                    created_at=at,
                )
            )

        on_time, late, long_wait, fresh, yesterday = ids
        event(on_time, "created", now - timedelta(hours=2))
        event(on_time, "first_reply", now - timedelta(hours=2) + timedelta(seconds=10))
        event(late, "created", now - timedelta(hours=1))
        event(late, "first_reply", now - timedelta(hours=1) + timedelta(seconds=45))
        event(long_wait, "created", now - timedelta(minutes=5))
        event(fresh, "created", now - timedelta(seconds=5))
        event(yesterday, "created", now - timedelta(days=1))

    board = await board_of(kefu, workspace, now)

    sl = board.service_level
    assert sl.threshold_seconds == 30
    assert (sl.offered, sl.answered_within) == (3, 1)
    assert sl.ratio == pytest.approx(1 / 3)
    assert board.today.created == 4


async def test_agents_going_online_show_first_with_their_presence(
    kefu: Kefu, workspace: Demo
) -> None:
    from kefu.model import Presence
    from kefu.people.service import set_presence

    lina = agent(workspace, "lina")
    assert lina.user_id is not None
    await set_presence(kefu, workspace.workspace_id, lina.user_id, Presence.online)
    await kefu.drain()

    board = await board_of(kefu, workspace)

    assert [(a.name, a.presence) for a in board.agents] == [
        (lina.name, "online"),
        ("Tom Chen 陈涛", "offline"),
    ]


async def test_the_board_never_shows_another_workspace(
    kefu: Kefu, workspace: Demo, other_workspace: Demo
) -> None:
    await visitor_writes(kefu, other_workspace, "elsewhere")

    board = await board_of(kefu, workspace)

    assert board.in_progress == []
    assert {a.id for a in board.agents} <= {x.id for x in workspace.logins}


# ---------------------------------------------------------------------------
# HTTP


async def test_supervisor_reads_the_board_over_http(
    client: httpx.AsyncClient, kefu: Kefu, workspace: Demo
) -> None:
    await visitor_writes(kefu, workspace, "v-1")
    headers = await login_headers(client, login_of(workspace, "supervisor"))

    response = await client.get("/api/v1/reports/board", headers=headers)

    assert response.status_code == 200, response.text
    body = response.json()
    assert sum(q["queued"] for q in body["queues"]) == 1
    assert set(body) >= {"queues", "agents", "in_progress", "service_level", "today"}


async def test_an_agent_may_not_read_the_board(
    client: httpx.AsyncClient, kefu: Kefu, workspace: Demo
) -> None:
    headers = await login_headers(client, login_of(workspace, "lina"))

    response = await client.get("/api/v1/reports/board", headers=headers)

    assert response.status_code == 403
    assert response.headers["content-type"].startswith("application/problem+json")


# ---------------------------------------------------------------------------
# the pure arithmetic


NOON = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("arrivals", "expected"),
    [
        ([], (0, 0)),
        ([(NOON, NOON + timedelta(seconds=30))], (1, 1)),  # exactly at the threshold: a hit
        ([(NOON, NOON + timedelta(seconds=31))], (1, 0)),
        ([(NOON, None)], (1, 0)),  # waited 60 s unanswered: a miss already
        ([(NOON + timedelta(seconds=45), None)], (0, 0)),  # waiting 15 s: undecided
    ],
)
def test_service_level_arithmetic(
    arrivals: list[tuple[datetime, datetime | None]], expected: tuple[int, int]
) -> None:
    assert metrics.service_level(arrivals, NOON + timedelta(seconds=60), 30) == expected


def test_day_starts_at_local_midnight() -> None:
    # 01:30 in UTC+8 is 17:30 UTC the day before; the local day began at 16:00 UTC.
    now = datetime(2026, 11, 21, 17, 30, tzinfo=UTC)
    assert metrics.start_of_day(now, 480) == datetime(2026, 11, 21, 16, 0, tzinfo=UTC)
    assert metrics.start_of_day(now) == datetime(2026, 11, 21, 0, 0, tzinfo=UTC)


def test_capacity_reads_the_channel_then_the_default() -> None:
    assert metrics.capacity_of({"*": 4, "voice": 1}, "voice") == 1
    assert metrics.capacity_of({"*": 4}, "web") == 4
    assert metrics.capacity_of(None) == 5
