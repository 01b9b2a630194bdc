"""The knowledge base's tables, on the shared `Base` (the lead's Alembic migration adds them;
`kefu.db.metadata.DOMAIN_TABLES` imports this module).

The database is the source of truth; search indexes are derived and can be rebuilt.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from kefu.db.tables import Base
from kefu.model import new_id, utcnow


def _id() -> Mapped[uuid.UUID]:
    return mapped_column(sa.Uuid, primary_key=True, default=new_id)


def _ws() -> Mapped[uuid.UUID]:
    return mapped_column(sa.ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)


class KnowledgeCategory(Base):
    """A node of the category tree. `path` ("售后/退款") is unique per workspace, which is
    how imports find a category again."""

    __tablename__ = "knowledge_categories"
    __table_args__ = (sa.UniqueConstraint("workspace_id", "path"),)
    id: Mapped[uuid.UUID] = _id()
    workspace_id: Mapped[uuid.UUID] = _ws()
    parent_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("knowledge_categories.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(sa.String(200))
    path: Mapped[str] = mapped_column(sa.String(1000))
    position: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class KnowledgeEntry(Base):
    """A FAQ entry (standard question, similar questions, answer, per-channel variants)
    or an article (title, Markdown body). `key` is its stable identity across imports."""

    __tablename__ = "knowledge_entries"
    __table_args__ = (
        sa.UniqueConstraint("workspace_id", "key"),
        sa.Index("ix_knowledge_entries_ws_status_locale", "workspace_id", "status", "locale"),
    )
    id: Mapped[uuid.UUID] = _id()
    workspace_id: Mapped[uuid.UUID] = _ws()
    key: Mapped[str] = mapped_column(sa.String(120))
    kind: Mapped[str] = mapped_column(sa.String(16), default="faq")
    title: Mapped[str] = mapped_column(sa.String(500))
    similar: Mapped[list[Any]] = mapped_column(default=list)
    body: Mapped[str] = mapped_column(sa.Text, default="")
    # {"web": ..., "wechat": ..., "email": ...}: answers shaped for a channel; body otherwise.
    channels: Mapped[dict[str, Any]] = mapped_column(default=dict)
    attachments: Mapped[list[Any]] = mapped_column(default=list)
    locale: Mapped[str] = mapped_column(sa.String(16), default="zh-CN")
    category_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("knowledge_categories.id", ondelete="SET NULL"), index=True
    )
    tags: Mapped[list[Any]] = mapped_column(default=list)
    status: Mapped[str] = mapped_column(sa.String(16), default="draft")
    visibility: Mapped[str] = mapped_column(sa.String(16), default="public")
    version: Mapped[int] = mapped_column(default=1)
    # Denormalized counters for the managers' list; the rows below are the history.
    insertions: Mapped[int] = mapped_column(default=0)
    bot_answers: Mapped[int] = mapped_column(default=0)
    helpful: Mapped[int] = mapped_column(default=0)
    not_helpful: Mapped[int] = mapped_column(default=0)
    created_by: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    updated_by: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class KnowledgeVersion(Base):
    """Who changed what: the entry as it was after each change, kept even after the entry
    is deleted (so no foreign key), which is what restore reads."""

    __tablename__ = "knowledge_versions"
    __table_args__ = (sa.UniqueConstraint("entry_id", "version"),)
    id: Mapped[uuid.UUID] = _id()
    workspace_id: Mapped[uuid.UUID] = _ws()
    entry_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, index=True)
    version: Mapped[int]
    change: Mapped[str] = mapped_column(sa.String(16))  # created|updated|restored|deleted|imported
    changed_fields: Mapped[list[Any]] = mapped_column(default=list)
    snapshot: Mapped[dict[str, Any]] = mapped_column(default=dict)
    changed_by: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class KnowledgeFeedback(Base):
    """ "Did this help?" from a visitor (after a bot answer or self-service) or an agent."""

    __tablename__ = "knowledge_feedback"
    id: Mapped[uuid.UUID] = _id()
    workspace_id: Mapped[uuid.UUID] = _ws()
    entry_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("knowledge_entries.id", ondelete="CASCADE"), index=True
    )
    helpful: Mapped[bool]
    comment: Mapped[str | None] = mapped_column(sa.Text)
    source: Mapped[str] = mapped_column(sa.String(16), default="visitor")  # visitor|agent|bot
    conversation_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("conversations.id", ondelete="SET NULL")
    )
    user_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class KnowledgeUsage(Base):
    """One use of an entry: an agent inserted it into a reply, or the bot answered with it."""

    __tablename__ = "knowledge_usage"
    __table_args__ = (sa.Index("ix_knowledge_usage_ws_created", "workspace_id", "created_at"),)
    id: Mapped[uuid.UUID] = _id()
    workspace_id: Mapped[uuid.UUID] = _ws()
    entry_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("knowledge_entries.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(sa.String(16))  # inserted | bot_answer
    conversation_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("conversations.id", ondelete="SET NULL")
    )
    user_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class UnansweredQuestion(Base):
    """Questions the bot could not answer, grouped by normalized text for review."""

    __tablename__ = "knowledge_unanswered"
    __table_args__ = (sa.UniqueConstraint("workspace_id", "normalized"),)
    id: Mapped[uuid.UUID] = _id()
    workspace_id: Mapped[uuid.UUID] = _ws()
    normalized: Mapped[str] = mapped_column(sa.String(500))
    question: Mapped[str] = mapped_column(sa.Text)
    locale: Mapped[str | None] = mapped_column(sa.String(16))
    count: Mapped[int] = mapped_column(default=1)
    status: Mapped[str] = mapped_column(sa.String(16), default="open")  # open|resolved|ignored
    resolved_entry_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("knowledge_entries.id", ondelete="SET NULL")
    )
    last_conversation_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("conversations.id", ondelete="SET NULL")
    )
    first_asked_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_asked_at: Mapped[datetime] = mapped_column(default=utcnow)


class BotSession(Base):
    """The bot's memory of one conversation: misses so far and the choices it offered
    last (so "2" picks the second)."""

    __tablename__ = "knowledge_bot_sessions"
    conversation_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    workspace_id: Mapped[uuid.UUID] = _ws()
    misses: Mapped[int] = mapped_column(default=0)
    offered: Mapped[list[Any]] = mapped_column(default=list)
    last_entry_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
