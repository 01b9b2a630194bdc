"""Ticket operations beside the edit: watchers, related links (stored both ways), merge
(comments, conversations, links and watchers move; the merged ticket closes pointing to
the one that stays; its customer is told once) and split (a comment becomes a new
ticket, linked to the old one). Each writes its `ticket.*` events in its transaction."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.context import Kefu
from kefu.db.retry import retrying
from kefu.db.tables import Contact, User
from kefu.errors import Conflict, FieldError, Invalid
from kefu.i18n import Text
from kefu.model import utcnow
from kefu.people.auth import AuthUser
from kefu.tickets import live, progress, service, sla
from kefu.tickets.clock import DONE_KINDS
from kefu.tickets.schemas import (
    LinkKind,
    LinkOut,
    MergeIn,
    Priority,
    SplitIn,
    StatusKind,
    TicketCreate,
    TicketExtras,
    TicketOut,
    TicketType,
)
from kefu.tickets.tables import (
    Ticket,
    TicketComment,
    TicketConversation,
    TicketLink,
    TicketWatcher,
)

MAX_WATCHERS = 50
MAX_LINKS = 100
REVERSE = {
    LinkKind.related: LinkKind.related,
    LinkKind.split_from: LinkKind.split_into,
    LinkKind.split_into: LinkKind.split_from,
    LinkKind.merged_from: LinkKind.merged_into,
    LinkKind.merged_into: LinkKind.merged_from,
}
MERGED_TOLD = Text(
    "Ticket #{number} has been merged into ticket #{into}. Follow its progress here: {url}",
    "工单 #{number} 已合并到工单 #{into}，您可以在这里查看进度：{url}",
)


async def extras(session: AsyncSession, ticket: Ticket) -> TicketExtras:
    rows = await session.execute(
        sa.select(TicketLink.kind, Ticket.id, Ticket.number, Ticket.title, Ticket.status_kind)
        .join(Ticket, Ticket.id == TicketLink.other_id)
        .where(TicketLink.ticket_id == ticket.id)
        .order_by(TicketLink.created_at, Ticket.id)
    )
    links = [
        LinkOut(
            ticket_id=other_id,
            number=number,
            title=title,
            status=StatusKind(status),
            kind=LinkKind(kind),
        )
        for kind, other_id, number, title, status in rows
    ]
    return TicketExtras(watcher_ids=await live.watcher_ids(session, ticket.id), links=links)


def _common(user: AuthUser) -> dict[str, Any]:
    return {"actor_kind": "agent", "actor_id": user.id, "conversation_id": None, "at": utcnow()}


# ---------------------------------------------------------------------------
# watchers


@retrying
async def add_watcher(
    kefu: Kefu, user: AuthUser, ticket_id: uuid.UUID, watcher_id: uuid.UUID
) -> TicketOut:
    async with kefu.db.transaction() as session:
        ticket = await service._load(session, user, ticket_id, lock=True)
        found = await session.scalar(
            sa.select(User.id).where(User.id == watcher_id, User.workspace_id == user.workspace_id)
        )
        if found is None:
            raise Invalid(
                Text("no such colleague", "不存在的同事"),
                errors=[
                    FieldError("user_id", Text("not found in this workspace", "本工作区中不存在"))
                ],
            )
        current = await live.watcher_ids(session, ticket.id)
        if watcher_id not in current:
            if len(current) >= MAX_WATCHERS:
                raise Invalid(
                    f"at most {MAX_WATCHERS} watchers",
                    errors=[FieldError("user_id", Text("too many watchers", "关注人过多"))],
                )
            session.add(
                TicketWatcher(
                    ticket_id=ticket.id, user_id=watcher_id, workspace_id=ticket.workspace_id
                )
            )
            service.log_change(
                session,
                ticket,
                "ticket.watcher_added",
                {"user_id": str(watcher_id)},
                **_common(user),
            )
            await session.flush()
        return await service._reload_out(kefu, session, ticket)


@retrying
async def remove_watcher(
    kefu: Kefu, user: AuthUser, ticket_id: uuid.UUID, watcher_id: uuid.UUID
) -> TicketOut:
    async with kefu.db.transaction() as session:
        ticket = await service._load(session, user, ticket_id, lock=True)
        gone = await session.execute(
            sa.delete(TicketWatcher).where(
                TicketWatcher.ticket_id == ticket.id, TicketWatcher.user_id == watcher_id
            )
        )
        if getattr(gone, "rowcount", 0):
            service.log_change(
                session,
                ticket,
                "ticket.watcher_removed",
                {"user_id": str(watcher_id)},
                **_common(user),
            )
        return await service._reload_out(kefu, session, ticket)


# ---------------------------------------------------------------------------
# links


async def _link(session: AsyncSession, a: Ticket, b: Ticket, kind: LinkKind) -> None:
    """Both directions, replacing any link the pair had."""
    await session.execute(
        sa.delete(TicketLink).where(
            sa.or_(
                sa.and_(TicketLink.ticket_id == a.id, TicketLink.other_id == b.id),
                sa.and_(TicketLink.ticket_id == b.id, TicketLink.other_id == a.id),
            )
        )
    )
    now = utcnow()
    session.add_all(
        [
            TicketLink(
                ticket_id=a.id,
                other_id=b.id,
                workspace_id=a.workspace_id,
                kind=kind,
                created_at=now,
            ),
            TicketLink(
                ticket_id=b.id,
                other_id=a.id,
                workspace_id=a.workspace_id,
                kind=REVERSE[kind],
                created_at=now,
            ),
        ]
    )
    await session.flush()


async def _pair(
    session: AsyncSession, user: AuthUser, first: uuid.UUID, second: uuid.UUID, field: str
) -> tuple[Ticket, Ticket]:
    """Both tickets of the workspace, locked in id order (two merges of the same pair in
    opposite directions cannot deadlock)."""
    if first == second:
        raise Invalid(
            Text("a ticket cannot be linked to itself", "不能关联到自身"),
            errors=[FieldError(field, Text("the same ticket", "同一张工单"))],
        )
    rows: dict[uuid.UUID, Ticket] = {}
    for ticket_id in sorted((first, second)):
        rows[ticket_id] = await service._load(session, user, ticket_id, lock=True)
    return rows[first], rows[second]


async def _count_links(session: AsyncSession, ticket_id: uuid.UUID) -> int:
    return int(
        await session.scalar(
            sa.select(sa.func.count())
            .select_from(TicketLink)
            .where(TicketLink.ticket_id == ticket_id)
        )
        or 0
    )


@retrying
async def link(kefu: Kefu, user: AuthUser, ticket_id: uuid.UUID, other_id: uuid.UUID) -> TicketOut:
    async with kefu.db.transaction() as session:
        ticket, other = await _pair(session, user, ticket_id, other_id, "other_id")
        if await _count_links(session, ticket.id) >= MAX_LINKS:
            raise Invalid(
                f"at most {MAX_LINKS} links",
                errors=[FieldError("other_id", Text("too many links", "关联过多"))],
            )
        await _link(session, ticket, other, LinkKind.related)
        for a, b in ((ticket, other), (other, ticket)):
            service.log_change(
                session,
                a,
                "ticket.linked",
                {"other_id": str(b.id), "other_number": b.number, "kind": "related"},
                **_common(user),
            )
        return await service._reload_out(kefu, session, ticket)


@retrying
async def unlink(
    kefu: Kefu, user: AuthUser, ticket_id: uuid.UUID, other_id: uuid.UUID
) -> TicketOut:
    async with kefu.db.transaction() as session:
        ticket = await service._load(session, user, ticket_id, lock=True)
        gone = await session.execute(
            sa.delete(TicketLink).where(
                TicketLink.workspace_id == user.workspace_id,
                TicketLink.kind == LinkKind.related.value,
                sa.or_(
                    sa.and_(TicketLink.ticket_id == ticket.id, TicketLink.other_id == other_id),
                    sa.and_(TicketLink.ticket_id == other_id, TicketLink.other_id == ticket.id),
                ),
            )
        )
        if getattr(gone, "rowcount", 0):
            service.log_change(
                session, ticket, "ticket.unlinked", {"other_id": str(other_id)}, **_common(user)
            )
        return await service._reload_out(kefu, session, ticket)


# ---------------------------------------------------------------------------
# merge


async def merge(kefu: Kefu, user: AuthUser, ticket_id: uuid.UUID, data: MergeIn) -> TicketOut:
    """Merge `data.source_id` into `ticket_id`, then tell the source's customer once."""
    out, notice, who = await _merge(kefu, user, ticket_id, data)
    if notice is not None:
        await service._tell(kefu, user, notice)
    live.publish(kefu, user.workspace_id, out.id, out.number, "merged", who, by=user.id)
    return out


@retrying
async def _merge(
    kefu: Kefu, user: AuthUser, ticket_id: uuid.UUID, data: MergeIn
) -> tuple[TicketOut, service.Notice | None, list[uuid.UUID]]:
    async with kefu.db.transaction() as session:
        target, source = await _pair(session, user, ticket_id, data.source_id, "source_id")
        for ticket, field in ((target, "ticket_id"), (source, "source_id")):
            if ticket.merged_into_id is not None:
                raise Conflict(
                    Text(
                        f"#{ticket.number} was merged already",
                        f"工单 #{ticket.number} 已被合并",
                    ),
                    extra={"reason": "merged_already", "field": field},
                )
        now = utcnow()
        # The source's customer hears once, in the source's conversation, before it moves.
        notice = await service._notice(
            kefu, session, source, MERGED_TOLD, f"merged-{source.id.hex}"
        )
        if notice is not None:
            notice = _with_target(notice, target, kefu)
        # Comments move (their times keep the order); the target's clocks stay its own.
        await session.execute(
            sa.update(TicketComment)
            .where(TicketComment.ticket_id == source.id)
            .values(ticket_id=target.id)
        )
        await _move_rows(session, source, target)
        await _link(session, target, source, LinkKind.merged_from)
        before = source.status_kind
        source.merged_into_id = target.id
        source.status = source.status_kind = StatusKind.closed.value
        source.resolved_at = now
        source.remind_at = None
        common = _common(user)
        service.log_change(
            session,
            source,
            "ticket.status",
            {"from": before, "to": "closed", "from_kind": before, "to_kind": "closed"},
            clock_kind="status",
            clock={"to_kind": "closed"},
            **common,
        )
        service.log_change(
            session,
            source,
            "ticket.merged",
            {"into_id": str(target.id), "into_number": target.number},
            **common,
        )
        service.log_change(
            session,
            target,
            "ticket.merged",
            {"from_id": str(source.id), "from_number": source.number},
            **common,
        )
        await service._bump(
            session,
            source,
            version=source.version,
            fields=["status", "merged_into_id"],
            actor=user.id,
            at=now,
        )
        await service._bump(
            session, target, version=target.version, fields=["comments"], actor=user.id, at=now
        )
        await sla.refresh(session, source, now)
        out = await service._reload_out(kefu, session, target)
        return out, notice, await live.recipients(session, target)


def _with_target(notice: service.Notice, target: Ticket, kefu: Kefu) -> service.Notice:
    import msgspec

    text = Text(
        notice.text.en.replace("{into}", target.number),
        notice.text.zh.replace("{into}", target.number),
    )
    return msgspec.structs.replace(notice, text=text, url=progress.url(kefu.settings, target))


async def _move_rows(session: AsyncSession, source: Ticket, target: Ticket) -> None:
    """Conversations, watchers and the source's other links go to the target."""
    have = set(
        await session.scalars(
            sa.select(TicketConversation.conversation_id).where(
                TicketConversation.ticket_id == target.id
            )
        )
    )
    for row in list(
        await session.scalars(
            sa.select(TicketConversation).where(TicketConversation.ticket_id == source.id)
        )
    ):
        if row.conversation_id not in have:
            session.add(
                TicketConversation(
                    ticket_id=target.id,
                    conversation_id=row.conversation_id,
                    workspace_id=target.workspace_id,
                    created_at=row.created_at,
                )
            )
        await session.delete(row)
    watchers = set(await live.watcher_ids(session, target.id))
    for user_id in await live.watcher_ids(session, source.id):
        if user_id not in watchers:
            session.add(
                TicketWatcher(
                    ticket_id=target.id, user_id=user_id, workspace_id=target.workspace_id
                )
            )
    await session.execute(sa.delete(TicketWatcher).where(TicketWatcher.ticket_id == source.id))
    linked = set(
        await session.scalars(
            sa.select(TicketLink.other_id).where(TicketLink.ticket_id == target.id)
        )
    )
    for link_row in list(
        await session.scalars(sa.select(TicketLink).where(TicketLink.ticket_id == source.id))
    ):
        if link_row.other_id != target.id and link_row.other_id not in linked:
            other = await session.get(Ticket, link_row.other_id)
            if other is not None:
                await _link(session, target, other, LinkKind(link_row.kind))
    await session.execute(
        sa.delete(TicketLink).where(
            sa.or_(TicketLink.ticket_id == source.id, TicketLink.other_id == source.id)
        )
    )
    await session.flush()


# ---------------------------------------------------------------------------
# split


@retrying
async def split(kefu: Kefu, user: AuthUser, ticket_id: uuid.UUID, data: SplitIn) -> TicketOut:
    """A comment of the ticket becomes a new ticket (same customer, department and
    priority; the comment moves there), linked both ways. Answers the new ticket."""
    async with kefu.db.transaction() as session:
        ticket = await service._load(session, user, ticket_id, lock=True)
        comment = await session.scalar(
            sa.select(TicketComment).where(
                TicketComment.id == data.comment_id, TicketComment.ticket_id == ticket.id
            )
        )
        if comment is None:
            raise Invalid(
                Text("no such comment on this ticket", "此工单没有这条评论"),
                errors=[FieldError("comment_id", Text("not found", "不存在"))],
            )
        first = comment.body.strip().splitlines()[0] if comment.body.strip() else ticket.title
        title = data.title or (first[:80] + ("…" if len(first) > 80 else ""))
        contact_id = ticket.contact_id
        if contact_id is not None and await session.get(Contact, contact_id) is None:
            contact_id = None
        new = await service._create(
            kefu,
            session,
            user,
            TicketCreate(
                title=title[:200],
                description=comment.body[:20000],
                contact_id=contact_id,
                priority=Priority(ticket.priority),
                department_id=ticket.department_id,
                category=ticket.category,
            ),
            source="split",
        )
        new.type = ticket.type if ticket.type in set(TicketType) else None
        new.channel = ticket.channel
        comment.ticket_id = new.id
        await _link(session, new, ticket, LinkKind.split_from)
        common = _common(user)
        service.log_change(
            session,
            ticket,
            "ticket.split",
            {"into_id": str(new.id), "into_number": new.number, "comment_id": str(comment.id)},
            **common,
        )
        service.log_change(
            session,
            new,
            "ticket.split",
            {"from_id": str(ticket.id), "from_number": ticket.number},
            **common,
        )
        now = utcnow()
        await service._bump(
            session, ticket, version=ticket.version, fields=["comments"], actor=user.id, at=now
        )
        if ticket.status_kind not in DONE_KINDS:
            await sla.refresh(session, ticket, now)
        return await service._reload_out(kefu, session, new)
