"""The WeChat webhook end to end: real-format requests in, rows and sockets out, and the
agent's reply out through the outbox to a stand-in of WeChat's API."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import websockets

from kefu.app import create_app
from kefu.connectors.wechat.connector import WeChatConnector
from kefu.connectors.wechat.standin import StandIn, create_standin
from kefu.connectors.wechat.webhook import AccountKeys, Mode, seal_request
from kefu.context import Kefu
from kefu.conversations.outbox import dispatch_due
from kefu.db.tables import Contact, ContactIdentity, Conversation, Message
from kefu.demo import Demo
from kefu.inboxes.schemas import InboxCreate
from kefu.inboxes.service import create_inbox
from kefu.model import ChannelKind, utcnow
from tests.conftest import login_headers, login_of
from tests.servers import serve

AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
OPENID = "oWeChatUser_0001"


@dataclass
class Setup:
    client: Any
    kefu: Kefu
    workspace: Demo
    standin: StandIn
    api_url: str
    connector: WeChatConnector

    async def inbox(self, mode: Mode = Mode.safe) -> tuple[uuid.UUID, AccountKeys]:
        config = {
            "appid": self.standin.appid,
            "secret": self.standin.secret,
            "token": "kefu-token",
            "mode": mode.value,
            "api_base": self.api_url,
        }
        if mode is not Mode.plain:
            config["encoding_aes_key"] = AES_KEY
        created = await create_inbox(
            self.kefu,
            self.workspace.workspace_id,
            InboxCreate(kind=ChannelKind.wechat, name=f"公众号 {mode}", config=config),
        )
        keys = AccountKeys(
            appid=self.standin.appid,
            token="kefu-token",
            mode=mode,
            encoding_aes_key=AES_KEY if mode is not Mode.plain else "",
        )
        return created.id, keys

    async def post(
        self,
        inbox_id: uuid.UUID | str,
        keys: AccountKeys,
        xml: str,
        *,
        age: timedelta = timedelta(0),
        tamper: dict[str, str] | None = None,
        body: bytes | None = None,
    ) -> httpx.Response:
        query, sealed = seal_request(keys, xml, now=utcnow() - age)
        query.update(tamper or {})
        response: httpx.Response = await self.client.post(
            f"/connectors/wechat/{inbox_id}",
            params=query,
            content=sealed if body is None else body,
            headers={"content-type": "text/xml"},
        )
        return response

    async def count(self, *what: Any) -> list[int]:
        async with self.kefu.db.session() as session:
            return [
                int(await session.scalar(sa.select(sa.func.count()).select_from(t)) or 0)
                for t in what
            ]


@pytest.fixture
async def setup(kefu: Kefu, workspace: Demo) -> AsyncIterator[Setup]:
    standin = StandIn()
    connector = kefu.connectors.get("wechat")
    assert isinstance(connector, WeChatConnector)
    app = create_app(kefu=kefu)
    app.on_startup.clear()
    app.on_shutdown.clear()
    # A real server in the test's own event loop: Litestar's AsyncTestClient runs the app
    # in a portal thread with another loop, which the database pool cannot share.
    async with (
        serve(create_standin(standin)) as api_url,
        serve(app, lifespan="off") as kefu_url,
        httpx.AsyncClient(base_url=kefu_url) as client,
    ):
        yield Setup(client, kefu, workspace, standin, api_url, connector)
        await kefu.drain()
    await connector.aclose()


def text_xml(content: str, msg_id: str = "6054768590064713728", openid: str = OPENID) -> str:
    return (
        "<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName>"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{int(utcnow().timestamp())}</CreateTime>"
        f"<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{content}]]></Content>"
        f"<MsgId>{msg_id}</MsgId></xml>"
    )


async def test_url_verification_echoes_echostr(setup: Setup) -> None:
    inbox_id, keys = await setup.inbox(Mode.safe)
    query, _ = seal_request(keys, text_xml("x"), now=utcnow())
    query["echostr"] = "7359251651466412733"
    response = await setup.client.get(f"/connectors/wechat/{inbox_id}", params=query)
    assert response.status_code == 200
    assert response.text == "7359251651466412733"
    query["signature"] = "0" * 40
    forged = await setup.client.get(f"/connectors/wechat/{inbox_id}", params=query)
    assert forged.status_code == 403
    assert forged.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize("mode", list(Mode))
async def test_text_message_is_stored_for_the_openid_in_every_mode(
    setup: Setup, mode: Mode
) -> None:
    inbox_id, keys = await setup.inbox(mode)
    response = await setup.post(inbox_id, keys, text_xml("我的订单还没到"))
    assert response.status_code == 200
    assert response.text == "success"
    async with setup.kefu.db.session() as session:
        message = (await session.scalars(sa.select(Message))).one()
        identity = (await session.scalars(sa.select(ContactIdentity))).one()
    assert message.body == "我的订单还没到"
    assert message.channel_message_id == "6054768590064713728"
    assert (identity.kind, identity.value) == ("wechat_openid", OPENID)


@pytest.mark.engine_sensitive
@pytest.mark.parametrize(
    ("name", "change", "status"),
    [
        ("forged signature", {"tamper": {"signature": "0" * 40, "msg_signature": "0" * 40}}, 403),
        ("stale timestamp", {"age": timedelta(seconds=301)}, 403),
        ("bad ciphertext", {"body": b"<xml><Encrypt><![CDATA[AAAA]]></Encrypt></xml>"}, 403),
        ("not xml", {"body": b"hello"}, 400),
        ("entity bomb", {"body": b'<!DOCTYPE x [<!ENTITY a "a">]><xml>&a;</xml>'}, 400),
    ],
)
async def test_bad_requests_get_a_problem_and_store_nothing(
    setup: Setup, name: str, change: dict[str, Any], status: int
) -> None:
    inbox_id, keys = await setup.inbox(Mode.safe)
    response = await setup.post(inbox_id, keys, text_xml("hi"), **change)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert await setup.count(Message, Contact, Conversation) == [0, 0, 0]


@pytest.mark.engine_sensitive
async def test_ciphertext_signed_right_but_undecryptable_is_400(setup: Setup) -> None:
    inbox_id, keys = await setup.inbox(Mode.safe)
    from kefu.connectors.wechat.crypto import sign

    query, _ = seal_request(keys, text_xml("hi"), now=utcnow())
    query["msg_signature"] = sign(keys.token, query["timestamp"], query["nonce"], "AAAA")
    response = await setup.client.post(
        f"/connectors/wechat/{inbox_id}",
        params=query,
        content=b"<xml><Encrypt><![CDATA[AAAA]]></Encrypt></xml>",
    )
    assert response.status_code == 400
    assert response.json()["reason"] == "bad_ciphertext"
    assert await setup.count(Message, Contact) == [0, 0]


async def test_unknown_inbox_is_404(setup: Setup) -> None:
    _, keys = await setup.inbox(Mode.plain)
    for inbox_id in (str(uuid.uuid4()), "not-a-uuid", str(setup.workspace.inbox_id)):
        response = await setup.post(inbox_id, keys, text_xml("hi"))
        assert response.status_code == 404, inbox_id
        assert response.headers["content-type"].startswith("application/problem+json")
    assert await setup.count(Message) == [0]


@pytest.mark.engine_sensitive
async def test_oversized_body_is_refused(setup: Setup) -> None:
    inbox_id, keys = await setup.inbox(Mode.plain)
    response = await setup.post(inbox_id, keys, text_xml("x" * 70_000))
    assert response.status_code == 413
    assert await setup.count(Message) == [0]


@pytest.mark.engine_sensitive
async def test_same_msgid_twenty_times_at_once_and_again_later_stores_one_message(
    setup: Setup,
) -> None:
    inbox_id, keys = await setup.inbox(Mode.safe)
    xml = text_xml("在吗？", msg_id="7000000000000000001")
    responses = await asyncio.gather(*(setup.post(inbox_id, keys, xml) for _ in range(20)))
    assert [r.status_code for r in responses] == [200] * 20
    # WeChat's later retry comes with a fresh timestamp and nonce.
    again = await setup.post(inbox_id, keys, xml)
    assert again.status_code == 200 and again.text == "success"
    assert await setup.count(Message, Contact, Conversation) == [1, 1, 1]


@pytest.mark.engine_sensitive
async def test_menu_click_sets_the_entry_point_and_an_event_retry_is_stored_once(
    setup: Setup,
) -> None:
    inbox_id, keys = await setup.inbox(Mode.plain)
    await setup.post(inbox_id, keys, text_xml("你好"))
    click = (
        "<xml><ToUserName><![CDATA[gh_1]]></ToUserName>"
        f"<FromUserName><![CDATA[{OPENID}]]></FromUserName><CreateTime>1700000000</CreateTime>"
        "<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[CLICK]]></Event>"
        "<EventKey><![CDATA[AFTER_SALES]]></EventKey></xml>"
    )
    for _ in range(3):
        assert (await setup.post(inbox_id, keys, click)).status_code == 200
    async with setup.kefu.db.session() as session:
        conversation = (await session.scalars(sa.select(Conversation))).one()
    assert conversation.entry_point == "menu:AFTER_SALES"
    assert await setup.count(Message) == [2]


async def test_image_a_user_sent_is_downloaded_after_the_answer(setup: Setup) -> None:
    inbox_id, keys = await setup.inbox(Mode.safe)
    setup.standin.user_media["MEDIA_FROM_USER"] = ("image/jpeg", b"\xff\xd8\xff-jpeg")
    image = (
        "<xml><ToUserName><![CDATA[gh_1]]></ToUserName>"
        f"<FromUserName><![CDATA[{OPENID}]]></FromUserName>"
        f"<CreateTime>{int(utcnow().timestamp())}</CreateTime>"
        "<MsgType><![CDATA[image]]></MsgType><PicUrl><![CDATA[http://mmbiz.qpic.cn/x]]></PicUrl>"
        "<MediaId><![CDATA[MEDIA_FROM_USER]]></MediaId><MsgId>42</MsgId></xml>"
    )
    assert (await setup.post(inbox_id, keys, image)).status_code == 200
    await setup.kefu.drain()  # the download runs after the answer
    async with setup.kefu.db.session() as session:
        message = (await session.scalars(sa.select(Message))).one()
    [attachment] = message.attachments
    assert attachment["url"].startswith("/media/wechat/")
    assert attachment["channel_ref"] == "MEDIA_FROM_USER"
    stored = await setup.connector.media.load(attachment["url"])
    assert stored == (b"\xff\xd8\xff-jpeg", "image/jpeg")


async def test_simulated_text_reaches_the_agent_socket_and_the_reply_reaches_wechat(
    kefu: Kefu, workspace: Demo
) -> None:
    standin = StandIn()
    connector = kefu.connectors.get("wechat")
    assert isinstance(connector, WeChatConnector)
    app = create_app(kefu=kefu)
    app.on_startup.clear()
    app.on_shutdown.clear()
    async with (
        serve(create_standin(standin)) as api_url,
        serve(app, lifespan="off") as kefu_url,
        httpx.AsyncClient(base_url=kefu_url) as http,
    ):
        setup = Setup(http, kefu, workspace, standin, api_url, connector)
        inbox_id, keys = await setup.inbox(Mode.safe)
        headers = await login_headers(http, login_of(workspace, "admin"))  # type: ignore[arg-type]
        ws_url = kefu_url.replace("http://", "ws://") + "/ws/agent"
        async with websockets.connect(ws_url, additional_headers=headers) as socket:
            assert json.loads(await socket.recv())["type"] == "hello"
            response = await setup.post(inbox_id, keys, text_xml("请问怎么退货？"))
            assert response.status_code == 200

            async def next_message() -> dict[str, Any]:
                while True:
                    frame = json.loads(await socket.recv())
                    if frame.get("type") == "message" and frame.get("message"):
                        return dict(frame["message"])

            seen = await asyncio.wait_for(next_message(), timeout=10)
        assert seen["body"] == "请问怎么退货？"
        reply = await http.post(
            f"/api/v1/conversations/{seen['conversation_id']}/messages",
            json={"body": "您好，七天内可无理由退货。"},
            headers=headers,
        )
        assert reply.status_code == 201, reply.text
        assert await dispatch_due(kefu) == 1
    await connector.aclose()
    assert standin.sent == [
        {"touser": OPENID, "msgtype": "text", "text": {"content": "您好，七天内可无理由退货。"}}
    ]


@pytest.mark.engine_sensitive
async def test_simulator_posts_what_the_webhook_stores_once_despite_retries(
    setup: Setup,
) -> None:
    from kefu.connectors.wechat.simulate import message_xml, simulate

    inbox_id, _ = await setup.inbox(Mode.safe)
    xml = message_xml("oSIM_1", text="模拟消息 <hello> & ]]> bye", msg_id="99")
    responses = await simulate(
        setup.kefu.settings, inbox_id, xml, base_url=str(setup.client.base_url), repeat=3
    )
    assert [(r.status_code, r.text) for r in responses] == [(200, "success")] * 3
    async with setup.kefu.db.session() as session:
        message = (await session.scalars(sa.select(Message))).one()
    assert message.body == "模拟消息 <hello> & ]]> bye"


async def test_simulated_qr_subscribe_then_text_opens_a_conversation(setup: Setup) -> None:
    from kefu.connectors.wechat.simulate import message_xml, simulate

    inbox_id, _ = await setup.inbox(Mode.plain)
    base = str(setup.client.base_url)
    for xml in (
        message_xml("oSIM_2", event="subscribe", key="qrscene_store-42"),
        message_xml("oSIM_2", text="你好"),
    ):
        [response] = await simulate(setup.kefu.settings, inbox_id, xml, base_url=base)
        assert response.status_code == 200
    async with setup.kefu.db.session() as session:
        identity = (await session.scalars(sa.select(ContactIdentity))).one()
        conversation = (await session.scalars(sa.select(Conversation))).one()
    assert identity.value == "oSIM_2"
    assert conversation.contact_id == identity.contact_id


@pytest.mark.engine_sensitive
async def test_agent_sees_replies_left_and_the_sixth_reply_fails_with_a_reason(
    setup: Setup,
) -> None:
    inbox_id, keys = await setup.inbox(Mode.plain)
    assert (await setup.post(inbox_id, keys, text_xml("还有人吗"))).status_code == 200
    async with setup.kefu.db.session() as session:
        conversation = (await session.scalars(sa.select(Conversation))).one()
    headers = await login_headers(setup.client, login_of(setup.workspace, "admin"))  # type: ignore[arg-type]
    window_url = f"/api/v1/wechat/conversations/{conversation.id}/reply-window"
    window = (await setup.client.get(window_url, headers=headers)).json()
    assert window["left"] == 5
    assert window["closes_at"] is not None

    setup.standin.reply_quota[OPENID] = 5  # WeChat counts too, and answers 45047 past it
    for n in range(6):
        reply = await setup.client.post(
            f"/api/v1/conversations/{conversation.id}/messages",
            json={"body": f"回复 {n + 1}"},
            headers=headers,
        )
        assert reply.status_code == 201, reply.text
    assert await dispatch_due(setup.kefu) == 6
    assert len(setup.standin.sent) == 5
    async with setup.kefu.db.session() as session:
        failed = (
            await session.scalars(sa.select(Message).where(Message.delivery_status == "failed"))
        ).all()
    assert len(failed) == 1
    assert "5 replies" in (failed[0].failure_reason or "")
    assert "5 条" in (failed[0].failure_reason or "")
    window = (await setup.client.get(window_url, headers=headers)).json()
    assert window == {"left": 0, "closes_at": None}

    # A seventh is refused by kefu itself, before it costs a call to WeChat.
    calls = setup.standin.calls.count("/cgi-bin/message/custom/send")
    await setup.client.post(
        f"/api/v1/conversations/{conversation.id}/messages",
        json={"body": "回复 7"},
        headers=headers,
    )
    assert await dispatch_due(setup.kefu) == 1
    assert setup.standin.calls.count("/cgi-bin/message/custom/send") == calls


async def test_previous_aes_key_keeps_working_until_it_is_retired(setup: Setup) -> None:
    from kefu.inboxes.schemas import InboxUpdate
    from kefu.inboxes.service import update_inbox

    inbox_id, old_keys = await setup.inbox(Mode.safe)
    new_key = "ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut"
    new_keys = AccountKeys(
        appid=old_keys.appid, token=old_keys.token, mode=Mode.safe, encoding_aes_key=new_key
    )

    async def rotate(previous: str | None) -> None:
        config: dict[str, str | None] = {
            "appid": old_keys.appid,
            "mode": "safe",
            # Config replaces the public settings: leaving api_base out would move it to
            # api.weixin.qq.com, which needs the secrets entered again.
            "api_base": setup.api_url,
            "encoding_aes_key": new_key,
        }
        config["previous_encoding_aes_key"] = previous
        await update_inbox(
            setup.kefu, setup.workspace.workspace_id, inbox_id, InboxUpdate(config=config)
        )

    await rotate(previous=AES_KEY)
    assert (
        await setup.post(inbox_id, old_keys, text_xml("old key", msg_id="1"))
    ).status_code == 200
    assert (
        await setup.post(inbox_id, new_keys, text_xml("new key", msg_id="2"))
    ).status_code == 200
    # An empty secret field keeps its value (the form leaves it blank); null clears it.
    await rotate(previous=None)
    retired = await setup.post(inbox_id, old_keys, text_xml("retired", msg_id="3"))
    assert retired.status_code == 400
    assert await setup.count(Message) == [2]


async def test_media_wechat_no_longer_has_leaves_the_message_intact(setup: Setup) -> None:
    inbox_id, keys = await setup.inbox(Mode.plain)
    voice = (
        "<xml><ToUserName><![CDATA[gh_1]]></ToUserName>"
        f"<FromUserName><![CDATA[{OPENID}]]></FromUserName>"
        f"<CreateTime>{int(utcnow().timestamp())}</CreateTime>"
        "<MsgType><![CDATA[voice]]></MsgType><MediaId><![CDATA[GONE]]></MediaId>"
        "<Format><![CDATA[amr]]></Format><Recognition><![CDATA[查快递]]></Recognition>"
        "<MsgId>43</MsgId></xml>"
    )
    assert (await setup.post(inbox_id, keys, voice)).status_code == 200
    await setup.kefu.drain()
    async with setup.kefu.db.session() as session:
        message = (await session.scalars(sa.select(Message))).one()
    assert message.body == "查快递"
    assert message.attachments == [
        {"name": "GONE.amr", "content_type": "audio/amr", "channel_ref": "GONE"}
    ]


async def test_qr_scene_seen_before_the_first_message_becomes_the_entry_point(
    setup: Setup,
) -> None:
    from kefu.connectors.wechat.simulate import message_xml, simulate

    inbox_id, _ = await setup.inbox(Mode.plain)
    base = str(setup.client.base_url)
    for xml in (
        message_xml("oSIM_3", event="subscribe", key="qrscene_store-42"),
        message_xml("oSIM_3", text="你好"),
    ):
        await simulate(setup.kefu.settings, inbox_id, xml, base_url=base)
    async with setup.kefu.db.session() as session:
        conversation = (await session.scalars(sa.select(Conversation))).one()
    assert conversation.entry_point == "qrscene:store-42"
