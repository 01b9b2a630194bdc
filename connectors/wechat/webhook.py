"""The pure half of the webhook: from query string and body to trusted plaintext XML.

No I/O and no clock: the caller passes `now`. The Litestar handler in `api.py` is the
thin shell around `verify_url` (GET, URL verification) and `open_message` (POST).

Modes, as the WeChat console names them:
- plain (明文): the body is the message; `signature` = sha1(sort(token, timestamp, nonce)).
- safe (安全): the body carries only `<Encrypt>`; `msg_signature` additionally signs the
  ciphertext and `encrypt_type=aes` is in the query.
- compatible (兼容): both at once, so either can be checked; we trust the encrypted copy.
"""

from __future__ import annotations

import enum
import re
import secrets
from datetime import datetime
from xml.etree import ElementTree

import msgspec

from kefu.connectors.wechat.crypto import (
    MessageCipher,
    Reason,
    WeChatRequestError,
    sign,
    verify_signature,
)


class Mode(enum.StrEnum):
    plain = "plain"
    compatible = "compatible"
    safe = "safe"


class AccountKeys(msgspec.Struct, frozen=True, kw_only=True):
    """What the webhook needs of an official account (from the inbox's config and secrets)."""

    appid: str
    token: str
    mode: Mode = Mode.plain
    encoding_aes_key: str = ""
    # Kept while a new EncodingAESKey is rolled out, so messages sealed with the old
    # one in flight are not refused.
    previous_encoding_aes_key: str = ""

    def cipher(self) -> MessageCipher | None:
        keys = [k for k in (self.encoding_aes_key, self.previous_encoding_aes_key) if k]
        return MessageCipher(self.token, self.appid, keys) if keys else None


class WebhookQuery(msgspec.Struct, frozen=True, kw_only=True):
    """The query string WeChat adds to the configured URL."""

    signature: str = ""
    timestamp: str = ""
    nonce: str = ""
    echostr: str = ""
    openid: str = ""
    encrypt_type: str = ""
    msg_signature: str = ""


def check_fresh(timestamp: str, now: datetime, tolerance_seconds: int) -> None:
    """Refuse requests signed too long ago (or too far ahead): a captured request
    replayed later fails here; one replayed inside the window is harmless because
    messages are de-duplicated by their WeChat id."""
    if not timestamp.isdigit() or len(timestamp) > 12:
        raise WeChatRequestError(Reason.missing_parameter, "timestamp must be Unix seconds")
    if abs(now.timestamp() - int(timestamp)) > tolerance_seconds:
        raise WeChatRequestError(Reason.stale_timestamp, "timestamp is outside the allowed window")


def _require(query: WebhookQuery, *names: str) -> None:
    missing = [n for n in names if not getattr(query, n)]
    if missing:
        raise WeChatRequestError(Reason.missing_parameter, f"missing {', '.join(missing)}")


def verify_url(
    keys: AccountKeys, query: WebhookQuery, *, now: datetime, tolerance_seconds: int
) -> str:
    """The GET WeChat sends when an admin saves the server URL: echo `echostr` back if
    the signature is ours. Official accounts sign it plainly in every mode."""
    _require(query, "signature", "timestamp", "nonce", "echostr")
    verify_signature(query.signature, keys.token, query.timestamp, query.nonce)
    check_fresh(query.timestamp, now, tolerance_seconds)
    return query.echostr


# CDATA is the only `<!` WeChat sends; its content is text, whatever it looks like.
_CDATA = re.compile(r"<!\[CDATA\[.*?\]\]>", re.DOTALL)


def read_xml(body: bytes | str) -> dict[str, str]:
    """The text of each element under `<xml>` (WeChat's XML is flat where we read it).
    WeChat never sends a DTD or any other `<!` markup but CDATA, so a `<!` anywhere
    outside CDATA (a DOCTYPE, an ENTITY, a comment; also after a processing instruction
    that mentions `<xml`) is refused before the parser sees it: no entity expansion, no
    external entities."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    if "<!" in _CDATA.sub("", text):
        raise WeChatRequestError(Reason.bad_xml, "declarations are not allowed")
    try:
        root = ElementTree.fromstring(text)  # noqa: S314 (no `<!` but CDATA reaches here)
    except ElementTree.ParseError:
        raise WeChatRequestError(Reason.bad_xml, "the body is not XML") from None
    if root.tag != "xml":
        raise WeChatRequestError(Reason.bad_xml, "the body has no <xml> element")
    return {child.tag: (child.text or "").strip() for child in root}


def open_message(
    keys: AccountKeys,
    query: WebhookQuery,
    body: bytes,
    *,
    now: datetime,
    tolerance_seconds: int,
) -> str:
    """Check a POSTed message and return its plaintext XML, or raise WeChatRequestError."""
    _require(query, "timestamp", "nonce")
    envelope = read_xml(body)
    if query.encrypt_type.lower() == "aes":
        try:
            cipher = keys.cipher()
        except ValueError as exc:
            raise WeChatRequestError(Reason.inbox_misconfigured, str(exc)) from None
        if cipher is None:
            raise WeChatRequestError(
                Reason.encryption_not_configured, "no EncodingAESKey is configured for this inbox"
            )
        _require(query, "msg_signature")
        encrypt = envelope.get("Encrypt", "")
        if not encrypt:
            raise WeChatRequestError(Reason.bad_ciphertext, "the body has no <Encrypt>")
        verify_signature(query.msg_signature, keys.token, query.timestamp, query.nonce, encrypt)
        check_fresh(query.timestamp, now, tolerance_seconds)
        plain = cipher.decrypt(encrypt)
        read_xml(plain)  # a ciphertext that opens to non-XML is still garbage
        return plain
    if keys.mode is Mode.safe:
        # Otherwise anyone holding the token could downgrade a safe-mode account.
        raise WeChatRequestError(
            Reason.encryption_required, "this inbox accepts encrypted messages only"
        )
    _require(query, "signature")
    verify_signature(query.signature, keys.token, query.timestamp, query.nonce)
    check_fresh(query.timestamp, now, tolerance_seconds)
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise WeChatRequestError(Reason.bad_xml, "the body is not UTF-8") from None


def seal_request(
    keys: AccountKeys, xml: str, *, now: datetime, nonce: str | None = None
) -> tuple[dict[str, str], bytes]:
    """What WeChat would send for `xml` in this account's mode: the query and the body.
    Used by the simulator and tests; the inverse of `open_message`."""
    timestamp = str(int(now.timestamp()))
    nonce = nonce or str(secrets.randbelow(10**10))
    query = {
        "signature": sign(keys.token, timestamp, nonce),
        "timestamp": timestamp,
        "nonce": nonce,
        "openid": read_xml(xml).get("FromUserName", ""),
    }
    cipher = keys.cipher()
    if keys.mode is Mode.plain or cipher is None:
        return query, xml.encode()
    envelope = read_xml(cipher.seal(xml, nonce=nonce, timestamp=timestamp))
    encrypt = envelope["Encrypt"]
    query["encrypt_type"] = "aes"
    query["msg_signature"] = sign(keys.token, timestamp, nonce, encrypt)
    if keys.mode is Mode.safe:
        to_user = read_xml(xml).get("ToUserName", "")
        body = (
            f"<xml><ToUserName><![CDATA[{to_user}]]></ToUserName>"
            f"<Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
        )
    else:
        body = xml.replace("</xml>", f"<Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>")
    return query, body.encode()
