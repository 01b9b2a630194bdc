"""The SMS connector and its webhooks.

In: `POST /connectors/sms/{inbox_id}/twilio` (Twilio's form, signed with X-Twilio-Signature
over `KEFU_PUBLIC_URL` + path), each MessageSid stored once; providers deliver a long
concatenated SMS already joined, so it is one message here too.
Status: `POST /connectors/sms/{inbox_id}/twilio/status` turns a reply delivered or failed.
Out: `POST {api_base}/2010-04-01/Accounts/{sid}/Messages.json` through the outbox."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
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
from kefu.connectors.sms import aliyun, keywords, tencent, twilio
from kefu.connectors.sms.config import SmsConfig, SmsSecrets, check
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
    DeliveryStatus,
    Identity,
    Inbound,
    Outbound,
    SendResult,
)
from kefu.outbound import OutboundClient, OutboundRefused, status_reason
from kefu.validation import decode, storable_value

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
        await _take(kefu, inbox, to_inbound(inbox, fields))
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

    @post("/{inbox_id:uuid}/tencent/{url_token:str}", status_code=200)
    async def tencent_callback(
        self, kefu: Kefu, request: Request[Any, Any, Any], inbox_id: uuid.UUID, url_token: str
    ) -> dict[str, Any]:
        """Tencent posts replies (an object) and delivery reports (an array) here."""
        body = await request.body()
        inbox = await _by_token(kefu, inbox_id, "tencent", url_token)
        if body.lstrip()[:1] == b"[":
            for report in decode(body, tencent.Reports):
                ok = report.report_status.upper() == "SUCCESS"
                await record_receipt(
                    kefu,
                    inbox.id,
                    f"tencent:{report.sid}",
                    DeliveryStatus.delivered if ok else DeliveryStatus.failed,
                    None if ok else tencent.report_reason(report),
                )
            return tencent.ANSWER
        message = decode(body, tencent.Reply)
        number = _number(
            inbox,
            f"+{message.nationcode.lstrip('+')}{message.mobile}"
            if message.nationcode and not message.mobile.startswith("+")
            else message.mobile,
            "mobile",
        )
        if not message.text.strip():
            raise KefuError(
                "malformed body: text is empty", errors=[FieldError("text", "required")]
            )
        # Tencent's reply has no message id: the sender, time and text name it for retries.
        key = hashlib.sha256(f"{number}\0{message.time}\0{message.text}".encode()).hexdigest()[:40]
        await _take(kefu, inbox, _inbound(inbox, number, f"tencent:{key}", message.text))
        return tencent.ANSWER

    @post("/{inbox_id:uuid}/aliyun/{url_token:str}", status_code=200)
    async def aliyun_up(
        self, kefu: Kefu, request: Request[Any, Any, Any], inbox_id: uuid.UUID, url_token: str
    ) -> dict[str, Any]:
        body = await request.body()
        inbox = await _by_token(kefu, inbox_id, "aliyun", url_token)
        ups = decode(body, aliyun.Ups)
        # Every item is checked before any is stored: a bad batch writes nothing.
        ready = []
        for n, up in enumerate(ups):
            if not up.content.strip():
                raise KefuError(
                    f"malformed body: [{n}].content is empty",
                    errors=[FieldError(f"[{n}].content", "required")],
                )
            number = _number(inbox, up.phone_number, f"[{n}].phone_number")
            ready.append(_inbound(inbox, number, f"aliyun:{up.sequence_id}", up.content))
        for inbound in ready:
            await _take(kefu, inbox, inbound)
        return aliyun.ANSWER


async def _take(kefu: Kefu, inbox: ChannelInbox, inbound: Inbound) -> None:
    """Store the message, then act on STOP / START / HELP (once: not on a retry)."""
    result = await ingest(kefu, inbound)
    if not result.duplicate:
        await keywords.act_on(kefu, inbox, result.conversation_id, inbound.body)


async def _by_token(kefu: Kefu, inbox_id: uuid.UUID, provider: str, url_token: str) -> ChannelInbox:
    inbox = await active_inbox(kefu, inbox_id, ChannelKind.sms)
    if inbox is None or inbox.config.get("provider") != provider:
        raise NotFound(f"no {provider} SMS inbox {inbox_id}")
    expected = str(inbox.secrets.get("url_token", ""))
    if not expected or not hmac.compare_digest(expected.encode(), url_token.encode()):
        raise Forbidden(
            Text(
                "the callback URL token does not match this inbox's",
                "回调地址令牌与此收件箱不符",
            )
        )
    return inbox


def _number(inbox: ChannelInbox, raw: str, field: str) -> str:
    number = to_e164(raw, str(inbox.config.get("region") or "CN"))
    if number is None:
        raise KefuError(
            f"malformed body: {field} {raw[:40]!r} is not a phone number",
            errors=[FieldError(field, "not a phone number")],
        )
    return number


def _inbound(inbox: ChannelInbox, number: str, message_id: str, text: str) -> Inbound:
    return Inbound(
        inbox_id=inbox.id,
        identity=Identity(IDENTITY_KIND, number),
        channel_message_id=message_id,
        body=text,
        contact=ContactFacts(phone=number),
    )


class SmsConnector:
    kind = ChannelKind.sms
    label = Text("SMS", "短信")
    config_type = SmsConfig
    secrets_type = SmsSecrets
    capabilities = Capabilities(media=False, opt_out=True)

    def __init__(self, outbound: OutboundClient | None = None, *, public_url: str = "") -> None:
        self.outbound = outbound or OutboundClient()
        self.public_url = public_url.rstrip("/")

    def webhook_path(self, inbox_id: uuid.UUID) -> str:
        # The base: providers are given {base}/twilio, or {base}/{provider}/{url_token}
        # (the token is a secret, so it is not part of the URL every response shows).
        return f"/connectors/sms/{inbox_id}"

    def routes(self) -> Sequence[ControllerRouterHandler]:
        from kefu.connectors.sms.api import SmsComposerController

        return [SmsWebhook, SmsComposerController]

    def check(self, public: SmsConfig, secrets: SmsSecrets) -> list[FieldError]:
        return check(public, secrets)

    async def send(self, inbox: InboxView, outbound: Outbound) -> SendResult:
        provider = inbox.config.get("provider", "twilio")
        if not outbound.body.strip():
            raise DeliveryError(
                _both(Text("an SMS needs text", "短信需要文字内容")), retryable=False
            )
        if provider == "tencent":
            return await self._send_tencent(inbox, outbound)
        if provider != "twilio":
            raise DeliveryError(
                _both(
                    Text(
                        "this SMS inbox ({p}) receives only; replies cannot be sent through it",
                        "此短信收件箱（{p}）只接收上行短信，无法通过它回复",
                    ).format(p=provider)
                ),
                retryable=False,
            )
        return await self._send_twilio(inbox, outbound)

    async def _send_tencent(self, inbox: InboxView, outbound: Outbound) -> SendResult:
        config = inbox.config
        templates = config.get("templates") or []
        chosen = None
        for template in templates:
            params = tencent.template_params(str(template.get("text", "")), outbound.body)
            if params is not None:
                chosen = (str(template["id"]), params)
                break
        if chosen is None:
            raise DeliveryError(
                _both(
                    Text(
                        "Tencent SMS sends approved templates only: "
                        "pick a template and fill its variables",
                        "腾讯云短信只能发送已审核的模板：请选择模板并填写变量",
                    )
                ),
                retryable=False,
            )
        payload = tencent.to_json(
            {
                "PhoneNumberSet": [outbound.recipient.value],
                "SmsSdkAppId": str(config.get("sdk_app_id", "")),
                "SignName": str(config.get("sign_name", "")),
                "TemplateId": chosen[0],
                "TemplateParamSet": chosen[1],
                "SessionContext": str(outbound.message_id),
            }
        )
        now = int(time.time())
        headers = {
            "Authorization": tencent.authorization(
                str(config.get("secret_id", "")),
                str(inbox.secrets.get("secret_key", "")),
                payload,
                now,
            ),
            "Content-Type": "application/json; charset=utf-8",
            "X-TC-Action": tencent.ACTION,
            "X-TC-Version": tencent.VERSION,
            "X-TC-Timestamp": str(now),
            "X-TC-Region": str(config.get("tencent_region") or "ap-guangzhou"),
        }
        base = str(config.get("api_base") or "").rstrip("/")
        if not base or "twilio.com" in base:
            base = f"https://{tencent.HOST}"
        response = await self._post(base + "/", payload, headers)
        try:
            answer = msgspec.json.decode(response.content, type=tencent.Envelope).Response
        except msgspec.DecodeError:
            why = status_reason(response.status_code)
            raise DeliveryError(
                f"Tencent SMS: {why.en} / 腾讯云短信：{why.zh}",
                retryable=response.status_code >= 500,
            ) from None
        if answer.Error is not None:
            reason, retry = tencent.reason_of(answer.Error.Code, answer.Error.Message)
            raise DeliveryError(reason, retryable=retry)
        status = (
            answer.SendStatusSet[0] if answer.SendStatusSet else tencent.SendStatus(Code="Empty")
        )
        if status.Code != "Ok":
            reason, retry = tencent.reason_of(status.Code, status.Message)
            raise DeliveryError(reason, retryable=retry)
        return SendResult(channel_message_id=f"tencent:{status.SerialNo}")

    async def _post(self, url: str, content: bytes, headers: dict[str, str]) -> httpx.Response:
        host = httpx.URL(url).host or url[:100]
        try:
            return await self.outbound.request("POST", url, content=content, headers=headers)
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

    async def _send_twilio(self, inbox: InboxView, outbound: Outbound) -> SendResult:
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
        url = f"{base}/2010-04-01/Accounts/{sid}/Messages.json"
        host = httpx.URL(url).host or base[:100]
        response = await self._post(
            url,
            str(httpx.QueryParams(form)).encode(),
            {
                "Authorization": base64_basic(sid, token),
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )
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
