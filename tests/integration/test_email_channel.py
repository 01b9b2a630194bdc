"""The e-mail channel against real peers on loopback: Debian's Dovecot for IMAP and an
aiosmtpd sink for replies; the raw-MIME endpoint through the app."""

from __future__ import annotations

import asyncio
import json
import uuid
from email.message import EmailMessage
from email.utils import make_msgid

import httpx
import pytest
import sqlalchemy as sa
import websockets

from kefu.channel_state.inboxes import active_inbox
from kefu.connectors.email import worker
from kefu.connectors.email.connector import EmailConnector, media_of
from kefu.context import Kefu
from kefu.conversations.actions import Actor, reply
from kefu.conversations.outbox import dispatch_due
from kefu.db.tables import Conversation, Message
from kefu.demo import Demo
from kefu.inboxes.schemas import InboxCreate
from kefu.inboxes.service import create_inbox
from kefu.mail import store
from kefu.mail.tables import MailItem
from kefu.model import ChannelKind, ConversationStatus, SenderKind, utcnow
from tests.conftest import login_headers, login_of
from tests.mail_servers import PASSWORD, USER, Dovecot, dovecot, smtp_sink

TOKEN = "inbound-token-for-tests-0123456789"
CUSTOMER = "zhu.rongji@example.cn"


@pytest.fixture
def imap() -> Dovecot:
    with dovecot() as server:
        yield server  # type: ignore[misc]


async def _inbox(kefu: Kefu, demo: Demo, **config: object) -> uuid.UUID:
    values: dict[str, object] = {
        "address": USER,
        "display_name": "Acme 客服",
        "inbound_token": TOKEN,
        "signature_en": "Acme support",
        **config,
    }
    inbox = await create_inbox(
        kefu, demo.workspace_id, InboxCreate(kind=ChannelKind.email, name="Mail", config=values)
    )
    return inbox.id


def _mail(
    subject: str = "订单 123 的发票",
    body: str = "你好，请问发票什么时候开？",
    *,
    sender: str = CUSTOMER,
    message_id: str | None = None,
    in_reply_to: str | None = None,
    headers: dict[str, str] | None = None,
    to: str = USER,
) -> tuple[bytes, str]:
    msg = EmailMessage()
    msg["From"] = f"朱镕基 <{sender}>"
    msg["To"] = to
    msg["Subject"] = subject
    mid = message_id or make_msgid(domain="example.cn")
    msg["Message-ID"] = mid
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = in_reply_to
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    return bytes(msg), mid.strip("<>")


async def _post(
    client: httpx.AsyncClient, inbox_id: uuid.UUID, raw: bytes, **headers: str
) -> httpx.Response:
    return await client.post(
        f"/connectors/email/{inbox_id}/mime",
        content=raw,
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "message/rfc822", **headers},
    )


async def _conversations(kefu: Kefu) -> list[Conversation]:
    async with kefu.db.session() as session:
        return list(
            (await session.scalars(sa.select(Conversation).order_by(Conversation.created_at))).all()
        )


async def _messages(kefu: Kefu, conversation_id: uuid.UUID) -> list[Message]:
    async with kefu.db.session() as session:
        return list(
            (
                await session.scalars(
                    sa.select(Message)
                    .where(Message.conversation_id == conversation_id)
                    .order_by(Message.seq)
                )
            ).all()
        )


def _agent(demo: Demo) -> Actor:
    return Actor(
        workspace_id=demo.workspace_id,
        kind=SenderKind.agent,
        user_id=demo.logins[1].id,
        name="Li Na",
    )


# --------------------------------------------------------------------- raw MIME


@pytest.mark.engine_sensitive
async def test_raw_mime_is_stored_once_with_subject_and_gbk_text(
    client: httpx.AsyncClient, kefu: Kefu, workspace: Demo
) -> None:
    inbox_id = await _inbox(kefu, workspace)
    raw = (
        b"From: =?gb2312?B?1uzpRrv5?= <zhu@example.cn>\r\n"
        b"To: support@example.com\r\nSubject: =?gb2312?B?u9i4tKO6hrS1xLaptaU=?=\r\n"
        b"Message-ID: <gbk-1@example.cn>\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=gb2312\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    ) + "你好，镕和喆都在。\r\n".encode("gbk")
    for _ in range(2):
        response = await _post(client, inbox_id, raw)
        assert response.status_code == 202, response.text
    assert response.json()["status"] == "duplicate"
    (conversation,) = await _conversations(kefu)
    assert conversation.attributes["subject"] == "回复：喆的订单"
    (message,) = await _messages(kefu, conversation.id)
    assert message.body == "你好，镕和喆都在。"
    assert message.channel_message_id == "gbk-1@example.cn"
    assert [a["name"] for a in message.attachments] == ["original.eml"]


HTML_MAIL = (
    b"From: shop@example.cn\r\nTo: support@example.com\r\nSubject: =?utf-8?B?6K6i5Y2V?=\r\n"
    b"Message-ID: <html-1@example.cn>\r\nMIME-Version: 1.0\r\n"
    b'Content-Type: multipart/related; boundary="b1"\r\n\r\n'
    b"--b1\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
    b'<p onclick="steal()" style="color:red">Order <b>42</b></p><script>alert(1)</script>'
    b'<img src="cid:logo@shop"><img src="https://tracker.example/open.gif">\r\n'
    b"--b1\r\nContent-Type: image/png\r\nContent-ID: <logo@shop>\r\n"
    b"Content-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n--b1--\r\n"
)


async def test_html_mail_keeps_a_sanitised_view_only_its_workspace_can_read(
    client: httpx.AsyncClient, kefu: Kefu, workspace: Demo, other_workspace: Demo
) -> None:
    inbox_id = await _inbox(kefu, workspace)
    response = await _post(client, inbox_id, HTML_MAIL)
    assert response.status_code == 202, response.text
    (conversation,) = await _conversations(kefu)
    (message,) = await _messages(kefu, conversation.id)
    assert "Order 42" in message.body
    by_ref = {a.get("channel_ref", ""): a for a in message.attachments}
    view, logo = by_ref["html-view"], by_ref["logo@shop"]
    assert view["content_type"] == "text/html"

    ours = await login_headers(client, login_of(workspace, "lina"))
    page = await client.get(view["url"], headers=ours)
    assert page.status_code == 200, page.text
    html = page.text
    assert "<b>42</b>" in html and 'style="color:red"' in html
    assert "script" not in html and "onclick" not in html and "alert" not in html
    assert f'src="{logo["url"]}"' in html  # the inline image, from our store
    assert 'src="https://tracker.example/open.gif"' in html  # left for the frame to block
    assert page.headers["content-disposition"].startswith("attachment")
    assert "sandbox" in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"
    image = await client.get(logo["url"], headers=ours)
    assert image.status_code == 200 and image.content.startswith(b"\x89PNG")

    theirs = await login_headers(client, login_of(other_workspace, "lina"))
    assert (await client.get(view["url"], headers=theirs)).status_code == 404
    assert (await client.get(view["url"])).status_code == 401
    escape = view["url"].replace("message.html", "../../../../secret.key")
    assert (await client.get(escape, headers=ours)).status_code == 404


@pytest.mark.engine_sensitive
async def test_nul_bytes_in_a_mail_do_not_lose_it(
    client: httpx.AsyncClient, kefu: Kefu, workspace: Demo
) -> None:
    inbox_id = await _inbox(kefu, workspace)
    raw = (
        b"From: =?utf-8?B?5byg\x00?= <nul@example.cn>\r\nSubject: a\x00b\r\n"
        b"Message-ID: <nul-1@example.cn>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        b"hello\x00world\r\n"
    )
    response = await _post(client, inbox_id, raw)
    assert response.status_code == 202, response.text
    (conversation,) = await _conversations(kefu)
    assert conversation.attributes["subject"] == "ab"
    assert [m.body for m in await _messages(kefu, conversation.id)] == ["helloworld"]


@pytest.mark.parametrize(
    ("case", "status", "words"),
    [
        ("wrong token", 401, "inbound token"),
        ("no token", 401, "inbound token"),
        ("not a mail", 422, "not a mail"),
        ("too large", 413, "limit"),
        ("wrong type", 415, "message/rfc822"),
        ("unknown inbox", 404, "no e-mail inbox"),
    ],
)
async def test_raw_mime_refusals_say_why_and_store_nothing(
    client: httpx.AsyncClient, kefu: Kefu, workspace: Demo, case: str, status: int, words: str
) -> None:
    inbox_id = await _inbox(kefu, workspace)
    raw, _ = _mail()
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "message/rfc822"}
    url = f"/connectors/email/{inbox_id}/mime"
    if case == "wrong token":
        headers["Authorization"] = "Bearer nope-nope-nope-nope"
    elif case == "no token":
        del headers["Authorization"]
    elif case == "not a mail":
        raw = b"\x89PNG\r\n\x1a\n binary"
    elif case == "too large":
        raw = raw + b"x" * (kefu.settings.email_max_bytes + 1)
    elif case == "wrong type":
        headers["Content-Type"] = "application/json"
    elif case == "unknown inbox":
        url = f"/connectors/email/{uuid.uuid4()}/mime"
    response = await client.post(url, content=raw, headers=headers)
    assert response.status_code == status, response.text
    assert words in response.json()["detail"]
    assert await _conversations(kefu) == []


async def test_auto_replies_and_newsletters_never_open_conversations(
    client: httpx.AsyncClient, kefu: Kefu, workspace: Demo
) -> None:
    inbox_id = await _inbox(kefu, workspace)
    for n, extra in enumerate(
        [
            {"Auto-Submitted": "auto-replied"},
            {"X-Autoreply": "yes"},
            {"Precedence": "bulk"},
            {"List-Id": "<news.example.cn>", "List-Unsubscribe": "<mailto:u@example.cn>"},
        ]
    ):
        raw, _ = _mail(subject=f"Newsletter {n}", headers=extra)
        response = await _post(client, inbox_id, raw)
        assert response.status_code == 202
        assert response.json()["status"] == "ignored"
    raw, _ = _mail(sender=USER, subject="our own")
    assert (await _post(client, inbox_id, raw)).json()["status"] == "ignored"
    assert await _conversations(kefu) == []
    reasons = [i.reason for i in await store.items(kefu, inbox_id)]
    assert len(reasons) == 5 and any("Auto-Submitted" in r for r in reasons)


async def test_unknown_senders_are_set_aside_when_the_inbox_says_so(
    client: httpx.AsyncClient, kefu: Kefu, workspace: Demo
) -> None:
    inbox_id = await _inbox(kefu, workspace, accept_unknown_senders=False)
    raw, _ = _mail()
    assert (await _post(client, inbox_id, raw)).json()["status"] == "ignored"
    assert await _conversations(kefu) == []


# --------------------------------------------------------------------- threading


async def test_threading_by_headers_token_and_subject_and_never_by_newsletter(
    client: httpx.AsyncClient, kefu: Kefu, workspace: Demo
) -> None:
    inbox_id = await _inbox(kefu, workspace)
    first, first_id = _mail(subject="发票问题")
    await _post(client, inbox_id, first)
    # In-Reply-To names our stored mail.
    second, _ = _mail(subject="Re: 发票问题", body="补充一下", in_reply_to=f"<{first_id}>")
    await _post(client, inbox_id, second)
    # Outlook rewrote In-Reply-To; the subject with a full-width colon still matches.
    third, _ = _mail(subject="回复：RE: 发票问题", body="第三封", in_reply_to="<unknown@outlook>")
    await _post(client, inbox_id, third)
    # A different question from the same person is a new conversation.
    other, _ = _mail(subject="退货", body="另一个问题")
    await _post(client, inbox_id, other)
    conversations = await _conversations(kefu)
    assert len(conversations) == 2
    bodies = [m.body for m in await _messages(kefu, conversations[0].id)]
    assert bodies == ["你好，请问发票什么时候开？", "补充一下", "第三封"]


async def test_reply_goes_out_threaded_and_the_answer_to_it_lands_in_the_same_conversation(
    client: httpx.AsyncClient, kefu: Kefu, workspace: Demo
) -> None:
    with smtp_sink() as (sink, port):
        inbox_id = await _inbox(
            kefu, workspace, smtp_host="127.0.0.1", smtp_port=port, smtp_security="none"
        )
        raw, first_id = _mail(subject="发票")
        accepted = (await _post(client, inbox_id, raw)).json()
        conversation_id = uuid.UUID(accepted["conversation_id"])
        await reply(kefu, conversation_id, _agent(workspace), "明天开好。")
        await dispatch_due(kefu, utcnow())
        (sent,) = sink.mails
        assert sent["In-Reply-To"] == f"<{first_id}>"
        assert f"<{first_id}>" in sent["References"]
        assert sent["Subject"] == "Re: 发票"
        assert sent["Auto-Submitted"] == "no"
        assert sent["Reply-To"].startswith("support+") and "@example.com" in sent["Reply-To"]
        assert sent["From"].endswith("<support@example.com>")
        plain = sent.get_body(("plain",)).get_content().replace("\r\n", "\n")
        assert plain.startswith("明天开好。\n\n-- \nAcme support")
        assert sent.get_body(("html",)) is not None
        # The customer answers with a client library setting In-Reply-To; Outlook-style,
        # a second answer keeps only the Reply-To token.
        answer, _ = _mail(
            subject="Re: 发票", body="谢谢！\n\n> 明天开好。", in_reply_to=sent["Message-ID"]
        )
        await _post(client, inbox_id, answer)
        token_only, _ = _mail(
            subject="答复: 其他",
            body="还有一件事",
            to=sent["Reply-To"],
            in_reply_to="<rewritten@outlook.com>",
        )
        await _post(client, inbox_id, token_only)
        conversations = await _conversations(kefu)
        (conversation,) = conversations
        bodies = [m.body for m in await _messages(kefu, conversation.id)]
        assert bodies == ["你好，请问发票什么时候开？", "明天开好。", "谢谢！", "还有一件事"]


async def test_a_refused_recipient_fails_the_reply_with_the_servers_words(
    client: httpx.AsyncClient, kefu: Kefu, workspace: Demo
) -> None:
    with smtp_sink() as (sink, port):
        sink.refuse = "550 5.1.1 mailbox does not exist"
        inbox_id = await _inbox(
            kefu, workspace, smtp_host="127.0.0.1", smtp_port=port, smtp_security="none"
        )
        raw, _ = _mail()
        accepted = (await _post(client, inbox_id, raw)).json()
        view = await reply(kefu, uuid.UUID(accepted["conversation_id"]), _agent(workspace), "好的")
        await dispatch_due(kefu, utcnow())
    async with kefu.db.session() as session:
        message = await session.get(Message, view.id)
        assert message is not None
        assert message.delivery_status == "failed"
        assert "5.1.1 mailbox does not exist" in (message.failure_reason or "")


async def test_a_mail_to_a_resolved_conversation_reopens_it(
    client: httpx.AsyncClient, kefu: Kefu, workspace: Demo
) -> None:
    inbox_id = await _inbox(kefu, workspace)
    raw, first_id = _mail()
    conversation_id = uuid.UUID((await _post(client, inbox_id, raw)).json()["conversation_id"])
    async with kefu.db.transaction() as session:
        row = await session.get(Conversation, conversation_id)
        assert row is not None
        row.status = ConversationStatus.resolved
        row.resolved_at = utcnow()
    again, _ = _mail(subject="Re: x", body="还没收到", in_reply_to=f"<{first_id}>")
    accepted = (await _post(client, inbox_id, again)).json()
    assert uuid.UUID(accepted["conversation_id"]) == conversation_id
    (conversation,) = await _conversations(kefu)
    assert conversation.status != ConversationStatus.resolved


# --------------------------------------------------------------------- IMAP (Dovecot)


async def _imap_inbox(kefu: Kefu, demo: Demo, server: Dovecot, **more: object) -> uuid.UUID:
    return await _inbox(
        kefu,
        demo,
        imap_host="127.0.0.1",
        imap_port=server.port,
        imap_security="none",
        imap_user=USER,
        imap_password=PASSWORD,
        **more,
    )


async def _sync(kefu: Kefu, inbox_id: uuid.UUID) -> int:
    inbox = await active_inbox(kefu, inbox_id)
    assert inbox is not None
    return await worker.sync_once(kefu, inbox, media_of(kefu))


@pytest.mark.engine_sensitive
async def test_imap_imports_by_uid_flags_after_commit_and_keeps_the_cursor(
    kefu: Kefu, workspace: Demo, imap: Dovecot
) -> None:
    inbox_id = await _imap_inbox(kefu, workspace, imap)
    first, _ = _mail(subject="一")
    uid = imap.append(first)
    assert await _sync(kefu, inbox_id) == 1
    assert "$KefuImported" in imap.flags(uid) and "\\Seen" in imap.flags(uid)
    assert await _sync(kefu, inbox_id) == 0  # nothing new
    second, _ = _mail(subject="二")
    imap.append(second)
    assert await _sync(kefu, inbox_id) == 1
    assert len(await _conversations(kefu)) == 2
    cursor = await store.cursor(kefu, inbox_id, "INBOX")
    assert cursor is not None and cursor.last_uid == uid + 1 and cursor.uidvalidity > 0


async def test_imap_uidvalidity_change_and_deleted_conversations_never_reimport(
    kefu: Kefu, workspace: Demo, imap: Dovecot
) -> None:
    inbox_id = await _imap_inbox(kefu, workspace, imap)
    imap.append(_mail(subject="一")[0])
    imap.append(_mail(subject="二")[0])
    assert await _sync(kefu, inbox_id) == 2
    before = await store.cursor(kefu, inbox_id, "INBOX")
    async with kefu.db.transaction() as session:  # an admin deletes a conversation
        first = (
            await session.scalars(sa.select(Conversation).order_by(Conversation.created_at))
        ).first()
        assert first is not None
        await session.delete(first)
    imap.renew_uidvalidity()
    assert await _sync(kefu, inbox_id) == 2  # both looked at again under the new UIDVALIDITY
    after = await store.cursor(kefu, inbox_id, "INBOX")
    assert before is not None and after is not None and after.uidvalidity != before.uidvalidity
    assert len(await _conversations(kefu)) == 1  # the deleted one did not come back
    async with kefu.db.session() as session:
        assert await session.scalar(sa.select(sa.func.count()).select_from(Message)) == 1


async def test_imap_unreadable_mail_is_a_failed_item_and_is_not_fetched_again(
    kefu: Kefu, workspace: Demo, imap: Dovecot
) -> None:
    inbox_id = await _imap_inbox(kefu, workspace, imap)
    imap.append(b"Subject: no sender at all\r\n\r\nbody\r\n")
    imap.append(_mail()[0])
    assert await _sync(kefu, inbox_id) == 2
    assert await _sync(kefu, inbox_id) == 0
    async with kefu.db.session() as session:
        items = (await session.scalars(sa.select(MailItem))).all()
    assert [(i.status, i.source) for i in items] == [("failed", "imap")]
    assert "no From" in items[0].reason and items[0].raw is not None
    assert len(await _conversations(kefu)) == 1


async def test_imap_crash_between_fetch_and_commit_fetches_again_and_stores_once(
    kefu: Kefu, workspace: Demo, imap: Dovecot
) -> None:
    inbox_id = await _imap_inbox(kefu, workspace, imap)
    uid = imap.append(_mail()[0])
    inbox = await active_inbox(kefu, inbox_id)
    assert inbox is not None
    original = store.save_cursor

    async def crash(*args: object, **kwargs: object) -> None:
        raise SystemExit("killed after the mail was stored, before the cursor moved")

    store.save_cursor = crash  # type: ignore[assignment]
    try:
        with pytest.raises(SystemExit):
            await worker.sync_once(kefu, inbox, media_of(kefu))
    finally:
        store.save_cursor = original  # type: ignore[assignment]
    assert await _sync(kefu, inbox_id) == 1  # fetched again ...
    (conversation,) = await _conversations(kefu)
    assert len(await _messages(kefu, conversation.id)) == 1  # ... and stored once
    assert "$KefuImported" in imap.flags(uid)


async def test_imap_watch_uses_idle_and_takes_a_new_mail_within_seconds(
    kefu: Kefu, workspace: Demo, imap: Dovecot
) -> None:
    inbox_id = await _imap_inbox(kefu, workspace, imap, poll_seconds=300)
    inbox = await active_inbox(kefu, inbox_id)
    assert inbox is not None
    task = asyncio.create_task(worker.watch(kefu, inbox, media_of(kefu)))
    try:
        await asyncio.sleep(1.0)  # logged in and idling
        imap.append(_mail(subject="IDLE")[0])
        for _ in range(100):
            if await _conversations(kefu):
                break
            await asyncio.sleep(0.1)
        assert len(await _conversations(kefu)) == 1
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_test_connection_logs_in_and_says_what_failed(
    kefu: Kefu, workspace: Demo, imap: Dovecot
) -> None:
    connector = kefu.connectors.get(ChannelKind.email)
    assert isinstance(connector, EmailConnector)
    with smtp_sink() as (_, port):
        good = await _imap_inbox(
            kefu, workspace, imap, smtp_host="127.0.0.1", smtp_port=port, smtp_security="none"
        )
        inbox = await active_inbox(kefu, good)
        assert inbox is not None
        check = await connector.test_connection(inbox)
        assert check.ok, check.message
        assert "IMAP" in check.message.en and "SMTP 登录成功" in check.message.zh
        bad = inbox.__class__(
            **{
                **{f: getattr(inbox, f) for f in inbox.__struct_fields__},
                "secrets": {"imap_password": "wrong"},
            }
        )
        check = await connector.test_connection(bad)
        assert not check.ok
        assert "refused the login" in check.message.en and "IMAP" in check.message.zh
        smtp_only = inbox.__class__(
            **{
                **{f: getattr(inbox, f) for f in inbox.__struct_fields__},
                "config": {**inbox.config, "imap_host": ""},
                "secrets": {"smtp_password": "wrong"},
            }
        )
        check = await connector.test_connection(smtp_only)
        assert not check.ok and "SMTP" in check.message.en and "拒绝登录" in check.message.zh
    closed = inbox.__class__(
        **{
            **{f: getattr(inbox, f) for f in inbox.__struct_fields__},
            "config": {**inbox.config, "imap_host": "", "smtp_port": port},
        }
    )
    check = await connector.test_connection(closed)
    assert not check.ok and "Could not reach SMTP" in check.message.en


async def test_the_builtin_smtp_receiver_takes_mail_for_an_inbox_and_refuses_others(
    kefu: Kefu, workspace: Demo
) -> None:
    import aiosmtplib

    from kefu.connectors.email import receiver
    from tests.servers import free_port

    port = free_port()
    kefu.settings.email_smtp_port = port
    inbox_id = await _inbox(kefu, workspace)
    stop = asyncio.Event()
    task = asyncio.create_task(receiver.run(kefu, media_of(kefu), stop))
    try:
        for _ in range(50):
            try:
                smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=5)
                await smtp.connect()
                break
            except OSError:
                await asyncio.sleep(0.1)
        raw, mid = _mail(subject="经 SMTP 投递")
        await smtp.sendmail(CUSTOMER, ["support+abc@example.com"], raw)
        with pytest.raises(aiosmtplib.SMTPRecipientsRefused):
            await smtp.sendmail(CUSTOMER, ["nobody@example.com"], raw)
        await smtp.quit()
    finally:
        stop.set()
        await task
    (conversation,) = await _conversations(kefu)
    assert conversation.inbox_id == inbox_id
    assert conversation.attributes["subject"] == "经 SMTP 投递"
    assert [m.channel_message_id for m in await _messages(kefu, conversation.id)] == [mid]


def _bounce_of(sent_message_id: str, recipient: str) -> bytes:
    """A delivery status notification (RFC 3464) as Postfix writes one."""
    return (
        b"From: MAILER-DAEMON@mx.example.cn (Mail Delivery System)\r\n"
        + f"To: {USER}\r\n".encode()
        + b"Subject: Undelivered Mail Returned to Sender\r\nAuto-Submitted: auto-replied\r\n"
        b"Message-ID: <dsn-1@mx.example.cn>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="dsn"\r\n\r\n'
        b"--dsn\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
        b"I'm sorry to have to inform you that your message could not be delivered.\r\n"
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
async def test_a_bounce_fetched_by_imap_fails_the_reply_on_the_agents_screen(
    live_server: str, client: httpx.AsyncClient, kefu: Kefu, workspace: Demo, imap: Dovecot
) -> None:
    with smtp_sink() as (sink, port):
        inbox_id = await _imap_inbox(
            kefu, workspace, imap, smtp_host="127.0.0.1", smtp_port=port, smtp_security="none"
        )
        first, _ = _mail(subject="退款")
        imap.append(first)
        assert await _sync(kefu, inbox_id) == 1
        (conversation,) = await _conversations(kefu)
        headers = await login_headers(client, login_of(workspace, "supervisor"))
        token = headers["Authorization"].removeprefix("Bearer ")
        ws_url = live_server.replace("http", "ws") + "/ws/agent"
        async with websockets.connect(
            ws_url, additional_headers={"Authorization": f"Bearer {token}"}
        ) as socket:
            sent_reply = await reply(kefu, conversation.id, _agent(workspace), "已退款。")
            await dispatch_due(kefu, utcnow())
            (sent,) = sink.mails
            imap.append(_bounce_of(sent["Message-ID"], CUSTOMER))
            assert await _sync(kefu, inbox_id) == 1
            async with asyncio.timeout(10):
                while True:
                    event = json.loads(await socket.recv())
                    message = event.get("message") or {}
                    if message.get("id") == str(sent_reply.id) and (
                        message.get("delivery_status") == "failed"
                    ):
                        break
    assert "5.1.1 mailbox does not exist" in message["failure_reason"]
    # The bounce opened nothing and is not a customer message.
    assert len(await _conversations(kefu)) == 1
    assert [m.body for m in await _messages(kefu, conversation.id)] == [
        "你好，请问发票什么时候开？",
        "已退款。",
    ]


@pytest.mark.engine_sensitive
async def test_the_admin_sees_the_mailbox_error_and_the_mails_set_aside(
    client: httpx.AsyncClient, kefu: Kefu, workspace: Demo, other_workspace: Demo, imap: Dovecot
) -> None:
    inbox_id = await _imap_inbox(kefu, workspace, imap)
    auto, _ = _mail(subject="自动回复：休假中", headers={"Auto-Submitted": "auto-replied"})
    assert (await _post(client, inbox_id, auto)).json()["status"] == "ignored"
    imap.append(b"\x00\xff not a mail at all \xfe")
    await _sync(kefu, inbox_id)
    await store.record_error(kefu, inbox_id, "INBOX", "IMAP login failed: [AUTHENTICATIONFAILED]")
    admin = await login_headers(client, login_of(workspace, "admin"))
    response = await client.get(f"/api/v1/inboxes/{inbox_id}/mail", headers=admin)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["error"] == "IMAP login failed: [AUTHENTICATIONFAILED]"
    reasons = {(item["source"], item["status"]): item["reason"] for item in body["items"]}
    assert ("mime", "ignored") in reasons and "auto" in reasons[("mime", "ignored")].lower()
    assert ("imap", "failed") in reasons
    assert not any(item.get("raw") for item in body["items"])  # never the bytes themselves
    # An agent may not look; another workspace's admin finds no such inbox.
    agent = await login_headers(client, login_of(workspace, "lina"))
    assert (await client.get(f"/api/v1/inboxes/{inbox_id}/mail", headers=agent)).status_code == 403
    theirs = await login_headers(client, login_of(other_workspace, "admin"))
    assert (await client.get(f"/api/v1/inboxes/{inbox_id}/mail", headers=theirs)).status_code == 404


@pytest.mark.engine_sensitive
async def test_the_agent_sets_subject_to_and_cc_and_the_reply_goes_out_with_them(
    client: httpx.AsyncClient, kefu: Kefu, workspace: Demo
) -> None:
    with smtp_sink() as (sink, port):
        inbox_id = await _inbox(
            kefu, workspace, smtp_host="127.0.0.1", smtp_port=port, smtp_security="none"
        )
        raw, first_id = _mail(subject="发票")
        conversation_id = (await _post(client, inbox_id, raw)).json()["conversation_id"]
        agent = await login_headers(client, login_of(workspace, "admin"))
        url = f"/api/v1/conversations/{conversation_id}"
        envelope = {
            "subject": "Re: 发票（已开具）",
            "to": [CUSTOMER, "finance@example.cn"],
            "cc": ["boss@example.cn"],
        }
        patched = await client.patch(url, json={"email": envelope}, headers=agent)
        assert patched.status_code == 200, patched.text
        assert patched.json()["attributes"]["email"] == envelope
        sent_reply = await client.post(
            f"{url}/messages", json={"body": "发票已开。"}, headers=agent
        )
        assert sent_reply.status_code == 201, sent_reply.text
        await dispatch_due(kefu, utcnow())
        (sent,) = sink.mails
        assert sent["Subject"] == "Re: 发票（已开具）"
        assert sent["To"] == f"{CUSTOMER}, finance@example.cn"
        assert sent["Cc"] == "boss@example.cn"
        assert sent["In-Reply-To"] == f"<{first_id}>"  # still threaded
        ((_, recipients),) = sink.envelopes
        assert sorted(recipients) == sorted([CUSTOMER, "finance@example.cn", "boss@example.cn"])


@pytest.mark.parametrize(
    "envelope",
    [
        {"to": ["not an address"]},
        {"cc": ["a@b.cn, c@d.cn"]},  # one address a field, never a list in a string
        {"to": ["x@example.cn\r\nBcc: evil@example.cn"]},  # no header injection
        {"cc": [f"u{n}@example.cn" for n in range(21)]},
        {"subject": "x" * 999},
    ],
)
async def test_a_bad_envelope_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, kefu: Kefu, workspace: Demo, envelope: dict[str, object]
) -> None:
    inbox_id = await _inbox(kefu, workspace)
    raw, _ = _mail()
    conversation_id = (await _post(client, inbox_id, raw)).json()["conversation_id"]
    agent = await login_headers(client, login_of(workspace, "admin"))
    url = f"/api/v1/conversations/{conversation_id}"
    response = await client.patch(url, json={"email": envelope}, headers=agent)
    assert response.status_code == 400, response.text
    assert "email" in response.text
    assert "email" not in (await client.get(url, headers=agent)).json()["attributes"]


async def test_only_an_email_conversation_has_an_envelope(
    client: httpx.AsyncClient, kefu: Kefu, workspace: Demo
) -> None:
    from kefu.conversations.ingest import ingest
    from kefu.model import Identity, Inbound

    result = await ingest(
        kefu,
        Inbound(inbox_id=workspace.inbox_id, identity=Identity("web_visitor", "v1"), body="hi"),
    )
    agent = await login_headers(client, login_of(workspace, "admin"))
    response = await client.patch(
        f"/api/v1/conversations/{result.conversation_id}",
        json={"email": {"subject": "x"}},
        headers=agent,
    )
    assert response.status_code in (400, 422), response.text
    assert "e-mail" in response.text
