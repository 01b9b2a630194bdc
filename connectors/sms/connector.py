"""The SMS connector and its webhooks.

In: `POST /connectors/sms/{inbox_id}/twilio` (Twilio's form, signed with X-Twilio-Signature
over `KEFU_PUBLIC_URL` + path), each MessageSid stored once; providers deliver a long
concatenated SMS already joined, so it is one message here too.
Status: `POST /connectors/sms/{inbox_id}/twilio/status` turns a reply delivered or failed.
Out: `POST {api_base}/2010-04-01/Accounts/{sid}/Messages.json` through the outbox."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Sequence
from typing import Any

import httpx
import msgspec
from litestar import Controller, Request, Response, post
from litestar.types import ControllerRouterHandler

from kefu import ratelimit
from kefu.channel_state.inboxes import ChannelInbox, active_inbox
from kefu.connectors.base import Capabilities, DeliveryError, InboxView
from kefu.connectors.sms import twilio
from kefu.connectors.sms.config import SmsConfig, SmsSecrets
from kefu.contacts.phones import to_e164
from kefu.context import Kefu
from kefu.conversations.ingest import ingest
from kefu.conversations.outbox import record_receipt
from kefu.errors import FieldError, Forbidden, KefuError, NotFound
from kefu.i18n import Text
from kefu.model import (
    Attachment,
    ChannelKind,
    ContactFacts,
    Identity,
    Inbound,
    Outbound,
    SendResult,
)
from kefu.outbound import OutboundClient, OutboundRefused, status_reason
from kefu.validation import storable_value

IDENTITY_KIND = "phone"
_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
_BODY_MAX = 20_000  # the longest concatenated SMS is far shorter (255 × 153 chars)


def _twiml() -> Response[str]:
    return Response(_TWIML, media_type="text/xml", status_code=200)


async def _verified(
    kefu: Kefu, request: Request[Any, Any, Any], inbox_id: uuid.UUID
) -> tuple[ChannelInbox, dict[str, str]]:
    """The inbox and the form, once the signature holds; nothing is read before that."""
    body = await request.body()
    inbox = await active_inbox(kefu, inbox_id, ChannelKind.sms)
    if inbox is None or inbox.config.get("provider", "twilio") != "twilio":
        raise NotFound(f"no Twilio SMS inbox {inbox_id}")
    try:
        params = twilio.form(body)
    except ValueError:
        raise KefuError("malformed body: not an application/x-www-form-urlencoded form") from None
    url = kefu.settings.public_url.rstrip("/") + request.url.path
    if not twilio.valid(
        inbox.secrets.get("auth_token", ""),
        url,
        params,
        request.headers.get(twilio.SIGNATURE_HEADER),
    ):
        raise Forbidden(
            Text(
                "X-Twilio-Signature is missing or does not match this inbox's auth token",
                "X-Twilio-Signature 缺失或与此收件箱的 Auth Token 不符",
            )
        )
    fields: dict[str, str] = {}
    for key, value in params:
        if not storable_value(value) or not storable_value(key):
            raise KefuError(
                f"malformed body: {key[:40]} holds text that cannot be stored",
                errors=[FieldError(key[:64], "unstorable text")],
            )
        fields.setdefault(key, value)
    return inbox, fields


def _required(fields: dict[str, str], name: str, max_length: int) -> str:
    value = fields.get(name, "").strip()
    if not value:
        raise KefuError(
            f"malformed body: {name} is required", errors=[FieldError(name, "required")]
        )
    if len(value) > max_length:
        raise KefuError(
            f"malformed body: {name} is longer than {max_length}",
            errors=[FieldError(name, f"longer than {max_length}")],
        )
    return value


def to_inbound(inbox: ChannelInbox, fields: dict[str, str]) -> Inbound:
    """A Twilio inbound form as kefu's `Inbound`; KefuError names the field at fault."""
    sid = _required(fields, "MessageSid", 64)
    sender = _required(fields, "From", 64)
    number = to_e164(sender, str(inbox.config.get("region") or "CN"))
    if number is None:
        raise KefuError(
            f"malformed body: From {sender[:40]!r} is not a phone number",
            errors=[FieldError("From", "not a phone number")],
        )
    body = fields.get("Body", "")
    if len(body) > _BODY_MAX:
        raise KefuError("malformed body: Body is too long", errors=[FieldError("Body", "too long")])
    count_text = fields.get("NumMedia", "0") or "0"
    if not count_text.isdigit() or int(count_text) > twilio.MAX_MEDIA:
        raise KefuError(
            f"malformed body: NumMedia must be 0..{twilio.MAX_MEDIA}",
            errors=[FieldError("NumMedia", "out of range")],
        )
    attachments = []
    for n in range(int(count_text)):
        url = fields.get(f"MediaUrl{n}", "")
        if not url.startswith(("https://", "http://")) or len(url) > 2000:
            raise KefuError(
                f"malformed body: MediaUrl{n} is not a URL",
                errors=[FieldError(f"MediaUrl{n}", "not a URL")],
            )
        kind = fields.get(f"MediaContentType{n}", "application/octet-stream")[:255]
        attachments.append(Attachment(name=f"media-{n + 1}", content_type=kind, url=url))
    if not body.strip() and not attachments:
        raise KefuError(
            "malformed body: a message needs Body or media", errors=[FieldError("Body", "required")]
        )
    return Inbound(
        inbox_id=inbox.id,
        identity=Identity(IDENTITY_KIND, number),
        channel_message_id=f"twilio:{sid}",
        body=body,
        attachments=tuple(attachments),
        contact=ContactFacts(phone=number),
    )


class SmsWebhook(Controller):
    path = "/connectors/sms"
    tags = ["connectors"]
    guards = (ratelimit.per_path_param("webhook_per_inbox", "inbox_id"),)

    @post("/{inbox_id:uuid}/twilio")
    async def twilio_inbound(
        self, kefu: Kefu, request: Request[Any, Any, Any], inbox_id: uuid.UUID
    ) -> Response[str]:
        inbox, fields = await _verified(kefu, request, inbox_id)
        await ingest(kefu, to_inbound(inbox, fields))
        return _twiml()

    @post("/{inbox_id:uuid}/twilio/status")
    async def twilio_status(
        self, kefu: Kefu, request: Request[Any, Any, Any], inbox_id: uuid.UUID
    ) -> Response[str]:
        inbox, fields = await _verified(kefu, request, inbox_id)
        sid = _required(fields, "MessageSid", 64)
        word = _required(fields, "MessageStatus", 32).lower()
        if word not in twilio.STATUSES:
            raise KefuError(
                f"malformed body: MessageStatus {word[:32]!r} is not a Twilio status",
                errors=[FieldError("MessageStatus", "unknown status")],
            )
        status = twilio.STATUSES[word]
        if status is not None:
            code = fields.get("ErrorCode") or None
            reason = twilio.reason_of(word, code[:16] if code else None)
            await record_receipt(kefu, inbox.id, f"twilio:{sid}", status, reason)
        return _twiml()


class SmsConnector:
    kind = ChannelKind.sms
    label = Text("SMS", "短信")
    config_type = SmsConfig
    secrets_type = SmsSecrets
    capabilities = Capabilities(media=False)

    def __init__(self, outbound: OutboundClient | None = None, *, public_url: str = "") -> None:
        self.outbound = outbound or OutboundClient()
        self.public_url = public_url.rstrip("/")

    def webhook_path(self, inbox_id: uuid.UUID) -> str:
        return f"/connectors/sms/{inbox_id}/twilio"

    def routes(self) -> Sequence[ControllerRouterHandler]:
        return [SmsWebhook]

    def check(self, public: SmsConfig, secrets: SmsSecrets) -> list[FieldError]:
        return []

    async def send(self, inbox: InboxView, outbound: Outbound) -> SendResult:
        config = inbox.config
        sid = str(config.get("account_sid", ""))
        token = str(inbox.secrets.get("auth_token", ""))
        base = str(config.get("api_base") or "https://api.twilio.com").rstrip("/")
        if not sid or not token:
            raise DeliveryError(
                _both(
                    Text(
                        "the SMS inbox has no account SID or auth token",
                        "短信收件箱缺少账户 SID 或 Auth Token",
                    )
                ),
                retryable=False,
            )
        if not outbound.body.strip():
            raise DeliveryError(
                _both(Text("an SMS needs text", "短信需要文字内容")), retryable=False
            )
        form = {
            "To": outbound.recipient.value,
            "From": str(config.get("from_number", "")),
            "Body": outbound.body,
        }
        if self.public_url:
            form["StatusCallback"] = f"{self.public_url}/connectors/sms/{inbox.id}/twilio/status"
        auth = base64_basic(sid, token)
        url = f"{base}/2010-04-01/Accounts/{sid}/Messages.json"
        host = httpx.URL(url).host or base[:100]
        try:
            response = await self.outbound.request(
                "POST",
                url,
                content=httpx.QueryParams(form).__str__().encode(),
                headers={
                    "Authorization": auth,
                    "Content-Type": "application/x-www-form-urlencoded",
                },
            )
        except OutboundRefused as exc:
            raise DeliveryError(_both(exc.reason), retryable=False) from None
        except httpx.HTTPError as exc:
            raise DeliveryError(
                _both(
                    Text("could not reach {host} ({error})", "无法连接 {host}（{error}）").format(
                        host=host, error=type(exc).__name__
                    )
                )
            ) from None
        status = response.status_code
        if status in (200, 201):
            try:
                created = msgspec.json.decode(response.content, type=_Created)
            except msgspec.DecodeError:
                raise DeliveryError(
                    _both(
                        Text(
                            "{host} answered without a message sid", "{host} 的响应缺少 sid"
                        ).format(host=host)
                    )
                ) from None
            return SendResult(channel_message_id=f"twilio:{created.sid}")
        error = _error_of(response.content)
        if status == 429 or error.code == 20429:
            raise DeliveryError(
                _both(
                    Text(
                        "the SMS provider is rate limiting; will retry", "短信服务商限流，稍后重试"
                    )
                ),
                retryable=True,
            )
        if error.code:
            raise DeliveryError(
                twilio.reason_of("refused", str(error.code), error.message), retryable=False
            )
        why = status_reason(status)
        raise DeliveryError(f"{host}: {why.en} / {host}：{why.zh}", retryable=status >= 500)


class _Created(msgspec.Struct):
    sid: str


class _Error(msgspec.Struct):
    code: int | None = None
    message: str | None = None


def _error_of(raw: bytes) -> _Error:
    try:
        return msgspec.json.decode(raw, type=_Error)
    except msgspec.DecodeError:
        return _Error()


def base64_basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _both(text: Text) -> str:
    return f"{text.en} / {text.zh}"
