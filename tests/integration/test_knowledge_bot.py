"""The bot shell on a real database: it answers bot conversations through reply() as the
bot, offers choices, records misses as unanswered questions and hands over to the queue."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

import kefu.knowledge.tables  # noqa: F401  (registers the tables before the schema is created)
from kefu.context import Kefu
from kefu.conversations.ingest import ingest
from kefu.db.tables import Conversation, Inbox, Message
from kefu.demo import Demo
from kefu.knowledge import bot, entries, index, io, unanswered
from kefu.knowledge.tables import BotSession, KnowledgeEntry
from kefu.model import ConversationStatus, Identity, Inbound
from kefu.routing import bot_first

# Engine-sensitive (the bot session row is locked FOR UPDATE; misses race on a unique key): SQLite and PostgreSQL.
pytestmark = pytest.mark.engine_sensitive


async def bot_inbox(kefu: Kefu, demo: Demo, **bot_config: object) -> None:
    async with kefu.db.transaction() as session:
        inbox = await session.get(Inbox, demo.inbox_id)
        assert inbox is not None
        inbox.config = {**(inbox.config or {}), "bot": bot_config}
        await bot_first.start_with_bot(session, demo.workspace_id, demo.inbox_id)
    await entries.import_entries(kefu, demo.workspace_id, io.read_folder(io.SAMPLES))
    kefu.after_ingest.append(bot.on_ingest)


async def say(kefu: Kefu, demo: Demo, text: str, visitor: str = "v1") -> uuid.UUID:
    result = await ingest(
        kefu,
        Inbound(
            inbox_id=demo.inbox_id,
            identity=Identity("web_visitor", visitor),
            client_message_id=uuid.uuid4().hex,
            body=text,
        ),
    )
    await kefu.drain()  # the hook runs as spawned work after ingest returns
    assert result.conversation_id is not None
    return result.conversation_id


async def bot_messages(kefu: Kefu, conversation_id: uuid.UUID) -> list[str]:
    async with kefu.db.session() as session:
        rows = await session.scalars(
            sa.select(Message.body)
            .where(Message.conversation_id == conversation_id, Message.sender_kind == "bot")
            .order_by(Message.seq)
        )
        return list(rows)


async def status_of(kefu: Kefu, conversation_id: uuid.UUID) -> str:
    async with kefu.db.session() as session:
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None
        return conversation.status


async def test_confident_answer_asks_whether_it_helped(kefu: Kefu, workspace: Demo) -> None:
    await bot_inbox(kefu, workspace)
    cid = await say(kefu, workspace, "如何申请退款")
    assert await status_of(kefu, cid) == ConversationStatus.bot
    (answer,) = await bot_messages(kefu, cid)
    assert "申请退款" in answer and answer.endswith("请回复「有」或「没有」。")
    async with kefu.db.session() as session:
        used = await session.scalar(
            sa.select(KnowledgeEntry.bot_answers).where(KnowledgeEntry.key == "refund-how")
        )
    assert used == 1

    await say(kefu, workspace, "有")
    assert (await bot_messages(kefu, cid))[-1] == "很高兴能帮到您！还有其他问题吗？"
    async with kefu.db.session() as session:
        helpful = await session.scalar(
            sa.select(KnowledgeEntry.helpful).where(KnowledgeEntry.key == "refund-how")
        )
    assert helpful == 1


async def test_asking_for_a_human_hands_over_to_the_queue(kefu: Kefu, workspace: Demo) -> None:
    await bot_inbox(kefu, workspace)
    cid = await say(kefu, workspace, "你好")
    await say(kefu, workspace, "转人工")
    assert (await bot_messages(kefu, cid))[-1] == "好的，正在为您转接人工客服，请稍候。"
    assert await status_of(kefu, cid) in (ConversationStatus.queued, ConversationStatus.open)
    # once handed over, the bot stays quiet
    before = len(await bot_messages(kefu, cid))
    await say(kefu, workspace, "如何申请退款")
    assert len(await bot_messages(kefu, cid)) == before


async def test_two_misses_hand_over_and_are_listed_unanswered(kefu: Kefu, workspace: Demo) -> None:
    await bot_inbox(kefu, workspace, max_misses=2)
    cid = await say(kefu, workspace, "今天天气怎么样")
    assert "换个说法" in (await bot_messages(kefu, cid))[-1]
    await say(kefu, workspace, "能寄到月球吗")
    assert (await bot_messages(kefu, cid))[-1] == "抱歉没能帮到您，正在为您转接人工客服，请稍候。"
    assert await status_of(kefu, cid) != ConversationStatus.bot
    questions = await unanswered.list_unanswered(kefu, workspace.workspace_id)
    assert {u.question for u in questions} == {"今天天气怎么样", "能寄到月球吗"}


async def test_unsure_offers_choices_and_a_number_picks(kefu: Kefu, workspace: Demo) -> None:
    await bot_inbox(kefu, workspace, answer_threshold=0.99, offer_threshold=0.2)
    cid = await say(kefu, workspace, "退款")
    offer = (await bot_messages(kefu, cid))[-1]
    assert offer.startswith("您想问的是下面哪个问题？") and "\n1. " in offer
    async with kefu.db.session() as session:
        state = await session.get(BotSession, cid)
        assert state is not None and state.offered
        first = state.offered[0]
    await say(kefu, workspace, "1")
    answer = (await bot_messages(kefu, cid))[-1]
    async with kefu.db.session() as session:
        body = await session.scalar(
            sa.select(KnowledgeEntry.body).where(KnowledgeEntry.id == uuid.UUID(first["id"]))
        )
    assert body is not None and answer.startswith(body.strip()[:10])


async def test_english_visitor_gets_english_words_and_english_faq(
    kefu: Kefu, workspace: Demo
) -> None:
    await bot_inbox(kefu, workspace)
    cid = await say(kefu, workspace, "How do I track my order?", visitor="en1")
    answer = (await bot_messages(kefu, cid))[-1]
    assert "Track package" in answer and answer.endswith("Did this help? Reply “yes” or “no”.")


async def test_internal_and_draft_entries_never_reach_customers(
    kefu: Kefu, workspace: Demo
) -> None:
    await bot_inbox(kefu, workspace)
    cid = await say(kefu, workspace, "客服可以直接批准多少金额的退款")
    assert all("组长审批" not in m for m in await bot_messages(kefu, cid))


async def test_a_failing_bot_hands_over_instead_of_going_silent(
    kefu: Kefu, workspace: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    await bot_inbox(kefu, workspace)

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("search backend is down")

    monkeypatch.setattr(index, "search", broken)
    cid = await say(kefu, workspace, "如何申请退款")
    assert await status_of(kefu, cid) in (ConversationStatus.queued, ConversationStatus.open)
