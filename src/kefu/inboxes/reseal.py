"""`kefu secrets reseal`: seal every inbox's secrets with the current KEFU_SECRET_KEY, so
the old key can be dropped from KEFU_PREVIOUS_SECRET_KEYS after a rotation."""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm.attributes import flag_modified

from kefu import secretbox
from kefu.context import Kefu
from kefu.db.tables import Inbox


async def reseal(kefu: Kefu) -> int:
    """How many inboxes were sealed anew (those sealed with an older key, or not at all)."""
    ring = secretbox.ring()
    done = 0
    async with kefu.db.transaction() as session:
        raw = sa.table("inboxes", sa.column("id", sa.Uuid), sa.column("secrets", sa.JSON))
        rows = (await session.execute(sa.select(raw.c.id, raw.c.secrets))).all()
        for inbox_id, stored in rows:
            value = json.loads(stored) if isinstance(stored, str) else stored
            if not ring.needs_reseal(dict(value or {})):
                continue
            inbox = await session.get(Inbox, inbox_id)
            if inbox is None:
                continue
            inbox.secrets = dict(inbox.secrets or {})
            flag_modified(inbox, "secrets")
            done += 1
    return done


def _run(args: argparse.Namespace) -> int:
    from kefu.cli import _with_kefu
    from kefu.settings import load

    async def go(kefu: Any) -> int:
        count = await reseal(kefu)
        print(f"sealed {count} inboxes with key {secretbox.ring().primary}")
        return 0

    return asyncio.run(_with_kefu(load(), go))


def add_parser(sub: Any) -> None:
    secrets = sub.add_parser("secrets", help="inbox secrets at rest")
    actions = secrets.add_subparsers(dest="action", required=True)
    actions.add_parser(
        "reseal", help="seal every inbox's secrets with the current KEFU_SECRET_KEY"
    ).set_defaults(fn=_run)
