"""Visitors of a site with the chat widget, and the pages they saw. The table names keep
the `web_` prefix they had when the widget's connector owned them (no migration).

A visitor becomes a contact through the `web_visitor` identity when they first write.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from kefu.db.tables import Base
from kefu.model import new_id, utcnow


class WebVisitor(Base):
    """One browser (or one signed-in user of the host site) on one inbox's widget. Its id is
    what the signed visitor token names, and the value of its `web_visitor` identity."""

    __tablename__ = "web_visitors"
    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=new_id)
    workspace_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    inbox_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("inboxes.id", ondelete="CASCADE"), index=True
    )
    # Set by `identify` with a valid HMAC: the host site's own user id, verified.
    external_id: Mapped[str | None] = mapped_column(sa.String(255))
    verified: Mapped[bool] = mapped_column(default=False)
    name: Mapped[str | None] = mapped_column(sa.String(200))
    email: Mapped[str | None] = mapped_column(sa.String(320))
    phone: Mapped[str | None] = mapped_column(sa.String(64))
    language: Mapped[str | None] = mapped_column(sa.String(16))
    entry_point: Mapped[str | None] = mapped_column(sa.String(200))
    page_url: Mapped[str | None] = mapped_column(sa.String(2000))
    page_title: Mapped[str | None] = mapped_column(sa.String(500))
    referrer: Mapped[str | None] = mapped_column(sa.String(2000))
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    prechat_done: Mapped[bool] = mapped_column(default=False)
    # Tokens issued before this are refused (blocking the visitor sets it).
    tokens_valid_after: Mapped[datetime | None]
    # A blocked visitor gets no new session and none of their tokens work.
    blocked_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebPageView(Base):
    """A page the visitor opened with the widget on it; agents see the trail beside the chat."""

    __tablename__ = "web_page_views"
    __table_args__ = (sa.Index("ix_web_page_views_visitor_started", "visitor_id", "started_at"),)
    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=new_id)
    workspace_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    visitor_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("web_visitors.id", ondelete="CASCADE")
    )
    url: Mapped[str] = mapped_column(sa.String(2000))
    title: Mapped[str] = mapped_column(sa.String(500), default="")
    referrer: Mapped[str] = mapped_column(sa.String(2000), default="")
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Filled when the page is hidden or closed (sent with fetch keepalive).
    seconds_on_page: Mapped[int | None]
