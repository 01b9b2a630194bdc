"""WeChat message XML -> `kefu.model.Inbound`.

A menu key or QR scene becomes the conversation's entry point (`menu:<key>`,
`qrscene:<scene>`), so routing rules can send "after-sales" clicks to their own group.
Events (subscribe, SCAN, CLICK ...) carry no MsgId; WeChat's own advice is to
de-duplicate them by FromUserName + CreateTime, to which we add the event name.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any
from xml.parsers.expat import ExpatError

from wechatpy import parse_message

from kefu.connectors.wechat.crypto import Reason, WeChatRequestError
from kefu.model import (
    Attachment,
    ConversationFacts,
    Identity,
    Inbound,
    MessageType,
)

OPENID = "wechat_openid"
UNIONID = "wechat_unionid"

# What the media types of WeChat messages are stored as until the download tells us better.
_VOICE_TYPES = {"amr": "audio/amr", "speex": "audio/speex", "mp3": "audio/mpeg"}


class NotAMessage(Exception):
    """An XML push kefu does not turn into a message (a location report, a mass-send
    report): acknowledged with `success` and otherwise ignored."""


def _text(raw: dict[str, Any], name: str) -> str:
    value = raw.get(name)
    return value.strip() if isinstance(value, str) else ""


def to_inbound(inbox_id: uuid.UUID, xml: str) -> Inbound:
    """Parse one trusted (already verified and decrypted) WeChat message."""
    try:
        message = parse_message(xml)
    except (KeyError, TypeError, AttributeError, ValueError, ExpatError):
        # Signed but malformed (no MsgType, no <xml> root ...): refuse, store nothing.
        raise WeChatRequestError(Reason.bad_xml, "not a WeChat message") from None
    raw: dict[str, Any] = dict(getattr(message, "_data", None) or {})
    openid = _text(raw, "FromUserName")
    created = _text(raw, "CreateTime")
    if not openid or not created.isdigit():
        raise NotAMessage("a push without FromUserName or CreateTime")
    # Bounds that WeChat's ids keep by far; anything beyond is not WeChat talking.
    if len(openid) > 128 or len(created) > 11 or len(_text(raw, "MsgId")) > 64:
        raise WeChatRequestError(Reason.bad_xml, "ids out of range")
    msg_type = _text(raw, "MsgType").lower()
    common: dict[str, Any] = {
        "inbox_id": inbox_id,
        "identity": Identity(kind=OPENID, value=openid),
        "also_known_as": (
            (Identity(kind=UNIONID, value=_text(raw, "UnionId")),) if _text(raw, "UnionId") else ()
        ),
        "sent_at": datetime.fromtimestamp(int(created), UTC),
    }
    if msg_type == "event":
        return _event(raw, openid, created, common)
    msg_id = _text(raw, "MsgId")
    if not msg_id:
        raise NotAMessage(f"a {msg_type or 'typeless'} message without MsgId")
    common["channel_message_id"] = msg_id
    return _message(msg_type, raw, common)


def _media(raw: dict[str, Any], content_type: str, suffix: str, url: str = "") -> Attachment:
    media_id = _text(raw, "MediaId")
    return Attachment(
        name=f"{media_id[:32] or 'media'}.{suffix}",
        content_type=content_type,
        url=url,
        channel_ref=media_id,
    )


def _message(msg_type: str, raw: dict[str, Any], common: dict[str, Any]) -> Inbound:
    match msg_type:
        case "text":
            return Inbound(type=MessageType.text, body=_text(raw, "Content"), **common)
        case "image":
            image = _media(raw, "image/jpeg", "jpg", url=_text(raw, "PicUrl"))
            return Inbound(type=MessageType.image, attachments=(image,), **common)
        case "voice":
            fmt = _text(raw, "Format").lower() or "amr"
            voice = _media(raw, _VOICE_TYPES.get(fmt, "application/octet-stream"), fmt)
            # WeChat's speech recognition, when the account has it switched on.
            return Inbound(
                type=MessageType.voice,
                body=_text(raw, "Recognition"),
                attachments=(voice,),
                **common,
            )
        case "video" | "shortvideo":
            video = _media(raw, "video/mp4", "mp4")
            return Inbound(type=MessageType.video, attachments=(video,), **common)
        case "location":
            lat, lng = _text(raw, "Location_X"), _text(raw, "Location_Y")
            label = _text(raw, "Label")
            # A geo URI (RFC 5870) keeps the coordinates machine-readable for the console.
            place = Attachment(
                name=label or f"{lat},{lng}", content_type="text/uri-list", url=f"geo:{lat},{lng}"
            )
            return Inbound(
                type=MessageType.location,
                body=label or f"{lat},{lng}",
                attachments=(place,),
                **common,
            )
        case "link":
            url = _text(raw, "Url")
            title = _text(raw, "Title")
            description = _text(raw, "Description")
            link = Attachment(name=title or url, content_type="text/html", url=url)
            body = "\n".join(part for part in (title, description, url) if part)
            return Inbound(type=MessageType.link, body=body, attachments=(link,), **common)
        case _:
            # A kind WeChat added later (mini-program cards ...): keep it visible to the
            # agent rather than drop what the customer sent.
            return Inbound(type=MessageType.text, body=f"[{msg_type}]", **common)


def _event(raw: dict[str, Any], openid: str, created: str, common: dict[str, Any]) -> Inbound:
    event = _text(raw, "Event")
    key = _text(raw, "EventKey")
    name = event.lower()
    entry_point: str | None = None
    page_url: str | None = None
    match name:
        case "subscribe_scan":
            # Scan-to-subscribe: wechatpy has already renamed the event and stripped the
            # "qrscene_" prefix off EventKey.
            entry_point = f"qrscene:{key}" if key else None
        case "subscribe" | "subscribe_scan_product":
            if key.startswith("qrscene_"):
                entry_point = f"qrscene:{key.removeprefix('qrscene_')}"
        case "scan":
            entry_point = f"qrscene:{key}" if key else None
        case "click":
            entry_point = f"menu:{key}" if key else None
        case "view":
            page_url = key or None
        case "unsubscribe":
            pass
        case _:
            raise NotAMessage(f"event {event!r} is not a conversation event")
    # wechatpy rewrites Event for scan-to-subscribe; the id uses WeChat's own name.
    event_name = "subscribe" if name.startswith("subscribe") else event
    attributes: dict[str, Any] = {"wechat_event": event_name.lower()}
    if key:
        attributes["wechat_event_key"] = key
    return Inbound(
        type=MessageType.event,
        body=event_name.lower(),
        is_event=True,
        channel_message_id=f"{openid}:{created}:{event_name}",
        facts=ConversationFacts(entry_point=entry_point, page_url=page_url, attributes=attributes),
        **common,
    )
