"""Visitor rows: a new or returning visitor, identify (a verified host-site user gets a
visitor of their own), what the pre-chat form and the page tell us. Identity checks
(tokens, the identify HMAC) are the connector's; these functions store the outcome."""

from __future__ import annotations

import uuid
from typing import Any

from kefu.context import Kefu
from kefu.errors import NotFound
from kefu.i18n import Text
from kefu.model import Identity, utcnow
from kefu.visitors.schemas import PageFacts, Visitor
from kefu.visitors.tables import WebVisitor

VISITOR_IDENTITY = "web_visitor"
EXTERNAL_IDENTITY = "external"
_NO_SUCH_VISITOR = Text("No such visitor in this workspace.", "本工作区没有该访客。")


def view_of(row: WebVisitor) -> Visitor:
    return Visitor(
        id=row.id,
        workspace_id=row.workspace_id,
        inbox_id=row.inbox_id,
        external_id=row.external_id,
        verified=bool(row.verified),
        name=row.name,
        email=row.email,
        phone=row.phone,
        language=row.language,
        entry_point=row.entry_point,
        page_url=row.page_url,
        page_title=row.page_title,
        referrer=row.referrer,
        attributes=dict(row.attributes or {}),
        prechat_done=bool(row.prechat_done),
        tokens_valid_after=row.tokens_valid_after,
        blocked=row.blocked_at is not None,
    )


def identity_of(visitor: Visitor) -> Identity:
    """Who writes: the host site's verified user, else this browser's visitor."""
    if visitor.verified and visitor.external_id:
        return Identity(kind=EXTERNAL_IDENTITY, value=visitor.external_id)
    return Identity(kind=VISITOR_IDENTITY, value=str(visitor.id))


def also_known_as(visitor: Visitor) -> tuple[Identity, ...]:
    if visitor.verified and visitor.external_id:
        return (Identity(kind=VISITOR_IDENTITY, value=str(visitor.id)),)
    return ()


def apply_page(visitor: WebVisitor, page: PageFacts) -> None:
    if page.url:
        visitor.page_url = page.url
        visitor.page_title = page.title
        if page.referrer:
            visitor.referrer = page.referrer


async def find(kefu: Kefu, inbox_id: uuid.UUID, visitor_id: uuid.UUID) -> Visitor | None:
    """The visitor if they exist on this inbox."""
    async with kefu.db.session() as session:
        row = await session.get(WebVisitor, visitor_id)
    if row is None or row.inbox_id != inbox_id:
        return None
    return view_of(row)


async def start(
    kefu: Kefu,
    workspace_id: uuid.UUID,
    inbox_id: uuid.UUID,
    visitor_id: uuid.UUID | None,
    *,
    entry: str | None,
    locale: str | None,
    page: PageFacts,
) -> Visitor:
    """The returning visitor `visitor_id` (when they are this inbox's), or a new
    anonymous one; either way with the entry point, locale and page just reported."""
    now = utcnow()
    async with kefu.db.transaction() as session:
        visitor = await session.get(WebVisitor, visitor_id) if visitor_id else None
        if visitor is None or visitor.inbox_id != inbox_id:
            visitor = WebVisitor(
                workspace_id=workspace_id, inbox_id=inbox_id, created_at=now, attributes={}
            )
            session.add(visitor)
        if entry:
            visitor.entry_point = entry
        if locale:
            visitor.language = locale
        apply_page(visitor, page)
        visitor.last_seen_at = now
        await session.flush()
        return view_of(visitor)


async def _row(session: Any, visitor_id: uuid.UUID) -> WebVisitor:
    row: WebVisitor | None = await session.get(WebVisitor, visitor_id)
    if row is None:
        raise NotFound(f"visitor {visitor_id} not found")
    return row


async def identify(
    kefu: Kefu,
    visitor_id: uuid.UUID,
    *,
    verified_id: str | None,
    name: str | None = None,
    email: str | None = None,
    phone: str | None = None,
) -> Visitor:
    """Record who the visitor is: `verified_id` is the host site's user id once the
    connector has checked its hash; name, e-mail and phone are what they say."""
    now = utcnow()
    async with kefu.db.transaction() as session:
        visitor = await _row(session, visitor_id)
        if verified_id is not None and visitor.verified and visitor.external_id != verified_id:
            # Another signed-in user on the same browser: a fresh visitor, so the new
            # user never sees the previous user's conversations.
            visitor = WebVisitor(
                workspace_id=visitor.workspace_id,
                inbox_id=visitor.inbox_id,
                language=visitor.language,
                entry_point=visitor.entry_point,
                page_url=visitor.page_url,
                page_title=visitor.page_title,
                referrer=visitor.referrer,
                attributes={},
                created_at=now,
            )
            session.add(visitor)
        if verified_id is not None:
            visitor.external_id = verified_id
            visitor.verified = True
        for field, value in (("name", name), ("email", email), ("phone", phone)):
            if value:
                setattr(visitor, field, value)
        visitor.last_seen_at = now
        await session.flush()
        return view_of(visitor)


async def update_details(
    kefu: Kefu,
    visitor_id: uuid.UUID,
    *,
    name: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    prechat_done: bool = False,
) -> Visitor:
    """Contact details from the pre-chat or leave-a-message form; a blank field keeps
    what the visitor said before."""
    async with kefu.db.transaction() as session:
        visitor = await _row(session, visitor_id)
        for field, value in (("name", name), ("email", email), ("phone", phone)):
            value = (value or "").strip()
            if value:
                setattr(visitor, field, value)
        if prechat_done:
            visitor.prechat_done = True
        await session.flush()
        return view_of(visitor)


async def set_attributes(kefu: Kefu, visitor_id: uuid.UUID, attributes: dict[str, Any]) -> None:
    """Custom attributes from the host page (already checked by the connector); they
    travel with the visitor's next message."""
    async with kefu.db.transaction() as session:
        visitor = await _row(session, visitor_id)
        visitor.attributes = {**(visitor.attributes or {}), **attributes}


async def in_workspace(kefu: Kefu, workspace_id: uuid.UUID, visitor_id: uuid.UUID) -> Visitor:
    """The visitor (for the console's block state); 404 outside the workspace."""
    async with kefu.db.session() as session:
        row = await session.get(WebVisitor, visitor_id)
    if row is None or row.workspace_id != workspace_id:
        raise NotFound(_NO_SUCH_VISITOR)
    return view_of(row)


async def set_blocked(
    kefu: Kefu, workspace_id: uuid.UUID, visitor_id: uuid.UUID, *, blocked: bool
) -> Visitor:
    """Block: every token the visitor holds stops working at once (the open socket on
    its next frame) and no new session starts. Unblock lets new sessions start; the
    revoked tokens stay revoked."""
    async with kefu.db.transaction() as session:
        row = await session.get(WebVisitor, visitor_id)
        if row is None or row.workspace_id != workspace_id:
            raise NotFound(_NO_SUCH_VISITOR)
        now = utcnow()
        if blocked:
            row.blocked_at = row.blocked_at or now
            row.tokens_valid_after = now
        else:
            row.blocked_at = None
        return view_of(row)
