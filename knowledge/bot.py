"""The bot: answers a conversation in `bot` status from published, public FAQ.

`decide()` is the whole policy as a pure function of the customer's text, the search
hits, the thresholds and what the bot did so far; `render()` turns a decision into words
in the conversation's language. `on_ingest` is the thin shell the core runs after each
inbound message (`kefu.after_ingest`): it searches, decides, replies through
`conversations.actions.reply()` as the bot, and hands over by putting the conversation in the
queue, where routing takes it (routing remembers the bot served it and will not route it
back).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Literal

import msgspec
import sqlalchemy as sa

from kefu.context import Kefu
from kefu.conversations.actions import Actor, change_status, reply
from kefu.conversations.ingest import IngestResult
from kefu.db import retry
from kefu.db.tables import Conversation, ConversationEventRow, Inbox, Message
from kefu.errors import Conflict, NotFound
from kefu.knowledge import assist, index, unanswered
from kefu.knowledge.schemas import FeedbackIn
from kefu.knowledge.search import text as tx
from kefu.knowledge.search.base import SearchFilters, SearchHit
from kefu.knowledge.tables import BotSession
from kefu.model import ConversationStatus, MessageType, SenderKind, utcnow


class BotConfig(msgspec.Struct, frozen=True, kw_only=True):
    """Per inbox (`inbox.config["bot"]`); scores are the search backends' [0, 1] scores."""

    # Calibrated on the relevance set with its no-answer queries (`relevance.calibrate`,
    # figures in bench/RESULTS.md): answering needs the top hit above the threshold AND
    # this far ahead of the second. From threshold 0.6 with a margin of 0.05 or more the
    # set gets no wrong answer; the defaults sit inside that plateau, not on its edge.
    # "How long does shipping take?" once got the refund-time answer at 0.80 (shipping-time
    # 0.50): fixed in the content (a "how long" phrasing on shipping-time), not the policy.
    answer_threshold: float = 0.65
    offer_threshold: float = 0.2
    # A second hit closer than this means the bot cannot tell them apart: offer choices.
    ambiguity_margin: float = 0.15
    max_misses: int = 2
    max_choices: int = 3
    handover_words: tuple[str, ...] = ()
    name: str = ""


log = logging.getLogger("kefu.knowledge.bot")

# What customers type to reach a person. A mention is not a request: "人工客服几点上班"
# and "what are your agents' hours" are questions for the FAQ, "转人工", "我要人工", "agent"
# and "let me talk to someone" are requests.
HANDOVER_ZH = ("转人工", "找人工", "要人工", "接人工", "人工服务", "真人", "转客服", "找客服")
HANDOVER_ZH_SHORT = ("人工", "客服")  # only when the message is little else (<= 8 chars)
_HANDOVER_EN = re.compile(
    r"^(agent|human|person|operator|representative)s?$"
    r"|\b(human|operator|representative|real person|live (agent|person))\b"
    r"|\b(talk|speak|chat|connect me|put me through)\b.*\b(agent|person|someone|somebody|"
    r"staff|human|people)s?\b"
)
YES = ("有帮助", "有用", "解决了", "好的谢谢", "谢谢", "有", "是的",
       "yes", "yep", "thanks", "thank you", "helpful", "it helped", "great", "ok")  # fmt: skip
NO = ("没帮助", "没有帮助", "没用", "没有用", "没解决", "不是", "没有",
      "no", "nope", "not really", "didn't help", "it did not help", "not helpful")  # fmt: skip
_ORDINALS = {
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "①": 1,
    "②": 2,
    "③": 3,
    "④": 4,
    "⑤": 5,
}


class Choice(msgspec.Struct, frozen=True):
    id: str
    title: str


class BotState(msgspec.Struct, frozen=True, kw_only=True):
    misses: int = 0
    offered: tuple[Choice, ...] = ()
    # The entry last answered with, while its "did this help?" is open.
    answered: str | None = None


Action = Literal["answer", "offer", "clarify", "hand_over", "thanks", "sorry"]


class Decision(msgspec.Struct, frozen=True, kw_only=True):
    action: Action
    state: BotState
    entry_id: str | None = None
    choices: tuple[Choice, ...] = ()
    # hand_over: "requested" | "misses"
    reason: str | None = None
    # The customer's text should go to the managers' unanswered list.
    unanswered: bool = False
    # Feedback on `state.answered` read from a yes/no reply: True, False or None.
    feedback: bool | None = None


def language_of(text: str, conversation_language: str | None) -> str:
    """'zh' or 'en': the conversation's language if known, else the text's script."""
    if conversation_language:
        return "zh" if conversation_language.lower().startswith("zh") else "en"
    return "zh" if any(tx.is_cjk_term(ch) for ch in text) else "en"


def wants_human(text: str, extra: Sequence[str] = ()) -> bool:
    norm = tx.normalize(text)
    compact = re.sub(r"[\s\W_]+", "", norm)
    if any(w in compact for w in HANDOVER_ZH):
        return True
    if len(compact) <= 8 and any(w in compact for w in HANDOVER_ZH_SHORT):
        return True
    words = " ".join(re.findall(r"[a-z]+", norm))
    if _HANDOVER_EN.search(words):
        return True
    return any(
        (e in compact) if tx.is_cjk_term(e[:1]) else (f" {e.lower()} " in f" {words} ")
        for e in extra
    )


def _short_reply(text: str, words: Sequence[str]) -> bool:
    """The whole message is one of `words` (give or take punctuation and a particle):
    "没有。" and "没有哦" are a no, "没有收到退款" is a new question."""
    norm = re.sub(r"[\s\W_]+", " ", tx.normalize(text).replace("'", "")).strip()
    norm = re.sub(r"[啊呀哦呢吧的了嘛噢]+$", "", norm).strip()
    words = [w.replace("'", "") for w in words]
    if norm in words:
        return True
    # "yes thanks", "no it didn't help": English made only of the list's own words.
    vocabulary = {w for phrase in words for w in phrase.split() if w.isascii()}
    tokens = norm.split()
    return bool(tokens) and all(t.isascii() for t in tokens) and set(tokens) <= vocabulary


def picked(text: str, offered: Sequence[Choice]) -> Choice | None:
    """The offered choice the customer picked: "2", "第二个", "②" or its exact title."""
    norm = tx.normalize(text).strip()
    m = re.fullmatch(r"(?:第)?\s*(\d+|[一二两三四五①②③④⑤])\s*(?:个|条|项)?[。.!！]?", norm)
    if m:
        raw = m.group(1)
        n = int(raw) if raw.isdigit() else _ORDINALS[raw]
        return offered[n - 1] if 1 <= n <= len(offered) else None
    for choice in offered:
        if tx.normalize(choice.title).rstrip("?？") == norm.rstrip("?？"):
            return choice
    return None


def decide(
    text: str, hits: Sequence[SearchHit], state: BotState, config: BotConfig = BotConfig()
) -> Decision:
    """What the bot does with one customer message. Order matters: a request for a human
    wins over everything; then a pick from the offered choices; then a yes/no to "did this
    help?"; then the search hits."""
    if wants_human(text, config.handover_words):
        return Decision(action="hand_over", reason="requested", state=BotState(misses=state.misses))

    if state.offered:
        choice = picked(text, state.offered)
        if choice is not None:
            return Decision(
                action="answer",
                entry_id=choice.id,
                state=BotState(misses=state.misses, answered=choice.id),
            )

    if state.answered is not None:
        if _short_reply(text, NO):
            misses = state.misses + 1
            if misses >= config.max_misses:
                return Decision(
                    action="hand_over",
                    reason="misses",
                    feedback=False,
                    state=BotState(misses=misses),
                )
            return Decision(action="sorry", feedback=False, state=BotState(misses=misses))
        if _short_reply(text, YES):
            return Decision(action="thanks", feedback=True, state=BotState(misses=state.misses))

    top = hits[0] if hits else None
    second = hits[1] if len(hits) > 1 else None
    if (
        top is not None
        and top.score >= config.answer_threshold
        and (second is None or top.score - second.score >= config.ambiguity_margin)
    ):
        return Decision(
            action="answer", entry_id=top.id, state=BotState(misses=state.misses, answered=top.id)
        )
    choices = tuple(Choice(h.id, h.title) for h in hits if h.score >= config.offer_threshold)[
        : config.max_choices
    ]
    if choices:
        return Decision(
            action="offer", choices=choices, state=BotState(misses=state.misses, offered=choices)
        )
    misses = state.misses + 1
    if misses >= config.max_misses:
        return Decision(
            action="hand_over", reason="misses", unanswered=True, state=BotState(misses=misses)
        )
    return Decision(action="clarify", unanswered=True, state=BotState(misses=misses))


MESSAGES: dict[str, dict[str, str]] = {
    "zh": {
        "did_it_help": "这个回答对您有帮助吗？请回复「有」或「没有」。",
        "offer": "您想问的是下面哪个问题？回复编号即可：",
        "offer_tail": "都不是？回复「人工」为您转接人工客服。",
        "clarify": "抱歉，我没能理解您的问题，能换个说法再问一次吗？"
        "也可以回复「人工」转接人工客服。",
        "sorry": "抱歉没能解决您的问题。您可以换个说法再问一次，或回复「人工」转接人工客服。",
        "thanks": "很高兴能帮到您！还有其他问题吗？",
        "hand_over_requested": "好的，正在为您转接人工客服，请稍候。",
        "hand_over_misses": "抱歉没能帮到您，正在为您转接人工客服，请稍候。",
    },
    "en": {
        "did_it_help": "Did this help? Reply “yes” or “no”.",
        "offer": "Did you mean one of these? Reply with its number:",
        "offer_tail": "None of them? Type “agent” to talk to a person.",
        "clarify": "Sorry, I didn't understand. Could you put it another way? "
        "Or type “agent” to talk to a person.",
        "sorry": "Sorry that didn't solve it. You can ask another way, or type “agent” "
        "to talk to a person.",
        "thanks": "Glad I could help! Anything else?",
        "hand_over_requested": "Sure, I'm connecting you to a person now. Please hold on.",
        "hand_over_misses": "Sorry I couldn't help. I'm connecting you to a person now.",
    },
}


def render(decision: Decision, language: str, answer: str | None = None) -> str:
    """The bot's words for a decision; every answer ends by asking whether it helped."""
    m = MESSAGES.get(language, MESSAGES["en"])
    if decision.action == "answer":
        return f"{(answer or '').strip()}\n\n{m['did_it_help']}"
    if decision.action == "offer":
        lines = [m["offer"], *(f"{i}. {c.title}" for i, c in enumerate(decision.choices, 1))]
        return "\n".join([*lines, m["offer_tail"]])
    if decision.action == "hand_over":
        return m[f"hand_over_{decision.reason or 'requested'}"]
    return m[decision.action]


def _aware(at: datetime) -> datetime:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def config_of(inbox_config: dict[str, Any]) -> BotConfig:
    raw = inbox_config.get("bot") or {}
    try:
        return msgspec.convert(raw, BotConfig, strict=False)
    except msgspec.ValidationError:
        return BotConfig()  # a broken config must not silence the bot; defaults are safe


# ---------------------------------------------------------------------------
# the shell


def _locks(kefu: Kefu) -> dict[uuid.UUID, asyncio.Lock]:
    return kefu.bot_locks


async def on_ingest(kefu: Kefu, result: IngestResult) -> None:
    """`kefu.after_ingest` hook. Runs for every committed inbound message; acts only on
    conversations in `bot` status. Messages of one conversation are handled one at a
    time (in this process), so "2" is read against the choices just offered."""
    if (
        result.conversation_id is None
        or result.message_id is None
        or result.status != ConversationStatus.bot
    ):
        return
    lock = _locks(kefu).setdefault(result.conversation_id, asyncio.Lock())
    try:
        async with lock:
            await serve(kefu, result.workspace_id, result.conversation_id, result.message_id)
    except Exception:
        # A broken bot must not strand the customer in `bot` status: hand over instead.
        log.exception("bot failed on conversation %s; handing over", result.conversation_id)
        actor = Actor(workspace_id=result.workspace_id, kind=SenderKind.bot)
        with contextlib.suppress(Exception):
            await change_status(kefu, result.conversation_id, actor, ConversationStatus.queued)
    finally:
        if not lock.locked():
            _locks(kefu).pop(result.conversation_id, None)


async def serve(
    kefu: Kefu, workspace_id: uuid.UUID, conversation_id: uuid.UUID, message_id: uuid.UUID
) -> Decision | None:
    """Handle one customer message of a bot conversation; returns what the bot did."""
    async with kefu.db.session() as session:
        conversation = await session.get(Conversation, conversation_id)
        message = await session.get(Message, message_id)
        if conversation is None or message is None or conversation.workspace_id != workspace_id:
            return None
        if conversation.status != ConversationStatus.bot:
            return None  # handed over (or taken by an agent) meanwhile
        inbox = await session.get(Inbox, conversation.inbox_id)
        row = await session.get(BotSession, conversation_id)
        # A new stay with the bot (the conversation was routed to it again, e.g. reopened)
        # starts afresh: yesterday's misses must not make the first reply a hand-over
        # apology to a customer who just came back.
        routed_at = await session.scalar(
            sa.select(sa.func.max(ConversationEventRow.created_at)).where(
                ConversationEventRow.conversation_id == conversation_id,
                ConversationEventRow.type == "routed_to_bot",
            )
        )
        fresh = row is None or (
            routed_at is not None and _aware(row.updated_at) < _aware(routed_at)
        )
        state = (
            BotState()
            if fresh or row is None
            else BotState(
                misses=row.misses,
                offered=tuple(msgspec.convert(row.offered or [], list[Choice])),
                answered=str(row.last_entry_id) if row.last_entry_id else None,
            )
        )
        channel = conversation.channel
        conversation_language = conversation.language
    config = config_of(inbox.config if inbox is not None else {})
    text = message.body if message.type == MessageType.text else ""
    language = language_of(text, conversation_language)
    locale = "zh-CN" if language == "zh" else "en"

    hits: list[SearchHit] = []
    if text.strip():
        # Customers only ever see published, public FAQ: internal notes stay internal.
        filters = SearchFilters(
            locale=locale, status=("published",), visibility="public", kind="faq"
        )
        hits = (await index.search(kefu, workspace_id, text, filters, 5)).hits
    decision = decide(text, hits, state, config)

    answer_text: str | None = None
    if decision.action == "answer" and decision.entry_id is not None:
        async with kefu.db.session() as session:
            rows = await assist.entries_by_id(session, workspace_id, [decision.entry_id])
        entry = rows.get(decision.entry_id)
        if entry is None:  # deleted since it was offered
            decision = Decision(action="clarify", state=BotState(misses=state.misses))
        else:
            answer_text = assist.answer_for(entry, channel)

    # Remember first: if the reply fails, the next message is still read correctly.
    async def remember() -> None:
        async with kefu.db.transaction() as session:
            row = await session.get(BotSession, conversation_id, with_for_update=True)
            if row is None:
                row = BotSession(conversation_id=conversation_id, workspace_id=workspace_id)
                session.add(row)
            row.misses = decision.state.misses
            row.offered = msgspec.to_builtins(list(decision.state.offered))
            answered = decision.state.answered
            row.last_entry_id = uuid.UUID(answered) if answered else None
            row.updated_at = utcnow()

    # Each step is its own unit of work, retried on a deadlock; the reply and the
    # hand-over (`actions`) retry themselves.
    await retry.run(remember, what="bot turn")
    if decision.feedback is not None and state.answered is not None:
        with contextlib.suppress(NotFound):  # the entry was deleted meanwhile
            await assist.record_feedback(
                kefu,
                workspace_id,
                uuid.UUID(state.answered),
                FeedbackIn(helpful=decision.feedback, conversation_id=conversation_id),
                source="bot",
            )
    if decision.unanswered and text.strip():
        await unanswered.record_unanswered(
            kefu, workspace_id, text, locale=locale, conversation_id=conversation_id
        )
    if decision.action == "answer" and decision.entry_id is not None:
        await assist.record_usage(
            kefu,
            workspace_id,
            uuid.UUID(decision.entry_id),
            "bot_answer",
            conversation_id=conversation_id,
        )

    actor = Actor(
        workspace_id=workspace_id,
        kind=SenderKind.bot,
        name=config.name or ("智能助手" if language == "zh" else "Assistant"),
    )
    await reply(kefu, conversation_id, actor, render(decision, language, answer_text))
    if decision.action == "hand_over":
        # Conflict: an agent took it, or a parallel hand-over queued it first.
        with contextlib.suppress(Conflict):
            await change_status(kefu, conversation_id, actor, ConversationStatus.queued)
    return decision
