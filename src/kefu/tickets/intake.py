"""Tickets the customer opens without an agent: a message left in the widget when its
inbox says so (a web-form ticket), and a mail to a department address (an e-mail inbox
with `creates_ticket`). The ticket is linked to the conversation the message opened and
the conversation remembers it (`attributes.ticket_id`), so the customer's later mails in
that conversation are the ticket's customer updates (a public customer comment, which
reopens a ticket pending on them). The customer is told the number and progress link in
their channel, through the ordinary reply path (a widget conversation whose visitor left
an e-mail gets it by mail: `conversations/relay.py`)."""

from __future__ import annotations

import logging
import uuid

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.context import Kefu
from kefu.conversations import actions
from kefu.conversations.locks import lock_in_order
from kefu.db.retry import retrying
from kefu.db.tables import Contact, Conversation, SkillGroup
from kefu.errors import KefuError
from kefu.i18n import Text
from kefu.model import SenderKind, utcnow
from kefu.tickets import progress, service
from kefu.tickets.schemas import TicketCreate
from kefu.tickets.tables import Ticket, TicketConversation

log = logging.getLogger(__name__)

# What a resolved ticket's notice says: the progress page asks for the rating then.
RESOLVED_TOLD = Text(
    "Ticket #{number} is now: {status}. How did we do? Rate our help here: {url}",
    "工单 #{number} 当前状态：{status}。请在这里为我们的服务评分：{url}",
)
UNTITLED = Text("Message from {who}", "{who} 的留言")


class Opened(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    number: str
    progress_url: str
    # False: the conversation had its ticket already (a refetched mail, a resend).
    created: bool


def _title(text: str, who: str, locale: str) -> str:
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    if not first:
        return UNTITLED.render(locale).format(who=who)[:200]
    return first[:80] + ("…" if len(first) > 80 else "")


async def _department(
    session: AsyncSession, workspace_id: uuid.UUID, department_id: uuid.UUID | None
) -> uuid.UUID | None:
    """The configured department, if it is still a group of the workspace (a deleted
    group leaves the ticket undepartmented rather than losing it)."""
    if department_id is None:
        return None
    found: uuid.UUID | None = await session.scalar(
        sa.select(SkillGroup.id).where(
            SkillGroup.id == department_id, SkillGroup.workspace_id == workspace_id
        )
    )
    return found


async def open_ticket(
    kefu: Kefu,
    conversation_id: uuid.UUID,
    *,
    source: str,
    department_id: uuid.UUID | None,
    text: str,
    title: str | None = None,
) -> Opened:
    """The conversation's ticket: opened now by the system, or the one it has. A new one
    is announced to the customer in their channel (after commit; idempotent)."""

    @retrying
    async def work() -> tuple[Opened, str]:
        async with kefu.db.transaction() as session:
            conversation = await session.get(Conversation, conversation_id)
            assert conversation is not None
            # Two deliveries of one mail must not open two tickets: the conversation row
            # is the lock (after its contact, the one lock order).
            await lock_in_order(session, conversation)
            contact = await session.get(Contact, conversation.contact_id)
            # Text.render takes any zh-* tag as Chinese.
            locale = (
                conversation.language or (contact.language if contact is not None else None) or "en"
            )
            existing = await session.scalar(
                sa.select(Ticket)
                .join(TicketConversation, TicketConversation.ticket_id == Ticket.id)
                .where(TicketConversation.conversation_id == conversation.id)
                .order_by(Ticket.created_at)
                .limit(1)
            )
            if existing is not None:
                return _opened(kefu, existing, created=False), locale
            who = (contact.name or contact.email if contact is not None else None) or "—"
            ticket = await service._create(
                kefu,
                session,
                None,
                TicketCreate(
                    title=(title or "").strip()[:200] or _title(text, who, locale),
                    description=text[:20000],
                    department_id=await _department(
                        session, conversation.workspace_id, department_id
                    ),
                ),
                source=source,
                conversation=conversation,
                workspace_id=conversation.workspace_id,
            )
            conversation.attributes = {
                **(conversation.attributes or {}),
                "ticket_id": str(ticket.id),
            }
            return _opened(kefu, ticket, created=True), locale

    opened, locale = await work()
    if opened.created:
        await _tell_opened(kefu, conversation_id, opened, locale)
    return opened


def _opened(kefu: Kefu, ticket: Ticket, *, created: bool) -> Opened:
    return Opened(
        id=ticket.id,
        number=ticket.number,
        progress_url=progress.url(kefu.settings, ticket),
        created=created,
    )


async def _tell_opened(kefu: Kefu, conversation_id: uuid.UUID, opened: Opened, locale: str) -> None:
    async with kefu.db.session() as session:
        workspace_id = await session.scalar(
            sa.select(Conversation.workspace_id).where(Conversation.id == conversation_id)
        )
    assert workspace_id is not None
    text = service.TOLD.render(locale).format(number=opened.number, url=opened.progress_url)
    try:
        await actions.reply(
            kefu,
            conversation_id,
            actions.Actor(workspace_id=workspace_id, kind=SenderKind.system),
            text,
            client_message_id=f"ticket-{opened.id}",
        )
    except KefuError as exc:
        # The ticket stands; the customer still has the number (the widget shows it).
        log.warning("ticket %s: customer not told: %s", opened.number, exc.detail)


async def customer_update(kefu: Kefu, conversation_id: uuid.UUID, body: str) -> bool:
    """A later message of the customer in a conversation that opened a ticket becomes
    the ticket's customer update. False when the conversation has no such ticket."""
    async with kefu.db.session() as session:
        attributes = await session.scalar(
            sa.select(Conversation.attributes).where(Conversation.id == conversation_id)
        )
    ticket_id = (attributes or {}).get("ticket_id")
    if not ticket_id or not body.strip():
        return False
    await service.customer_comment(kefu, uuid.UUID(str(ticket_id)), body[:20000], utcnow())
    return True


async def after_mail(
    kefu: Kefu,
    *,
    inbox_id: uuid.UUID,
    conversation_id: uuid.UUID,
    duplicate: bool,
    creates_ticket: bool,
    department_id: uuid.UUID | None,
    subject: str,
    body: str,
) -> Opened | None:
    """What a stored mail means for tickets: to a department address (`creates_ticket`),
    a thread without a ticket opens one (again safe for a refetched mail); any other new
    mail in a conversation with a ticket is the customer's update on it."""
    if creates_ticket:
        async with kefu.db.session() as session:
            own = await session.scalar(
                sa.select(Conversation.inbox_id).where(Conversation.id == conversation_id)
            )
        if own == inbox_id:
            opened = await open_ticket(
                kefu,
                conversation_id,
                source="email",
                department_id=department_id,
                text=body,
                title=subject,
            )
            if opened.created:
                return opened
    if not duplicate:
        await customer_update(kefu, conversation_id, body)
    return None
