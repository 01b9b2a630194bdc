"""Token buckets every process shares when the limiter's store is the database."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from kefu.db.tables import Base


class RateBucket(Base):
    """One bucket: `key` names the rule and who it counts (`message:ip:203.0.113.9`),
    `tokens` what was left at `stamp` (seconds since the epoch). Refilled lazily by the
    upsert that takes from it; rows idle for an hour are forgotten."""

    __tablename__ = "rate_buckets"
    key: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    tokens: Mapped[float] = mapped_column(sa.Float)
    stamp: Mapped[float] = mapped_column(sa.Float, index=True)
