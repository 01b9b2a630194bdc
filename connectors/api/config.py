"""An API inbox's settings: where replies are POSTed and the secret both sides sign with."""

from __future__ import annotations

from typing import Annotated

import msgspec

from kefu.connectors.config import describe
from kefu.i18n import Text


class ApiConfig(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    webhook_url: Annotated[
        str,
        describe(
            Text("Reply webhook URL", "回复推送地址"),
            help=Text(
                "kefu POSTs each agent reply here, signed with the signing secret.",
                "kefu 将每条坐席回复以签名请求 POST 到此地址。",
            ),
            type="url",
            pattern=r"^https?://[^\s]+$",
            max_length=2000,
            destination=True,
            invalid=Text(
                "The webhook URL must start with http:// or https://.",
                "推送地址须以 http:// 或 https:// 开头。",
            ),
        ),
    ] = ""


class ApiSecrets(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    signing_secret: Annotated[
        str,
        describe(
            Text("Signing secret", "签名密钥"),
            help=Text(
                "HMAC-SHA256 key for X-Kefu-Signature, both ways. Made for you if left "
                "empty and shown once; rotate it to see a new one.",
                "双向 X-Kefu-Signature 所用的 HMAC-SHA256 密钥。留空则自动生成并只显示一次；"
                "轮换后可看到新密钥。",
            ),
            generated=True,
            min_length=16,
            max_length=200,
        ),
    ] = ""
