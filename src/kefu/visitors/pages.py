"""Pages a visitor opened with the widget on them; agents see the trail beside the chat."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from kefu.context import Kefu
from kefu.conversations.queries import get_visible
from kefu.db.tables import ContactIdentity
from kefu.errors import NotFound
from kefu.model import utcnow
from kefu.people.auth import AuthUser
from kefu.visitors.schemas import PageFacts, PageViewOut
from kefu.visitors.sessions import VISITOR_IDENTITY, apply_page
from kefu.visitors.tables import WebPageView, WebVisitor

TRAIL_LIMIT = 100


async def record_page_view(kefu: Kefu, visitor_id: uuid.UUID, page: PageFacts) -> uuid.UUID:
    now = utcnow()
    async with kefu.db.transaction() as session:
        visitor = await session.get(WebVisitor, visitor_id)
        if visitor is None:
            raise NotFound(f"visitor {visitor_id} not found")
        apply_page(visitor, page)
        visitor.last_seen_at = now
        view = WebPageView(
            workspace_id=visitor.workspace_id,
            visitor_id=visitor.id,
            url=page.url,
            title=page.title,
            referrer=page.referrer,
            started_at=now,
        )
        session.add(view)
        await session.flush()
        return view.id


async def page_left(kefu: Kefu, visitor_id: uuid.UUID, view_id: uuid.UUID, seconds: int) -> None:
    async with kefu.db.transaction() as session:
        view = await session.get(WebPageView, view_id)
        if view is None or view.visitor_id != visitor_id:
            raise NotFound(f"page view {view_id} not found")
        view.seconds_on_page = seconds


def _widget_visitor(value: str) -> uuid.UUID | None:
    """The widget names its visitors by UUID; a site or the API may name a contact's
    `web_visitor` identity otherwise, and such an identity has no browser trail."""
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


async def trail_for_agent(
    kefu: Kefu, user: AuthUser, conversation_id: uuid.UUID, limit: int = TRAIL_LIMIT
) -> list[PageViewOut]:
    """The pages the conversation's contact's browsers showed the widget on, newest
    first; 404 when the agent may not see the conversation."""
    async with kefu.db.session() as session:
        conversation = await get_visible(session, user, conversation_id)
        workspace_id, contact_id = conversation.workspace_id, conversation.contact_id
        values = (
            await session.scalars(
                sa.select(ContactIdentity.value).where(
                    ContactIdentity.workspace_id == workspace_id,
                    ContactIdentity.contact_id == contact_id,
                    ContactIdentity.kind == VISITOR_IDENTITY,
                )
            )
        ).all()
        visitor_ids = [visitor for visitor in map(_widget_visitor, values) if visitor]
        if not visitor_ids:
            return []
        rows = (
            await session.scalars(
                sa.select(WebPageView)
                .where(
                    WebPageView.workspace_id == workspace_id,
                    WebPageView.visitor_id.in_(visitor_ids),
                )
                .order_by(WebPageView.started_at.desc())
                .limit(limit)
            )
        ).all()
    return [
        PageViewOut(
            id=r.id,
            url=r.url,
            title=r.title,
            referrer=r.referrer,
            started_at=r.started_at,
            seconds_on_page=r.seconds_on_page,
        )
        for r in rows
    ]
