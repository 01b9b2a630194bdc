"""An official account's settings: what the admin copies from the WeChat console
(公众平台 → 设置与开发 → 基本配置), declared once for the inbox form and its checks."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from kefu.connectors.base import InboxView
from kefu.connectors.config import describe, names_of
from kefu.connectors.wechat.crypto import check_aes_key
from kefu.connectors.wechat.webhook import AccountKeys, Mode
from kefu.errors import FieldError
from kefu.i18n import Text

URL = r"^https?://[^\s]+$"
AES_KEY = r"^[A-Za-z0-9+/]{43}$"
AES_KEY_HELP = Text(
    "The 43 characters shown as EncodingAESKey in the WeChat console.",
    "微信公众平台中 EncodingAESKey 的 43 个字符。",
)


class WeChatConfig(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    appid: Annotated[
        str,
        describe(
            Text("AppID", "AppID"),
            help=Text(
                "Developer ID (AppID), e.g. wx1234567890abcdef.",
                "开发者 ID（AppID），如 wx1234567890abcdef。",
            ),
            min_length=2,
            max_length=64,
        ),
    ]
    mode: Annotated[
        Mode,
        describe(
            Text("Message encryption", "消息加解密方式"),
            choices={
                Mode.plain: Text("Plain text", "明文模式"),
                Mode.compatible: Text("Compatible", "兼容模式"),
                Mode.safe: Text("Safe (encrypted)", "安全模式"),
            },
        ),
    ] = Mode.plain
    api_base: Annotated[
        str,
        describe(
            Text("WeChat API address", "微信接口地址"),
            help=Text(
                "Leave empty for https://api.weixin.qq.com; "
                "set it for a proxy or a local stand-in.",
                "留空即 https://api.weixin.qq.com；使用代理或本地模拟服务时填写。",
            ),
            type="url",
            section="behaviour",
            pattern=URL,
            max_length=500,
            destination=True,
            invalid=Text(
                "The API address must start with http:// or https://.",
                "接口地址须以 http:// 或 https:// 开头。",
            ),
        ),
    ] = ""
    token_endpoint: Annotated[
        Literal["stable", "classic"],
        describe(
            Text("access_token endpoint", "access_token 接口"),
            help=Text(
                "stable (recommended) shares one token safely; classic for old proxies.",
                "推荐 stable（稳定版接口）；老旧代理只支持 classic。",
            ),
            section="behaviour",
            choices={
                "stable": Text("stable_token (recommended)", "stable_token（推荐）"),
                "classic": Text("token (classic)", "token（普通版）"),
            },
        ),
    ] = "stable"


class WeChatSecrets(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    secret: Annotated[
        str,
        describe(
            Text("AppSecret", "AppSecret"),
            help=Text("Developer password (AppSecret).", "开发者密码（AppSecret）。"),
            max_length=128,
        ),
    ]
    token: Annotated[
        str,
        describe(
            Text("Token", "令牌（Token）"),
            help=Text(
                "The Token you entered under server settings (3–32 characters).",
                "服务器配置中填写的令牌（Token），3–32 个字符。",
            ),
            min_length=3,
            max_length=32,
        ),
    ]
    encoding_aes_key: Annotated[
        str,
        describe(
            Text("EncodingAESKey", "消息加解密密钥（EncodingAESKey）"),
            help=AES_KEY_HELP,
            pattern=AES_KEY,
            invalid=Text(
                "EncodingAESKey must be the 43 letters and digits shown in the WeChat console.",
                "EncodingAESKey 须为微信公众平台显示的 43 位字母和数字。",
            ),
        ),
    ] = ""
    previous_encoding_aes_key: Annotated[
        str,
        describe(
            Text("Previous EncodingAESKey", "上一个 EncodingAESKey"),
            help=Text(
                "While you switch keys, messages sealed with the old one are still "
                "accepted; clear it afterwards.",
                "更换密钥期间仍接受用旧密钥加密的消息；更换完成后请清除。",
            ),
            section="behaviour",
            pattern=AES_KEY,
            invalid=Text(
                "EncodingAESKey must be the 43 letters and digits shown in the WeChat console.",
                "EncodingAESKey 须为微信公众平台显示的 43 位字母和数字。",
            ),
        ),
    ] = ""


def check(config: WeChatConfig, secrets: WeChatSecrets) -> list[FieldError]:
    errors: list[FieldError] = []
    if config.mode is not Mode.plain and not secrets.encoding_aes_key:
        errors.append(
            FieldError(
                "config.encoding_aes_key",
                Text(
                    "Compatible and safe modes need the EncodingAESKey.",
                    "兼容模式和安全模式需要填写 EncodingAESKey。",
                ),
            )
        )
    for name in ("encoding_aes_key", "previous_encoding_aes_key"):
        value = getattr(secrets, name)
        try:
            if value:
                check_aes_key(value)
        except ValueError:
            errors.append(
                FieldError(
                    f"config.{name}",
                    Text(
                        "This EncodingAESKey does not decode to an AES key; copy it again.",
                        "该 EncodingAESKey 无法解出 AES 密钥，请重新复制。",
                    ),
                )
            )
    return errors


def setting(inbox: InboxView, name: str, default: str = "") -> str:
    """A declared secret from the inbox's secrets, anything else from its public config
    (migration 0006 moved secrets that old rows kept in config)."""
    source = inbox.secrets if name in SECRET_NAMES else inbox.config
    value = (source or {}).get(name)
    return str(value) if value else default


SECRET_NAMES = names_of(WeChatSecrets)


def account_keys(inbox: InboxView) -> AccountKeys:
    mode = setting(inbox, "mode", Mode.plain)
    return AccountKeys(
        appid=setting(inbox, "appid"),
        token=setting(inbox, "token"),
        mode=Mode(mode) if mode in Mode.__members__ else Mode.plain,
        encoding_aes_key=setting(inbox, "encoding_aes_key"),
        previous_encoding_aes_key=setting(inbox, "previous_encoding_aes_key"),
    )
