"""Agent assist: answers suggested for a conversation (the customer's last message or
the agent's own query), each shaped for the conversation's channel; and what the
managers learn from use: how often an entry was inserted or answered by the bot, and
"did this help?" feedback."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.context import Kefu
from kefu.db.tables import Conversation, Message
from kefu.errors import Invalid, NotFound
from kefu.knowledge import index
from kefu.knowledge.entries import load_for_update
from kefu.knowledge.schemas import EntryStatus, FeedbackIn, Suggestion, Suggestions
from kefu.knowledge.search import text as tx
from kefu.knowledge.search.base import SearchFilters
from kefu.knowledge.tables import KnowledgeEntry, KnowledgeFeedback, KnowledgeUsage
from kefu.model import Direction


def answer_for(row: KnowledgeEntry, channel: str) -> str:
    """The answer shaped for a channel: its own variant if written, else the body (as
    plain text for WeChat and SMS, which show Markdown literally)."""
    variants = row.channels or {}
    if channel in variants and variants[channel].strip():
        return str(variants[channel])
    if channel in ("wechat", "sms", "voice"):
        return tx.plain(row.body)
    return row.body


async def entries_by_id(
    session: AsyncSession, workspace_id: uuid.UUID, ids: Iterable[str]
) -> dict[str, KnowledgeEntry]:
    wanted = []
    for i in ids:
        try:
            wanted.append(uuid.UUID(i))
        except ValueError:
            continue
    if not wanted:
        return {}
    rows = await session.scalars(
        sa.select(KnowledgeEntry).where(
            KnowledgeEntry.workspace_id == workspace_id, KnowledgeEntry.id.in_(wanted)
        )
    )
    return {str(r.id): r for r in rows}


async def last_customer_text(session: AsyncSession, conversation_id: uuid.UUID) -> str:
    body = await session.scalar(
        sa.select(Message.body)
        .where(
            Message.conversation_id == conversation_id,
            Message.direction == Direction.inbound.value,
            Message.type == "text",
        )
        .order_by(Message.seq.desc())
        .limit(1)
    )
    return body or ""


async def suggestions(
    kefu: Kefu,
    conversation: Conversation,
    *,
    query: str | None = None,
    limit: int = 5,
    internal: bool = True,
) -> Suggestions:
    """Answers for the customer's last message (or the agent's own `query`), for the agent
    to insert. Agents also see internal entries (they are written for them); drafts and
    archived entries never."""
    if not query:
        async with kefu.db.session() as session:
            query = await last_customer_text(session, conversation.id)
    filters = SearchFilters(
        status=(EntryStatus.published.value,),
        visibility=None if internal else "public",
    )
    results = await index.search(kefu, conversation.workspace_id, query, filters, limit * 2)
    hits = results.hits
    if conversation.language:
        # Prefer the customer's language, but an answer in another beats none.
        same = [h for h in hits if h.locale.split("-")[0] == conversation.language.split("-")[0]]
        hits = same or hits
    async with kefu.db.session() as session:
        rows = await entries_by_id(session, conversation.workspace_id, [h.id for h in hits])
    out = [
        Suggestion(hit=h, answer=answer_for(rows[h.id], conversation.channel))
        for h in hits
        if h.id in rows
    ][:limit]
    return Suggestions(conversation_id=conversation.id, query=query, suggestions=out)


async def record_usage(
    kefu: Kefu,
    workspace_id: uuid.UUID,
    entry_id: uuid.UUID,
    kind: str,
    *,
    user_id: uuid.UUID | None = None,
    conversation_id: uuid.UUID | None = None,
) -> int:
    """Count one insertion (or bot answer); returns the entry's new count."""
    async with kefu.db.transaction() as session:
        row = await load_for_update(session, workspace_id, entry_id)
        if conversation_id is not None:
            await _require_conversation(session, workspace_id, conversation_id)
        session.add(
            KnowledgeUsage(
                workspace_id=workspace_id,
                entry_id=entry_id,
                kind=kind,
                conversation_id=conversation_id,
                user_id=user_id,
            )
        )
        if kind == "inserted":
            row.insertions += 1
            return row.insertions
        row.bot_answers += 1
        return row.bot_answers


async def _require_conversation(
    session: AsyncSession, workspace_id: uuid.UUID, conversation_id: uuid.UUID
) -> None:
    found = await session.scalar(
        sa.select(Conversation.id).where(
            Conversation.id == conversation_id, Conversation.workspace_id == workspace_id
        )
    )
    if found is None:
        raise Invalid(f"conversation {conversation_id} is not in this workspace")


async def record_feedback(
    kefu: Kefu,
    workspace_id: uuid.UUID,
    entry_id: uuid.UUID,
    feedback: FeedbackIn,
    *,
    source: str,
    user_id: uuid.UUID | None = None,
    public_only: bool = False,
) -> None:
    async with kefu.db.transaction() as session:
        row = await load_for_update(session, workspace_id, entry_id)
        if public_only and (row.visibility != "public" or row.status != "published"):
            raise NotFound(f"knowledge entry {entry_id} not found")
        if feedback.conversation_id is not None:
            await _require_conversation(session, workspace_id, feedback.conversation_id)
        session.add(
            KnowledgeFeedback(
                workspace_id=workspace_id,
                entry_id=entry_id,
                helpful=feedback.helpful,
                comment=feedback.comment,
                source=source,
                conversation_id=feedback.conversation_id,
                user_id=user_id,
            )
        )
        if feedback.helpful:
            row.helpful += 1
        else:
            row.not_helpful += 1
