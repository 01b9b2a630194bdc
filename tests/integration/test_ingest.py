from __future__ import annotations

import asyncio
from datetime import timedelta

import sqlalchemy as sa

from kefu.context import Kefu
from kefu.conversations.service import Actor, change_status, ingest
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

    from kefu.conversations.service import UnknownInbox

    bad = Inbound(inbox_id=uuid.uuid4(), identity=Identity("web_visitor", "v"), body="x")
    try:
        await ingest(kefu, bad)
    except UnknownInbox:
        pass
    else:
        raise AssertionError("an unknown inbox must be refused")
    assert await count(kefu, Contact) == 0
    assert await count(kefu, Message) == 0
