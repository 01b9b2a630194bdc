"""The SMS channel, Twilio-compatible: signed form webhooks in (stored once, one
contact per E.164 number), replies out through a stand-in speaking Twilio's REST API
with its documented errors, status callbacks onto the reply's delivery status, and bad
input refused with a problem and nothing written."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from kefu.connectors.sms.connector import SmsConnector
from kefu.connectors.sms.keywords import STARTED, STOPPED
from kefu.connectors.sms.standin import TwilioStandIn, create_standin
from kefu.connectors.sms.twilio import SIGNATURE_HEADER, signature
from kefu.context import Kefu
from kefu.conversations.actions import Actor, reply
from kefu.conversations.outbox import dispatch_due
from kefu.db.tables import Contact, ContactIdentity, Conversation, Message
from kefu.demo import Demo
from kefu.inboxes.schemas import InboxCreate
from kefu.inboxes.service import create_inbox
from kefu.model import ChannelKind, SenderKind, utcnow
from kefu.settings import Settings
from tests.conftest import make_settings
from tests.servers import serve

PUBLIC = "https://kefu.example.com"
TOKEN = "twilio-auth-token-for-tests"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, media_dir=str(tmp_path / "media"), public_url=PUBLIC)


def test_twilio_published_signature_vector() -> None:
    # https://www.twilio.com/docs/usage/webhooks/webhooks-security (the PHP example).
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+14158675309",
        "Digits": "1234",
        "From": "+14158675309",
        "To": "+18005551212",
    }
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert signature("12345", url, list(params.items())) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="


async def _inbox(
    kefu: Kefu, demo: Demo, api_base: str = "http://127.0.0.1:9", **more: str
) -> uuid.UUID:
    inbox = await create_inbox(
        kefu,
        demo.workspace_id,
        InboxCreate(
            kind=ChannelKind.sms,
            name="SMS",
            config={
                "provider": "twilio",
                "account_sid": more.get("sid", "AC_standin"),
                "auth_token": more.get("token", TOKEN),
                "from_number": "+14155550100",
                "api_base": api_base,
            },
        ),
    )
    return inbox.id


def _form(
    sid: str = "SM0001", sender: str = "13800138000", body: str = "你好，订单到了吗？", **extra: str
) -> dict[str, str]:
    return {
        "AccountSid": "AC_standin",
        "MessageSid": sid,
        "SmsSid": sid,
        "From": sender,
        "To": "+14155550100",
        "Body": body,
        "NumMedia": "0",
        **extra,
    }


def _signed(path: str, form: dict[str, str], token: str = TOKEN) -> dict[str, str]:
    return {SIGNATURE_HEADER: signature(token, PUBLIC + path, list(form.items()))}


async def _rows(kefu: Kefu) -> tuple[int, int, int]:
    async with kefu.db.session() as session:
        return tuple(  # type: ignore[return-value]
            [
                int(await session.scalar(sa.select(sa.func.count()).select_from(m)) or 0)
                for m in (Contact, Conversation, Message)
            ]
        )


@pytest.mark.engine_sensitive
async def test_inbound_sms_stored_once_and_numbers_are_one_contact(
    client: httpx.AsyncClient, kefu: Kefu, workspace: Demo
) -> None:
    inbox_id = await _inbox(kefu, workspace)
    path = f"/connectors/sms/{inbox_id}/twilio"
    form = _form()
    for _ in range(3):  # Twilio retries: stored once by MessageSid
        response = await client.post(path, data=form, headers=_signed(path, form))
        assert response.status_code == 200, response.text
        assert "<Response>" in response.text
    for n, written in enumerate(["+86 138 0013 8000", "008613800138000"], start=2):
        form = _form(sid=f"SM000{n}", sender=written, body=f"第 {n} 条")
        assert (await client.post(path, data=form, headers=_signed(path, form))).status_code == 200
    assert await _rows(kefu) == (1, 1, 3)
    async with kefu.db.session() as session:
        identity = (await session.scalars(sa.select(ContactIdentity))).one()
        contact = (await session.scalars(sa.select(Contact))).one()
    assert (identity.kind, identity.value) == ("phone", "+8613800138000")
    assert contact.phone == "+8613800138000"


async def test_media_urls_become_attachments(
    client: httpx.AsyncClient, kefu: Kefu, workspace: Demo
) -> None:
    inbox_id = await _inbox(kefu, workspace)
    path = f"/connectors/sms/{inbox_id}/twilio"
    form = _form(
        body="",
        NumMedia="1",
        MediaUrl0="https://api.twilio.com/2010-04-01/Accounts/AC/Messages/MM1/Media/ME1",
        MediaContentType0="image/jpeg",
    )
    assert (await client.post(path, data=form, headers=_signed(path, form))).status_code == 200
    async with kefu.db.session() as session:
        message = (await session.scalars(sa.select(Message))).one()
    assert message.attachments[0]["url"].endswith("/Media/ME1")
    assert message.attachments[0]["content_type"] == "image/jpeg"


@pytest.mark.engine_sensitive
@pytest.mark.parametrize(
    ("case", "status", "reason"),
    [
        ("forged signature", 403, "X-Twilio-Signature"),
        ("no signature", 403, "X-Twilio-Signature"),
        ("signed for another URL", 403, "X-Twilio-Signature"),
        ("unknown inbox", 404, "no Twilio SMS inbox"),
        ("not a form", 400, "not an application/x-www-form-urlencoded"),
        ("no MessageSid", 400, "MessageSid is required"),
        ("From not a number", 400, "not a phone number"),
        ("empty body", 400, "needs Body or media"),
        ("NUL in body", 400, "cannot be stored"),
        ("MessageSid too long", 400, "MessageSid is longer"),
        ("NumMedia out of range", 400, "NumMedia"),
    ],
)
async def test_bad_input_gets_a_problem_and_writes_nothing(
    client: httpx.AsyncClient, kefu: Kefu, workspace: Demo, case: str, status: int, reason: str
) -> None:
    inbox_id = await _inbox(kefu, workspace)
    path = f"/connectors/sms/{inbox_id}/twilio"
    form = _form()
    content: bytes | None = None
    headers = _signed(path, form)
    if case == "forged signature":
        headers = _signed(path, form, token="not-the-token")
    elif case == "no signature":
        headers = {}
    elif case == "signed for another URL":
        headers = {
            SIGNATURE_HEADER: signature(
                TOKEN, "https://elsewhere.example" + path, list(form.items())
            )
        }
    elif case == "unknown inbox":
        path = f"/connectors/sms/{uuid.uuid4()}/twilio"
    elif case == "not a form":
        content = b"\xff\xfe{not a form"
    elif case == "no MessageSid":
        del form["MessageSid"]
    elif case == "From not a number":
        form["From"] = "hello"
    elif case == "empty body":
        form["Body"] = "  "
    elif case == "NUL in body":
        form["Body"] = "a\x00b"
    elif case == "MessageSid too long":
        form["MessageSid"] = "S" * 65
    elif case == "NumMedia out of range":
        form["NumMedia"] = "99999999999"
    if case not in ("forged signature", "no signature", "signed for another URL", "unknown inbox"):
        headers = _signed(path, form)
    if content is not None:
        response = await client.post(
            path,
            content=content,
            headers={**headers, "content-type": "application/x-www-form-urlencoded"},
        )
    else:
        response = await client.post(path, data=form, headers=headers)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert reason in response.json()["detail"]
    assert await _rows(kefu) == (0, 0, 0)


async def _conversation(client: httpx.AsyncClient, kefu: Kefu, inbox_id: uuid.UUID) -> uuid.UUID:
    path = f"/connectors/sms/{inbox_id}/twilio"
    form = _form()
    assert (await client.post(path, data=form, headers=_signed(path, form))).status_code == 200
    async with kefu.db.session() as session:
        return (await session.scalars(sa.select(Conversation.id))).one()


def _agent(demo: Demo) -> Actor:
    return Actor(
        workspace_id=demo.workspace_id,
        kind=SenderKind.agent,
        user_id=demo.logins[1].id,
        name="Li Na",
    )


@pytest.mark.engine_sensitive
async def test_reply_goes_out_and_status_callbacks_mark_it(
    client: httpx.AsyncClient, kefu: Kefu, workspace: Demo
) -> None:
    standin = TwilioStandIn(auth_token=TOKEN)
    async with serve(create_standin(standin), lifespan="off") as api_base:
        kefu.connectors.register(SmsConnector(kefu.outbound, public_url=PUBLIC))
        inbox_id = await _inbox(kefu, workspace, api_base)
        conversation_id = await _conversation(client, kefu, inbox_id)
        view = await reply(kefu, conversation_id, _agent(workspace), "明天送达 Tomorrow")
        await dispatch_due(kefu, utcnow())
    assert len(standin.sent) == 1
    sent = standin.sent[0]
    assert (sent["To"], sent["From"], sent["Body"]) == (
        "+8613800138000",
        "+14155550100",
        "明天送达 Tomorrow",
    )
    assert sent["StatusCallback"] == f"{PUBLIC}/connectors/sms/{inbox_id}/twilio/status"
    for word, expected in [
        ("queued", "sent"),
        ("sent", "sent"),
        ("delivered", "delivered"),
        ("sent", "delivered"),
    ]:
        url, form, headers = standin.status_callback(sent["sid"], word)
        response = await client.post(url.removeprefix(PUBLIC), data=form, headers=headers)
        assert response.status_code == 200, response.text
        async with kefu.db.session() as session:
            message = await session.get(Message, view.id)
        assert message is not None and message.delivery_status == expected, word


@pytest.mark.engine_sensitive
async def test_undelivered_callback_fails_the_reply_with_the_reason_in_words(
    client: httpx.AsyncClient, kefu: Kefu, workspace: Demo
) -> None:
    standin = TwilioStandIn(auth_token=TOKEN)
    async with serve(create_standin(standin), lifespan="off") as api_base:
        kefu.connectors.register(SmsConnector(kefu.outbound, public_url=PUBLIC))
        inbox_id = await _inbox(kefu, workspace, api_base)
        conversation_id = await _conversation(client, kefu, inbox_id)
        view = await reply(kefu, conversation_id, _agent(workspace), "hello")
        await dispatch_due(kefu, utcnow())
    url, form, headers = standin.status_callback(standin.sent[0]["sid"], "undelivered", "30003")
    assert (
        await client.post(url.removeprefix(PUBLIC), data=form, headers=headers)
    ).status_code == 200
    async with kefu.db.session() as session:
        message = await session.get(Message, view.id)
    assert message is not None and message.delivery_status == "failed"
    assert message.failure_reason is not None
    assert "unreachable" in message.failure_reason and "无法接通" in message.failure_reason
    assert "30003" in message.failure_reason


@pytest.mark.parametrize(
    ("setup", "state", "words"),
    [
        ("invalid number", "failed", ("not a valid phone number", "21211")),
        ("blocked", "failed", ("unsubscribed", "退订")),
        ("rate limited", "sent", ()),
        ("bad credentials", "failed", ("Authenticate",)),
    ],
)
async def test_twilio_errors_become_reasons_or_retries(
    client: httpx.AsyncClient,
    kefu: Kefu,
    workspace: Demo,
    setup: str,
    state: str,
    words: tuple[str, ...],
) -> None:
    standin = TwilioStandIn(auth_token=TOKEN)
    async with serve(create_standin(standin), lifespan="off") as api_base:
        kefu.connectors.register(SmsConnector(kefu.outbound, public_url=PUBLIC))
        token = "wrong-token-123" if setup == "bad credentials" else TOKEN
        inbox_id = await _inbox(kefu, workspace, api_base, token=token)
        path = f"/connectors/sms/{inbox_id}/twilio"
        sender = "+12025550123" if setup == "invalid number" else "13800138000"
        form = _form(sender=sender)
        assert (
            await client.post(path, data=form, headers=_signed(path, form, token))
        ).status_code == 200
        async with kefu.db.session() as session:
            conversation_id = (await session.scalars(sa.select(Conversation.id))).one()
            if setup == "invalid number":
                # A number Twilio refuses: the stand-in's 21211 rule (no "+").
                identity = (await session.scalars(sa.select(ContactIdentity))).one()
        if setup == "invalid number":
            async with kefu.db.transaction() as session:
                row = await session.get(ContactIdentity, identity.id)
                assert row is not None
                row.value = "12025550123"
        if setup == "blocked":
            standin.blocked.add("+8613800138000")
        if setup == "rate limited":
            standin.rate_limited = 1
        view = await reply(kefu, conversation_id, _agent(workspace), "hi")
        await dispatch_due(kefu, utcnow())
        if setup == "rate limited":
            await dispatch_due(kefu, utcnow())  # retried after the 429 (backoff 0 in tests)
    async with kefu.db.session() as session:
        message = await session.get(Message, view.id)
    assert message is not None and message.delivery_status == state, message.failure_reason
    for word in words:
        assert word in (message.failure_reason or ""), message.failure_reason
    if setup == "rate limited":
        assert len(standin.sent) == 1


@pytest.mark.engine_sensitive
async def test_sms_from_a_profile_phone_reaches_that_contact(
    client: httpx.AsyncClient, kefu: Kefu, workspace: Demo
) -> None:
    from kefu.contacts.schemas import ContactUpdate
    from kefu.contacts.service import update_contact

    async with kefu.db.transaction() as session:
        known = Contact(
            workspace_id=workspace.workspace_id,
            name="张三",
            created_at=utcnow(),
            updated_at=utcnow(),
        )
        session.add(known)
        await session.flush()
        known_id = known.id
    updated = await update_contact(
        kefu, workspace.workspace_id, known_id, ContactUpdate(phone="138 0013 8000")
    )
    assert updated.phone == "+8613800138000"
    inbox_id = await _inbox(kefu, workspace)
    path = f"/connectors/sms/{inbox_id}/twilio"
    form = _form(sender="008613800138000")
    assert (await client.post(path, data=form, headers=_signed(path, form))).status_code == 200
    async with kefu.db.session() as session:
        conversation = (await session.scalars(sa.select(Conversation))).one()
        contacts = int(await session.scalar(sa.select(sa.func.count()).select_from(Contact)) or 0)
    assert conversation.contact_id == known_id
    assert contacts == 1


@pytest.mark.engine_sensitive
async def test_stop_opts_out_once_refuses_replies_and_start_resubscribes(
    client: httpx.AsyncClient, kefu: Kefu, workspace: Demo
) -> None:
    from tests.conftest import login_headers

    standin = TwilioStandIn(auth_token=TOKEN)
    async with serve(create_standin(standin), lifespan="off") as api_base:
        kefu.connectors.register(SmsConnector(kefu.outbound, public_url=PUBLIC))
        inbox_id = await _inbox(kefu, workspace, api_base)
        path = f"/connectors/sms/{inbox_id}/twilio"
        conversation_id = await _conversation(client, kefu, inbox_id)
        for n, word in enumerate(["STOP", " stop! ", "退订"]):
            form = _form(sid=f"SMstop{n}", body=word)
            assert (
                await client.post(path, data=form, headers=_signed(path, form))
            ).status_code == 200
        await dispatch_due(kefu, utcnow())
        assert [m["Body"] for m in standin.sent] == [STOPPED]  # confirmed once
        headers = await login_headers(client, workspace.logins[1].email)
        refused = await client.post(
            f"/api/v1/conversations/{conversation_id}/messages",
            json={"body": "还在吗？"},
            headers=headers,
        )
        assert refused.status_code == 409, refused.text
        assert "unsubscribed" in refused.json()["detail"]
        zh = await client.post(
            f"/api/v1/conversations/{conversation_id}/messages",
            json={"body": "还在吗？"},
            headers={**headers, "Accept-Language": "zh-CN"},
        )
        assert "退订" in zh.json()["detail"]
        async with kefu.db.session() as session:
            outgoing = int(
                await session.scalar(
                    sa.select(sa.func.count())
                    .select_from(Message)
                    .where(Message.body == "还在吗？")
                )
                or 0
            )
        assert outgoing == 0  # refused before anything was recorded or sent
        form = _form(sid="SMstart", body="订阅")
        assert (await client.post(path, data=form, headers=_signed(path, form))).status_code == 200
        again = await client.post(
            f"/api/v1/conversations/{conversation_id}/messages",
            json={"body": "欢迎回来"},
            headers=headers,
        )
        assert again.status_code == 201, again.text
        await dispatch_due(kefu, utcnow())
    assert [m["Body"] for m in standin.sent] == [STOPPED, STARTED, "欢迎回来"]


async def test_help_is_answered_from_the_inbox_config(
    client: httpx.AsyncClient, kefu: Kefu, workspace: Demo
) -> None:
    standin = TwilioStandIn(auth_token=TOKEN)
    async with serve(create_standin(standin), lifespan="off") as api_base:
        kefu.connectors.register(SmsConnector(kefu.outbound, public_url=PUBLIC))
        inbox = await create_inbox(
            kefu,
            workspace.workspace_id,
            InboxCreate(
                kind=ChannelKind.sms,
                name="SMS",
                config={
                    "provider": "twilio",
                    "account_sid": "AC_standin",
                    "auth_token": TOKEN,
                    "from_number": "+14155550100",
                    "api_base": api_base,
                    "help_text": "客服热线 400-000-0000 / Call 400-000-0000",
                },
            ),
        )
        path = f"/connectors/sms/{inbox.id}/twilio"
        form = _form(body="help")
        assert (await client.post(path, data=form, headers=_signed(path, form))).status_code == 200
        await dispatch_due(kefu, utcnow())
    assert [m["Body"] for m in standin.sent] == ["客服热线 400-000-0000 / Call 400-000-0000"]
