"""`kefu reports rebuild --since DATE [--workspace SLUG]`: recompute the roll-up from the
event log (after a definition changes, or to repair it). Idempotent."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import date
from typing import Any

from kefu.settings import Settings, load


def cmd_rebuild(args: argparse.Namespace, settings: Settings | None = None) -> int:
    import sqlalchemy as sa

    from kefu.app import build_kefu
    from kefu.db.tables import Workspace
    from kefu.reports import rollup

    try:
        since = date.fromisoformat(args.since)
    except ValueError:
        print(f"--since: {args.since!r} is not a date (YYYY-MM-DD)", file=sys.stderr)
        return 2

    async def go() -> int:
        kefu = build_kefu(settings or load())
        try:
            async with kefu.db.session() as session:
                query = sa.select(Workspace.id, Workspace.slug)
                if args.workspace:
                    query = query.where(Workspace.slug == args.workspace)
                workspaces = (await session.execute(query)).all()
            if args.workspace and not workspaces:
                print(f"no workspace {args.workspace!r}", file=sys.stderr)
                return 2
            for workspace_id, slug in workspaces:
                async with kefu.db.transaction() as session:
                    rows = await rollup.rebuild(session, workspace_id, since)
                print(f"{slug}: {rows} roll-up rows since {since.isoformat()}")
            return 0
        finally:
            await kefu.db.dispose()

    return asyncio.run(go())


def add_parser(sub: Any) -> None:
    reports = sub.add_parser("reports", help="reports roll-up")
    actions = reports.add_subparsers(dest="action", required=True)
    rebuild = actions.add_parser("rebuild", help="recompute the daily roll-up from the events")
    rebuild.add_argument("--since", required=True, help="first day to recompute (YYYY-MM-DD)")
    rebuild.add_argument("--workspace", help="one workspace's slug (default: all)")
    rebuild.set_defaults(fn=cmd_rebuild)
