from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
import sqlalchemy as sa

from kefu.context import Kefu
from kefu.conversations.actions import Actor, change_status
from kefu.conversations.ingest import ingest
from kefu.db.tables import Contact, ContactIdentity, Conversation, ConversationEventRow, Message
from kefu.demo import Demo
from kefu.model import (
    ContactFacts,
    ConversationFacts,
    ConversationStatus,
    Identity,
    Inbound,
    SenderKind,
)

# Engine-sensitive (locking, dedup by unique index, group commit, per-conversation order): SQLite and PostgreSQL.
pytestmark = pytest.mark.engine_sensitive


def text(
    demo: Demo, body: str, *, visitor: str = "v-1", msgid: str | None = None, **kw: object
) -> Inbound:
    return Inbound(
        inbox_id=demo.inbox_id,
        identity=Identity("web_visitor", visitor),
        channel_message_id=msgid,
        body=body,
        **kw,  # type: ignore[arg-type]
    )


async def count(kefu: Kefu, model: type, *where: sa.ColumnElement[bool]) -> int:
    async with kefu.db.session() as session:
        return int(
            await session.scalar(sa.select(sa.func.count()).select_from(model).where(*where)) or 0
        )


async def test_same_message_delivered_20_times_concurrently_is_stored_once(
    kefu: Kefu, workspace: Demo
) -> None:
    inbound = text(workspace, "我的订单还没发货", msgid="wx-123456")
    results = await asyncio.gather(*(ingest(kefu, inbound) for _ in range(20)))
    assert await count(kefu, Message) == 1
    assert await count(kefu, Conversation) == 1
    assert await count(kefu, Contact) == 1
    assert len({r.message_id for r in results}) == 1
    assert sum(not r.duplicate for r in results) == 1


async def test_first_messages_of_a_new_visitor_racing_share_one_conversation(
    kefu: Kefu, workspace: Demo
) -> None:
    await asyncio.gather(
        *(ingest(kefu, text(workspace, f"hello {i}", msgid=f"m{i}")) for i in range(10))
    )
    assert await count(kefu, Conversation) == 1
    async with kefu.db.session() as session:
        seqs = sorted((await session.scalars(sa.select(Message.seq))).all())
    assert seqs == list(range(1, 11))


async def test_widget_resend_with_same_client_id_is_stored_once(
    kefu: Kefu, workspace: Demo
) -> None:
    first = await ingest(kefu, text(workspace, "hi", client_message_id="c-1"))
    again = await ingest(kefu, text(workspace, "hi", client_message_id="c-1"))
    assert again.duplicate and again.message_id == first.message_id
    assert await count(kefu, Message) == 1


async def test_contact_is_resolved_by_any_known_identity_and_learns_new_ones(
    kefu: Kefu, workspace: Demo
) -> None:
    await ingest(kefu, text(workspace, "a", visitor="v-9", contact=ContactFacts(name="小王")))
    await ingest(
        kefu,
        Inbound(
            inbox_id=workspace.inbox_id,
            identity=Identity("external", "user-42"),
            also_known_as=(Identity("web_visitor", "v-9"),),
            body="b",
            contact=ContactFacts(email="wang@example.com", verified=True),
        ),
    )
    assert await count(kefu, Contact) == 1
    assert await count(kefu, ContactIdentity) == 2
    async with kefu.db.session() as session:
        contact = (await session.scalars(sa.select(Contact))).one()
    assert (contact.name, contact.email, contact.verified) == ("小王", "wang@example.com", True)


async def test_new_conversation_records_routing_facts_and_events(
    kefu: Kefu, workspace: Demo
) -> None:
    result = await ingest(
        kefu,
        text(
            workspace,
            "price?",
            facts=ConversationFacts(
                entry_point="pricing", page_url="https://shop/p", referrer="https://search"
            ),
        ),
    )
    assert result.opened
    async with kefu.db.session() as session:
        conversation = await session.get(Conversation, result.conversation_id)
        types = (
            await session.scalars(
                sa.select(ConversationEventRow.type).order_by(ConversationEventRow.id)
            )
        ).all()
    assert conversation is not None
    assert (conversation.entry_point, conversation.first_page, conversation.referrer) == (
        "pricing",
        "https://shop/p",
        "https://search",
    )
    assert conversation.group_id == workspace.groups["presales"]
    assert types[0] == "created" and "queued" in types


async def test_customer_writing_after_resolve_reopens_within_window_and_opens_new_after(
    kefu: Kefu, workspace: Demo
) -> None:
    first = await ingest(kefu, text(workspace, "one"))
    system = Actor(workspace_id=workspace.workspace_id, kind=SenderKind.system)
    assert first.conversation_id is not None
    await change_status(kefu, first.conversation_id, system, ConversationStatus.resolved)
    again = await ingest(kefu, text(workspace, "two"))
    assert again.reopened and again.conversation_id == first.conversation_id

    await change_status(kefu, first.conversation_id, system, ConversationStatus.resolved)
    async with kefu.db.transaction() as session:
        conversation = await session.get(Conversation, first.conversation_id)
        assert conversation is not None and conversation.resolved_at is not None
        conversation.resolved_at -= timedelta(hours=kefu.settings.reopen_window_hours + 1)
    later = await ingest(kefu, text(workspace, "three"))
    assert later.opened and later.conversation_id != first.conversation_id


async def test_unknown_inbox_is_refused_and_writes_nothing(kefu: Kefu, workspace: Demo) -> None:
    import uuid

    from kefu.conversations.ingest import UnknownInbox

    bad = Inbound(inbox_id=uuid.uuid4(), identity=Identity("web_visitor", "v"), body="x")
    try:
        await ingest(kefu, bad)
    except UnknownInbox:
        pass
    else:
        raise AssertionError("an unknown inbox must be refused")
    assert await count(kefu, Contact) == 0
    assert await count(kefu, Message) == 0


# ---------------------------------------------------------------------------
# group commit: messages to open conversations arriving together share a transaction


def commit_counter(kefu: Kefu) -> list[int]:
    commits = [0]

    def on_commit(_conn: object) -> None:
        commits[0] += 1

    sa.event.listen(kefu.db.engine.sync_engine, "commit", on_commit)
    return commits


async def test_messages_arriving_together_share_commits_and_keep_each_conversations_order(
    kefu: Kefu, workspace: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    visitors = [f"v-{n}" for n in range(20)]
    for visitor in visitors:
        await ingest(kefu, text(workspace, "open", visitor=visitor))
    published: list[object] = []
    monkeypatch.setattr(kefu.events, "publish", published.append)
    commits = commit_counter(kefu)

    results = await asyncio.gather(
        *(
            ingest(kefu, text(workspace, f"#{i}", visitor=visitors[i % 20], msgid=f"m-{i}"))
            for i in range(200)
        )
    )

    assert all(not r.duplicate and not r.opened for r in results)
    assert len({r.message_id for r in results}) == 200
    # Far fewer transactions than messages: that is the point.
    assert commits[0] <= 20, commits[0]
    async with kefu.db.session() as session:
        for conversation in await session.scalars(sa.select(Conversation)):
            bodies = (
                await session.scalars(
                    sa.select(Message.body)
                    .where(Message.conversation_id == conversation.id)
                    .order_by(Message.seq)
                )
            ).all()
            # Each conversation keeps the order its messages were sent in, seq 1..11.
            assert bodies[0] == "open"
            numbers = [int(b[1:]) for b in bodies[1:]]
            assert numbers == sorted(numbers) and len(numbers) == 10
            assert conversation.last_seq == 11
            assert conversation.last_inbound_at is not None
    # Published after commit, once per message.
    published_ids = [e.message.id for e in published if getattr(e, "message", None)]  # type: ignore[attr-defined]
    assert sorted(map(str, published_ids)) == sorted(str(r.message_id) for r in results)


async def test_a_batch_mixing_known_new_duplicate_and_unknown_messages_treats_each_right(
    kefu: Kefu, workspace: Demo
) -> None:
    import uuid

    from kefu.conversations.ingest import UnknownInbox

    stored = await ingest(kefu, text(workspace, "open", visitor="known", msgid="dup"))
    outcomes = await asyncio.gather(
        ingest(kefu, text(workspace, "again", visitor="known", msgid="k-2")),
        ingest(kefu, text(workspace, "open", visitor="known", msgid="dup")),
        ingest(kefu, text(workspace, "hello", visitor="newcomer", msgid="n-1")),
        ingest(kefu, Inbound(inbox_id=uuid.uuid4(), identity=Identity("web_visitor", "x"))),
        *(ingest(kefu, text(workspace, "same", visitor="known", msgid="k-3")) for _ in range(5)),
        return_exceptions=True,
    )
    again, duplicate, newcomer, unknown, *same = outcomes
    assert not isinstance(again, BaseException) and again.conversation_id == stored.conversation_id
    assert not isinstance(duplicate, BaseException) and duplicate.duplicate
    assert duplicate.message_id == stored.message_id
    assert not isinstance(newcomer, BaseException) and newcomer.opened
    assert isinstance(unknown, UnknownInbox)
    assert all(not isinstance(s, BaseException) for s in same)
    assert sum(not s.duplicate for s in same) == 1  # type: ignore[union-attr]
    assert await count(kefu, Message) == 4  # open, again, hello, same
    async with kefu.db.session() as session:
        seqs = (
            await session.scalars(
                sa.select(Message.seq)
                .where(Message.conversation_id == stored.conversation_id)
                .order_by(Message.seq)
            )
        ).all()
    assert seqs == [1, 2, 3]


async def test_facts_sent_with_a_batched_message_reach_contact_and_conversation(
    kefu: Kefu, workspace: Demo
) -> None:
    first = await ingest(kefu, text(workspace, "open"))
    await asyncio.gather(
        ingest(
            kefu,
            text(
                workspace,
                "I am on the pricing page",
                contact=ContactFacts(name="Li Lei", email="li@example.com"),
                facts=ConversationFacts(
                    page_url="https://shop.test/pricing", attributes={"plan": "pro"}
                ),
            ),
        ),
        ingest(kefu, text(workspace, "still here", visitor="other")),
    )
    async with kefu.db.session() as session:
        conversation = await session.get(Conversation, first.conversation_id)
        contact = await session.get(Contact, first.contact_id)
    assert conversation is not None and contact is not None
    assert conversation.attributes["current_page"] == "https://shop.test/pricing"
    assert conversation.attributes["plan"] == "pro"
    assert (contact.name, contact.email) == ("Li Lei", "li@example.com")
