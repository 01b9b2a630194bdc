"""One row per cached kind of configuration (inboxes, routing rules, calendars): a
counter bumped in the same transaction as every write to those rows, so that every
process can tell with one small read whether its copy is still current."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from kefu.db.tables import Base


class CacheVersion(Base):
    __tablename__ = "cache_versions"
    name: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    version: Mapped[int] = mapped_column(sa.BigInteger, default=0)
