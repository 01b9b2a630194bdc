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


# --------------------------------------------------------------------- tickets


def plain_text(mail: EmailMessage) -> str:
    return str(mail.get_body(("plain",)).get_content())


async def ticket_of(client: httpx.AsyncClient, admin: dict[str, str], ticket_id: str) -> Any:
    response = await client.get(f"/api/v1/tickets/{ticket_id}", headers=admin)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.engine_sensitive
async def test_a_left_message_opens_a_web_form_ticket_whose_progress_reaches_the_visitor_by_mail(
    client: httpx.AsyncClient, kefu: Kefu, workspace: Demo
) -> None:
    department = workspace.groups["aftersales"]
    admin = await login_headers(client, login_of(workspace, "admin"))
    with smtp_sink() as (sink, port):
        mail_inbox = await email_inbox(kefu, workspace, port)
        await web_settings(
            kefu,
            workspace,
            reply_email_inbox_id=str(mail_inbox),
            leave_message_ticket=True,
            leave_message_department_id=str(department),
        )
        session = await start(client, workspace)
        left = await leave(client, session, "收到的耳机左边没有声音\n订单 8812")
        number = left["ticket_number"]
        assert number and left["ticket_emailed"] is True
        # The number is mailed at once (not after the unread delay): it is the visitor's record.
        await dispatch_due(kefu, utcnow())
        (told,) = sink.mails
        assert f"#{number}" in plain_text(told) and "/t/" in plain_text(told)

        conversation_id = left["conversation_id"]
        listed = (await client.get("/api/v1/tickets", headers=admin)).json()["items"]
        (ticket,) = [t for t in listed if t["number"] == number]
        assert ticket["title"] == "收到的耳机左边没有声音"
        assert ticket["department_id"] == str(department)
        assert ticket["conversation_ids"] == [conversation_id]
        assert ticket["channel"] == "web"

        comment = await client.post(
            f"/api/v1/tickets/{ticket['id']}/comments",
            json={"body": "已安排换货，快递单号 SF123。", "public": True},
            headers=admin,
        )
        assert comment.status_code in (200, 201), comment.text
        await dispatch_due(kefu, utcnow())
        assert "已安排换货，快递单号 SF123。" in plain_text(sink.mails[1])
        # Telling the ticket's customer does not take the chat from the queue.
        chat = (await client.get(f"/api/v1/conversations/{conversation_id}", headers=admin)).json()
        assert chat["assignee_id"] is None

        # The visitor answers the mail: the widget conversation and the ticket both get it.
        stored = await post_mime(
            client, mail_inbox, answer(sink.mails[1], "好的，收到换货后再联系")
        )
        assert stored["conversation_id"] == conversation_id
        current = await ticket_of(client, admin, ticket["id"])
        assert [(c["author_kind"], c["body"]) for c in current["comments"]] == [
            ("agent", "已安排换货，快递单号 SF123。"),
            ("customer", "好的，收到换货后再联系"),
        ]

        resolved = await client.patch(
            f"/api/v1/tickets/{ticket['id']}",
            json={"version": current["version"], "status": "resolved"},
            headers=admin,
        )
        assert resolved.status_code == 200, resolved.text
        await dispatch_due(kefu, utcnow())
        rate = plain_text(sink.mails[2])
        assert "已解决" in rate and "评分" in rate and current["progress_url"] in rate
    # Everything is in the widget conversation too, for when the visitor comes back.
    back = await start(client, workspace, token=session["token"])
    assert any(number in m["body"] for m in back["messages"])


@pytest.mark.engine_sensitive
async def test_a_mail_to_a_department_address_opens_one_ticket_and_later_mails_update_it(
    client: httpx.AsyncClient, kefu: Kefu, workspace: Demo
) -> None:
    department = workspace.groups["aftersales"]
    admin = await login_headers(client, login_of(workspace, "admin"))
    with smtp_sink() as (sink, port):
        mail_inbox = await email_inbox(
            kefu, workspace, port, creates_ticket=True, ticket_department_id=str(department)
        )
        first = EmailMessage()
        first["From"] = "Wu Hao <wu.hao@example.cn>"
        first["To"] = USER
        first["Subject"] = "Refund for order 7731"
        first["Message-ID"] = first_id = make_msgid(domain="example.cn")
        first.set_content("The parcel arrived broken. I would like a refund.")
        raw = bytes(first)
        stored = await post_mime(client, mail_inbox, raw)
        assert (await post_mime(client, mail_inbox, raw))["status"] == "duplicate"
        await dispatch_due(kefu, utcnow())
        (told,) = sink.mails
        assert str(told["In-Reply-To"]).strip() == first_id
        listed = (await client.get("/api/v1/tickets", headers=admin)).json()["items"]
        (ticket,) = listed
        assert ticket["number"] in plain_text(told)
        assert ticket["title"] == "Refund for order 7731"
        assert ticket["department_id"] == str(department)
        assert ticket["channel"] == "email"
        assert ticket["conversation_ids"] == [stored["conversation_id"]]
        assert ticket["description"] == "The parcel arrived broken. I would like a refund."

        later = await post_mime(
            client, mail_inbox, answer(told, "Photos attached.", "wu.hao@example.cn")
        )
        assert later["conversation_id"] == stored["conversation_id"]
    current = await ticket_of(client, admin, ticket["id"])
    assert [(c["author_kind"], c["body"]) for c in current["comments"]] == [
        ("customer", "Photos attached.")
    ]
    assert len((await client.get("/api/v1/tickets", headers=admin)).json()["items"]) == 1


async def test_a_left_message_without_the_switch_opens_no_ticket(
    client: httpx.AsyncClient, kefu: Kefu, workspace: Demo
) -> None:
    session = await start(client, workspace)
    left = await leave(client, session, "hello")
    assert left["ticket_number"] is None and left["ticket_emailed"] is False
    admin = await login_headers(client, login_of(workspace, "admin"))
    assert (await client.get("/api/v1/tickets", headers=admin)).json()["items"] == []


# --------------------------------------------------------------------- reasons


def bounce_of(sent_message_id: str, recipient: str) -> bytes:
    """A delivery status notification (RFC 3464) as Postfix writes one."""
    return (
        b"From: MAILER-DAEMON@mx.example.cn (Mail Delivery System)\r\n"
        + f"To: {USER}\r\n".encode()
        + b"Subject: Undelivered Mail Returned to Sender\r\nAuto-Submitted: auto-replied\r\n"
        b"Message-ID: <dsn-intake@mx.example.cn>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="dsn"\r\n\r\n'
        b"--dsn\r\nContent-Type: message/delivery-status\r\n\r\n"
        b"Reporting-MTA: dns; mx.example.cn\r\n\r\n"
        + f"Final-Recipient: rfc822; {recipient}\r\n".encode()
        + b"Action: failed\r\nStatus: 5.1.1\r\n"
        b"Diagnostic-Code: smtp; 550 5.1.1 mailbox does not exist\r\n"
        b"--dsn\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        + f"Message-ID: {sent_message_id}\r\nSubject: Re: x\r\n".encode()
        + b"--dsn--\r\n"
    )


@pytest.mark.engine_sensitive
async def test_a_bounced_widget_reply_and_the_mails_set_aside_are_told_in_both_languages(
    client: httpx.AsyncClient, kefu: Kefu, workspace: Demo
) -> None:
    admin = await login_headers(client, login_of(workspace, "admin"))
    with smtp_sink() as (sink, port):
        mail_inbox = await email_inbox(kefu, workspace, port)
        await web_settings(
            kefu, workspace, reply_email_inbox_id=str(mail_inbox), reply_email_after_seconds=0
        )
        session = await start(client, workspace)
        conversation_id = (await leave(client, session, "请回电"))["conversation_id"]
        out = await reply(kefu, uuid.UUID(conversation_id), agent(workspace), "好的")
        await dispatch_due(kefu, utcnow())
        (sent,) = sink.mails
        await post_mime(client, mail_inbox, bounce_of(str(sent["Message-ID"]).strip(), VISITOR))
    said = {}
    for language in ("en", "zh-CN"):
        page = await client.get(
            f"/api/v1/conversations/{conversation_id}/messages",
            headers={**admin, "Accept-Language": language},
        )
        (failed,) = [m for m in page.json()["items"] if m["id"] == str(out.id)]
        assert failed["delivery_status"] == "failed"
        said[language] = failed["failure_reason"]
        status = await client.get(
            f"/api/v1/inboxes/{mail_inbox}/mail", headers={**admin, "Accept-Language": language}
        )
        (item,) = status.json()["items"]
        said[language + " item"] = item["reason"]
    assert said["en"] == "bounced: 5.1.1 550 5.1.1 mailbox does not exist"
    assert said["zh-CN"] == "退信：5.1.1 550 5.1.1 mailbox does not exist"
    assert said["en item"].startswith("delivery report for kefu.")
    assert said["zh-CN item"].startswith("邮件 kefu.") and "的退信报告：5.1.1" in said["zh-CN item"]
