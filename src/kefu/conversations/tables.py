"""Tables the conversations package keeps beside its code (the core model is in
kefu.db.tables)."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from kefu.db.tables import Base
from kefu.model import utcnow


class ConversationMention(Base):
    """A colleague @mentioned in a note: they may open the conversation and find it in
    their Mentions view, whoever it is assigned to."""

    __tablename__ = "conversation_mentions"
    conversation_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    workspace_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    message_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("messages.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ChannelOptOut(Base):
    """A contact who asked one inbox to stop messaging them (an SMS STOP / 退订): agents'
    replies there are refused before sending until they subscribe again (START / 订阅)."""

    __tablename__ = "channel_opt_outs"
    inbox_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("inboxes.id", ondelete="CASCADE"), primary_key=True
    )
    contact_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    workspace_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    keyword: Mapped[str] = mapped_column(sa.String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
