"""RFC 822 bytes -> `ParsedMail`: headers, text, attachments and what kind of mail it is.

Python's `email` package (policy.default) finds the structure; text is decoded here, so
that the charsets Chinese mail is labelled with are read right. `gb2312` (and `gbk`,
`cp936`, `euc-cn`) is decoded as GB18030, its superset: mail labelled gb2312 routinely
holds GBK-only characters (镕, 喆), which the stdlib turns into U+FFFD in the body, in
RFC 2047 subjects and in RFC 2231 filenames alike. Unknown charsets fall back to UTF-8,
then GB18030, then Latin-1, so no mail is lost for its label. Nothing here raises on a
broken mail except `NotAMail` for bytes that are no mail at all.
"""

from __future__ import annotations

import codecs
import contextlib
import email
import email.header
import email.utils
import hashlib
import re
import urllib.parse
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage, Message
from html.parser import HTMLParser

import msgspec

from kefu.connectors.email.strip import strip_reply

_GB = frozenset(
    {
        "gb2312",
        "gbk",
        "cp936",
        "euc-cn",
        "euccn",
        "x-gbk",
        "gb_2312-80",
        "csgb2312",
        "x-euc-cn",
        "chinese",
        "ms936",
        "windows-936",
        "gb18030",
        "x-gb18030",
        "hz-gb-2312",
    }
)
_ALIASES = {
    "ks_c_5601-1987": "cp949",
    "x-sjis": "shift_jis",
    "unicode-1-1-utf-7": "utf-7",
    "utf8": "utf-8",
    "x-unknown": "",
    "unknown-8bit": "",
    "us-ascii": "utf-8",
    "ascii": "utf-8",
    "iso-8859-8-i": "iso-8859-8",
    "windows-874": "cp874",
}


class NotAMail(Exception):
    """Bytes that are not an RFC 822 message (no header block with a sender)."""


def codec_for(charset: str | None) -> str | None:
    """The Python codec to read `charset` with (None: unknown, guess)."""
    name = (charset or "").strip().strip('"').lower()
    if not name:
        return None
    if name in _GB:
        return "hz" if name == "hz-gb-2312" else "gb18030"
    name = _ALIASES.get(name, name)
    if not name:
        return None
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Text of `data` labelled `charset`, never raising."""
    codec = codec_for(charset)
    if codec is not None:
        if codec == "ascii":
            codec = "utf-8"
        try:
            return data.decode(codec)
        except UnicodeDecodeError:
            if codec not in ("utf-8", "gb18030"):
                return data.decode(codec, "replace")
            other = "gb18030" if codec == "utf-8" else "utf-8"
            try:
                return data.decode(other)
            except UnicodeDecodeError:
                return data.decode(codec, "replace")
    for guess in ("utf-8", "gb18030"):
        try:
            return data.decode(guess)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def _raw_bytes(value: str) -> bytes:
    """A raw header as the bytes that arrived (8-bit bytes come back surrogate-escaped)."""
    return value.encode("ascii", "surrogateescape")


_ENCODED_WORD = re.compile(r"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=")


def header_text(raw: str | None) -> str:
    """A header's text: RFC 2047 encoded words and raw 8-bit bytes decoded with repair."""
    if not raw:
        return ""
    value = re.sub(r"\r?\n[ \t]+", " ", raw).strip()
    if not _ENCODED_WORD.search(value):
        return decode_bytes(_raw_bytes(value), None)
    try:
        parts = email.header.decode_header(value)
    except (ValueError, email.errors.HeaderParseError):
        return value
    out: list[str] = []
    for chunk, charset in parts:
        if isinstance(chunk, str):
            out.append(chunk)
        else:
            out.append(decode_bytes(chunk, charset))
    return "".join(out)


class Address(msgspec.Struct, frozen=True):
    name: str
    address: str


def addresses(raw: str | None) -> list[Address]:
    if not raw:
        return []
    found = []
    for name, addr in email.utils.getaddresses([re.sub(r"\r?\n[ \t]+", " ", raw)]):
        addr = addr.strip().strip("<>").lower()
        if "@" in addr and len(addr) <= 254 and "\x00" not in addr:
            found.append(Address(header_text(name).strip().strip('"'), addr))
    return found


_MSGID = re.compile(r"<([^<>\s]{1,900})>")


def message_ids(raw: str | None) -> list[str]:
    """Message-IDs in a header (without angle brackets); a bare one is taken as is."""
    if not raw:
        return []
    found = _MSGID.findall(raw)
    if not found and raw.strip() and " " not in raw.strip():
        found = [raw.strip()]
    return [i for i in found if "\x00" not in i]


class MailAttachment(msgspec.Struct, frozen=True):
    filename: str
    content_type: str
    content: bytes
    content_id: str = ""
    inline: bool = False


class ParsedMail(msgspec.Struct, kw_only=True):
    message_id: str
    in_reply_to: list[str]
    references: list[str]
    subject: str
    sender: Address | None
    reply_to: list[Address]
    to: list[Address]
    cc: list[Address]
    date: datetime | None
    text: str
    reply: str
    html: str
    attachments: list[MailAttachment]
    auto: str | None  # why this is an automatic or bulk mail (None: a person wrote it)
    forwarded: bool
    bounce_of: str | None = None
    bounce_reason: str | None = None
    defects: list[str] = msgspec.field(default_factory=list)


# ---------------------------------------------------------------------------- params


_PARAM = re.compile(r"""(?:^|;)\s*([A-Za-z0-9_.-]+)(\*\d+)?(\*)?\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)""")


def param(raw: str | None, name: str) -> str:
    """A Content-Type / Content-Disposition parameter, RFC 2231 (`name*=cs''%..`, with
    continuations) and RFC 2047 (`name="=?gbk?B?..?="`) decoded with charset repair."""
    if not raw:
        return ""
    value = re.sub(r"\r?\n[ \t]+", " ", raw)
    plain = ""
    pieces: dict[int, tuple[bool, str]] = {}
    for key, section, star, val in _PARAM.findall(value):
        if key.lower() != name:
            continue
        val = val.strip()
        if val.startswith('"') and val.endswith('"') and len(val) >= 2:
            val = re.sub(r"\\(.)", r"\1", val[1:-1])
        if section or star:
            pieces[int(section[1:]) if section else 0] = (bool(star), val)
        else:
            plain = val
    if pieces:
        charset = ""
        text = ""
        for index in sorted(pieces):
            encoded, val = pieces[index]
            if index == 0 and encoded and val.count("'") >= 2:
                charset, _, val = val.split("'", 2)
            # Joined before unquoting: some clients split a %XX escape across sections.
            text += val if encoded else urllib.parse.quote(_raw_bytes(val), safe="")
        return decode_bytes(urllib.parse.unquote_to_bytes(text), charset or None)
    return header_text(plain)


# ---------------------------------------------------------------------------- html


class _Text(HTMLParser):
    _BLOCK = frozenset(
        {
            "p",
            "div",
            "br",
            "tr",
            "li",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "blockquote",
            "table",
            "ul",
            "ol",
            "pre",
            "hr",
        }
    )
    _SKIP = frozenset({"script", "style", "head", "title"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skip = 0
        self.quote = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self.skip += 1
        elif tag == "blockquote":
            self.quote += 1
            self.out.append("\n")
        elif tag in self._BLOCK:
            self.out.append("\n")
        elif tag == "li":
            self.out.append("\n- ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag == "blockquote":
            self.quote = max(0, self.quote - 1)
            self.out.append("\n")
        elif tag in self._BLOCK:
            self.out.append("\n")

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        if self.quote:
            data = "\n".join("> " * self.quote + line for line in data.split("\n"))
        self.out.append(data)


def html_to_text(html: str) -> str:
    """Readable text of an HTML mail (scripts and styles dropped, quotes as `>`)."""
    parser = _Text()
    with contextlib.suppress(Exception):  # a broken HTML body still yields what was read
        parser.feed(html)
        parser.close()
    text = "".join(parser.out).replace("\xa0", " ")
    lines = [re.sub(r"[ \t]+", " ", line).strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


# ---------------------------------------------------------------------------- kinds


def auto_reason(msg: Message) -> str | None:
    """Why a mail is automatic or bulk (never opens a conversation, never answered)."""
    auto = (msg.get("Auto-Submitted") or "").strip().lower()
    if auto and auto != "no":
        return f"Auto-Submitted: {auto[:40]}"
    for name in ("X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress"):
        if msg.get(name) is not None and name != "X-Auto-Response-Suppress":
            return name
    precedence = (msg.get("Precedence") or "").strip().lower()
    if precedence in ("bulk", "junk", "list", "auto_reply"):
        return f"Precedence: {precedence}"
    if msg.get("List-Id") is not None or msg.get("List-Unsubscribe") is not None:
        return "List-Id" if msg.get("List-Id") is not None else "List-Unsubscribe"
    if (msg.get("X-Autogenerated") or "").lower() == "reply":
        return "X-Autogenerated"
    return None


_FORWARD_SUBJECT = re.compile(r"^\s*(?:\[?(?:fwd?|fw|转发|轉寄|轉發)\s*[:：])", re.I)


def _bounce(msg: Message) -> tuple[str | None, str | None]:
    """For a delivery-status report: the Message-ID it bounces and the reason."""
    if msg.get_content_type() != "multipart/report":
        return None, None
    bounced: str | None = None
    reason: str | None = None
    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype == "message/delivery-status":
            body = _payload_text(part)
            status = re.search(r"^Status:\s*([245]\.\d{1,3}\.\d{1,3})", body, re.M | re.I)
            diag = re.search(r"^Diagnostic-Code:\s*(?:[\w-]+;\s*)?(.+)$", body, re.M | re.I)
            bits = [b for b in (status and status.group(1), diag and diag.group(1).strip()) if b]
            reason = " ".join(bits)[:500] or None
        elif ctype in ("message/rfc822", "text/rfc822-headers"):
            inner = _payload_text(part)
            found = re.search(r"^Message-ID:\s*<([^>]+)>", inner, re.M | re.I)
            if found is None and isinstance(part.get_payload(), list):
                for sub in part.get_payload():
                    if isinstance(sub, Message):
                        ids = message_ids(sub.get("Message-ID"))
                        if ids:
                            bounced = ids[0]
            elif found is not None:
                bounced = found.group(1)
    return bounced, reason


def _payload_text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        return decode_bytes(payload, part.get_content_charset())
    inner = part.get_payload()
    if isinstance(inner, list):
        return "\n".join(str(x) for x in inner)
    return str(inner or "")


# ---------------------------------------------------------------------------- parse


def _raw_header(msg: Message, name: str) -> str | None:
    lowered = name.lower()
    for key, value in msg.raw_items():
        if key.lower() == lowered:
            return str(value)
    return None


def _date(raw: str | None) -> datetime | None:
    if not raw:
        return None
    try:
        when = email.utils.parsedate_to_datetime(raw.strip())
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC)


def synthetic_id(raw: bytes) -> str:
    """A stable id for a mail that came without a Message-ID (the same bytes, the same id)."""
    return f"sha256.{hashlib.sha256(raw).hexdigest()[:40]}@kefu.invalid"


def parse_mail(raw: bytes) -> ParsedMail:
    """Read one mail; raises `NotAMail` only for bytes that are no mail at all."""
    head = raw[:65536].lstrip()
    if head.startswith(b"From "):  # an mbox separator line
        head = head.split(b"\n", 1)[-1]
    if not re.match(rb"^[!-9;-~]{1,76}[ \t]*:", head):
        raise NotAMail("the bytes do not start with a mail header")
    msg = email.message_from_bytes(raw, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    sender_list = addresses(_raw_header(msg, "From")) or addresses(_raw_header(msg, "Sender"))
    if not sender_list and _raw_header(msg, "Return-Path") is None:
        raise NotAMail("the mail has no From address")
    texts: list[str] = []
    htmls: list[str] = []
    attachments: list[MailAttachment] = []
    defects = [type(d).__name__ for d in msg.defects][:20]
    _walk(msg, texts, htmls, attachments, defects)
    html = "\n".join(htmls)
    text = "\n\n".join(t for t in texts if t.strip()).strip()
    if not text and html:
        text = html_to_text(html)
    subject = header_text(_raw_header(msg, "Subject"))[:998]
    forwarded = bool(_FORWARD_SUBJECT.match(subject))
    ids = message_ids(_raw_header(msg, "Message-ID"))
    bounce_of, bounce_reason = _bounce(msg)
    return ParsedMail(
        message_id=ids[0] if ids else synthetic_id(raw),
        in_reply_to=message_ids(_raw_header(msg, "In-Reply-To")),
        references=message_ids(_raw_header(msg, "References")),
        subject=subject,
        sender=sender_list[0] if sender_list else None,
        reply_to=addresses(_raw_header(msg, "Reply-To")),
        to=addresses(_raw_header(msg, "To")) + addresses(_raw_header(msg, "Delivered-To")),
        cc=addresses(_raw_header(msg, "Cc")),
        date=_date(_raw_header(msg, "Date")),
        text=text,
        reply=strip_reply(text, forwarded=forwarded) if text else "",
        html=html,
        attachments=attachments,
        auto=auto_reason(msg) or ("delivery report" if bounce_of or bounce_reason else None),
        forwarded=forwarded,
        bounce_of=bounce_of,
        bounce_reason=bounce_reason,
        defects=defects,
    )


def _walk(
    part: Message,
    texts: list[str],
    htmls: list[str],
    attachments: list[MailAttachment],
    defects: list[str],
    depth: int = 0,
) -> None:
    if depth > 20:
        defects.append("too deeply nested")
        return
    ctype = part.get_content_type()
    payload = part.get_payload()
    if part.is_multipart() and isinstance(payload, list):
        if ctype == "multipart/alternative":
            plain = [
                p
                for p in payload
                if isinstance(p, Message) and p.get_content_type() == "text/plain"
            ]
            rich = [
                p for p in payload if isinstance(p, Message) and p.get_content_type() == "text/html"
            ]
            other = [
                p for p in payload if isinstance(p, Message) and p not in plain and p not in rich
            ]
            for p in plain[:1]:
                texts.append(_payload_text(p))
            for p in rich[:1]:
                htmls.append(_payload_text(p))
            for p in other:
                _walk(p, texts, htmls, attachments, defects, depth + 1)
            return
        for sub in payload:
            if isinstance(sub, Message):
                _walk(sub, texts, htmls, attachments, defects, depth + 1)
        return
    disposition_raw = _raw_header(part, "Content-Disposition")
    disposition = (disposition_raw or "").split(";")[0].strip().lower()
    filename = param(disposition_raw, "filename") or param(
        _raw_header(part, "Content-Type"), "name"
    )
    if ctype in ("text/plain", "text/html") and disposition != "attachment" and not filename:
        body = _payload_text(part)
        (texts if ctype == "text/plain" else htmls).append(body)
        return
    if ctype in ("message/delivery-status", "text/rfc822-headers"):
        return
    content = part.get_payload(decode=True)
    if not isinstance(content, bytes):
        content = part.as_bytes() if ctype == "message/rfc822" else str(payload or "").encode()
    cid = (part.get("Content-ID") or "").strip().strip("<>")[:255]
    if not filename:
        ext = {"message/rfc822": ".eml", "text/calendar": ".ics"}.get(ctype, "")
        filename = f"attachment{len(attachments) + 1}{ext}"
    attachments.append(
        MailAttachment(
            filename=filename.replace("/", "_").replace("\\", "_").replace("\x00", "")[:255],
            content_type=ctype[:100],
            content=content,
            content_id=cid,
            inline=disposition == "inline" or bool(cid and disposition != "attachment"),
        )
    )
