"""An SMS inbox's settings: which provider, the account, the number replies come from."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from kefu.connectors.config import describe
from kefu.i18n import Text

Provider = Literal["twilio"]


class SmsConfig(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    provider: Annotated[
        Provider,
        describe(
            Text("Provider", "短信服务商"),
            choices={
                "twilio": Text("Twilio (or a Twilio-compatible gateway)", "Twilio（或兼容网关）")
            },
        ),
    ] = "twilio"
    account_sid: Annotated[
        str,
        describe(
            Text("Account SID", "账户 SID"),
            min_length=1,
            max_length=64,
            pattern=r"^[A-Za-z0-9_-]+$",
            invalid=Text(
                "The account SID has letters, digits, - and _ only.",
                "账户 SID 只能包含字母、数字、- 和 _。",
            ),
        ),
    ]
    from_number: Annotated[
        str,
        describe(
            Text("Sender number", "发送号码"),
            help=Text(
                "The number replies come from, in E.164 (+8613800138000).",
                "回复的发送号码，E.164 格式（+8613800138000）。",
            ),
            max_length=32,
            pattern=r"^\+[1-9][0-9]{4,14}$",
            invalid=Text(
                "Write the number in E.164, e.g. +14155550100.",
                "请用 E.164 格式填写号码，如 +14155550100。",
            ),
        ),
    ]
    api_base: Annotated[
        str,
        describe(
            Text("API address", "API 地址"),
            help=Text(
                "Leave as it is for Twilio; a compatible gateway's address otherwise.",
                "使用 Twilio 时保持默认；兼容网关则填写其地址。",
            ),
            type="url",
            pattern=r"^https?://[^\s]+$",
            max_length=2000,
            destination=True,
            invalid=Text(
                "The address must start with http:// or https://.",
                "地址须以 http:// 或 https:// 开头。",
            ),
        ),
    ] = "https://api.twilio.com"
    region: Annotated[
        str,
        describe(
            Text("Default country", "默认国家/地区"),
            help=Text(
                "Numbers written without a country code are read as this country's (ISO code).",
                "不带国家码的号码按此国家/地区解析（ISO 代码）。",
            ),
            max_length=2,
            pattern=r"^[A-Z]{2}$",
            invalid=Text("Two capital letters, e.g. CN or US.", "两个大写字母，如 CN 或 US。"),
        ),
    ] = "CN"


class SmsSecrets(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    auth_token: Annotated[
        str,
        describe(
            Text("Auth token", "Auth Token"),
            help=Text(
                "Signs the provider's webhooks and authenticates sends.",
                "用于校验服务商回调签名及发送鉴权。",
            ),
            min_length=8,
            max_length=200,
        ),
    ]
