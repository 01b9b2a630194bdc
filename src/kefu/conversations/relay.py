"""A widget conversation answered by e-mail: the leave-a-message form promises a reply by
e-mail, so a reply the visitor has not read in the widget goes out through the e-mail
inbox the web inbox names (`reply_email_inbox_id`), and the visitor's answer to that mail
comes back into the same conversation.

The design, inside the core:
- The reply is stored once, in the widget conversation, where the visitor reads it when
  they come back. Its one outbox job is addressed to the e-mail inbox (`OutboxJob.inbox_id`)
  and due `reply_email_after_seconds` later; the widget's own delivery has nothing to hand
  over (the visitor reads over the socket or from the database), so the reply is `sent` at
  commit. When the job comes due and the visitor has read the reply in the widget
  meanwhile, nothing is mailed.
- The mail threads like any e-mail reply (Message-ID, In-Reply-To, References, the
  reply+token Reply-To), under a token kept on the conversation (`attributes.relay`); the
  e-mail channel remembers its Message-ID against the widget conversation.
- The visitor's answer is matched by that thread and handed to `ingest` naming the
  conversation it continues (`Inbound.continues`). It is appended there only when that
  conversation relays through this very inbox and the sender is the address the visitor
  left; the address becomes an e-mail identity of the visitor's contact if no contact has
  it yet (answering from it is as good a proof as we get). Anything else is ingested as an
  ordinary mail of the e-mail inbox.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.channel_state.inboxes import active_inbox
from kefu.context import Kefu
from kefu.conversations.events import conversation_event, log_event, message_event
from kefu.conversations.locks import lock_in_order
from kefu.conversations.messages import IngestResult, Stored, add_message, append_inbound
from kefu.db.tables import Contact, ContactIdentity, Conversation, Message, OutboxJob
from kefu.i18n import Text
from kefu.model import (
    ChannelKind,
    ConversationFacts,
    ConversationStatus,
    DeliveryStatus,
    Event,
    Identity,
    Inbound,
    SenderKind,
    utcnow,
)
from kefu.routing.route import route

# Ticket notices (the number, the progress link, status changes) are the customer's
# record: mailed at once, and even when read in the widget meanwhile.
KEPT = "ticket-"
# The widget opens itself on a page whose address ends with this (widget.ts).
OPEN_WIDGET = "#kefu-chat"
DEFAULT_DELAY_SECONDS = 60
SUBJECT = Text("Your message to {name}", "您给{name}的留言")
FOOTER = Text(
    "Reply to this e-mail, or continue the conversation on our site: {url}",
    "您可以直接回复此邮件，或在我们的网站上继续对话：{url}",
)
FOOTER_NO_LINK = Text("Reply to this e-mail to answer.", "如需回复，请直接回复此邮件。")


class Relay(msgspec.Struct, frozen=True, kw_only=True):
    """Where a widget conversation's replies go by e-mail."""

    inbox_id: uuid.UUID
    address: str
    delay: timedelta
    web_name: str


async def relay_of(kefu: Kefu, conversation: Conversation) -> Relay | None:
    """The e-mail route of a widget conversation whose visitor left a message with their
    e-mail, when its web inbox names an active e-mail inbox of the same workspace."""
    address = str((conversation.attributes or {}).get("reply_email") or "")
    if conversation.channel != ChannelKind.web or "@" not in address:
        return None
    web = await active_inbox(kefu, conversation.inbox_id, ChannelKind.web)
    config = (web.config or {}) if web is not None else {}
    target = config.get("reply_email_inbox_id")
    if web is None or not target:
        return None
    try:
        email_inbox = await active_inbox(kefu, uuid.UUID(str(target)), ChannelKind.email)
    except ValueError:
        return None
    if email_inbox is None or email_inbox.workspace_id != conversation.workspace_id:
        return None
    delay = int(config.get("reply_email_after_seconds", DEFAULT_DELAY_SECONDS))
    return Relay(
        inbox_id=email_inbox.id,
        address=address,
        delay=timedelta(seconds=max(0, delay)),
        web_name=web.name,
    )


def outbox_job(
    conversation: Conversation,
    message_id: uuid.UUID,
    relay: Relay | None,
    now: datetime,
    client_message_id: str | None = None,
) -> OutboxJob:
    """The reply's one outbox job (the caller adds it): to the e-mail inbox, due after the
    delay, when the conversation relays (the caller then stores the reply as `sent`: the
    widget's delivery is done at commit). The first relayed reply gives the conversation
    its mail thread token and subject."""
    job = OutboxJob(
        workspace_id=conversation.workspace_id,
        message_id=message_id,
        conversation_id=conversation.id,
        inbox_id=relay.inbox_id if relay else conversation.inbox_id,
        next_attempt_at=now + relay.delay if relay and not kept(client_message_id) else now,
        created_at=now,
    )
    if relay is None:
        return job
    attributes = dict(conversation.attributes or {})
    thread = attributes.get("relay") or {}
    if thread.get("inbox_id") != str(relay.inbox_id):
        attributes["relay"] = {"inbox_id": str(relay.inbox_id), "token": secrets.token_hex(8)}
    if not (attributes.get("email") or {}).get("subject"):
        subject = SUBJECT.render(conversation.language or "en").format(name=relay.web_name)
        attributes["email"] = {"subject": subject[:998], "to": [], "cc": []}
    # A new dict: the JSON column notices reassignment, not mutation.
    conversation.attributes = attributes
    return job


class Copy(msgspec.Struct, frozen=True, kw_only=True):
    """What the dispatcher needs to mail a relayed reply."""

    recipient: Identity
    thread_key: str
    body: str


def is_relayed(conversation: Conversation, job: OutboxJob) -> bool:
    return job.inbox_id != conversation.inbox_id


def mail_copy(conversation: Conversation, body: str) -> Copy:
    """The reply as mailed: the agent's words, then how to answer (this mail, or the
    widget on the page the visitor wrote from)."""
    attributes = conversation.attributes or {}
    page = str(attributes.get("current_page") or conversation.first_page or "")
    locale = conversation.language or "en"
    if page.startswith(("http://", "https://")):
        link = page.split("#", 1)[0] + OPEN_WIDGET
        footer = FOOTER.render(locale).format(url=link)
    else:
        footer = FOOTER_NO_LINK.render(locale)
    return Copy(
        recipient=Identity("email", str(attributes.get("reply_email") or "")),
        thread_key=str((attributes.get("relay") or {}).get("token") or ""),
        body=f"{body}\n\n{footer}",
    )


def kept(client_message_id: str | None) -> bool:
    return bool(client_message_id and client_message_id.startswith(KEPT))


def read_meanwhile(message: Message) -> bool:
    """A relayed reply the visitor read in the widget before it came due needs no mail
    (a ticket notice is mailed all the same)."""
    return message.delivery_status == DeliveryStatus.read and not kept(message.client_message_id)


# --------------------------------------------------------------------------- the answer


async def accepts(kefu: Kefu, inbox_id: uuid.UUID, inbound: Inbound) -> bool:
    """Whether `inbound` (a mail to `inbox_id`) may continue `inbound.continues`: that
    conversation relays through this inbox and the sender is the address it mails."""
    if inbound.continues is None or inbound.identity.kind != "email":
        return False
    inbox = await active_inbox(kefu, inbox_id, ChannelKind.email)
    async with kefu.db.session() as session:
        conversation = await session.get(Conversation, inbound.continues)
    if inbox is None or conversation is None or conversation.workspace_id != inbox.workspace_id:
        return False
    attributes = conversation.attributes or {}
    relay = attributes.get("relay") or {}
    address = str(attributes.get("reply_email") or "")
    return (
        relay.get("inbox_id") == str(inbox_id)
        and address.casefold() == inbound.identity.value.casefold()
    )


async def append_answer(
    session: AsyncSession, inbox_workspace: uuid.UUID, inbound: Inbound
) -> Stored:
    """Append the visitor's e-mail answer to the widget conversation (checked by
    `accepts`), once; a resolved conversation reopens and is routed again."""
    assert inbound.continues is not None
    events: list[Event] = []
    now = utcnow()
    conversation = await session.get(Conversation, inbound.continues)
    assert conversation is not None and conversation.workspace_id == inbox_workspace
    await lock_in_order(session, conversation)
    contact = await session.get(Contact, conversation.contact_id)
    assert contact is not None
    if inbound.channel_message_id:
        stored = await session.scalar(
            sa.select(Message).where(
                Message.conversation_id == conversation.id,
                Message.channel_message_id == inbound.channel_message_id,
            )
        )
        if stored is not None:
            return _result(conversation, stored.id, stored.seq, duplicate=True), events
    await _link_address(session, conversation, inbound.identity, now)
    reopened = conversation.status == ConversationStatus.resolved
    if reopened:
        conversation.status = ConversationStatus.queued
        conversation.resolved_at = None
        log_event(session, conversation, "reopened", SenderKind.contact)
    # Thread and subject belong to the mail; the widget conversation keeps its own.
    plain = msgspec.structs.replace(inbound, thread_key=None, facts=ConversationFacts())
    message = append_inbound(contact, conversation, plain, now)
    add_message(session, message)
    log_event(
        session,
        conversation,
        "answered_by_email",
        SenderKind.contact,
        data={"message_id": str(message.id), "address": inbound.identity.value},
    )
    if reopened:
        await route(session, conversation, now, rejoin=True)
    await session.flush()
    events.append(message_event(message, contact.name))
    if reopened:
        events.append(conversation_event(conversation, "reopened"))
    return _result(conversation, message.id, message.seq, reopened=reopened), events


async def _link_address(
    session: AsyncSession, conversation: Conversation, identity: Identity, now: datetime
) -> None:
    """The address becomes the contact's e-mail identity, unless another contact has it
    (then the answer is still this conversation's, and nobody is merged on a guess)."""
    owner = await session.scalar(
        sa.select(ContactIdentity.contact_id).where(
            ContactIdentity.workspace_id == conversation.workspace_id,
            ContactIdentity.kind == identity.kind,
            ContactIdentity.value == identity.value,
        )
    )
    if owner is None:
        session.add(
            ContactIdentity(
                workspace_id=conversation.workspace_id,
                contact_id=conversation.contact_id,
                kind=identity.kind,
                value=identity.value,
                created_at=now,
            )
        )


def _result(
    conversation: Conversation,
    message_id: uuid.UUID,
    seq: int,
    *,
    duplicate: bool = False,
    reopened: bool = False,
) -> IngestResult:
    return IngestResult(
        workspace_id=conversation.workspace_id,
        inbox_id=conversation.inbox_id,
        contact_id=conversation.contact_id,
        conversation_id=conversation.id,
        message_id=message_id,
        seq=seq,
        duplicate=duplicate,
        reopened=reopened,
        status=ConversationStatus(conversation.status),
    )
