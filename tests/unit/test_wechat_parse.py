"""WeChat's documented message and event XML -> Inbound, one row per kind."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from kefu.connectors.wechat.crypto import WeChatRequestError
from kefu.connectors.wechat.parse import NotAMessage, to_inbound
from kefu.model import Attachment, Identity, MessageType

INBOX = uuid.UUID("01890000-0000-7000-8000-000000000001")
OPENID = "oyORnuP8q7ou2gfYjqLzSIWZf0rs"


def xml(msg_type: str, fields: str, msg_id: str | None = "6054768590064713728") -> str:
    mid = f"<MsgId>{msg_id}</MsgId>" if msg_id else ""
    return (
        "<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName>"
        f"<FromUserName><![CDATA[{OPENID}]]></FromUserName>"
        f"<CreateTime>1409735668</CreateTime><MsgType><![CDATA[{msg_type}]]></MsgType>"
        f"{fields}{mid}</xml>"
    )


def event(name: str, key: str | None = None, extra: str = "") -> str:
    key_xml = f"<EventKey><![CDATA[{key}]]></EventKey>" if key is not None else ""
    return xml("event", f"<Event><![CDATA[{name}]]></Event>{key_xml}{extra}", msg_id=None)


MESSAGES: list[tuple[str, str, dict[str, Any]]] = [
    (
        "text",
        xml("text", "<Content><![CDATA[你好，我的订单]]></Content>"),
        {"type": MessageType.text, "body": "你好，我的订单"},
    ),
    (
        "image",
        xml(
            "image",
            "<PicUrl><![CDATA[http://mmbiz.qpic.cn/x]]></PicUrl><MediaId><![CDATA[img_1]]></MediaId>",
        ),
        {
            "type": MessageType.image,
            "attachments": (
                Attachment(
                    name="img_1.jpg",
                    content_type="image/jpeg",
                    url="http://mmbiz.qpic.cn/x",
                    channel_ref="img_1",
                ),
            ),
        },
    ),
    (
        "voice with recognition",
        xml(
            "voice",
            "<MediaId><![CDATA[v_1]]></MediaId><Format><![CDATA[amr]]></Format>"
            "<Recognition><![CDATA[我要退货]]></Recognition>",
        ),
        {
            "type": MessageType.voice,
            "body": "我要退货",
            "attachments": (
                Attachment(name="v_1.amr", content_type="audio/amr", channel_ref="v_1"),
            ),
        },
    ),
    (
        "voice without recognition",
        xml("voice", "<MediaId><![CDATA[v_2]]></MediaId><Format><![CDATA[speex]]></Format>"),
        {"type": MessageType.voice, "body": ""},
    ),
    (
        "video",
        xml(
            "video",
            "<MediaId><![CDATA[vid_1]]></MediaId><ThumbMediaId><![CDATA[t]]></ThumbMediaId>",
        ),
        {
            "type": MessageType.video,
            "attachments": (
                Attachment(name="vid_1.mp4", content_type="video/mp4", channel_ref="vid_1"),
            ),
        },
    ),
    (
        "shortvideo",
        xml(
            "shortvideo",
            "<MediaId><![CDATA[sv_1]]></MediaId><ThumbMediaId><![CDATA[t]]></ThumbMediaId>",
        ),
        {"type": MessageType.video},
    ),
    (
        "location",
        xml(
            "location",
            "<Location_X>23.134521</Location_X><Location_Y>113.358803</Location_Y>"
            "<Scale>20</Scale><Label><![CDATA[广州市天河区]]></Label>",
        ),
        {
            "type": MessageType.location,
            "body": "广州市天河区",
            "attachments": (
                Attachment(
                    name="广州市天河区",
                    content_type="text/uri-list",
                    url="geo:23.134521,113.358803",
                ),
            ),
        },
    ),
    (
        "link",
        xml(
            "link",
            "<Title><![CDATA[退货政策]]></Title><Description><![CDATA[七天无理由]]></Description>"
            "<Url><![CDATA[https://example.com/returns]]></Url>",
        ),
        {
            "type": MessageType.link,
            "body": "退货政策\n七天无理由\nhttps://example.com/returns",
        },
    ),
]


@pytest.mark.parametrize(("name", "payload", "expected"), MESSAGES, ids=[m[0] for m in MESSAGES])
def test_message_kinds_become_inbound(name: str, payload: str, expected: dict[str, Any]) -> None:
    inbound = to_inbound(INBOX, payload)
    assert inbound.inbox_id == INBOX
    assert inbound.identity == Identity(kind="wechat_openid", value=OPENID)
    assert inbound.channel_message_id == "6054768590064713728"
    assert inbound.sent_at == datetime(2014, 9, 3, 9, 14, 28, tzinfo=UTC)
    assert inbound.is_event is False
    for field, value in expected.items():
        assert getattr(inbound, field) == value, field


EVENTS: list[tuple[str, str, str, str | None, str | None]] = [
    # name, xml, channel_message_id suffix, entry point, page url
    ("subscribe", event("subscribe", ""), "subscribe", None, None),
    (
        "subscribe via QR scene",
        event("subscribe", "qrscene_spring-sale", "<Ticket><![CDATA[TICKET]]></Ticket>"),
        "subscribe",
        "qrscene:spring-sale",
        None,
    ),
    ("unsubscribe", event("unsubscribe", ""), "unsubscribe", None, None),
    (
        "SCAN by a follower",
        event("SCAN", "123", "<Ticket><![CDATA[TICKET]]></Ticket>"),
        "SCAN",
        "qrscene:123",
        None,
    ),
    ("menu CLICK", event("CLICK", "AFTER_SALES"), "CLICK", "menu:AFTER_SALES", None),
    (
        "menu VIEW",
        event("VIEW", "https://shop.example.com/orders"),
        "VIEW",
        None,
        "https://shop.example.com/orders",
    ),
]


@pytest.mark.parametrize(
    ("name", "payload", "suffix", "entry_point", "page_url"), EVENTS, ids=[e[0] for e in EVENTS]
)
def test_events_become_fact_only_inbound(
    name: str, payload: str, suffix: str, entry_point: str | None, page_url: str | None
) -> None:
    inbound = to_inbound(INBOX, payload)
    assert inbound.is_event is True
    assert inbound.type is MessageType.event
    assert inbound.channel_message_id == f"{OPENID}:1409735668:{suffix}"
    assert inbound.facts.entry_point == entry_point
    assert inbound.facts.page_url == page_url
    assert inbound.identity.value == OPENID


def test_unionid_when_present_links_the_person_across_accounts() -> None:
    payload = xml("text", "<Content>hi</Content><UnionId><![CDATA[o6_bmasdasdsad6]]></UnionId>")
    inbound = to_inbound(INBOX, payload)
    assert inbound.also_known_as == (Identity(kind="wechat_unionid", value="o6_bmasdasdsad6"),)
    assert to_inbound(INBOX, xml("text", "<Content>hi</Content>")).also_known_as == ()


def test_location_report_event_is_not_a_message() -> None:
    report = event("LOCATION", None, "<Latitude>23.1</Latitude><Longitude>113.3</Longitude>")
    with pytest.raises(NotAMessage):
        to_inbound(INBOX, report)


def test_message_without_msgid_is_not_stored_as_a_message() -> None:
    with pytest.raises(NotAMessage):
        to_inbound(INBOX, xml("text", "<Content>hi</Content>", msg_id=None))


def test_unknown_message_kind_stays_visible() -> None:
    inbound = to_inbound(INBOX, xml("miniprogrampage", "<Title>t</Title>"))
    assert inbound.body == "[miniprogrampage]"


def test_signed_but_malformed_xml_is_refused() -> None:
    with pytest.raises(WeChatRequestError):
        to_inbound(INBOX, "<xml><FromUserName>x</FromUserName></xml>")


@pytest.mark.parametrize(
    "payload",
    [
        xml("text", "<Content>hi</Content>").replace("1409735668", "9" * 30),
        xml("text", "<Content>hi</Content>", msg_id="1" * 300),
        xml("text", "<Content>hi</Content>").replace(OPENID, "o" * 500),
    ],
    ids=["huge CreateTime", "huge MsgId", "huge openid"],
)
def test_ids_out_of_any_wechat_range_are_refused(payload: str) -> None:
    with pytest.raises(WeChatRequestError):
        to_inbound(INBOX, payload)
