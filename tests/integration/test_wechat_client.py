"""The WeChat API client and connector against a local stand-in of api.weixin.qq.com
that answers with the documented JSON, token and window errors included."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import pytest

from kefu.channel_state.shared import SharedState
from kefu.connectors.base import DeliveryError
from kefu.connectors.media import FileMediaStore
from kefu.connectors.wechat.client import WeChatAPI
from kefu.connectors.wechat.connector import WeChatConnector
from kefu.connectors.wechat.standin import StandIn, create_standin
from kefu.connectors.wechat.token import SharedToken
from kefu.context import Kefu
from kefu.db.engine import Database
from kefu.model import Attachment, ChannelKind, Identity, MessageType, Outbound, utcnow
from kefu.outbound import OutboundClient
from kefu.settings import Settings
from tests.conftest import LOOPBACK_ALLOWED
from tests.servers import serve

OPENID = "oUser-42"


@dataclass
class FakeInbox:
    config: dict[str, Any]
    secrets: dict[str, Any]
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    kind: str = "wechat"


@pytest.fixture
async def wechat() -> AsyncIterator[tuple[StandIn, str]]:
    state = StandIn()
    async with serve(create_standin(state)) as url:
        yield state, url


@pytest.fixture
async def http() -> AsyncIterator[OutboundClient]:
    """The server's outbound client, allowed to reach the stand-in on loopback."""
    client = OutboundClient(Settings(outbound_allow=LOOPBACK_ALLOWED))
    try:
        yield client
    finally:
        await client.aclose()


def api(shared: SharedState, http: OutboundClient, url: str, state: StandIn) -> WeChatAPI:
    return WeChatAPI(appid=state.appid, secret=state.secret, state=shared, http=http, base_url=url)


def outbound(**changes: Any) -> Outbound:
    values: dict[str, Any] = {
        "message_id": uuid.uuid4(),
        "conversation_id": uuid.uuid4(),
        "inbox_id": uuid.uuid4(),
        "workspace_id": uuid.uuid4(),
        "channel": ChannelKind.wechat,
        "recipient": Identity("wechat_openid", OPENID),
        "body": "您好，订单已发货",
        "last_inbound_at": utcnow() - timedelta(minutes=5),
    }
    values.update(changes)
    return Outbound(**values)


@pytest.mark.engine_sensitive
async def test_ten_processes_asking_at_once_fetch_one_token(
    kefu: Kefu, wechat: tuple[StandIn, str], http: OutboundClient
) -> None:
    state, url = wechat
    # Separate engines on the same database stand for separate server processes.
    dbs = [Database(kefu.settings.database_url) for _ in range(5)]
    try:
        clients = [api(SharedState(dbs[i % 5]), http, url, state) for i in range(10)]
        tokens = await asyncio.gather(*(c.token.get() for c in clients))
    finally:
        for db in dbs:
            await db.dispose()
    assert len(state.tokens_issued) == 1
    assert set(tokens) == {state.tokens_issued[0]}


@pytest.mark.engine_sensitive
@pytest.mark.parametrize("error", ["invalidate", "expire"])
async def test_token_error_refreshes_and_retries_the_send_once(
    kefu: Kefu, wechat: tuple[StandIn, str], http: OutboundClient, error: str
) -> None:
    state, url = wechat
    client = api(SharedState.of(kefu), http, url, state)
    first = await client.token.get()
    getattr(state, error)(first)  # WeChat now answers 40001 (invalidate) or 42001 (expire)
    await client.send_custom({"touser": OPENID, "msgtype": "text", "text": {"content": "hi"}})
    assert len(state.tokens_issued) == 2
    assert state.sent == [{"touser": OPENID, "msgtype": "text", "text": {"content": "hi"}}]
    assert await client.token.get() == state.tokens_issued[1]


async def test_classic_token_endpoint_is_the_fallback(
    kefu: Kefu, wechat: tuple[StandIn, str], http: OutboundClient
) -> None:
    state, url = wechat
    state.stable = False
    token = await api(SharedState.of(kefu), http, url, state).token.get()
    assert token == "ACCESS_TOKEN_1"
    assert state.calls == ["/cgi-bin/stable_token", "/cgi-bin/token"]


@pytest.mark.engine_sensitive
async def test_token_is_renewed_before_it_expires(kefu: Kefu) -> None:
    now = [utcnow()]
    fetched: list[str | None] = []

    async def fetch(rejected: str | None) -> tuple[str, int]:
        fetched.append(rejected)
        return f"T{len(fetched)}", 7200

    shared = SharedToken(SharedState.of(kefu), "wechat:test", fetch, clock=lambda: now[0])
    assert await shared.get() == "T1"
    now[0] += timedelta(seconds=6800)  # 400 s left: still good
    assert await shared.get() == "T1"
    now[0] += timedelta(seconds=200)  # 200 s left: inside the 300 s margin
    assert await shared.get() == "T2"
    assert fetched == [None, None]


@pytest.mark.engine_sensitive
async def test_a_crashed_refresher_does_not_block_the_others(kefu: Kefu) -> None:
    async def broken(rejected: str | None) -> tuple[str, int]:
        raise httpx.ConnectError("down")

    async def working(rejected: str | None) -> tuple[str, int]:
        return "OK", 7200

    with pytest.raises(httpx.ConnectError):
        await SharedToken(SharedState.of(kefu), "wechat:k", broken).get()
    # The failed refresher released its lease, so the next one need not wait it out.
    assert (
        await asyncio.wait_for(SharedToken(SharedState.of(kefu), "wechat:k", working).get(), 2)
        == "OK"
    )


@pytest.fixture
async def connector(
    kefu: Kefu, wechat: tuple[StandIn, str], http: OutboundClient, tmp_path: Any
) -> WeChatConnector:
    return WeChatConnector(kefu, http=http, media=FileMediaStore(tmp_path / "media"))


def inbox_for(state: StandIn, url: str) -> FakeInbox:
    return FakeInbox(
        config={"appid": state.appid, "mode": "plain", "api_base": url},
        secrets={"secret": state.secret, "token": "t"},
    )


async def test_text_reply_reaches_wechat_for_the_openid(
    connector: WeChatConnector, wechat: tuple[StandIn, str]
) -> None:
    state, url = wechat
    await connector.send(inbox_for(state, url), outbound())
    assert state.sent == [
        {"touser": OPENID, "msgtype": "text", "text": {"content": "您好，订单已发货"}}
    ]


@pytest.mark.parametrize(
    ("errcode", "says"),
    [(45015, "48 h"), (45047, "5 replies"), (43004, "unfollowed")],
)
async def test_window_errors_become_reasons_an_agent_understands(
    connector: WeChatConnector, wechat: tuple[StandIn, str], errcode: int, says: str
) -> None:
    state, url = wechat
    state.send_errors = [errcode]
    with pytest.raises(DeliveryError) as refused:
        await connector.send(inbox_for(state, url), outbound())
    assert refused.value.retryable is False
    assert says in refused.value.reason
    assert state.sent == []


async def test_system_busy_is_retried_later(
    connector: WeChatConnector, wechat: tuple[StandIn, str]
) -> None:
    state, url = wechat
    state.send_errors = [-1]
    with pytest.raises(DeliveryError) as refused:
        await connector.send(inbox_for(state, url), outbound())
    assert refused.value.retryable is True


async def test_reply_past_48_hours_is_refused_without_calling_wechat(
    connector: WeChatConnector, wechat: tuple[StandIn, str]
) -> None:
    state, url = wechat
    stale = outbound(last_inbound_at=utcnow() - timedelta(hours=52))
    with pytest.raises(DeliveryError) as refused:
        await connector.send(inbox_for(state, url), stale)
    assert refused.value.retryable is False
    assert "52 h old" in refused.value.reason
    assert state.tokens_issued == [] and state.sent == []


async def test_image_reply_is_uploaded_then_sent_by_media_id(
    connector: WeChatConnector, wechat: tuple[StandIn, str]
) -> None:
    state, url = wechat
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 64
    stored = await connector.media.save("replies/label.png", png, "image/png")
    image = Attachment(name="label.png", content_type="image/png", url=stored)
    await connector.send(
        inbox_for(state, url), outbound(type=MessageType.image, body="", attachments=(image,))
    )
    assert state.uploads == {"MEDIA_1": ("image", png, "image/png")}
    assert state.sent == [{"touser": OPENID, "msgtype": "image", "image": {"media_id": "MEDIA_1"}}]


async def test_link_reply_is_a_news_card(
    connector: WeChatConnector, wechat: tuple[StandIn, str]
) -> None:
    state, url = wechat
    body = '{"title": "退货政策", "description": "七天无理由", "url": "https://example.com/r"}'
    await connector.send(inbox_for(state, url), outbound(type=MessageType.link, body=body))
    assert state.sent == [
        {
            "touser": OPENID,
            "msgtype": "news",
            "news": {
                "articles": [
                    {
                        "title": "退货政策",
                        "description": "七天无理由",
                        "url": "https://example.com/r",
                        "picurl": "",
                    }
                ]
            },
        }
    ]


async def test_media_a_user_sent_is_downloaded(
    kefu: Kefu, wechat: tuple[StandIn, str], http: OutboundClient
) -> None:
    state, url = wechat
    state.user_media["img_1"] = ("image/jpeg", b"\xff\xd8jpeg-bytes")
    media = await api(SharedState.of(kefu), http, url, state).download_media("img_1")
    assert media.content == b"\xff\xd8jpeg-bytes"
    assert media.content_type == "image/jpeg"


async def test_wrong_secret_is_a_reason_not_a_crash(
    connector: WeChatConnector, wechat: tuple[StandIn, str]
) -> None:
    state, url = wechat
    inbox = inbox_for(state, url)
    inbox.secrets["secret"] = "wrong"
    with pytest.raises(DeliveryError) as refused:
        await connector.send(inbox, outbound())
    assert "AppSecret" in refused.value.reason and refused.value.retryable is False


async def test_reply_to_a_non_openid_identity_is_refused(
    connector: WeChatConnector, wechat: tuple[StandIn, str]
) -> None:
    state, url = wechat
    by_unionid = outbound(recipient=Identity("wechat_unionid", "o6_union"))
    with pytest.raises(DeliveryError) as refused:
        await connector.send(inbox_for(state, url), by_unionid)
    assert refused.value.retryable is False
    assert state.sent == []
