"""All tables of every domain on one MetaData, for Alembic and the drift test.
Domains that keep their tables beside their code are imported here."""

from __future__ import annotations

import importlib

import sqlalchemy as sa

from kefu.db.tables import Base

# Each module defines tables on kefu.db.tables.Base; importing registers them.
DOMAIN_TABLES: tuple[str, ...] = (
    "kefu.routing.tables",
    "kefu.knowledge.tables",
    "kefu.visitors.tables",
    "kefu.quickreplies.tables",
    "kefu.people.tables",
    "kefu.audit.tables",
    "kefu.mail.tables",
    "kefu.caching.tables",
    "kefu.ratelimit.tables",
    "kefu.conversations.tables",
    # tickets (issue 17)
    "kefu.tickets.tables",
    "kefu.reports.tables",
    # calls (issue 18)
    "kefu.calls.tables",
)


def all_tables() -> sa.MetaData:
    for module in DOMAIN_TABLES:
        importlib.import_module(module)
    return Base.metadata
