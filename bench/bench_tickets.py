"""Tickets (issue 17) on PostgreSQL: the "breaching soon" view (`list_tickets` with
`breaching_before`, through the service as the API serves it) next to a plain indexed
SELECT of the same rows in the same run; and the SLA sweep's time per 10,000 due tickets (the policy escalates at breach: supervisors
notified, priority raised); the supervisor board's breaching-tickets panel next to the
same plain SELECT; and a bulk action on 100 tickets next to 100 single PATCHes.

Size: KEFU_BENCH_TICKETS (default 1,000,000); a fifth of the tickets are open with an SLA
due time spread over the next 30 days, the rest resolved. The sweep is timed on
KEFU_BENCH_SWEEP due tickets (default 10,000; at most the open ones)."""

from __future__ import annotations

import asyncio
import os
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from bench.databases import drop_database, fresh_database
from kefu.app import build_kefu
from kefu.demo import seed
from kefu.model import Role, utcnow
from kefu.people.auth import AuthUser
from kefu.settings import Settings
from kefu.tickets import board, bulk, service
from kefu.tickets.schemas import BulkIn, BulkSet, TicketPatch
from kefu.tickets.sweep import sweep_once
from kefu.tickets.tables import SlaPolicy, Ticket

SIZE = int(os.environ.get("KEFU_BENCH_TICKETS", "1000000"))
SWEEP = int(os.environ.get("KEFU_BENCH_SWEEP", "10000"))
ROUNDS = 200
CHUNK = 100_000

FILL = """
INSERT INTO tickets (id, workspace_id, number, title, description, status, status_kind,
  priority, tags, custom, version, sla_state, clock_log, recent_changes, progress_nonce,
  sla_policy_id, sla_next_due_at, sla_check_at, created_at, updated_at)
SELECT gen_random_uuid(), CAST(:ws AS uuid), '2026-' || lpad(g::text, 7, '0'), 'ticket ' || g, '',
  CASE WHEN g % 5 = 0 THEN 'open' ELSE 'resolved' END,
  CASE WHEN g % 5 = 0 THEN 'open' ELSE 'resolved' END,
  'normal', '[]'::jsonb, '{}'::jsonb, 1, '{}'::jsonb,
  jsonb_build_array(jsonb_build_object('at', to_char(CAST(:now AS timestamptz) AT TIME ZONE 'UTC' - interval '1 day',
    'YYYY-MM-DD"T"HH24:MI:SS"+00:00"'), 'kind', 'created')),
  '[]'::jsonb, md5(g::text), CAST(:policy AS uuid),
  CASE WHEN g % 5 = 0 THEN CAST(:now AS timestamptz) + (g % 43200) * interval '1 minute' END,
  CASE WHEN g % 5 = 0 THEN CAST(:now AS timestamptz) + (g % 43200) * interval '1 minute' END,
  CAST(:now AS timestamptz) - interval '1 day', CAST(:now AS timestamptz) - interval '1 day'
FROM generate_series(CAST(:lo AS integer), CAST(:hi AS integer)) AS g
"""

PLAIN = sa.text(
    "SELECT id, number, title, status_kind, priority, assignee_id, sla_next_due_at"
    " FROM tickets WHERE workspace_id = :ws AND sla_next_due_at IS NOT NULL"
    " AND sla_next_due_at < :before ORDER BY sla_next_due_at, id LIMIT 50"
)


PLAIN_BOARD = sa.text(
    "SELECT id FROM tickets WHERE workspace_id = :ws AND sla_next_due_at IS NOT NULL"
    " AND sla_next_due_at < :before AND status_kind NOT IN ('resolved', 'closed')"
    " ORDER BY sla_next_due_at, id LIMIT 20"
)


async def _alternate(
    measured: Callable[[], Awaitable[list[Any]]], baseline: Callable[[], Awaitable[list[Any]]]
) -> tuple[list[float], list[float], list[Any], list[Any]]:
    """ROUNDS of each, alternating, in ms; and the last answer of each."""
    a: list[float] = []
    b: list[float] = []
    got_a: list[Any] = []
    got_b: list[Any] = []
    for _ in range(ROUNDS):
        t0 = time.perf_counter()
        got_a = await measured()
        a.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        got_b = await baseline()
        b.append((time.perf_counter() - t0) * 1000)
    return a, b, got_a, got_b


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1]


async def main() -> list[str]:
    name = "kefu_bench_tickets"
    url = await fresh_database(name)
    settings = Settings(
        database_url=url, secret_key="bench-" + uuid.uuid4().hex, run_dispatcher=False
    )
    kefu = build_kefu(settings)
    await kefu.events.plugin._on_startup()
    lines: list[str] = []
    try:
        demo = await seed(kefu, slug="bench", password="bench-pass-2026")
        admin = demo.logins[0]
        user = AuthUser(
            id=admin.id,
            workspace_id=demo.workspace_id,
            role=Role.admin,
            name=admin.name,
            email=admin.email,
            session_id=uuid.uuid4(),
        )
        now = utcnow()
        async with kefu.db.transaction() as session:
            policy = SlaPolicy(
                workspace_id=demo.workspace_id,
                name="bench",
                resolution_s=30 * 86400,
                warn_before_s=3600,
                actions={
                    "warning": [{"kind": "notify_assignee"}],
                    "breach": [{"kind": "notify_supervisors"}, {"kind": "raise_priority"}],
                },
            )
            session.add(policy)
            await session.flush()
            policy_id = policy.id
        started = time.perf_counter()
        for lo in range(1, SIZE + 1, CHUNK):
            async with kefu.db.transaction() as session:
                await session.execute(
                    sa.text(FILL),
                    {
                        "ws": demo.workspace_id,
                        "now": now,
                        "policy": policy_id,
                        "lo": lo,
                        "hi": min(SIZE, lo + CHUNK - 1),
                    },
                )
        async with kefu.db.engine.connect() as conn:
            await conn.execute(sa.text("COMMIT"))
            await conn.execute(sa.text("ANALYZE tickets"))
        fill_s = time.perf_counter() - started
        before = now + timedelta(hours=24)

        async def view_page() -> list[Any]:
            return (await service.list_tickets(kefu, user, breaching_before=before)).items

        async def plain_page() -> list[Any]:
            async with kefu.db.session() as session:
                params = {"ws": demo.workspace_id, "before": before}
                return list((await session.execute(PLAIN, params)).all())

        for _ in range(10):  # warm-up
            await view_page()
        view, plain, page, rows = await _alternate(view_page, plain_page)
        assert [t.id for t in page] == [r.id for r in rows]

        # The board's panel: open tickets due within the hour, soonest first.
        async def board_panel() -> list[Any]:
            async with kefu.db.session() as session:
                return await board.breaches(session, demo.workspace_id, now)

        async def plain_panel() -> list[Any]:
            async with kefu.db.session() as session:
                params = {"ws": demo.workspace_id, "before": now + board.SOON}
                return list((await session.execute(PLAIN_BOARD, params)).all())

        board_ms, board_plain, panel, plain_rows = await _alternate(board_panel, plain_panel)
        assert [t.id for t in panel] == [r.id for r in plain_rows]

        # A bulk action on 100 tickets next to 100 single PATCHes of other tickets.
        async with kefu.db.session() as session:
            open_ids = list(
                await session.scalars(
                    sa.select(Ticket.id)
                    .where(Ticket.workspace_id == demo.workspace_id, Ticket.status_kind == "open")
                    .order_by(Ticket.id)
                    .limit(200)
                )
            )
        t0 = time.perf_counter()
        result = await bulk.bulk_update(
            kefu, user, BulkIn(ids=open_ids[:100], set=BulkSet(add_tags=["bench"]))
        )
        bulk_s = time.perf_counter() - t0
        assert result.updated == 100, result
        t0 = time.perf_counter()
        for ticket_id in open_ids[100:200]:
            await service.update(kefu, user, ticket_id, TicketPatch(version=1, tags=["bench"]))
        single_s = time.perf_counter() - t0

        # The sweep: SWEEP open tickets made due now (their next check in the past).
        due = min(SWEEP, SIZE // 5)
        async with kefu.db.transaction() as session:
            ids = select_ids = (
                sa.select(Ticket.id)
                .where(Ticket.sla_check_at.is_not(None))
                .order_by(Ticket.sla_check_at)
                .limit(due)
                .scalar_subquery()
            )
            await session.execute(
                sa.update(Ticket)
                .where(Ticket.id.in_(select_ids))
                .values(
                    sla_check_at=now - timedelta(minutes=1),
                    # Made 31 days ago: the 30-day resolution target is breached, so the
                    # sweep escalates each one (supervisors notified, priority raised).
                    clock_log=[{"at": (now - timedelta(days=31)).isoformat(), "kind": "created"}],
                )
            )
            del ids
        t0 = time.perf_counter()
        swept_rounds = 0
        while True:
            async with kefu.db.session() as session:
                left = await session.scalar(
                    sa.select(sa.func.count()).select_from(Ticket).where(Ticket.sla_check_at <= now)
                )
            if not left:
                break
            await sweep_once(kefu, now)
            swept_rounds += 1
        sweep_s = time.perf_counter() - t0

        lines.append(
            f'Tickets "breaching soon" view on PostgreSQL, {SIZE:,} tickets ({SIZE // 5:,} open'
            f" with an SLA due), first page of 50, {ROUNDS} rounds (fill {fill_s:.0f} s):"
        )
        lines.append("| query | p50 ms | p95 ms | ratio (p95) to plain SELECT |")
        lines.append("|---|---|---|---|")
        base = p95(plain)
        for label, samples in (
            ("service.list_tickets(breaching_before) (TicketOut columns + clocks + links)", view),
            ("plain indexed SELECT of the same 50 rows", plain),
        ):
            lines.append(
                f"| {label} | {statistics.median(samples):.2f} | {p95(samples):.2f}"
                f" | {p95(samples) / base:.2f} |"
            )
        board_base = p95(board_plain)
        lines.append(
            f"Board breaching-tickets panel ({len(panel)} rows): p50"
            f" {statistics.median(board_ms):.2f} ms, p95 {p95(board_ms):.2f} ms; plain SELECT"
            f" p95 {board_base:.2f} ms; ratio (p95) {p95(board_ms) / board_base:.2f}."
        )
        lines.append(
            f"Bulk action on 100 tickets: {bulk_s * 1000:.0f} ms; 100 single PATCHes:"
            f" {single_s * 1000:.0f} ms; ratio {bulk_s / single_s:.2f}."
        )
        per_10k = sweep_s / due * 10_000
        async with kefu.db.session() as session:
            escalated = await session.scalar(
                sa.select(sa.func.count())
                .select_from(Ticket)
                .where(Ticket.workspace_id == demo.workspace_id, Ticket.priority == "high")
            )
        assert escalated == due, (escalated, due)
        lines.append(
            f"SLA sweep: {due:,} due tickets, each breached and escalated, in {sweep_s:.2f} s"
            f" ({swept_rounds} batches of {200}): {per_10k:.1f} s per 10,000 due tickets."
        )
    finally:
        await kefu.drain()
        await kefu.events.plugin._on_shutdown()
        await kefu.db.dispose()
        await drop_database(name)
    for line in lines:
        print(line, flush=True)
    return lines


if __name__ == "__main__":
    asyncio.run(main())
