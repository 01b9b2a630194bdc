"""inbox flags become routing: `bot_enabled` turns into a "bot first" routing rule, and
the widget's undocumented `business_hours` dict into a business calendar linked by
`calendar_id` (read through routing's calendar code). Data only; no schema change.

Revision ID: 0003_bot_first_rules
Revises: 0002_auth_audit
Create Date: 2026-12-01 21:50:00
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003_bot_first_rules"
down_revision: str | None = "0002_auth_audit"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
# The shapes as of this revision (not the models, which may move on).
inboxes = sa.table(
    "inboxes",
    sa.column("id", sa.Uuid),
    sa.column("workspace_id", sa.Uuid),
    sa.column("name", sa.String),
    sa.column("config", JSON),
)
rules = sa.table(
    "routing_rules",
    sa.column("id", sa.Uuid),
    sa.column("workspace_id", sa.Uuid),
    sa.column("name", sa.String),
    sa.column("priority", sa.Integer),
    sa.column("enabled", sa.Boolean),
    sa.column("match", sa.String),
    sa.column("conditions", JSON),
    sa.column("target", JSON),
    sa.column("set_priority", sa.Integer),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)
calendars = sa.table(
    "business_calendars",
    sa.column("id", sa.Uuid),
    sa.column("workspace_id", sa.Uuid),
    sa.column("name", sa.String),
    sa.column("timezone", sa.String),
    sa.column("weekly", JSON),
    sa.column("special_days", JSON),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)

BOT_FIRST = "Bot first"
MIN_PRIORITY = 1000


def _inbox_condition(inbox_id: uuid.UUID) -> list[dict[str, Any]]:
    return [{"field": "inbox", "op": "equals", "value": str(inbox_id)}]


def _without(config: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in config.items() if k != key}


def upgrade() -> None:
    conn = op.get_bind()
    now = datetime.now(UTC)
    for inbox_id, workspace_id, name, config in conn.execute(
        sa.select(inboxes.c.id, inboxes.c.workspace_id, inboxes.c.name, inboxes.c.config)
    ).all():
        config = dict(config or {})
        changed = False
        if "bot_enabled" in config:
            if config["bot_enabled"]:
                # The flag skipped routing altogether, so the rule ranks above all others.
                highest = conn.scalar(
                    sa.select(sa.func.max(rules.c.priority)).where(
                        rules.c.workspace_id == workspace_id
                    )
                )
                conn.execute(
                    rules.insert().values(
                        id=uuid.uuid4(),
                        workspace_id=workspace_id,
                        name=BOT_FIRST,
                        priority=max(MIN_PRIORITY, (highest or 0) + 1),
                        enabled=True,
                        match="all",
                        conditions=_inbox_condition(inbox_id),
                        target={"kind": "bot"},
                        set_priority=None,
                        created_at=now,
                        updated_at=now,
                    )
                )
            config = _without(config, "bot_enabled")
            changed = True
        hours = config.get("business_hours")
        if isinstance(hours, dict) and not config.get("calendar_id"):
            taken = set(
                conn.scalars(
                    sa.select(calendars.c.name).where(calendars.c.workspace_id == workspace_id)
                )
            )
            label = f"{name} hours"[:190]
            candidate, n = label, 1
            while candidate in taken:
                n += 1
                candidate = f"{label} ({n})"
            calendar_id = uuid.uuid4()
            conn.execute(
                calendars.insert().values(
                    id=calendar_id,
                    workspace_id=workspace_id,
                    name=candidate,
                    timezone=str(hours.get("timezone") or "Asia/Shanghai"),
                    weekly=hours.get("weekly") or {},
                    special_days=hours.get("special_days") or [],
                    created_at=now,
                    updated_at=now,
                )
            )
            config = {**_without(config, "business_hours"), "calendar_id": str(calendar_id)}
            changed = True
        if changed:
            conn.execute(inboxes.update().where(inboxes.c.id == inbox_id).values(config=config))


def downgrade() -> None:
    conn = op.get_bind()
    bot_inboxes: dict[str, uuid.UUID] = {}
    for rule_id, conditions, target in conn.execute(
        sa.select(rules.c.id, rules.c.conditions, rules.c.target).where(rules.c.name == BOT_FIRST)
    ).all():
        conditions = conditions or []
        if (target or {}).get("kind") != "bot" or len(conditions) != 1:
            continue
        (condition,) = conditions
        if condition.get("field") == "inbox" and condition.get("op") == "equals":
            bot_inboxes[str(condition.get("value"))] = rule_id
    for inbox_id, config in conn.execute(sa.select(inboxes.c.id, inboxes.c.config)).all():
        config = dict(config or {})
        changed = False
        if str(inbox_id) in bot_inboxes:
            config["bot_enabled"] = True
            conn.execute(rules.delete().where(rules.c.id == bot_inboxes[str(inbox_id)]))
            changed = True
        if config.get("calendar_id"):
            try:
                calendar_id = uuid.UUID(str(config["calendar_id"]))
            except ValueError:
                calendar_id = uuid.UUID(int=0)  # not a calendar: nothing to copy back
            row = conn.execute(
                sa.select(calendars.c.timezone, calendars.c.weekly, calendars.c.special_days).where(
                    calendars.c.id == calendar_id
                )
            ).first()
            config = _without(config, "calendar_id")
            if row is not None:
                config["business_hours"] = {
                    "timezone": row.timezone,
                    "weekly": row.weekly or {},
                    "special_days": row.special_days or [],
                }
            changed = True
        if changed:
            conn.execute(inboxes.update().where(inboxes.c.id == inbox_id).values(config=config))
