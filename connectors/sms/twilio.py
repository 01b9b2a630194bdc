"""Twilio's side of the wire: the request signature, the inbound form, the words for its
error codes. Also what many SMS gateways speak."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence
from urllib.parse import parse_qsl

from kefu.i18n import Text
from kefu.model import DeliveryStatus

SIGNATURE_HEADER = "X-Twilio-Signature"
# Twilio's MMS limit; more MediaUrlN than this is not a Twilio request.
MAX_MEDIA = 10


def signature(auth_token: str, url: str, params: Sequence[tuple[str, str]]) -> str:
    """Base64 HMAC-SHA1 of the URL followed by each POST parameter's name and value,
    sorted by name (Twilio's "webhooks security" algorithm)."""
    data = url + "".join(k + v for k, v in sorted(params))
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def valid(auth_token: str, url: str, params: Sequence[tuple[str, str]], given: str | None) -> bool:
    if not auth_token or not given:
        return False
    return hmac.compare_digest(signature(auth_token, url, params), given)


def form(body: bytes) -> list[tuple[str, str]]:
    """The POST parameters; ValueError when the body is not a form."""
    text = body.decode("utf-8")  # UnicodeDecodeError is a ValueError
    return parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text))


# Status callback words → the reply's delivery status (None: no change worth showing).
STATUSES: dict[str, DeliveryStatus | None] = {
    "accepted": None,
    "scheduled": None,
    "queued": None,
    "sending": None,
    "sent": DeliveryStatus.sent,
    "delivered": DeliveryStatus.delivered,
    "read": DeliveryStatus.read,
    "undelivered": DeliveryStatus.failed,
    "failed": DeliveryStatus.failed,
    "canceled": DeliveryStatus.failed,
}

# Twilio's error codes (https://www.twilio.com/docs/api/errors), said for an agent.
_CODES: dict[str, Text] = {
    "21211": Text("the number is not a valid phone number", "号码不是有效的电话号码"),
    "21408": Text("sending to this country is not enabled", "未开通向该国家/地区发送的权限"),
    "21610": Text("the customer has unsubscribed (replied STOP)", "客户已退订（回复了 STOP）"),
    "21612": Text(
        "this number cannot be reached from the sender number", "无法从发送号码发往此号码"
    ),
    "21614": Text("the number is not a mobile number", "号码不是手机号"),
    "30003": Text(
        "the phone is unreachable (off or out of coverage)", "手机无法接通（关机或不在服务区）"
    ),
    "30004": Text("the message was blocked", "短信被拦截"),
    "30005": Text("the number is unknown or no longer in service", "号码不存在或已停用"),
    "30006": Text(
        "the number is a landline or the carrier cannot receive SMS",
        "号码为固话或运营商无法接收短信",
    ),
    "30007": Text("the carrier filtered the message as spam", "运营商将短信判为垃圾短信并过滤"),
    "30008": Text("the carrier reported an unknown error", "运营商报告未知错误"),
}


def reason_of(status: str, code: str | None, message: str | None = None) -> str:
    """The failure in words, both languages (a reply carries one string)."""
    said = _CODES.get(code or "")
    if said is None:
        said = Text(
            message or f"the provider reported {status}",
            message or f"服务商报告 {status}",
        )
    suffix = f" (Twilio {code})" if code else ""
    return (
        f"SMS {status}: {said.en}{suffix} / 短信{_ZH_STATUS.get(status, status)}：{said.zh}{suffix}"
    )


_ZH_STATUS = {
    "undelivered": "未送达",
    "failed": "发送失败",
    "canceled": "已取消",
    "refused": "被拒绝",
}
