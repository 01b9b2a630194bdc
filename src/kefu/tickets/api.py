"""HTTP: the tickets API for staff, and the customer's progress page `/t/<token>`."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

import msgspec
import sqlalchemy as sa
from litestar import Controller, Request, Router, delete, get, patch, post, put
from litestar.enums import RequestEncodingType
from litestar.params import Body, Parameter
from litestar.response import Redirect, Response

from kefu import ratelimit
from kefu.context import Kefu
from kefu.db.tables import Contact
from kefu.i18n import LOCALES, locale_of
from kefu.model import Role, utcnow
from kefu.people.auth import STAFF, AuthUser, require_role
from kefu.tickets import pages, policies, progress, service
from kefu.tickets.ops_api import ROUTES as OPS_ROUTES
from kefu.tickets.schemas import (
    CommentCreate,
    CommentOut,
    FromConversation,
    SlaPolicyIn,
    SlaPolicyList,
    SlaPolicyOut,
    TicketCreate,
    TicketOut,
    TicketPage,
    TicketPatch,
)
from kefu.tickets.tables import Ticket, TicketComment

Filter = Annotated[str | None, Parameter(max_length=40)]
Search = Annotated[str | None, Parameter(max_length=200)]
Cursor = Annotated[str | None, Parameter(max_length=200)]
Limit = Annotated[int, Parameter(ge=1, le=200)]
Token = Annotated[str, Parameter(max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
Lang = Annotated[str | None, Parameter(max_length=16)]


class TicketsController(Controller):
    path = "/api/v1"
    tags = ("tickets",)
    guards = (require_role(*STAFF),)

    @post("/tickets")
    async def create_ticket(self, kefu: Kefu, user: AuthUser, data: TicketCreate) -> TicketOut:
        return await service.create(kefu, user, data)

    @post("/conversations/{conversation_id:uuid}/ticket")
    async def ticket_from_conversation(
        self, kefu: Kefu, user: AuthUser, conversation_id: uuid.UUID, data: FromConversation
    ) -> TicketOut:
        return await service.create_from_conversation(kefu, user, conversation_id, data)

    @get("/tickets")
    async def list_tickets(
        self,
        kefu: Kefu,
        user: AuthUser,
        status: Filter = None,
        assignee: Filter = None,
        department: uuid.UUID | None = None,
        breaching_before: datetime | None = None,
        q: Search = None,
        cursor: Cursor = None,
        limit: Limit = service.PAGE,
    ) -> TicketPage:
        return await service.list_tickets(
            kefu,
            user,
            status=status,
            assignee=assignee,
            department=department,
            breaching_before=breaching_before,
            q=q,
            cursor=cursor,
            limit=limit,
        )

    @get("/tickets/{ticket_id:uuid}")
    async def get_ticket(self, kefu: Kefu, user: AuthUser, ticket_id: uuid.UUID) -> TicketOut:
        return await service.get(kefu, user, ticket_id)

    @patch("/tickets/{ticket_id:uuid}")
    async def update_ticket(
        self, kefu: Kefu, user: AuthUser, ticket_id: uuid.UUID, data: TicketPatch
    ) -> TicketOut:
        return await service.update(kefu, user, ticket_id, data)

    @post("/tickets/{ticket_id:uuid}/comments")
    async def comment_ticket(
        self, kefu: Kefu, user: AuthUser, ticket_id: uuid.UUID, data: CommentCreate
    ) -> CommentOut:
        return await service.add_comment(kefu, user, ticket_id, data)

    @post("/tickets/{ticket_id:uuid}/progress-link")
    async def revoke_progress_link(
        self, kefu: Kefu, user: AuthUser, ticket_id: uuid.UUID
    ) -> TicketOut:
        """Revoke every progress link handed out so far and answer the new one."""
        return await service.revoke_link(kefu, user, ticket_id)


class SlaPoliciesController(Controller):
    path = "/api/v1/sla-policies"
    tags = ("tickets",)
    guards = (require_role(Role.admin, Role.supervisor),)

    @get("/")
    async def list_policies(self, kefu: Kefu, user: AuthUser) -> SlaPolicyList:
        return await policies.list_policies(kefu, user)

    @post("/")
    async def create_policy(self, kefu: Kefu, user: AuthUser, data: SlaPolicyIn) -> SlaPolicyOut:
        return await policies.create(kefu, user, data)

    @put("/{policy_id:uuid}")
    async def update_policy(
        self, kefu: Kefu, user: AuthUser, policy_id: uuid.UUID, data: SlaPolicyIn
    ) -> SlaPolicyOut:
        return await policies.update(kefu, user, policy_id, data)

    @delete("/{policy_id:uuid}")
    async def delete_policy(self, kefu: Kefu, user: AuthUser, policy_id: uuid.UUID) -> None:
        await policies.delete(kefu, user, policy_id)


# ---------------------------------------------------------------------------
# the customer's page

HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex",
}


class ReplyForm(msgspec.Struct, kw_only=True):
    body: Annotated[str, msgspec.Meta(min_length=1, max_length=5000)]


async def _ticket_of(kefu: Kefu, token: str) -> Ticket | None:
    ticket_id = progress.ticket_id_of(token)
    if ticket_id is None:
        return None
    async with kefu.db.session() as session:
        ticket = await session.get(Ticket, ticket_id)
    if ticket is None or not progress.verify(kefu.settings, token, ticket):
        return None
    return ticket


def _html(body: str, status: int = 200) -> Response[str]:
    return Response(body, media_type="text/html", status_code=status, headers=HEADERS)


async def _locale(
    kefu: Kefu, request: Request[Any, Any, Any], ticket: Ticket | None, lang: str | None
) -> str:
    if lang in LOCALES:
        return str(lang)
    if ticket is not None and ticket.contact_id is not None:
        async with kefu.db.session() as session:
            language = await session.scalar(
                sa.select(Contact.language).where(Contact.id == ticket.contact_id)
            )
        if language:
            return "zh-CN" if language.lower().startswith("zh") else "en"
    return locale_of(request.headers.get("accept-language"))


@get("/t/{token:str}", include_in_schema=False, guards=[ratelimit.per_ip("ticket_page_per_ip")])
async def progress_page(
    kefu: Kefu, request: Request[Any, Any, Any], token: Token, lang: Lang = None
) -> Response[str]:
    ticket = await _ticket_of(kefu, token)
    locale = await _locale(kefu, request, ticket, lang)
    if ticket is None:
        return _html(pages.not_found(locale), 404)
    async with kefu.db.session() as session:
        comments = list(
            await session.scalars(
                sa.select(TicketComment)
                .where(TicketComment.ticket_id == ticket.id, TicketComment.public.is_(True))
                .order_by(TicketComment.created_at, TicketComment.id)
            )
        )
    return _html(pages.progress_page(ticket, comments, token, locale))


@post(
    "/t/{token:str}/reply",
    include_in_schema=False,
    guards=[ratelimit.per_ip("ticket_reply_per_ip")],
)
async def progress_reply(
    kefu: Kefu,
    request: Request[Any, Any, Any],
    token: Token,
    data: Annotated[ReplyForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
    lang: Lang = None,
) -> Response[str] | Redirect:
    """A plain form post: the customer's reply is a public customer comment."""
    ticket = await _ticket_of(kefu, token)
    if ticket is None:
        return _html(pages.not_found(await _locale(kefu, request, None, lang)), 404)
    body = data.body.replace("\x00", "").strip()
    if body:
        await service.customer_comment(kefu, ticket.id, body, utcnow())
    suffix = f"?lang={lang}" if lang in LOCALES else ""
    return Redirect(f"/t/{token}{suffix}", status_code=303)


class RateForm(msgspec.Struct, kw_only=True):
    score: Annotated[int, msgspec.Meta(ge=1, le=5)]


@post(
    "/t/{token:str}/rate",
    include_in_schema=False,
    guards=[ratelimit.per_ip("ticket_reply_per_ip")],
)
async def progress_rate(
    kefu: Kefu,
    request: Request[Any, Any, Any],
    token: Token,
    data: Annotated[RateForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
    lang: Lang = None,
) -> Response[str] | Redirect:
    """A plain form post: the customer's 1..5 rating once the ticket is resolved."""
    ticket = await _ticket_of(kefu, token)
    if ticket is None:
        return _html(pages.not_found(await _locale(kefu, request, None, lang)), 404)
    await service.rate(kefu, ticket.id, data.score, utcnow())
    suffix = f"?lang={lang}" if lang in LOCALES else ""
    return Redirect(f"/t/{token}{suffix}", status_code=303)


ROUTES: list[Any] = [
    TicketsController,
    *OPS_ROUTES,
    SlaPoliciesController,
    Router(
        path="/",
        route_handlers=[progress_page, progress_reply, progress_rate],
        include_in_schema=False,
    ),
]
