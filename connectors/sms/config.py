"""An SMS inbox's settings: which provider, the account, the number replies come from."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from kefu.connectors.config import describe, say
from kefu.errors import FieldError
from kefu.i18n import Text

Provider = Literal["twilio", "tencent", "aliyun"]


class SmsTemplate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    id: Annotated[
        str,
        describe(
            Text("Template id", "模板 ID"),
            min_length=1,
            max_length=32,
            pattern=r"^[0-9A-Za-z_-]+$",
            invalid=Text("Letters, digits, - and _.", "字母、数字、- 和 _。"),
        ),
    ]
    text: Annotated[
        str,
        describe(
            Text("Template text", "模板内容"),
            help=Text("As approved, variables as {1}, {2}.", "与审核内容一致，变量写作 {1}、{2}。"),
            min_length=1,
            max_length=500,
        ),
    ]


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
            Text("Account SID (Twilio)", "账户 SID（Twilio）"),
            max_length=64,
            pattern=r"^[A-Za-z0-9_-]+$",
            invalid=Text(
                "The account SID has letters, digits, - and _ only.",
                "账户 SID 只能包含字母、数字、- 和 _。",
            ),
        ),
    ] = ""
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
    ] = ""
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

    secret_id: Annotated[
        str,
        describe(
            Text("SecretId (Tencent)", "SecretId（腾讯云）"),
            max_length=128,
            pattern=r"^[A-Za-z0-9]+$",
            invalid=Text("Letters and digits only.", "只能包含字母和数字。"),
        ),
    ] = ""
    sdk_app_id: Annotated[
        str,
        describe(
            Text("SmsSdkAppId (Tencent)", "SmsSdkAppId（腾讯云）"),
            max_length=32,
            pattern=r"^[0-9]+$",
            invalid=Text("Digits only, e.g. 1400006666.", "只能是数字，如 1400006666。"),
        ),
    ] = ""
    sign_name: Annotated[
        str,
        describe(
            Text("Signature 【签名】", "短信签名"),
            help=Text(
                "The approved signature, without 【】; the provider puts it in front of every SMS.",
                "已审核的签名，不含【】；服务商会加在每条短信前。",
            ),
            max_length=32,
        ),
    ] = ""
    templates: Annotated[
        list[SmsTemplate],
        describe(
            Text("Templates (Tencent)", "短信模板（腾讯云）"),
            help=Text(
                "Approved templates agents reply with; write variables as {1}, {2}.",
                "坐席回复所用的已审核模板；变量写作 {1}、{2}。",
            ),
            max_length=50,
        ),
    ] = msgspec.field(default_factory=list)
    help_text: Annotated[
        str,
        describe(
            Text("HELP answer", "HELP 自动回复"),
            help=Text(
                "Sent when a customer texts HELP or 帮助.", "客户发送 HELP 或 帮助 时回复此内容。"
            ),
            type="text",
            section="behaviour",
            max_length=500,
        ),
    ] = ""


class SmsSecrets(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    auth_token: Annotated[
        str,
        describe(
            Text("Auth token (Twilio)", "Auth Token（Twilio）"),
            help=Text(
                "Signs Twilio's webhooks and authenticates sends.",
                "用于校验 Twilio 回调签名及发送鉴权。",
            ),
            min_length=8,
            max_length=200,
        ),
    ] = ""
    secret_key: Annotated[
        str,
        describe(Text("SecretKey (Tencent)", "SecretKey（腾讯云）"), min_length=8, max_length=200),
    ] = ""
    url_token: Annotated[
        str,
        describe(
            Text("Callback URL token", "回调地址令牌"),
            help=Text(
                "Tencent and Aliyun do not sign their callbacks: give them the webhook URL "
                "+ /tencent/<token> or /aliyun/<token> (Twilio: the webhook URL + /twilio). "
                "Made for you and shown once.",
                "腾讯云与阿里云的回调不带签名：请把 Webhook 地址 + /tencent/<令牌> 或 "
                "/aliyun/<令牌> 配置给服务商（Twilio：Webhook 地址 + /twilio）。"
                "自动生成，只显示一次。",
            ),
            generated=True,
            min_length=16,
            max_length=200,
        ),
    ] = ""


_NEEDS: dict[str, tuple[str, ...]] = {
    "twilio": ("account_sid", "from_number"),
    "tencent": ("secret_id", "sdk_app_id", "sign_name"),
    "aliyun": (),
}


def check(config: SmsConfig, secrets: SmsSecrets) -> list[FieldError]:
    """What each provider cannot work without (the fields are optional one by one)."""
    needed = [f"config.{name}" for name in _NEEDS[config.provider] if not getattr(config, name)]
    if config.provider == "twilio" and not secrets.auth_token:
        needed.append("config.auth_token")
    if config.provider == "tencent" and not secrets.secret_key:
        needed.append("config.secret_key")
    return [
        FieldError(path, say("Required for {p}.", "使用 {p} 时必填。", p=config.provider))
        for path in needed
    ]
