"""What channels hand to the core besides messages (SQLite and PostgreSQL): a rating,
once per resolved conversation; read receipts, which only move replies forward;
attachments replaced after ingest; whether an inbox is open by its linked calendar."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from kefu.context import Kefu
from kefu.conversations import attachments, feedback
from kefu.conversations.actions import Actor, change_status, reply
from kefu.conversations.customers import Customer, customer_of
from kefu.conversations.ingest import ingest
from kefu.db.tables import Conversation, ConversationEventRow, Inbox, Message
from kefu.demo import Demo
from kefu.errors import Conflict, Invalid, NotFound
from kefu.model import (
    Attachment,
    ConversationStatus,
    DeliveryStatus,
    Identity,
    Inbound,
    MessageType,
    SenderKind,
)
from kefu.routing.availability import inbox_availability
from kefu.routing.tables import BusinessCalendar


def admin_of(demo: Demo) -> Actor:
    admin = next(login for login in demo.logins if login.email.startswith("admin@"))
    return Actor(
        workspace_id=demo.workspace_id, kind=SenderKind.agent, user_id=admin.id, name=admin.name
    )


async def writes(kefu: Kefu, demo: Demo, visitor: str, **values: Any) -> tuple[uuid.UUID, Any]:
    result = await ingest(
        kefu,
        Inbound(
            inbox_id=demo.inbox_id,
            identity=Identity("web_visitor", visitor),
            client_message_id=uuid.uuid4().hex,
            body=values.pop("body", "你好"),
            **values,
        ),
    )
    assert result.conversation_id is not None
    return result.conversation_id, result


async def customer(kefu: Kefu, demo: Demo, visitor: str) -> Customer:
    async with kefu.db.session() as session:
        found = await customer_of(
            session, demo.workspace_id, demo.inbox_id, Identity("web_visitor", visitor)
        )
    assert found is not None
    return found


@pytest.fixture
def published(kefu: Kefu, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    events: list[Any] = []
    monkeypatch.setattr(kefu.events, "publish", events.append)
    return events


async def test_a_resolved_conversation_is_rated_once_with_its_event(
    kefu: Kefu, workspace: Demo, published: list[Any]
) -> None:
    cid, _ = await writes(kefu, workspace, "v1")
    who = await customer(kefu, workspace, "v1")
    with pytest.raises(Conflict):
        await feedback.rate(kefu, who, cid, 5)  # still open
    await change_status(kefu, cid, admin_of(workspace), ConversationStatus.resolved)
    published.clear()

    await feedback.rate(kefu, who, cid, 4, "  quick and kind  ")
    with pytest.raises(Conflict):
        await feedback.rate(kefu, who, cid, 1, "changed my mind")

    async with kefu.db.session() as session:
        conversation = await session.get(Conversation, cid)
        assert conversation is not None
        assert (conversation.csat_score, conversation.csat_comment) == (4, "quick and kind")
        rated = (
            await session.scalars(
                sa.select(ConversationEventRow).where(
                    ConversationEventRow.conversation_id == cid,
                    ConversationEventRow.type == "rated",
                )
            )
        ).all()
    assert [(r.actor_kind, r.data) for r in rated] == [
        ("contact", {"score": 4, "comment": "quick and kind"})
    ]
    assert [(e.conversation_id, e.change) for e in published] == [(cid, "rated")]


async def test_nobody_rates_someone_elses_conversation(kefu: Kefu, workspace: Demo) -> None:
    cid, _ = await writes(kefu, workspace, "owner")
    await writes(kefu, workspace, "stranger")
    await change_status(kefu, cid, admin_of(workspace), ConversationStatus.resolved)
    with pytest.raises(NotFound):
        await feedback.rate(kefu, await customer(kefu, workspace, "stranger"), cid, 1)
    with pytest.raises(NotFound):
        await feedback.rate(kefu, None, cid, 1)  # a visitor who never wrote


async def test_read_receipts_only_move_replies_forward(
    kefu: Kefu, workspace: Demo, published: list[Any]
) -> None:
    cid, _ = await writes(kefu, workspace, "reader")
    admin = admin_of(workspace)
    replies = [await reply(kefu, cid, admin, f"reply {n}") for n in range(5)]
    statuses = [
        DeliveryStatus.sent,
        DeliveryStatus.delivered,
        DeliveryStatus.failed,
        DeliveryStatus.pending,
        DeliveryStatus.sent,  # after the receipt's seq: not seen yet
    ]
    async with kefu.db.transaction() as session:
        for view, status in zip(replies, statuses, strict=True):
            await session.execute(
                sa.update(Message).where(Message.id == view.id).values(delivery_status=status)
            )
    published.clear()
    who = await customer(kefu, workspace, "reader")

    assert await feedback.mark_read(kefu, who, cid, replies[3].seq) == 2
    assert await feedback.mark_read(kefu, who, cid, replies[3].seq) == 0  # nothing goes back

    async with kefu.db.session() as session:
        now = dict(
            (
                await session.execute(
                    sa.select(Message.body, Message.delivery_status).where(
                        Message.conversation_id == cid, Message.direction == "out"
                    )
                )
            ).all()
        )
    assert now == {
        "reply 0": "read",
        "reply 1": "read",
        "reply 2": "failed",
        "reply 3": "pending",
        "reply 4": "sent",
    }
    assert [(e.message.body, e.message.delivery_status) for e in published] == [
        ("reply 0", "read"),
        ("reply 1", "read"),
    ]


async def test_typing_is_heard_only_in_a_conversation_that_is_not_resolved(
    kefu: Kefu, workspace: Demo, published: list[Any]
) -> None:
    await feedback.customer_typing(kefu, None, "nobody", True)
    cid, _ = await writes(kefu, workspace, "typist")
    who = await customer(kefu, workspace, "typist")
    published.clear()
    await feedback.customer_typing(kefu, who, "Typist", True)
    await change_status(kefu, cid, admin_of(workspace), ConversationStatus.resolved)
    published.clear()
    await feedback.customer_typing(kefu, who, "Typist", False)
    assert published == []


async def test_replaced_attachments_are_stored_and_published_one_for_one(
    kefu: Kefu, workspace: Demo, published: list[Any]
) -> None:
    at_wechat = Attachment(name="a.jpg", content_type="image/jpeg", url="", channel_ref="m1")
    _, result = await writes(
        kefu, workspace, "sender", type=MessageType.image, attachments=(at_wechat,)
    )
    published.clear()
    stored = Attachment(name="a.jpg", content_type="image/jpeg", url="/media/a.jpg", size=3)
    with pytest.raises(Invalid):
        await attachments.replace_attachments(kefu, result.message_id, [stored, stored])
    assert await attachments.replace_attachments(kefu, result.message_id, [stored]) is True
    assert await attachments.replace_attachments(kefu, result.message_id, [stored]) is False
    assert await attachments.attachments_of(kefu, result.message_id) == [stored]
    assert [e.message.attachments for e in published] == [[stored]]
    assert await attachments.attachments_of(kefu, uuid.uuid4()) is None


# --------------------------------------------------------------------------- open or not

# Monday 2026-09-28 and Thursday 2026-10-01 (国庆节), at 10:00 and 20:00 in Shanghai.
MONDAY_10 = datetime(2026, 9, 28, 2, 0, tzinfo=UTC)
MONDAY_20 = datetime(2026, 9, 28, 12, 0, tzinfo=UTC)
HOLIDAY_10 = datetime(2026, 10, 1, 2, 0, tzinfo=UTC)


async def test_the_widget_is_open_by_its_linked_calendar_and_closed_on_a_holiday(
    kefu: Kefu, workspace: Demo
) -> None:
    nine_to_six = [{"start": "09:00", "end": "18:00"}]
    async with kefu.db.transaction() as session:
        calendar = BusinessCalendar(
            workspace_id=workspace.workspace_id,
            name="office",
            timezone="Asia/Shanghai",
            weekly={day: nine_to_six for day in ("mon", "tue", "wed", "thu", "fri")},
            special_days=[{"date": "2026-10-01", "name": "国庆节", "hours": []}],
        )
        session.add(calendar)
        await session.flush()
        calendar_id = calendar.id
        inbox = await session.get(Inbox, workspace.inbox_id)
        assert inbox is not None
        workspace_id, group_id = inbox.workspace_id, inbox.default_group_id

    async def open_at(now: datetime, **config: Any) -> bool:
        found = await inbox_availability(kefu, workspace_id, group_id, config, now)
        return found.open

    linked = {"calendar_id": str(calendar_id)}
    assert await open_at(MONDAY_10, **linked) is True
    assert await open_at(MONDAY_20, **linked) is False
    assert await open_at(HOLIDAY_10, **linked) is False
    # No calendar (or one deleted since) never hides the chat.
    assert await open_at(HOLIDAY_10) is True
    assert await open_at(HOLIDAY_10, calendar_id=str(uuid.uuid4())) is True


async def test_agents_online_counts_only_those_who_serve_the_inbox(
    kefu: Kefu, workspace: Demo
) -> None:
    from kefu.db.tables import User

    async with kefu.db.transaction() as session:
        inbox = await session.get(Inbox, workspace.inbox_id)
        assert inbox is not None
        workspace_id, group_id = inbox.workspace_id, inbox.default_group_id
        await session.execute(sa.update(User).values(presence="offline"))

    async def online() -> int:
        return (await inbox_availability(kefu, workspace_id, group_id, {}, MONDAY_10)).agents_online

    assert await online() == 0
    tom = next(login.id for login in workspace.logins if login.email.startswith("tom@"))
    lina = next(login.id for login in workspace.logins if login.email.startswith("lina@"))
    async with kefu.db.transaction() as session:
        await session.execute(sa.update(User).where(User.id == tom).values(presence="online"))
    assert await online() == 0  # Tom is after-sales; the demo inbox is pre-sales'
    async with kefu.db.transaction() as session:
        await session.execute(sa.update(User).where(User.id == lina).values(presence="online"))
    assert await online() == 1


@pytest.mark.engine_sensitive
async def test_a_reply_client_id_is_idempotent_per_conversation_not_per_inbox(
    kefu: Kefu, workspace: Demo
) -> None:
    admin = admin_of(workspace)
    first, _ = await writes(kefu, workspace, "v-idem-a")
    second, _ = await writes(kefu, workspace, "v-idem-b")

    sent = await reply(kefu, first, admin, "to A", client_message_id="console-1")
    again = await reply(kefu, first, admin, "to A", client_message_id="console-1")
    assert again.id == sent.id  # a resend to the same conversation is the stored reply

    other = await reply(kefu, second, admin, "to B", client_message_id="console-1")
    assert other.id != sent.id and other.conversation_id == second and other.body == "to B"
    async with kefu.db.session() as session:
        rows = (
            await session.execute(
                sa.select(Message.conversation_id, Message.body).where(
                    Message.client_message_id == "console-1"
                )
            )
        ).all()
    assert sorted((row.body, row.conversation_id) for row in rows) == [
        ("to A", first),
        ("to B", second),
    ]


@pytest.mark.engine_sensitive
async def test_an_inbound_client_id_stays_unique_per_inbox_and_apart_from_replies(
    kefu: Kefu, workspace: Demo
) -> None:
    admin = admin_of(workspace)
    cid, _ = await writes(kefu, workspace, "v-idem-c")
    await reply(kefu, cid, admin, "agent", client_message_id="shared-1")
    inbound = Inbound(
        inbox_id=workspace.inbox_id,
        identity=Identity("web_visitor", "v-idem-c"),
        client_message_id="shared-1",
        body="customer",
    )
    stored = await ingest(kefu, inbound)
    assert not stored.duplicate  # an agent's id does not swallow the customer's message
    await change_status(kefu, cid, admin, ConversationStatus.resolved)
    resent = await ingest(kefu, inbound)  # a resend after resolve opens nothing new
    assert resent.duplicate and resent.message_id == stored.message_id
