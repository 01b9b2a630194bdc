"""One path from raw mail to `ingest`, whichever way it came in (IMAP, the raw-MIME
endpoint, the SMTP receiver): size check, parse, loop and noise checks, threading,
attachments, ingest, then the Message-ID is remembered with its thread.

Exactly once: a Message-ID already remembered is a duplicate (also when its conversation
was deleted since); a crash between ingest and `remember` is caught by ingest's own
de-duplication on the Message-ID, so a refetch stores nothing twice."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Literal

import msgspec

from kefu.channel_state.inboxes import ChannelInbox
from kefu.connectors.config import as_struct
from kefu.connectors.email.config import EmailConfig
from kefu.connectors.email.parse import Address, NotAMail, ParsedMail, parse_mail
from kefu.connectors.email.sanitize import HTML_VIEW, safe_html
from kefu.connectors.email.threads import _OUR_ID, new_token, subject_key, tokens_in
from kefu.connectors.media import MediaStore
from kefu.context import Kefu
from kefu.conversations.ingest import ingest
from kefu.mail import store
from kefu.model import Attachment, ContactFacts, ConversationFacts, Identity, Inbound, utcnow

Status = Literal["stored", "duplicate", "ignored", "failed"]


class Outcome(msgspec.Struct, frozen=True):
    status: Status
    reason: str = ""
    conversation_id: uuid.UUID | None = None
    message_id: uuid.UUID | None = None


async def take(
    kefu: Kefu,
    inbox: ChannelInbox,
    raw: bytes,
    *,
    source: str,
    media: MediaStore,
    uidvalidity: int | None = None,
    uid: int | None = None,
) -> Outcome:
    """Store one mail (or set it aside with the reason). Raises only when the database
    itself fails, so the caller can leave the mail where it is and retry."""

    async def aside(status: Status, reason: str, message_id: str | None = None) -> Outcome:
        await store.record_item(
            kefu,
            inbox.id,
            source=source,
            status=status,
            reason=reason,
            raw=raw,
            message_id=message_id,
            uidvalidity=uidvalidity,
            uid=uid,
        )
        return Outcome(status, reason)

    limit = kefu.settings.email_max_bytes
    if len(raw) > limit:
        return await aside("failed", f"the mail is {len(raw)} bytes, over the {limit}-byte limit")
    try:
        mail = parse_mail(raw)
    except NotAMail as exc:
        return await aside("failed", f"not a mail: {exc}")
    except Exception as exc:
        return await aside("failed", f"could not be read: {type(exc).__name__}: {exc}"[:500])
    if await store.known(kefu, inbox.id, mail.message_id):
        return Outcome("duplicate", "this Message-ID was stored before")
    config = as_struct(EmailConfig, inbox.config)
    own = config.address.lower()
    sender = mail.sender.address if mail.sender else ""
    if mail.bounce_of is not None or mail.bounce_reason is not None:
        return await _bounce(kefu, inbox, mail)
    if sender == own or _OUR_ID.match(mail.message_id):
        return await aside("ignored", "our own mail came back", mail.message_id)
    if mail.auto is not None:
        return await aside("ignored", f"automatic or bulk mail ({mail.auto})", mail.message_id)
    if not sender:
        return await aside("failed", "the mail has no sender address", mail.message_id)
    if not config.accept_unknown_senders and not await store.contact_known(
        kefu, inbox.workspace_id, sender
    ):
        return await aside("ignored", f"{sender} is not a known contact", mail.message_id)

    # PostgreSQL refuses NUL in text and JSON; a mail may carry it anywhere.
    mail.subject = _clean(mail.subject)
    mail.text, mail.reply = _clean(mail.text), _clean(mail.reply)
    if mail.sender is not None:
        mail.sender = Address(_clean(mail.sender.name), mail.sender.address)
    thread = await _thread(kefu, inbox, mail, own, sender)
    attachments = await _attachments(media, inbox, mail, raw)
    body = mail.reply or mail.text or mail.subject or "(no text)"
    result = await ingest(
        kefu,
        Inbound(
            inbox_id=inbox.id,
            identity=Identity("email", sender),
            channel_message_id=store.id_key(mail.message_id),
            body=body[:100_000],
            attachments=tuple(attachments),
            sent_at=mail.date,
            contact=ContactFacts(
                name=(mail.sender.name if mail.sender else None) or None, email=sender
            ),
            facts=ConversationFacts(attributes={"subject": mail.subject[:998]}),
            thread_key=thread,
        ),
    )
    await store.remember(
        kefu,
        inbox.id,
        mail.message_id,
        thread_key=thread,
        direction="in",
        conversation_id=result.conversation_id,
        kefu_message_id=result.message_id,
        sender=sender,
        subject=mail.subject,
        subject_key=subject_key(mail.subject),
    )
    return Outcome(
        "duplicate" if result.duplicate else "stored", "", result.conversation_id, result.message_id
    )


def _clean(text: str) -> str:
    return text.replace("\x00", "")


async def _thread(kefu: Kefu, inbox: ChannelInbox, mail: ParsedMail, own: str, sender: str) -> str:
    key = subject_key(mail.subject)
    # Subjects match only for replies ("Re: x" to "x"): two fresh mails with the same
    # subject are two questions, and newsletters never get this far.
    replying = key != " ".join(mail.subject.split()).casefold()
    since = utcnow() - timedelta(hours=kefu.settings.reopen_window_hours)
    found = await store.thread_of(
        kefu,
        inbox.id,
        referenced=[*mail.in_reply_to, *reversed(mail.references)],
        tokens=tokens_in(mail, own),
        sender=sender,
        subject_key=key if replying else "",
        since=since,
    )
    return found or new_token()


async def _attachments(
    media: MediaStore, inbox: ChannelInbox, mail: ParsedMail, raw: bytes
) -> list[Attachment]:
    folder = f"email/{inbox.id}/{uuid.uuid4().hex}"
    out: list[Attachment] = []
    for n, part in enumerate(mail.attachments):
        url = await media.save(f"{folder}/{n}-{part.filename}", part.content, part.content_type)
        out.append(
            Attachment(part.filename, part.content_type, len(part.content), url, part.content_id)
        )
    if mail.html.strip():
        # The agent may read the mail as its sender laid it out, sanitised (see sanitize.py).
        inline = {a.channel_ref: a.url for a in out if a.channel_ref}
        page = safe_html(mail.html, inline).encode()
        url = await media.save(f"{folder}/message.html", page, "text/html")
        out.append(Attachment("message.html", "text/html", len(page), url, HTML_VIEW))
    # The whole mail as it arrived: the agent's "show original", one click away.
    url = await media.save(f"{folder}/original.eml", raw, "message/rfc822")
    out.append(Attachment("original.eml", "message/rfc822", len(raw), url, "original"))
    return out


async def _bounce(kefu: Kefu, inbox: ChannelInbox, mail: ParsedMail) -> Outcome:
    from kefu.conversations.outbox import mark_bounced

    reason = mail.bounce_reason or "the receiving server returned the mail"
    message = await store.sent_message(kefu, inbox.id, mail.bounce_of) if mail.bounce_of else None
    if message is not None:
        await mark_bounced(kefu, message, f"bounced: {reason}")
    await store.record_item(
        kefu,
        inbox.id,
        source="bounce",
        status="ignored",
        reason=f"delivery report for {mail.bounce_of or 'an unknown mail'}: {reason}",
        raw=None,
        message_id=mail.message_id,
    )
    return Outcome("ignored", f"bounce: {reason}", None, message)
