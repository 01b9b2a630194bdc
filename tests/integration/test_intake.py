"""Intake: the widget's leave-a-message form answered by e-mail (through a real aiosmtpd
sink and the raw-MIME endpoint the e-mail tests use), the visitor's answer threading back
into the same widget conversation, left messages and department addresses opening
tickets, and ticket progress reaching the customer on the channel they used."""

from __future__ import annotations

import uuid
from datetime import timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from kefu.channel_state.inboxes import cached_inbox
from kefu.context import Kefu
from kefu.conversations.actions import Actor, reply
from kefu.conversations.outbox import dispatch_due
from kefu.db.tables import ContactIdentity, Conversation, Message, OutboxJob
from kefu.db.tables import ConversationEventRow as Event
from kefu.demo import Demo
from kefu.inboxes.schemas import InboxCreate, InboxUpdate
from kefu.inboxes.service import create_inbox, update_inbox
from kefu.model import ChannelKind, SenderKind, utcnow
from tests.conftest import login_headers, login_of
from tests.integration.test_widget_api import bearer, start, widget_app
from tests.mail_servers import USER, smtp_sink

TOKEN = "inbound-token-for-intake-0123456789"
VISITOR = "xu.lan@example.cn"


@pytest.fixture
def app(kefu: Kefu) -> Any:
    return widget_app(kefu)


async def email_inbox(kefu: Kefu, demo: Demo, port: int, **config: object) -> uuid.UUID:
    values: dict[str, object] = {
        "address": USER,
        "display_name": "Acme 客服",
        "inbound_token": TOKEN,
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "smtp_security": "none",
        **config,
    }
    inbox = await create_inbox(
        kefu, demo.workspace_id, InboxCreate(kind=ChannelKind.email, name="Mail", config=values)
    )
    return inbox.id


async def web_settings(kefu: Kefu, demo: Demo, **config: object) -> None:
    """The demo widget's settings with `config` changed (a PATCH replaces them all)."""
    current = await cached_inbox(kefu, demo.inbox_id)
    assert current is not None
    await update_inbox(
        kefu,
        demo.workspace_id,
        demo.inbox_id,
        InboxUpdate(config={**current.config, **config}),
    )


def agent(demo: Demo) -> Actor:
    return Actor(
        workspace_id=demo.workspace_id,
        kind=SenderKind.agent,
        user_id=demo.logins[0].id,
        name="Admin",
    )


async def leave(wc: httpx.AsyncClient, session: dict[str, Any], body: str) -> dict[str, Any]:
    left = await wc.post(
        "/api/v1/widget/leave-message",
        json={"body": body, "name": "徐兰", "email": VISITOR},
        headers=bearer(session),
    )
    assert left.status_code == 201, left.text
    return dict(left.json())


def answer(sent: EmailMessage, body: str, sender: str = VISITOR) -> bytes:
    """The visitor's answer from a mail client: In-Reply-To and References set."""
    msg = EmailMessage()
    msg["From"] = f"徐兰 <{sender}>"
    msg["To"] = str(sent["Reply-To"])
    msg["Subject"] = "Re: " + str(sent["Subject"])
    msg["Message-ID"] = make_msgid(domain="example.cn")
    msg["In-Reply-To"] = str(sent["Message-ID"]).strip()
    msg["References"] = str(sent["Message-ID"]).strip()
    msg.set_content(body + "\n\n> " + "earlier text")
    return bytes(msg)


async def post_mime(wc: httpx.AsyncClient, inbox_id: uuid.UUID, raw: bytes) -> dict[str, Any]:
    response = await wc.post(
        f"/connectors/email/{inbox_id}/mime",
        content=raw,
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "message/rfc822"},
    )
    assert response.status_code == 202, response.text
    return dict(response.json())


async def bodies(kefu: Kefu, conversation_id: uuid.UUID) -> list[tuple[str, str]]:
    async with kefu.db.session() as session:
        rows = await session.scalars(
            sa.select(Message)
            .where(Message.conversation_id == conversation_id)
            .order_by(Message.seq)
        )
        return [(m.direction, m.body) for m in rows]


@pytest.mark.engine_sensitive
async def test_a_left_message_is_answered_by_email_and_the_answer_comes_back_to_the_widget(
    client: httpx.AsyncClient, kefu: Kefu, workspace: Demo
) -> None:
    with smtp_sink() as (sink, port):
        mail_inbox = await email_inbox(kefu, workspace, port)
        await web_settings(
            kefu, workspace, reply_email_inbox_id=str(mail_inbox), reply_email_after_seconds=30
        )
        session = await start(client, workspace)
        conversation_id = uuid.UUID(
            (await leave(client, session, "发票开错了，请重开"))["conversation_id"]
        )
        await reply(kefu, conversation_id, agent(workspace), "已重开，请查收。")

        # Not due yet: the visitor may still read it in the widget.
        await dispatch_due(kefu, utcnow())
        assert sink.mails == []
        await dispatch_due(kefu, utcnow() + timedelta(seconds=31))
        (sent,) = sink.mails
        assert sent["To"] == VISITOR
        assert sent["Auto-Submitted"] == "no"
        assert str(sent["Message-ID"]).strip().startswith("<kefu.")
        assert sent["Reply-To"].startswith("support+")
        assert "留言" in str(sent["Subject"])  # the visitor wrote in zh-CN
        plain = sent.get_body(("plain",)).get_content()
        assert plain.startswith("已重开，请查收。")
        assert "https://shop.example/pricing#kefu-chat" in plain

        raw = answer(sent, "收到，谢谢！")
        accepted = await post_mime(client, mail_inbox, raw)
        assert accepted["status"] == "stored"
        assert uuid.UUID(accepted["conversation_id"]) == conversation_id
        # The same mail again (a relay's retry) is stored once.
        assert (await post_mime(client, mail_inbox, raw))["status"] == "duplicate"

        # A second reply threads under the first mail and the visitor's answer.
        await reply(kefu, conversation_id, agent(workspace), "不客气。")
        await dispatch_due(kefu, utcnow() + timedelta(seconds=31))
        second = sink.mails[1]
        assert (
            second["In-Reply-To"]
            and str(second["In-Reply-To"]).strip() != str(sent["Message-ID"]).strip()
        )
        assert str(sent["Message-ID"]).strip() in str(second["References"])

    assert await bodies(kefu, conversation_id) == [
        ("in", "发票开错了，请重开"),
        ("out", "已重开，请查收。"),
        ("in", "收到，谢谢！"),
        ("out", "不客气。"),
    ]
    async with kefu.db.session() as db:
        conversations = (await db.scalars(sa.select(Conversation))).all()
        assert [c.id for c in conversations] == [conversation_id]  # no e-mail conversation
        identity = await db.scalar(
            sa.select(ContactIdentity).where(
                ContactIdentity.kind == "email", ContactIdentity.value == VISITOR
            )
        )
        assert identity is not None and identity.contact_id == conversations[0].contact_id
        emailed = (
            await db.scalars(sa.select(Event.type).where(Event.type == "reply_emailed"))
        ).all()
        assert len(emailed) == 2
    # The visitor sees the whole exchange when they come back to the page.
    back = await start(client, workspace, token=session["token"])
    assert [m["body"] for m in back["messages"]] == [
        "发票开错了，请重开",
        "已重开，请查收。",
        "收到，谢谢！",
        "不客气。",
    ]


async def test_a_reply_read_in_the_widget_before_it_is_due_is_not_mailed(
    client: httpx.AsyncClient, kefu: Kefu, workspace: Demo
) -> None:
    with smtp_sink() as (sink, port):
        mail_inbox = await email_inbox(kefu, workspace, port)
        await web_settings(kefu, workspace, reply_email_inbox_id=str(mail_inbox))
        session = await start(client, workspace)
        conversation_id = (await leave(client, session, "还在吗？"))["conversation_id"]
        out = await reply(kefu, uuid.UUID(conversation_id), agent(workspace), "在的。")
        assert out.delivery_status == "sent"  # the widget has it at commit
        read = await client.post(
            "/api/v1/widget/read",
            json={"conversation_id": conversation_id, "seq": out.seq},
            headers=bearer(session),
        )
        assert read.status_code in (200, 204), read.text
        await dispatch_due(kefu, utcnow() + timedelta(seconds=61))
        assert sink.mails == []
    async with kefu.db.session() as db:
        job = await db.scalar(sa.select(OutboxJob).where(OutboxJob.message_id == out.id))
        message = await db.get(Message, out.id)
    assert job is not None and job.state == "done"
    assert message is not None and message.delivery_status == "read"


async def test_an_answer_from_another_address_is_an_ordinary_mail(
    client: httpx.AsyncClient, kefu: Kefu, workspace: Demo
) -> None:
    with smtp_sink() as (sink, port):
        mail_inbox = await email_inbox(kefu, workspace, port)
        await web_settings(
            kefu, workspace, reply_email_inbox_id=str(mail_inbox), reply_email_after_seconds=0
        )
        session = await start(client, workspace)
        conversation_id = uuid.UUID((await leave(client, session, "你好"))["conversation_id"])
        await reply(kefu, conversation_id, agent(workspace), "您好！")
        await dispatch_due(kefu, utcnow())
        (sent,) = sink.mails
        stored = await post_mime(
            client, mail_inbox, answer(sent, "我是同事", sender="colleague@example.cn")
        )
    assert uuid.UUID(stored["conversation_id"]) != conversation_id
    assert [b for _, b in await bodies(kefu, conversation_id)] == ["你好", "您好！"]


async def test_without_a_reply_inbox_a_left_message_reply_stays_in_the_widget(
    client: httpx.AsyncClient, kefu: Kefu, workspace: Demo
) -> None:
    session = await start(client, workspace)
    conversation_id = uuid.UUID((await leave(client, session, "hello"))["conversation_id"])
    out = await reply(kefu, conversation_id, agent(workspace), "hi")
    async with kefu.db.session() as db:
        job = await db.scalar(sa.select(OutboxJob).where(OutboxJob.message_id == out.id))
    assert job is not None and job.inbox_id == workspace.inbox_id


@pytest.mark.engine_sensitive
async def test_the_reply_inbox_must_be_an_email_inbox_of_the_workspace(
    client: httpx.AsyncClient, kefu: Kefu, workspace: Demo, other_workspace: Demo
) -> None:
    admin = await login_headers(client, login_of(workspace, "admin"))
    current = (await client.get(f"/api/v1/inboxes/{workspace.inbox_id}", headers=admin)).json()
    foreign = await email_inbox(kefu, other_workspace, 2525)
    for wrong in (str(workspace.inbox_id), str(foreign), str(uuid.uuid4())):
        response = await client.patch(
            f"/api/v1/inboxes/{workspace.inbox_id}",
            json={"config": {**current["config"], "reply_email_inbox_id": wrong}},
            headers={**admin, "Accept-Language": "zh-CN"},
        )
        assert response.status_code == 422, response.text
        (error,) = response.json()["errors"]
        assert error["field"] == "config.reply_email_inbox_id"
        assert "本工作区没有该邮件收件箱" in error["message"]
    ours = await email_inbox(kefu, workspace, 2525)
    fine = await client.patch(
        f"/api/v1/inboxes/{workspace.inbox_id}",
        json={"config": {**current["config"], "reply_email_inbox_id": str(ours)}},
        headers=admin,
    )
    assert fine.status_code == 200, fine.text
    assert fine.json()["config"]["reply_email_inbox_id"] == str(ours)
