"""People's own tables besides users and sessions: the sign-in throttle."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from kefu.db.tables import Base


class LoginThrottle(Base):
    """Recent sign-in failures for one account or one client IP, shared by every process
    (the store when Redis is not configured). `key` is `account:<sha256 of the e-mail>`
    or `ip:<address>`; rows are forgotten a window after their last failure."""

    __tablename__ = "login_throttle"
    key: Mapped[str] = mapped_column(sa.String(80), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    last_failure_at: Mapped[datetime] = mapped_column(index=True)
    locked_until: Mapped[datetime | None]
