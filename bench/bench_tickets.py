"""Tickets (issue 17) on PostgreSQL: the "breaching soon" view (`list_tickets` with
`breaching_before`, through the service as the API serves it) next to a plain indexed
SELECT of the same rows in the same run; and the SLA sweep's time per 10,000 due tickets.

Size: KEFU_BENCH_TICKETS (default 1,000,000); a fifth of the tickets are open with an SLA
due time spread over the next 30 days, the rest resolved. The sweep is timed on
KEFU_BENCH_SWEEP due tickets (default 10,000; at most the open ones)."""

from __future__ import annotations

import asyncio
import os
import statistics
import time
import uuid
from datetime import timedelta

import sqlalchemy as sa

from bench.databases import drop_database, fresh_database
from kefu.app import build_kefu
from kefu.demo import seed
from kefu.model import Role, utcnow
from kefu.people.auth import AuthUser
from kefu.settings import Settings
from kefu.tickets import service
from kefu.tickets.sweep import sweep_once
from kefu.tickets.tables import SlaPolicy, Ticket

SIZE = int(os.environ.get("KEFU_BENCH_TICKETS", "1000000"))
SWEEP = int(os.environ.get("KEFU_BENCH_SWEEP", "10000"))
ROUNDS = 200
CHUNK = 100_000

FILL = """
INSERT INTO tickets (id, workspace_id, number, title, description, status, status_kind,
  priority, tags, version, sla_state, clock_log, recent_changes, progress_nonce,
  sla_policy_id, sla_next_due_at, sla_check_at, created_at, updated_at)
SELECT gen_random_uuid(), CAST(:ws AS uuid), '2026-' || lpad(g::text, 7, '0'), 'ticket ' || g, '',
  CASE WHEN g % 5 = 0 THEN 'open' ELSE 'resolved' END,
  CASE WHEN g % 5 = 0 THEN 'open' ELSE 'resolved' END,
  'normal', '[]'::jsonb, 1, '{}'::jsonb,
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
                workspace_id=demo.workspace_id, name="bench", resolution_s=30 * 86400
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

        view: list[float] = []
        plain: list[float] = []
        for _ in range(10):  # warm-up
            await service.list_tickets(kefu, user, breaching_before=before)
        for _ in range(ROUNDS):
            t0 = time.perf_counter()
            page = await service.list_tickets(kefu, user, breaching_before=before)
            view.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            async with kefu.db.session() as session:
                rows = (
                    await session.execute(PLAIN, {"ws": demo.workspace_id, "before": before})
                ).all()
            plain.append((time.perf_counter() - t0) * 1000)
        assert [t.id for t in page.items] == [r.id for r in rows]

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
                .values(sla_check_at=now - timedelta(minutes=1))
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
            ("service.list_tickets(breaching_before) (ORM rows + clocks + links)", view),
            ("plain indexed SELECT of the same 50 rows", plain),
        ):
            lines.append(
                f"| {label} | {statistics.median(samples):.2f} | {p95(samples):.2f}"
                f" | {p95(samples) / base:.2f} |"
            )
        per_10k = sweep_s / due * 10_000
        lines.append(
            f"SLA sweep: {due:,} due tickets in {sweep_s:.2f} s ({swept_rounds} batches of"
            f" {200}): {per_10k:.1f} s per 10,000 due tickets."
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
