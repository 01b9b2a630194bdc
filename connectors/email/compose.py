"""An agent's reply as a mail: threading headers, the reply+token Reply-To, the
signature, text and HTML, attachments."""

from __future__ import annotations

import html
import uuid
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

from kefu.connectors.email.config import EmailConfig
from kefu.connectors.email.threads import our_message_id, reply_address
from kefu.model import utcnow


def reply_subject(subject: str) -> str:
    subject = subject.strip() or "Re:"
    lowered = subject.lower()
    if lowered.startswith(("re:", "re：", "回复:", "回复：", "答复:", "答复：")):
        return subject
    return f"Re: {subject}"


def signature(config: EmailConfig, language: str | None) -> str:
    zh = (language or "").lower().startswith("zh")
    return (config.signature_zh if zh else config.signature_en) or (
        config.signature_en or config.signature_zh
    )


def compose(
    config: EmailConfig,
    *,
    to: str,
    body: str,
    cc: str = "",
    subject: str,
    token: str,
    message_id: uuid.UUID,
    references: list[str],
    in_reply_to: str | None,
    sender_name: str | None,
    language: str | None = None,
    attachments: list[tuple[str, str, bytes]] = (),  # type: ignore[assignment]
) -> tuple[EmailMessage, str]:
    """The mail and its Message-ID (without brackets)."""
    mid = our_message_id(token, message_id, config.address)
    msg = EmailMessage()
    name = config.display_name or sender_name or ""
    msg["From"] = formataddr((name, config.address)) if name else config.address
    msg["To"] = to
    if cc:
        msg["Cc"] = cc
    msg["Subject"] = reply_subject(subject)
    msg["Date"] = format_datetime(utcnow())
    msg["Message-ID"] = f"<{mid}>"
    if in_reply_to:
        msg["In-Reply-To"] = f"<{in_reply_to}>"
    refs = [r for r in references if r][-20:]
    if refs:
        msg["References"] = " ".join(f"<{r}>" for r in refs)
    msg["Reply-To"] = reply_address(config.address, token)
    msg["Auto-Submitted"] = "no"
    sig = signature(config, language)
    text = body + (f"\n\n-- \n{sig}" if sig else "")
    msg.set_content(text)
    rich = "<br>\n".join(html.escape(line) for line in body.split("\n"))
    if sig:
        rich += (
            '<br>\n<br>\n<div class="signature">'
            + "<br>\n".join(html.escape(line) for line in sig.split("\n"))
            + "</div>"
        )
    msg.add_alternative(f"<!doctype html><html><body>{rich}</body></html>", subtype="html")
    for filename, content_type, content in attachments:
        major, _, minor = content_type.partition("/")
        msg.add_attachment(
            content,
            maintype=major or "application",
            subtype=minor or "octet-stream",
            filename=filename,
        )
    return msg, mid
