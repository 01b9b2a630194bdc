"""The knowledge managers' loop, for the console's studio: how each entry does (usage,
feedback, the bot's deflection, entries never used), the feedback with its comments,
unanswered questions grouped by similarity and answered by creating or extending a FAQ,
and "try the bot" — the ranking, scores and decision for a question, without a
conversation."""

from __future__ import annotations

import uuid
from collections import defaultdict

import msgspec
import sqlalchemy as sa

from kefu.context import Kefu
from kefu.db.tables import Conversation, Inbox
from kefu.errors import Invalid, NotFound
from kefu.knowledge import assist, bot, entries, index, unanswered
from kefu.knowledge.schemas import (
    AnswerUnanswered,
    EntryInsight,
    EntryKind,
    EntryPatch,
    EntryStatus,
    EntryView,
    FeedbackView,
    TryBotView,
    UnansweredGroup,
    UnansweredView,
)
from kefu.knowledge.search import text as tx
from kefu.knowledge.search.base import SearchFilters
from kefu.knowledge.tables import KnowledgeEntry, KnowledgeFeedback, KnowledgeUsage

# A conversation the bot answered counts as deflected while no person took it.
_DEFLECTED_STATUSES = ("bot", "resolved")


async def insights(kefu: Kefu, workspace_id: uuid.UUID) -> list[EntryInsight]:
    """Every entry with its use, feedback and deflection; most used first."""
    async with kefu.db.session() as session:
        rows = list(
            await session.scalars(
                sa.select(KnowledgeEntry).where(KnowledgeEntry.workspace_id == workspace_id)
            )
        )
        last_used = dict(
            (
                await session.execute(
                    sa.select(KnowledgeUsage.entry_id, sa.func.max(KnowledgeUsage.created_at))
                    .where(KnowledgeUsage.workspace_id == workspace_id)
                    .group_by(KnowledgeUsage.entry_id)
                )
            ).all()
        )
        answered = (
            await session.execute(
                sa.select(
                    KnowledgeUsage.entry_id,
                    KnowledgeUsage.conversation_id,
                    Conversation.status,
                    Conversation.assignee_id,
                )
                .join(Conversation, Conversation.id == KnowledgeUsage.conversation_id)
                .where(
                    KnowledgeUsage.workspace_id == workspace_id,
                    KnowledgeUsage.kind == "bot_answer",
                )
            )
        ).all()
        conversations: dict[uuid.UUID, set[uuid.UUID]] = defaultdict(set)
        deflected: dict[uuid.UUID, set[uuid.UUID]] = defaultdict(set)
        for entry_id, conversation_id, status, assignee_id in answered:
            if conversation_id is None:
                continue
            conversations[entry_id].add(conversation_id)
            if status in _DEFLECTED_STATUSES and assignee_id is None:
                deflected[entry_id].add(conversation_id)
    out = []
    for r in rows:
        served = len(conversations[r.id])
        out.append(
            EntryInsight(
                id=r.id,
                title=r.title,
                kind=EntryKind(r.kind),
                status=EntryStatus(r.status),
                locale=r.locale,
                insertions=r.insertions,
                bot_answers=r.bot_answers,
                helpful=r.helpful,
                not_helpful=r.not_helpful,
                bot_conversations=served,
                deflected=len(deflected[r.id]),
                deflection=round(len(deflected[r.id]) / served, 3) if served else None,
                last_used_at=last_used.get(r.id),
                never_used=r.insertions == 0 and r.bot_answers == 0,
            )
        )
    out.sort(key=lambda i: (-(i.insertions + i.bot_answers), i.title))
    return out


async def list_feedback(
    kefu: Kefu,
    workspace_id: uuid.UUID,
    *,
    entry_id: uuid.UUID | None = None,
    helpful: bool | None = None,
    limit: int = 100,
) -> list[FeedbackView]:
    """Newest first, with the entry's title; comments are what the managers read."""
    async with kefu.db.session() as session:
        query = (
            sa.select(KnowledgeFeedback, KnowledgeEntry.title)
            .join(KnowledgeEntry, KnowledgeEntry.id == KnowledgeFeedback.entry_id)
            .where(KnowledgeFeedback.workspace_id == workspace_id)
            .order_by(KnowledgeFeedback.created_at.desc())
            .limit(limit)
        )
        if entry_id is not None:
            query = query.where(KnowledgeFeedback.entry_id == entry_id)
        if helpful is not None:
            query = query.where(KnowledgeFeedback.helpful.is_(helpful))
        found = (await session.execute(query)).all()
        return [
            FeedbackView(
                id=f.id,
                entry_id=f.entry_id,
                entry_title=title,
                helpful=f.helpful,
                comment=f.comment,
                source=f.source,
                conversation_id=f.conversation_id,
                created_at=f.created_at,
            )
            for f, title in found
        ]


# ---------------------------------------------------------------- unanswered, grouped


def _shape(text: str) -> frozenset[str]:
    """The words and character pairs of a question (unigrams off: 的 / 吗 say nothing)."""
    return frozenset(tx.terms(text, unigrams=False)) or frozenset(unanswered.question_key(text))


def similarity(a: str, b: str) -> float:
    """Overlap of two questions' terms relative to the shorter one, in [0, 1]."""
    sa_, sb = _shape(a), _shape(b)
    if not sa_ or not sb:
        return 0.0
    return len(sa_ & sb) / min(len(sa_), len(sb))


GROUP_SIMILARITY = 0.6


def group_similar(
    views: list[UnansweredView], threshold: float = GROUP_SIMILARITY
) -> list[UnansweredGroup]:
    """Greedy grouping, most asked first: a question joins the first group whose leading
    question it resembles (same language only)."""
    groups: list[list[UnansweredView]] = []
    for view in sorted(views, key=lambda v: (-v.count, v.question)):
        for group in groups:
            lead = group[0]
            if (lead.locale or "") == (view.locale or "") and similarity(
                lead.question, view.question
            ) >= threshold:
                group.append(view)
                break
        else:
            groups.append([view])
    out = [
        UnansweredGroup(
            questions=g,
            count=sum(v.count for v in g),
            locale=g[0].locale,
            last_asked_at=max(v.last_asked_at for v in g),
        )
        for g in groups
    ]
    out.sort(key=lambda g: (-g.count, -g.last_asked_at.timestamp()))
    return out


async def grouped_unanswered(
    kefu: Kefu, workspace_id: uuid.UUID, *, status: str = "open", limit: int = 500
) -> list[UnansweredGroup]:
    views = await unanswered.list_unanswered(kefu, workspace_id, status=status, limit=limit)
    return group_similar(views)


async def answer_unanswered(
    kefu: Kefu, workspace_id: uuid.UUID, data: AnswerUnanswered, user_id: uuid.UUID | None
) -> EntryView:
    """ "Answer it": the questions become similar questions of an existing FAQ, or of a new
    one; each is then marked resolved by that entry (asked again, it opens again)."""
    if (data.entry_id is None) == (data.entry is None):
        raise Invalid("give either entry_id (extend a FAQ) or entry (create one)")
    questions = [q.strip() for q in dict.fromkeys(data.questions) if q.strip()]
    if data.entry_id is not None:
        current = await entries.get_entry(kefu, workspace_id, data.entry_id)
        known = {current.title, *current.similar}
        added = [q for q in questions if q not in known]
        view = current
        if added:
            view = await entries.update_entry(
                kefu,
                workspace_id,
                data.entry_id,
                EntryPatch(similar=[*current.similar, *added]),
                user_id,
            )
    else:
        assert data.entry is not None
        extra = [q for q in questions if q != data.entry.title and q not in data.entry.similar]
        new = msgspec.structs.replace(
            data.entry, kind=EntryKind.faq, similar=[*data.entry.similar, *extra]
        )
        view = await entries.create_entry(kefu, workspace_id, new, user_id)
    for question in questions:
        try:
            await unanswered.resolve_unanswered(kefu, workspace_id, question, entry_id=view.id)
        except NotFound:
            continue  # typed by the manager, not one of the recorded questions
    return view


# ---------------------------------------------------------------- try the bot


async def try_bot(
    kefu: Kefu,
    workspace_id: uuid.UUID,
    question: str,
    *,
    locale: str | None = None,
    channel: str = "web",
    inbox_id: uuid.UUID | None = None,
    drafts: bool = False,
) -> TryBotView:
    """What the bot would answer to `question` as a conversation's first message: the same
    search (published, public FAQ in the customer's language; with `drafts`, drafts and
    entries in review too, to check an answer before publishing it) and the same policy."""
    config = bot.BotConfig()
    if inbox_id is not None:
        async with kefu.db.session() as session:
            inbox = await session.scalar(
                sa.select(Inbox).where(Inbox.id == inbox_id, Inbox.workspace_id == workspace_id)
            )
        if inbox is None:
            raise NotFound(f"inbox {inbox_id} not found")
        config = bot.config_of(inbox.config or {})
    language = bot.language_of(question, locale)
    wanted = locale or ("zh-CN" if language == "zh" else "en")
    statuses = ("published", "draft", "review") if drafts else ("published",)
    filters = SearchFilters(locale=wanted, status=statuses, visibility="public", kind="faq")
    hits = (await index.search(kefu, workspace_id, question, filters, 10)).hits
    decision = bot.decide(question, hits, bot.BotState(), config)
    answer: str | None = None
    if decision.action == "answer" and decision.entry_id is not None:
        async with kefu.db.session() as session:
            rows = await assist.entries_by_id(session, workspace_id, [decision.entry_id])
        if decision.entry_id in rows:
            answer = assist.answer_for(rows[decision.entry_id], channel)
    return TryBotView(
        query=question,
        locale=wanted,
        action=decision.action,
        entry_id=decision.entry_id,
        hits=list(hits),
        reply=bot.render(decision, language, answer),
        answer_threshold=config.answer_threshold,
        offer_threshold=config.offer_threshold,
    )
