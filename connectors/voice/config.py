"""A voice inbox's settings: the LiveKit server it uses, how calls are handled
(`kefu.calls.media.CallPolicy`, the same fields with limits an admin can type), the IVR
tree and where recordings go.

Core reads the call-handling part with `msgspec.convert(inbox.config, CallPolicy)`; a
test keeps every `CallPolicy` field here with the same default."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from kefu.connectors.config import describe
from kefu.errors import FieldError
from kefu.i18n import Text
from kefu.ivr.menu import IvrTree

_URL_MAX = 2000


class VoiceConfig(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    livekit_url: Annotated[
        str,
        describe(
            Text("LiveKit address", "LiveKit 地址"),
            help=Text(
                "What browsers connect to, e.g. wss://livekit.example.com.",
                "浏览器连接的地址，如 wss://livekit.example.com。",
            ),
            type="url",
            min_length=6,
            max_length=_URL_MAX,
            pattern=r"^wss?://[^\s/]+(/[^\s]*)?$",
            destination=True,
            invalid=Text(
                "The LiveKit address starts with wss:// (or ws:// on a test machine).",
                "LiveKit 地址以 wss:// 开头（测试环境可用 ws://）。",
            ),
        ),
    ]
    api_url: Annotated[
        str,
        describe(
            Text("LiveKit API address", "LiveKit API 地址"),
            help=Text(
                "Where kefu calls LiveKit's server API; leave empty to use the LiveKit "
                "address over https (wss → https, ws → http).",
                "kefu 调用 LiveKit 服务端 API 的地址；留空则使用 LiveKit 地址的 https 形式"
                "（wss → https，ws → http）。",
            ),
            type="url",
            max_length=_URL_MAX,
            pattern=r"^https?://[^\s/]+(/[^\s]*)?$",
            destination=True,
            invalid=Text(
                "The API address starts with http:// or https://.",
                "API 地址须以 http:// 或 https:// 开头。",
            ),
        ),
    ] = ""
    api_key: Annotated[
        str,
        describe(
            Text("API key", "API Key"),
            help=Text(
                "The key of the LiveKit server (its webhooks are signed with it).",
                "LiveKit 服务器的 API Key（其回调以此签名）。",
            ),
            min_length=1,
            max_length=64,
            pattern=r"^[A-Za-z0-9_-]+$",
            invalid=Text("Letters, digits, - and _.", "字母、数字、- 和 _。"),
        ),
    ]
    sip_trunk_id: Annotated[
        str,
        describe(
            Text("Outbound SIP trunk", "外呼 SIP 中继"),
            help=Text(
                "The LiveKit outbound trunk id (ST_…) used to call phone numbers; "
                "empty: no outbound calls.",
                "用于拨打电话号码的 LiveKit 外呼中继 ID（ST_…）；留空则不能外呼。",
            ),
            max_length=64,
            pattern=r"^[A-Za-z0-9_-]*$",
            invalid=Text("Letters, digits, - and _.", "字母、数字、- 和 _。"),
        ),
    ] = ""
    caller_number: Annotated[
        str,
        describe(
            Text("Phone number", "电话号码"),
            help=Text(
                "This line's number in E.164 (+8610…): calls to it come to this inbox, and "
                "outbound calls show it; empty: the trunk's.",
                "本线路的号码，E.164 格式（+8610…）：拨打此号码的来电进入本收件箱，外呼也显示"
                "此号码；留空则用中继的号码。",
            ),
            max_length=16,
            pattern=r"^(\+[1-9][0-9]{4,14})?$",
            invalid=Text(
                "Write the number in E.164, e.g. +861012345678.",
                "请用 E.164 格式填写号码，如 +861012345678。",
            ),
        ),
    ] = ""
    recording_path: Annotated[
        str,
        describe(
            Text("Recording folder", "录音目录"),
            help=Text(
                "The folder, on the LiveKit egress server, recordings and voicemails are "
                "written to.",
                "录音与留言在 LiveKit Egress 服务器上的存放目录。",
            ),
            min_length=1,
            max_length=500,
            pattern=r"^/[^\x00\s]*$",
            invalid=Text("An absolute path, e.g. /recordings.", "绝对路径，如 /recordings。"),
        ),
    ] = "/recordings"

    # -- kefu.calls.media.CallPolicy: the same names and defaults, with limits ----------
    ring_strategy: Annotated[
        Literal["one", "all"],
        describe(
            Text("Ring", "振铃方式"),
            section="behaviour",
            choices={
                "one": Text("One agent at a time", "逐个坐席振铃"),
                "all": Text("The whole group at once", "全组同时振铃"),
            },
        ),
    ] = "one"
    ring_timeout_s: Annotated[
        int,
        describe(
            Text("Ring timeout (s)", "振铃超时（秒）"),
            help=Text("Then the next agent.", "超时后转下一位坐席。"),
            section="behaviour",
            ge=5,
            le=120,
        ),
    ] = 20
    max_wait_s: Annotated[
        int,
        describe(
            Text("Longest wait in queue (s)", "最长排队时间（秒）"),
            section="behaviour",
            ge=10,
            le=3600,
        ),
    ] = 300
    on_max_wait: Annotated[
        Literal["voicemail", "callback"],
        describe(
            Text("After the longest wait", "超过最长排队时间后"),
            section="behaviour",
            choices={
                "voicemail": Text("Leave a voicemail", "转语音留言"),
                "callback": Text("Ask for a callback", "登记回电"),
            },
        ),
    ] = "voicemail"
    wrap_up_s: Annotated[
        int,
        describe(
            Text("Wrap-up time (s)", "话后整理时间（秒）"),
            help=Text(
                "After-call work before the agent gets the next call.",
                "挂机后坐席整理的时间，期间不分配新来电。",
            ),
            section="behaviour",
            ge=0,
            le=600,
        ),
    ] = 30
    record: Annotated[bool, describe(Text("Record calls", "通话录音"), section="behaviour")] = False
    recording_notice: Annotated[
        bool,
        describe(
            Text("Say that the call is recorded", "录音前提示“本通话将被录音”"),
            section="behaviour",
        ),
    ] = True
    voicemail_max_s: Annotated[
        int,
        describe(
            Text("Longest voicemail (s)", "留言最长时长（秒）"),
            section="behaviour",
            ge=10,
            le=600,
        ),
    ] = 120
    ivr: Annotated[
        IvrTree | None,
        describe(
            Text("IVR menu", "IVR 语音导航"),
            type="ivr",
            section="behaviour",
            invalid=Text(
                "The IVR menu is not valid: check its prompts, keys and depth.",
                "IVR 菜单无效：请检查提示语、按键与层级。",
            ),
        ),
    ] = None


class VoiceSecrets(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    api_secret: Annotated[
        str,
        describe(
            Text("API secret", "API Secret"),
            help=Text(
                "Signs the tokens kefu gives callers and agents, and verifies LiveKit's webhooks.",
                "用于签发来电者与坐席的令牌，并校验 LiveKit 的回调。",
            ),
            # HS256 wants a key of at least 32 bytes (RFC 7518 §3.2); LiveKit's own
            # `generate-keys` makes 43-character secrets.
            min_length=32,
            max_length=256,
        ),
    ]


def api_url_of(config: VoiceConfig) -> str:
    """Where the server API is: `api_url`, or the browsers' address over http(s)."""
    if config.api_url:
        return config.api_url.rstrip("/")
    url = config.livekit_url.rstrip("/")
    if url.startswith("wss://"):
        return "https://" + url[len("wss://") :]
    return "http://" + url[len("ws://") :]


def check(config: VoiceConfig, secrets: VoiceSecrets) -> list[FieldError]:
    """Nothing spans fields: each is checked on its own."""
    return []
