"""`WeChatConnector`: delivers agent replies as customer-service messages (客服消息).

Inbox config: `appid`, `mode`, optional `api_base`; secrets: `secret`, `token`,
`encoding_aes_key`. The recipient is the conversation's openid identity.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import httpx
from litestar.types import ControllerRouterHandler

from kefu.channel_state.shared import SharedState
from kefu.connectors.base import Capabilities, ConnectionCheck, DeliveryError, InboxView
from kefu.connectors.media import FileMediaStore, MediaStore
from kefu.connectors.wechat import config, reasons
from kefu.connectors.wechat.client import DEFAULT_BASE_URL, WeChatAPI, WeChatApiError
from kefu.connectors.wechat.config import WeChatConfig, WeChatSecrets, setting
from kefu.connectors.wechat.parse import OPENID
from kefu.connectors.wechat.window import WINDOW, ReplyWindow, replies_left, reply_window
from kefu.context import Kefu
from kefu.conversations.replies import replies_sent_since
from kefu.errors import FieldError
from kefu.i18n import Text
from kefu.model import (
    Attachment,
    ChannelKind,
    MessageType,
    Outbound,
    SendResult,
    utcnow,
)
from kefu.outbound import OutboundClient, OutboundRefused

_CREDENTIAL_ERRORS = frozenset({40013, 40125, 40164, 40243, 41002, 41004, 61004})
_BUSY_ERRORS = frozenset({-1, 45009, 45011})
_MEDIA_KINDS = {"image": "image", "audio": "voice", "video": "video"}


class WeChatConnector:
    kind = ChannelKind.wechat
    label = Text("WeChat official account", "微信公众号")
    config_type = WeChatConfig
    secrets_type = WeChatSecrets
    capabilities = Capabilities(
        reply_window_hours=int(WINDOW.total_seconds() // 3600), media=True, voice=False
    )

    def __init__(
        self,
        kefu: Kefu,
        *,
        http: OutboundClient | None = None,
        media: MediaStore | None = None,
        base_url: str | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.kefu = kefu
        self.shared = SharedState.of(kefu)
        self._http = http
        self.media: MediaStore = media or FileMediaStore("var/media")
        self._base_url = base_url
        self._clock = clock
        self._apis: dict[tuple[str, str, str], WeChatAPI] = {}

    @property
    def http(self) -> OutboundClient:
        # The server's one outbound client (public addresses only, unless allowed);
        # tests may hand in their own.
        return self._http or self.kefu.outbound

    def api_for(self, inbox: InboxView) -> WeChatAPI:
        appid = setting(inbox, "appid")
        secret = setting(inbox, "secret")
        base = self._base_url or setting(inbox, "api_base", DEFAULT_BASE_URL)
        key = (appid, secret, base)
        if key not in self._apis:
            self._apis[key] = WeChatAPI(
                appid=appid,
                secret=secret,
                state=self.shared,
                http=self.http,
                base_url=base,
                stable_token=setting(inbox, "token_endpoint", "stable") != "classic",
            )
        return self._apis[key]

    async def aclose(self) -> None:
        """Nothing of its own to close: the outbound client belongs to the core (or to
        the test that handed it in)."""

    # -- the channel's contract -----------------------------------------------------

    def webhook_path(self, inbox_id: uuid.UUID) -> str:
        return f"/connectors/wechat/{inbox_id}"

    def routes(self) -> Sequence[ControllerRouterHandler]:
        from kefu.connectors.wechat.api import ReplyWindowController, WeChatWebhook

        return [WeChatWebhook, ReplyWindowController]

    def check(self, public: WeChatConfig, secrets: WeChatSecrets) -> list[FieldError]:
        return config.check(public, secrets)

    async def test_connection(self, inbox: InboxView) -> ConnectionCheck:
        """Ask WeChat for an access_token with the inbox's AppID and AppSecret, against
        its configured API address: what fails here would fail every reply."""
        api = self.api_for(inbox)
        try:
            await api.fetch_token()
        except WeChatApiError as exc:
            return ConnectionCheck(False, _token_refusal(exc))
        except OutboundRefused as exc:
            return ConnectionCheck(False, exc.reason)
        except (httpx.HTTPError, DeliveryError) as exc:
            return ConnectionCheck(
                False,
                Text(
                    "Could not reach WeChat at {url} ({error}).",
                    "无法连接微信接口 {url}（{error}）。",
                ).format(url=api.base_url, error=_short(exc)),
            )
        return ConnectionCheck(
            True,
            Text(
                "WeChat issued an access token: the AppID and AppSecret work.",
                "微信已签发 access_token：AppID 与 AppSecret 有效。",
            ),
        )

    # -- the reply window -----------------------------------------------------------

    async def replies_sent_since(
        self, conversation_id: Any, since: datetime, exclude: Any = None
    ) -> int:
        return await replies_sent_since(self.kefu, conversation_id, since, exclude=exclude)

    async def window(self, conversation_id: Any, last_inbound_at: datetime | None) -> ReplyWindow:
        """What the console shows beside the reply box."""
        now = self._clock()
        sent = (
            await self.replies_sent_since(conversation_id, last_inbound_at)
            if last_inbound_at
            else 0
        )
        return reply_window(last_inbound_at, sent, now)

    async def _check_window(self, outbound: Outbound) -> None:
        now = self._clock()
        last = outbound.last_inbound_at
        if last is None:
            raise DeliveryError(reasons.both("never_wrote"), retryable=False)
        if replies_left(last, 0, now) == 0:
            hours = int((now - last).total_seconds() // 3600)
            raise DeliveryError(reasons.both("window_expired", hours=hours), retryable=False)
        sent = await self.replies_sent_since(
            outbound.conversation_id, last, exclude=outbound.message_id
        )
        if replies_left(last, sent, now) == 0:
            raise DeliveryError(reasons.both("too_many_replies"), retryable=False)

    # -- sending --------------------------------------------------------------------

    async def send(self, inbox: InboxView, outbound: Outbound) -> SendResult:
        await self._check_window(outbound)
        api = self.api_for(inbox)
        try:
            payloads = await self._payloads(api, outbound)
            msgid: str | None = None
            for payload in payloads:
                result = await api.send_custom(payload)
                msgid = str(result["msgid"]) if result.get("msgid") else msgid
        except WeChatApiError as exc:
            raise self._delivery_error(exc, outbound) from None
        except OutboundRefused as exc:
            raise DeliveryError(f"{exc.reason.en} / {exc.reason.zh}", retryable=False) from None
        except (httpx.HTTPError, TimeoutError) as exc:
            # TimeoutError: another process held the token lease and never finished.
            raise DeliveryError(reasons.both("unreachable", error=type(exc).__name__)) from None
        return SendResult(channel_message_id=f"wechat:{msgid}" if msgid else None)

    def _delivery_error(self, exc: WeChatApiError, outbound: Outbound) -> DeliveryError:
        code = exc.errcode
        if code == 45015:
            last = outbound.last_inbound_at
            hours = int((self._clock() - last).total_seconds() // 3600) if last else 48
            return DeliveryError(reasons.both("window_expired", hours=hours), retryable=False)
        if code == 45047:
            return DeliveryError(reasons.both("too_many_replies"), retryable=False)
        if code == 43004:
            return DeliveryError(reasons.both("unfollowed"), retryable=False)
        if code in (40003, 40132):
            return DeliveryError(reasons.both("bad_recipient"), retryable=False)
        if code in _CREDENTIAL_ERRORS:
            return DeliveryError(reasons.both("credentials", errcode=code), retryable=False)
        if code in _BUSY_ERRORS:
            return DeliveryError(reasons.both("busy", errcode=code), retryable=True)
        return DeliveryError(reasons.both("refused", errcode=code), retryable=False)

    async def _payloads(self, api: WeChatAPI, outbound: Outbound) -> list[dict[str, Any]]:
        to = outbound.recipient.value
        if not to or outbound.recipient.kind != OPENID:
            raise DeliveryError(reasons.both("bad_recipient"), retryable=False)
        kind = outbound.type
        if kind in (MessageType.link, MessageType.card):
            return [{"touser": to, "msgtype": "news", "news": {"articles": [_article(outbound)]}}]
        payloads: list[dict[str, Any]] = []
        if outbound.body.strip() and kind not in (MessageType.voice, MessageType.video):
            payloads.append({"touser": to, "msgtype": "text", "text": {"content": outbound.body}})
        for attachment in outbound.attachments:
            payloads.append(await self._media_payload(api, to, attachment))
        if not payloads:
            raise DeliveryError(reasons.both("unsupported_type", type=kind), retryable=False)
        return payloads

    async def _media_payload(
        self, api: WeChatAPI, to: str, attachment: Attachment
    ) -> dict[str, Any]:
        major = attachment.content_type.split("/")[0]
        kind = _MEDIA_KINDS.get(major)
        if kind is None:
            # Customer-service messages carry no files: send a link the customer can open.
            text = f"{attachment.name}\n{attachment.url}" if attachment.url else attachment.name
            return {"touser": to, "msgtype": "text", "text": {"content": text}}
        stored = await self.media.load(attachment.url) if attachment.url else None
        if stored is not None:
            content, content_type = stored
            media_id = await api.upload_media(kind, attachment.name, content, content_type)
        elif attachment.channel_ref:
            media_id = attachment.channel_ref  # a WeChat media_id we still hold
        else:
            raise DeliveryError(
                reasons.both("media_missing", name=attachment.name), retryable=False
            )
        body: dict[str, Any] = {"media_id": media_id}
        if kind == "video":
            body["title"] = attachment.name
        return {"touser": to, "msgtype": kind, kind: body}


def _short(exc: Exception) -> str:
    return str(exc)[:200] if isinstance(exc, DeliveryError) else type(exc).__name__


def _token_refusal(exc: WeChatApiError) -> Text:
    code = exc.errcode
    if code in (40001, 40125):
        return Text(
            "WeChat refused the AppSecret ({code}); copy it again from the WeChat console.",
            "微信拒绝了 AppSecret（{code}），请从微信公众平台重新复制。",
        ).format(code=code)
    if code == 40013:
        return Text(
            "WeChat does not know this AppID ({code}).", "微信不认识该 AppID（{code}）。"
        ).format(code=code)
    if code in (40164, 61004):
        return Text(
            "WeChat refused this server's IP address ({code}); add it to the IP whitelist.",
            "微信拒绝了本服务器的 IP 地址（{code}），请将其加入 IP 白名单。",
        ).format(code=code)
    return Text(
        "WeChat refused the access-token request (errcode {code}).",
        "微信拒绝了获取 access_token 的请求（错误码 {code}）。",
    ).format(code=code)


def _article(outbound: Outbound) -> dict[str, str]:
    """A news card (one article, as WeChat allows today). The body is either JSON
    `{"title", "description", "url", "picurl"}` or text, with the link as an attachment
    or as the last line."""
    try:
        data = json.loads(outbound.body)
    except ValueError:
        data = None
    if isinstance(data, dict) and data.get("url"):
        return {k: str(data.get(k, "")) for k in ("title", "description", "url", "picurl")}
    link = next(
        (a for a in outbound.attachments if a.url.startswith(("http://", "https://"))), None
    )
    lines = [line for line in outbound.body.splitlines() if line.strip()]
    url = link.url if link else (lines.pop() if lines else "")
    title = link.name if link and link.name else (lines[0] if lines else url)
    description = "\n".join(lines[1:] if not link else lines)
    return {"title": title, "description": description, "url": url, "picurl": ""}
