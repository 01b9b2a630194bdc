"""Tencent Cloud SMS: TC3-HMAC-SHA256 request signing, templates, and its callbacks.

Outbound is `SendSms` (API version 2021-01-11) with an approved template id and its
parameters; the signature 【签名】 is added by Tencent from `SignName`. The reply callback
is one object `{extend, mobile, nationcode, sign, text, time}`; the status callback an
array of `{user_receive_time, nationcode, mobile, report_status, errmsg, description, sid}`.
Both are answered `{"result": 0, "errmsg": "OK"}`.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec

from kefu.i18n import Text

SERVICE = "sms"
HOST = "sms.tencentcloudapi.com"
VERSION = "2021-01-11"
ACTION = "SendSms"
ANSWER = {"result": 0, "errmsg": "OK"}

_Short = Annotated[str, msgspec.Meta(max_length=64)]


class Reply(msgspec.Struct, frozen=True, kw_only=True):
    """上行短信回调 (a customer's reply)."""

    mobile: Annotated[str, msgspec.Meta(min_length=1, max_length=32)]
    nationcode: Annotated[str, msgspec.Meta(max_length=8)] = "86"
    text: Annotated[str, msgspec.Meta(max_length=20_000)]
    time: int | str = 0
    sign: Annotated[str, msgspec.Meta(max_length=64)] = ""
    extend: Annotated[str, msgspec.Meta(max_length=64)] = ""


class Report(msgspec.Struct, frozen=True, kw_only=True):
    """短信下发状态回调 (one delivery report)."""

    sid: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
    report_status: Annotated[str, msgspec.Meta(max_length=16)]
    mobile: _Short = ""
    nationcode: Annotated[str, msgspec.Meta(max_length=8)] = ""
    errmsg: _Short = ""
    description: Annotated[str, msgspec.Meta(max_length=500)] = ""
    user_receive_time: _Short = ""


Reports = Annotated[list[Report], msgspec.Meta(min_length=1, max_length=1000)]


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def authorization(
    secret_id: str, secret_key: str, payload: bytes, timestamp: int, action: str = ACTION
) -> str:
    """The `Authorization` header of Tencent Cloud API 3.0 (signature v3, TC3-HMAC-SHA256)."""
    date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    signed_headers = "content-type;host;x-tc-action"
    canonical = "\n".join(
        [
            "POST",
            "/",
            "",
            "content-type:application/json; charset=utf-8\n"
            f"host:{HOST}\nx-tc-action:{action.lower()}\n",
            signed_headers,
            hashlib.sha256(payload).hexdigest(),
        ]
    )
    scope = f"{date}/{SERVICE}/tc3_request"
    to_sign = "\n".join(
        ["TC3-HMAC-SHA256", str(timestamp), scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = _hmac(_hmac(_hmac(("TC3" + secret_key).encode(), date), SERVICE), "tc3_request")
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return (
        f"TC3-HMAC-SHA256 Credential={secret_id}/{scope}, "
        f"SignedHeaders={signed_headers}, Signature={signature}"
    )


def template_params(template_text: str, body: str) -> list[str] | None:
    """The values of `{1}`, `{2}`… when `body` is `template_text` filled in; else None."""
    parts = re.split(r"\{(\d+)\}", template_text)
    pattern = ""
    order: list[int] = []
    for i, part in enumerate(parts):
        if i % 2:
            order.append(int(part))
            pattern += "(.+?)"
        else:
            pattern += re.escape(part)
    found = re.fullmatch(pattern, body, flags=re.DOTALL)
    if found is None:
        return None
    values = dict(zip(order, found.groups(), strict=True))
    return [values[n] for n in sorted(values)]


def fill(template_text: str, params: list[str]) -> str:
    return re.sub(r"\{(\d+)\}", lambda m: params[int(m.group(1)) - 1], template_text)


class SendStatus(msgspec.Struct, frozen=True):
    SerialNo: str = ""
    Code: str = ""
    Message: str = ""


class ApiError(msgspec.Struct, frozen=True):
    Code: str
    Message: str = ""


class Answer(msgspec.Struct, frozen=True):
    SendStatusSet: list[SendStatus] = msgspec.field(default_factory=list)
    Error: ApiError | None = None
    RequestId: str = ""


class Envelope(msgspec.Struct, frozen=True):
    Response: Answer


# Tencent's error codes (cloud.tencent.com/document/product/382/49316), said for an agent;
# the second value: worth trying again later.
CODES: dict[str, tuple[Text, bool]] = {
    "InvalidParameterValue.IncorrectPhoneNumber": (
        Text("the number is not a valid phone number", "手机号格式错误"),
        False,
    ),
    "FailedOperation.PhoneNumberInBlacklist": (
        Text(
            "the number is on the blocklist (the customer unsubscribed)",
            "号码在黑名单中（用户已退订）",
        ),
        False,
    ),
    "FailedOperation.TemplateIncorrectOrUnapproved": (
        Text("the template is not approved", "模板未审核通过或不存在"),
        False,
    ),
    "FailedOperation.SignatureIncorrectOrUnapproved": (
        Text("the signature 【签名】 is not approved", "签名未审核通过或不存在"),
        False,
    ),
    "LimitExceeded.PhoneNumberDailyLimit": (
        Text("this number reached its daily SMS limit", "该号码已达到当日发送上限"),
        False,
    ),
    "RequestLimitExceeded": (
        Text("the provider is rate limiting; will retry", "请求频率超限，稍后重试"),
        True,
    ),
    "AuthFailure.SignatureFailure": (
        Text("the SecretId/SecretKey were refused", "SecretId/SecretKey 鉴权失败"),
        False,
    ),
}


def reason_of(code: str, message: str = "") -> tuple[str, bool]:
    said, retry = CODES.get(
        code, (Text(message or code, message or code), code.startswith("InternalError"))
    )
    return f"Tencent SMS: {said.en} ({code}) / 腾讯云短信：{said.zh}（{code}）", retry


def report_reason(report: Report) -> str:
    detail = report.description or report.errmsg or "FAIL"
    return (
        f"SMS undelivered: {detail} ({report.errmsg or 'FAIL'}) / "
        f"短信未送达：{detail}（{report.errmsg or 'FAIL'}）"
    )


def to_json(value: Any) -> bytes:
    return msgspec.json.encode(value)
