"""Historical reports: a fixture set of conversations, calls and tickets written to the
event log at chosen times, every number worked out by hand below, read back through the
roll-up and GET /api/v1/reports/{metric}; the roll-up kept up incrementally equals a
rebuild after random out-of-order inserts."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kefu.context import Kefu
from kefu.conversations import events as events_module
from kefu.conversations.actions import Actor, assign, change_status, reply
from kefu.conversations.events import LoggedEvent, record
from kefu.conversations.ingest import ingest
from kefu.db.tables import ConversationEventRow, Workspace
from kefu.demo import Demo
from kefu.model import ConversationStatus, Identity, Inbound, SenderKind, utcnow
from kefu.reports import history, rollup
from kefu.reports.periods import GroupBy
from kefu.reports.service import build_board
from kefu.reports.tables import ReportCursor, ReportDay
from kefu.routing.tables import BusinessCalendar
from tests.conftest import login_headers, login_of

pytestmark = pytest.mark.engine_sensitive

SH = ZoneInfo("Asia/Shanghai")


def local(day: int, hh: int, mm: int, ss: int = 0) -> datetime:
    """A Shanghai wall-clock time in November 2026 (16th and 23rd are Mondays)."""
    return datetime(2026, 11, day, hh, mm, ss, tzinfo=SH).astimezone(UTC)


async def visitor_writes(kefu: Kefu, demo: Demo, visitor: str) -> uuid.UUID:
    result = await ingest(
        kefu,
        Inbound(
            inbox_id=demo.inbox_id,
            identity=Identity(kind="web_visitor", value=visitor),
            client_message_id=uuid.uuid4().hex,
            body="你好",
        ),
    )
    assert result.conversation_id is not None
    return result.conversation_id


def user_id(demo: Demo, local_part: str) -> uuid.UUID:
    return next(x.id for x in demo.logins if x.email.startswith(local_part + "@"))


async def write(
    kefu: Kefu, monkeypatch: pytest.MonkeyPatch, items: list[tuple[datetime, LoggedEvent]]
) -> None:
    """Through events.record, each at its chosen time (its clock patched per call)."""
    async with kefu.db.transaction() as session:
        for at, event in items:
            monkeypatch.setattr(events_module, "utcnow", lambda at=at: at)
            record(session, event)
    monkeypatch.setattr(events_module, "utcnow", utcnow)


async def prepare(kefu: Kefu, demo: Demo, n: int) -> list[uuid.UUID]:
    """n conversation rows, their live events removed; Shanghai days, a Mon-Fri 9-18
    calendar."""
    ids = [await visitor_writes(kefu, demo, f"fixture-{i}") for i in range(n)]
    async with kefu.db.transaction() as session:
        await session.execute(
            sa.delete(ConversationEventRow).where(
                ConversationEventRow.workspace_id == demo.workspace_id
            )
        )
        ws = await session.get(Workspace, demo.workspace_id)
        assert ws is not None
        ws.settings = {**(ws.settings or {}), "timezone": "Asia/Shanghai"}
        nine_six = [{"start": "09:00", "end": "18:00"}]
        session.add(
            BusinessCalendar(
                workspace_id=demo.workspace_id,
                name="office",
                timezone="Asia/Shanghai",
                weekly={d: nine_six for d in ("mon", "tue", "wed", "thu", "fri")},
                special_days=[],
            )
        )
    return ids


def fixture_events(demo: Demo, ids: list[uuid.UUID]) -> list[tuple[datetime, LoggedEvent]]:
    a, b, c, d = ids
    ws = demo.workspace_id
    lina, tom = user_id(demo, "lina"), user_id(demo, "tom")
    group = str(demo.groups["presales"])

    def ev(cid: uuid.UUID | None, type_: str, **kw: Any) -> LoggedEvent:
        return LoggedEvent(workspace_id=ws, conversation_id=cid, type=type_, **kw)

    def agent_ev(cid: uuid.UUID, type_: str, who: uuid.UUID) -> LoggedEvent:
        return ev(cid, type_, actor_kind="agent", actor_id=who)

    def phone(type_: str, **data: Any) -> LoggedEvent:
        return ev(None, type_, actor_kind="agent", actor_id=lina, data=data)

    def presence(who: uuid.UUID, before: str, since: datetime, after: str) -> LoggedEvent:
        data = {"from": before, "to": after, "since": since.isoformat()}
        return ev(None, "agent.presence", actor_kind="agent", actor_id=who, data=data)

    t1, t2 = str(uuid.uuid4()), str(uuid.uuid4())
    return [
        # A (Mon 16th): bot, hand-over at 10:05, first human reply 10:07:30, rated 5.
        (local(16, 10, 0), ev(a, "created", actor_kind="contact")),
        (local(16, 10, 0, 1), ev(a, "routed_to_bot")),
        (local(16, 10, 5), ev(a, "queued", data={"group_id": group, "why": "nobody_online"})),
        (local(16, 10, 6), ev(a, "assigned", data={"assignee_id": str(lina), "group_id": group})),
        (local(16, 10, 7, 30), agent_ev(a, "first_reply", lina)),
        # The customer writes again at 10:10 and Lina answers at 10:12: a 120 s reply.
        (local(16, 10, 10), ev(a, "waiting", actor_kind="contact")),
        (local(16, 10, 12), agent_ev(a, "replied", lina)),
        (local(16, 10, 20), agent_ev(a, "resolved", lina)),
        (local(16, 10, 21), ev(a, "rated", data={"score": 5, "comment": "很好"})),
        # C (Tue 17th): the bot answers and it is resolved without a human.
        (local(17, 12, 0), ev(c, "created", actor_kind="contact")),
        (local(17, 12, 0, 1), ev(c, "routed_to_bot")),
        (local(17, 12, 3), ev(c, "resolved")),
        # B (Fri 20th 17:30): tom, transferred to lina, answered Monday 09:30 (over the
        # weekend), resolved, reopened, resolved again, rated 2.
        (local(20, 17, 30), ev(b, "created", actor_kind="contact")),
        (local(20, 17, 31), ev(b, "assigned", data={"assignee_id": str(tom), "group_id": group})),
        (
            local(20, 17, 40),
            ev(b, "transferred", data={"from_assignee_id": str(tom), "assignee_id": str(lina)}),
        ),
        (local(23, 9, 30), agent_ev(b, "first_reply", lina)),
        (local(23, 9, 45), agent_ev(b, "resolved", lina)),
        (local(23, 10, 0), ev(b, "reopened", actor_kind="contact")),
        (local(23, 10, 5), agent_ev(b, "replied", lina)),  # the reopen's wait: 300 s
        (local(23, 10, 10), agent_ev(b, "resolved", lina)),
        # Desk presence: Lina ready Mon 08:00-23:00, away 23:00-01:00 (over midnight);
        # Tom busy Fri 17:00-18:00; a span out of "offline" counts for nothing.
        (local(16, 8, 0), presence(lina, "offline", local(15, 18, 0), "online")),
        (local(16, 23, 0), presence(lina, "online", local(16, 8, 0), "away")),
        (local(17, 1, 0), presence(lina, "away", local(16, 23, 0), "offline")),
        (local(20, 18, 0), presence(tom, "busy", local(20, 17, 0), "offline")),
        (local(23, 10, 11), ev(b, "rated", data={"score": 2, "comment": "太慢"})),
        # Calls (Wed 18th), T = 20 s.
        (local(18, 13, 0), phone("call.agentlogin")),
        (local(18, 13, 30), phone("call.pause", reason="lunch")),
        (local(18, 13, 45), phone("call.unpause")),
        (local(18, 14, 0), ev(d, "call.enterqueue", data={"call_id": "c1", "inbox_id": "x"})),
        (
            local(18, 14, 0, 10),
            ev(d, "call.connect", data={"call_id": "c1", "agent_id": str(lina), "wait_s": 10}),
        ),
        (
            local(18, 14, 6, 10),
            ev(
                d,
                "call.completeagent",
                data={"call_id": "c1", "agent_id": str(lina), "talk_s": 300, "hold_s": 60},
            ),
        ),
        (
            local(18, 14, 6, 50),
            ev(d, "call.wrapup", data={"call_id": "c1", "agent_id": str(lina), "wrap_s": 40}),
        ),
        (local(18, 14, 10), ev(d, "call.enterqueue", data={"call_id": "c2"})),
        (
            local(18, 14, 10, 30),
            ev(d, "call.connect", data={"call_id": "c2", "agent_id": str(tom), "wait_s": 30}),
        ),
        (
            local(18, 14, 14, 0),
            ev(
                d,
                "call.completecaller",
                data={"call_id": "c2", "agent_id": str(tom), "talk_s": 200, "hold_s": 0},
            ),
        ),
        (
            local(18, 14, 14, 20),
            ev(d, "call.wrapup", data={"call_id": "c2", "agent_id": str(tom), "wrap_s": 20}),
        ),
        (local(18, 14, 20), ev(d, "call.enterqueue", data={"call_id": "c3"})),
        (local(18, 14, 20, 5), ev(d, "call.abandon", data={"call_id": "c3", "wait_s": 5})),
        (local(18, 14, 30), ev(d, "call.enterqueue", data={"call_id": "c4"})),
        (local(18, 14, 30, 8), ev(d, "call.abandon", data={"call_id": "c4", "wait_s": 8})),
        (local(18, 14, 40), ev(d, "call.voicemail", data={"call_id": "c5", "duration_s": 30})),
        # c6 is answered in exactly T = 20 s: inside the service level (wait <= T).
        (local(18, 14, 50), ev(d, "call.enterqueue", data={"call_id": "c6"})),
        (
            local(18, 14, 50, 20),
            ev(d, "call.connect", data={"call_id": "c6", "agent_id": str(tom), "wait_s": 20}),
        ),
        (local(18, 15, 0), phone("call.agentlogoff")),
        # Tickets (Thu 19th): one resolved in two hours, one still open.
        (
            local(19, 9, 0),
            ev(
                None,
                "ticket.created",
                data={
                    "ticket_id": t1,
                    "number": 1,
                    "priority": "normal",
                    "channel": "email",
                    "source": "email",
                },
            ),
        ),
        (
            local(19, 9, 30),
            ev(
                None,
                "ticket.sla",
                data={"ticket_id": t1, "number": 1, "target": "first_response", "outcome": "met"},
            ),
        ),
        (
            local(19, 10, 0),
            ev(
                None,
                "ticket.created",
                data={
                    "ticket_id": t2,
                    "number": 2,
                    "priority": "high",
                    "channel": None,
                    "source": "console",
                },
            ),
        ),
        (
            local(19, 11, 0),
            ev(
                None,
                "ticket.status",
                data={
                    "ticket_id": t1,
                    "number": 1,
                    "from": "Open",
                    "to": "Solved",
                    "from_kind": "open",
                    "to_kind": "resolved",
                },
            ),
        ),
        (
            local(19, 12, 0),
            ev(
                None,
                "ticket.sla",
                data={
                    "ticket_id": t2,
                    "number": 2,
                    "target": "first_response",
                    "outcome": "breached",
                },
            ),
        ),
    ]


async def fixture(kefu: Kefu, demo: Demo, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = await prepare(kefu, demo, 4)
    items = fixture_events(demo, ids)
    random.Random(7).shuffle(items)  # inserted out of order on purpose
    await write(kefu, monkeypatch, items[: len(items) // 2])
    async with kefu.db.transaction() as session:
        await rollup.refresh(session, demo.workspace_id)  # a refresh in the middle
    await write(kefu, monkeypatch, items[len(items) // 2 :])


async def run(
    kefu: Kefu, demo: Demo, metric: str, group_by: GroupBy = GroupBy.week, by: Any = None
) -> dict[str, Any]:
    async with kefu.db.transaction() as session:
        return await history.report(
            session, demo.workspace_id, metric, date(2026, 11, 16), date(2026, 11, 23), group_by, by
        )


async def test_conversation_metrics_computed_by_hand(
    kefu: Kefu, workspace: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    await fixture(kefu, workspace, monkeypatch)
    out = await run(kefu, workspace, "conversations")
    t = out["totals"]
    # A, B, C created; resolved A once, C once, B twice (one reopen between).
    assert (t["new"], t["resolved"], t["reopened"], t["reopen_rate"]) == (3, 4, 1, 0.25)
    assert (t["transfers"], t["handled"], t["unanswered"]) == (1, 3, 0)
    # First response: A from the hand-over (10:05 -> 10:07:30 = 150 s, not 450 from
    # creation); B Fri 17:30 -> Mon 09:30 = 64 h = 230400 s wall clock, 30 min + 30 min
    # = 3600 s in business hours (the weekend does not count).
    assert (t["first_response_p50_s"], t["first_response_p90_s"]) == (150, 230400)
    assert t["first_response_avg_s"] == (150 + 230400) / 2
    assert (t["first_response_bh_p50_s"], t["first_response_bh_p90_s"]) == (150, 3600)
    # Reply time (each later wait): A 10:10 -> 10:12 = 120 s; B's reopen 10:00 -> 10:05.
    assert (t["replies"], t["reply_p50_s"], t["reply_p90_s"], t["reply_avg_s"]) == (
        2,
        120,
        300,
        210,
    )
    assert (t["reply_bh_p50_s"], t["reply_bh_p90_s"]) == (120, 300)
    # Handle time (an agent holding it): 540, 840, 230700 s; business hours 540, 840, 3900.
    assert (t["handle_p50_s"], t["handle_p90_s"], t["handle_bh_p90_s"]) == (840, 230700, 3900)
    assert t["handle_bh_avg_s"] == (540 + 840 + 3900) / 3
    # Resolution per cycle (a reopen starts a new one): A 1200, C 180, B 231300 (Fri 17:30
    # -> Mon 09:45) and 600 (reopen 10:00 -> 10:10). Business hours: B 30 + 45 min = 4500.
    assert (t["resolution_p50_s"], t["resolution_p90_s"]) == (600, 231300)
    assert t["resolution_avg_s"] == (1200 + 180 + 231300 + 600) / 4
    assert (t["resolution_bh_p50_s"], t["resolution_bh_p90_s"]) == (600, 4500)
    assert t["resolution_bh_avg_s"] == (1200 + 180 + 4500 + 600) / 4
    # Weeks: W47 is Mon 16th - Sun 22nd; B's reply and resolutions fall in W48.
    w47, w48 = out["series"]
    assert (w47["period"], w47["new"], w47["resolved"]) == ("2026-W47", 3, 2)
    assert (w48["period"], w48["new"], w48["resolved"], w48["reopened"]) == ("2026-W48", 0, 2, 1)
    days = (await run(kefu, workspace, "conversations", GroupBy.day))["series"]
    assert [d["period"] for d in days] == [f"2026-11-{n}" for n in range(16, 24)]
    assert [d["new"] for d in days] == [1, 1, 0, 0, 1, 0, 0, 0]

    by_agent = await run(kefu, workspace, "conversations", GroupBy.year, history.By.agent)
    rows = {r["agent"]: r for r in by_agent["series"]}
    lina, tom = str(user_id(workspace, "lina")), str(user_id(workspace, "tom"))
    # Lina took A and B (by transfer) and resolved three times; Tom let B go.
    assert (rows[lina]["handled"], rows[lina]["resolved"], rows[lina]["transfers"]) == (2, 3, 0)
    assert (rows[tom]["handled"], rows[tom]["resolved"], rows[tom]["transfers"]) == (1, 0, 1)
    assert rows[lina]["first_response_p50_s"] == 150


async def test_csat_bot_calls_tickets_agents_by_hand(
    kefu: Kefu, workspace: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    await fixture(kefu, workspace, monkeypatch)
    csat = (await run(kefu, workspace, "csat"))["totals"]
    assert csat["distribution"] == {"1": 0, "2": 1, "3": 0, "4": 0, "5": 1}
    assert (csat["responses"], csat["response_rate"], csat["average"]) == (2, 0.5, 3.5)
    assert csat["satisfied_rate"] == 0.5
    assert sorted(c["comment"] for c in csat["comments"]) == ["太慢", "很好"]

    bot = (await run(kefu, workspace, "bot"))["totals"]
    # A and C started in the bot; A handed over (nobody online), C deflected.
    assert (bot["started"], bot["handed_over"], bot["deflected"]) == (2, 1, 1)
    assert bot["deflection_rate"] == 0.5
    assert bot["handover_reasons"] == {"nobody_online": 1}

    calls = (await run(kefu, workspace, "calls"))["totals"]
    assert (calls["offered"], calls["answered"], calls["abandoned"]) == (5, 3, 2)
    assert calls["abandon_rate"] == 2 / 5
    assert calls["asa_s"] == 20  # (10 + 30 + 20) / 3
    # T = 20: c1 answered in 10 s and c6 in exactly 20 s (in), c2 in 30 s (out); c3, c4
    # abandoned in 5 s, 8 s. SL counts only answered calls, SL2 also the short abandons.
    assert calls["service_level"] == 2 / 3  # 2 / 3 answered
    assert calls["service_level_2"] == 4 / 5  # (2 + 2) / (3 + 2)
    assert calls["aht_s"] == (300 + 60 + 40 + 200 + 0 + 20) / 2
    assert calls["voicemails"] == 1
    assert calls["occupancy"] == 620 / 7200  # work over Lina's logged-in 13:00-15:00

    agents = (await run(kefu, workspace, "agents"))["totals"]
    phone = (agents["phone_online_s"], agents["phone_not_ready_s"], agents["phone_ready_s"])
    assert phone == (7200, 900, 6300)  # the phone queue log-in 13:00-15:00, 15 min paused
    # Desk presence: ready 15 h (Lina), not ready 2 h away (Lina) + 1 h busy (Tom).
    assert (agents["online_s"], agents["ready_s"], agents["not_ready_s"]) == (64800, 54000, 10800)
    assert (agents["away_s"], agents["busy_s"]) == (7200, 3600)
    # Handle spans: Lina A 10:06-10:20 (840 s), Tom B 17:31-17:40 (540 s), Lina B Fri
    # 17:40 -> Mon 09:45 (230700 s wall, 20 + 45 min = 3900 s business hours).
    assert (agents["handle_p50_s"], agents["handle_p90_s"]) == (840, 230700)
    assert (agents["handle_bh_p50_s"], agents["handle_bh_p90_s"]) == (840, 3900)
    assert agents["concurrency"] == (840 + 540 + 230700) / 64800
    days = (await run(kefu, workspace, "agents", GroupBy.day, history.By.agent))["series"]
    lina = str(user_id(workspace, "lina"))
    online = {r["period"]: r["online_s"] for r in days if r["agent"] == lina and r["online_s"]}
    # Away 23:00-01:00 counts an hour on each side of midnight.
    assert online == {"2026-11-16": 15 * 3600 + 3600, "2026-11-17": 3600}

    tickets = await run(kefu, workspace, "tickets", GroupBy.day)
    t = tickets["totals"]
    assert (t["created"], t["resolved"], t["backlog"]) == (2, 1, 1)
    assert (t["resolution_p50_s"], t["sla_first_response_met"]) == (7200, 1)
    assert (t["sla_first_response_breached"], t["sla_first_response_rate"]) == (1, 0.5)
    thursday = next(r for r in tickets["series"] if r["period"] == "2026-11-19")
    assert thursday["backlog"] == 1


async def _rows(kefu: Kefu, workspace_id: uuid.UUID) -> dict[tuple[Any, ...], Any]:
    def norm(state: dict[str, Any]) -> dict[str, Any]:
        return {k: sorted(v, key=repr) if isinstance(v, list) else v for k, v in state.items()}

    async with kefu.db.session() as session:
        rows = (
            await session.execute(
                sa.select(ReportDay.day, ReportDay.dim, ReportDay.key, ReportDay.state).where(
                    ReportDay.workspace_id == workspace_id
                )
            )
        ).all()
    return {(d, dim, k): norm(s) for d, dim, k, s in rows}


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(seed=st.integers(0, 10_000), cuts=st.lists(st.integers(1, 40), max_size=4))
async def test_incremental_roll_up_equals_a_rebuild_after_out_of_order_inserts(
    kefu: Kefu, workspace: Demo, monkeypatch: pytest.MonkeyPatch, seed: int, cuts: list[int]
) -> None:
    async with kefu.db.transaction() as session:
        await session.execute(
            sa.delete(ReportDay).where(ReportDay.workspace_id == workspace.workspace_id)
        )
        await session.execute(
            sa.delete(ReportCursor).where(ReportCursor.workspace_id == workspace.workspace_id)
        )
        await session.execute(
            sa.delete(BusinessCalendar).where(
                BusinessCalendar.workspace_id == workspace.workspace_id
            )
        )
    ids = await prepare(kefu, workspace, 4)
    items = fixture_events(workspace, ids)
    random.Random(seed).shuffle(items)
    start = 0
    for cut in sorted(set(cuts)):
        await write(kefu, monkeypatch, items[start:cut])
        async with kefu.db.transaction() as session:
            await rollup.refresh(session, workspace.workspace_id)
        start = max(start, cut)
    await write(kefu, monkeypatch, items[start:])
    async with kefu.db.transaction() as session:
        await rollup.refresh(session, workspace.workspace_id)
    incremental = await _rows(kefu, workspace.workspace_id)
    async with kefu.db.transaction() as session:
        await session.execute(
            sa.delete(ReportDay).where(ReportDay.workspace_id == workspace.workspace_id)
        )
        await rollup.rebuild(session, workspace.workspace_id, date(2026, 11, 1), date(2026, 11, 30))
    rebuilt = await _rows(kefu, workspace.workspace_id)
    assert incremental == rebuilt
    assert len(rebuilt) > 10


async def test_today_equals_the_live_board(kefu: Kefu, workspace: Demo) -> None:
    conversation_id = await visitor_writes(kefu, workspace, "today-1")
    await visitor_writes(kefu, workspace, "today-2")
    lina_id = user_id(workspace, "lina")
    lina = Actor(
        workspace_id=workspace.workspace_id, kind=SenderKind.agent, user_id=lina_id, name="Lina"
    )
    await assign(kefu, conversation_id, lina, assignee_id=lina_id)
    await reply(kefu, conversation_id, lina, "您好")
    await change_status(kefu, conversation_id, lina, ConversationStatus.resolved)
    now = utcnow()
    async with kefu.db.transaction() as session:
        board = await build_board(session, workspace.workspace_id, now)
        today = now.date()
        out = await history.report(
            session, workspace.workspace_id, "conversations", today, today, GroupBy.day
        )
    t = out["totals"]
    assert (t["new"], t["resolved"], t["transfers"]) == (
        board.today.created,
        board.today.resolved,
        board.today.transferred,
    )
    assert (t["new"], t["resolved"]) == (2, 1)
    async with kefu.db.transaction() as session:
        hourly = await history.report(
            session, workspace.workspace_id, "conversations", today, today, GroupBy.hour
        )
    assert len(hourly["series"]) == 24
    assert hourly["totals"]["new"] == 2
    this_hour = now.strftime("%Y-%m-%dT%H:00")
    assert next(r for r in hourly["series"] if r["period"] == this_hour)["resolved"] == 1


async def test_reports_api_roles_exports_and_hostile_params(
    client: httpx.AsyncClient,
    kefu: Kefu,
    workspace: Demo,
    other_workspace: Demo,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await fixture(kefu, workspace, monkeypatch)
    url = "/api/v1/reports/conversations?from=2026-11-16&to=2026-11-23&group_by=month"
    agent = await login_headers(client, login_of(workspace, "lina"))
    assert (await client.get(url, headers=agent)).status_code == 403
    admin = await login_headers(client, login_of(workspace, "admin"))
    response = await client.get(url, headers=admin)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["series"][0]["period"] == "2026-11"
    assert body["totals"]["new"] == 3 and body["totals"]["first_response_p50_s"] == 150
    # Another workspace's supervisor sees its own (empty) numbers, never these.
    other = await login_headers(client, login_of(other_workspace, "admin"))
    theirs = (await client.get(url, headers=other)).json()
    assert theirs["totals"]["new"] == 0
    csv = await client.get(url + "&format=csv", headers=admin)
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert csv.content.decode("utf-8-sig").splitlines()[0].startswith("period,new,resolved")
    xlsx = await client.get(url + "&format=xlsx&by=agent", headers=admin)
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    for bad in (
        "/api/v1/reports/nope?from=2026-11-16&to=2026-11-23",
        "/api/v1/reports/conversations?from=2026-11-16",
        "/api/v1/reports/conversations?from=2026-13-16&to=2026-11-23",
        "/api/v1/reports/conversations?from=2026-11-23&to=2026-11-16",
        "/api/v1/reports/conversations?from=1990-01-01&to=2026-11-16",
        "/api/v1/reports/conversations?from=2026-11-16&to=2026-11-23&group_by=hour",
        "/api/v1/reports/conversations?from=2026-11-16&to=2026-11-23&by=%00",
        "/api/v1/reports/conversations?from=%00&to=2026-11-23",
        "/api/v1/reports/conversations?from=2026-11-16&to=2026-11-23&format=pdf",
        "/api/v1/reports/" + "x" * 5000 + "?from=2026-11-16&to=2026-11-23",
    ):
        r = await client.get(bad, headers=admin)
        assert 400 <= r.status_code < 500, (bad, r.status_code, r.text)


async def test_drill_down_and_an_agents_own_stats(
    client: httpx.AsyncClient,
    kefu: Kefu,
    workspace: Demo,
    other_workspace: Demo,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await fixture(kefu, workspace, monkeypatch)
    admin = await login_headers(client, login_of(workspace, "admin"))
    url = "/api/v1/reports/drill/{}?from=2026-11-16&to=2026-11-23"
    behind = (await client.get(url.format("new"), headers=admin)).json()
    assert len(behind) == 3  # A, B, C: the conversations behind "new = 3"
    reopened = (await client.get(url.format("reopened"), headers=admin)).json()
    assert len(reopened) == 1
    other = await login_headers(client, login_of(other_workspace, "admin"))
    assert (await client.get(url.format("new"), headers=other)).json() == []
    assert (await client.get(url.format("nope"), headers=admin)).status_code == 404
    lina = await login_headers(client, login_of(workspace, "lina"))
    assert (await client.get(url.format("new"), headers=lina)).status_code == 403
    mine = await client.get("/api/v1/reports/mine?from=2026-11-16&to=2026-11-23", headers=lina)
    assert mine.status_code == 200, mine.text
    totals = mine.json()["totals"]
    # Lina: A and B handled, three resolutions, ratings 5 (A) and 2 (B), signed in 17 h.
    assert (totals["handled"], totals["resolved"], totals["csat_average"]) == (2, 3, 3.5)
    assert (totals["online_s"], totals["phone_online_s"]) == (17 * 3600, 7200)


async def test_report_settings_set_the_workspace_day(
    client: httpx.AsyncClient, kefu: Kefu, workspace: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    await fixture(kefu, workspace, monkeypatch)  # in Shanghai days
    admin = await login_headers(client, login_of(workspace, "admin"))
    url = "/api/v1/reports/settings"
    assert (await client.get(url, headers=admin)).json()["timezone"] == "Asia/Shanghai"
    for bad in (
        {"timezone": "Mars/Olympus"},
        {"timezone": "x" * 65},
        {"timezone": "UTC\x00"},
        {"timezone": "UTC", "call_service_level_seconds": 2**40},
    ):
        r = await client.put(url, json=bad, headers=admin)
        assert r.status_code in (400, 422), (bad, r.text)
    lina = await login_headers(client, login_of(workspace, "lina"))
    assert (await client.put(url, json={"timezone": "UTC"}, headers=lina)).status_code == 403
    r = await client.put(
        url, json={"timezone": "America/New_York", "call_service_level_seconds": 30}, headers=admin
    )
    assert r.status_code == 200, r.text
    # New York is 13 h behind Shanghai: A, created Mon 16th 10:00 in Shanghai, is
    # Sun 15th 21:00 there; T = 30 s now counts c2 (30 s) as answered in time.
    async with kefu.db.transaction() as session:
        out = await history.report(
            session,
            workspace.workspace_id,
            "conversations",
            date(2026, 11, 15),
            date(2026, 11, 15),
            GroupBy.day,
        )
        calls = await history.report(
            session,
            workspace.workspace_id,
            "calls",
            date(2026, 11, 1),
            date(2026, 11, 30),
            GroupBy.month,
        )
    assert out["totals"]["new"] == 1
    assert calls["totals"]["service_level"] == 1.0


async def test_the_core_logs_waits_replies_and_presence_spans(kefu: Kefu, workspace: Demo) -> None:
    """The events reply time and presence are computed from: one `waiting` per new wait
    (not per message), one `replied` per answered wait after the first response, and
    one `agent.presence` per change holding the span it closes."""
    from kefu.model import Presence
    from kefu.people.service import set_presence

    conversation_id = await visitor_writes(kefu, workspace, "waits-1")
    lina_id = user_id(workspace, "lina")
    lina = Actor(
        workspace_id=workspace.workspace_id, kind=SenderKind.agent, user_id=lina_id, name="Lina"
    )
    await visitor_writes(kefu, workspace, "waits-1")  # still the first wait
    await reply(kefu, conversation_id, lina, "您好")  # first_reply
    await reply(kefu, conversation_id, lina, "还在吗？")  # nobody was waiting
    await visitor_writes(kefu, workspace, "waits-1")  # waiting
    await visitor_writes(kefu, workspace, "waits-1")  # the same wait
    await reply(kefu, conversation_id, lina, "好的")  # replied
    await reply(kefu, conversation_id, lina, "好的", note=True)  # a note answers nobody
    await visitor_writes(kefu, workspace, "waits-1")  # waiting again
    await set_presence(kefu, workspace.workspace_id, lina_id, Presence.online)
    await set_presence(kefu, workspace.workspace_id, lina_id, Presence.online)  # no change
    await set_presence(kefu, workspace.workspace_id, lina_id, Presence.away)
    async with kefu.db.session() as session:
        rows = (
            await session.execute(
                sa.select(ConversationEventRow.type, ConversationEventRow.data)
                .where(
                    ConversationEventRow.workspace_id == workspace.workspace_id,
                    ConversationEventRow.type.in_(
                        ["created", "first_reply", "waiting", "replied", "agent.presence"]
                    ),
                )
                .order_by(ConversationEventRow.id)
            )
        ).all()
    types = [t for t, _d in rows]
    assert types == [
        "created",
        "first_reply",
        "waiting",
        "replied",
        "waiting",
        "agent.presence",
        "agent.presence",
    ]
    spans = [(d["from"], d["to"]) for t, d in rows if t == "agent.presence"]
    assert spans == [("offline", "online"), ("online", "away")]
    first, second = (d for t, d in rows if t == "agent.presence")
    assert datetime.fromisoformat(second["since"]) >= datetime.fromisoformat(first["since"])
