"""Tickets: create (by an agent, by API, from a conversation), list, edit with optimistic
concurrency, comment. Every change writes its contracted `ticket.*` event in the same
transaction, and refreshes the SLA cache on the row (`sla.refresh`)."""

from __future__ import annotations

import base64
import logging
import re
import uuid
from datetime import UTC, datetime
from typing import Any, Protocol

import msgspec
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as lite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.context import Kefu
from kefu.conversations import actions
from kefu.conversations.events import LoggedEvent, record
from kefu.db.retry import retrying
from kefu.db.scope import one_in_workspace
from kefu.db.search import contains
from kefu.db.tables import Contact, Conversation, Message, SkillGroup, User
from kefu.errors import Conflict, FieldError, Invalid, KefuError
from kefu.i18n import Text
from kefu.model import new_id, utcnow
from kefu.people.auth import AuthUser
from kefu.tickets import live, progress, sla
from kefu.tickets.clock import DONE_KINDS
from kefu.tickets.schemas import (
    ClockOut,
    CommentCreate,
    CommentOut,
    FromConversation,
    Priority,
    StatusKind,
    TicketCreate,
    TicketExtras,
    TicketOut,
    TicketPage,
    TicketPatch,
)
from kefu.tickets.tables import Ticket, TicketComment, TicketConversation, TicketCounter

log = logging.getLogger(__name__)

PAGE = 50
RECENT_CHANGES = 20
COMMENTED = Text(
    "Update on ticket #{number}: {body}\n{url}",
    "工单 #{number} 有新进展：{body}\n{url}",
)
STATUS_TOLD = Text(
    "Ticket #{number} is now: {status}. {url}",
    "工单 #{number} 当前状态：{status}。{url}",
)
# Statuses a pending reminder can reopen.
WAITING_KINDS = frozenset({"pending_customer", "pending_internal", "on_hold"})
# Status changes the customer hears about (the others are the team's own business).
TOLD_KINDS = frozenset({"pending_customer", "resolved", "closed"})
TOLD = Text(
    "We have opened ticket #{number} for this. Follow its progress here: {url}",
    "我们已为此创建工单 #{number}，您可以在这里查看进度：{url}",
)


# ---------------------------------------------------------------------------
# numbers


async def allocate_number(session: AsyncSession, workspace_id: uuid.UUID, now: datetime) -> str:
    """The next `YYYY-NNNNNN` of the workspace. One upsert that increments and returns:
    on PostgreSQL the row lock serialises concurrent creates until their commit, so two
    never share a number (the unique index on tickets is the backstop)."""
    values = {"workspace_id": workspace_id, "year": now.year, "last": 1}
    dialect = session.bind.dialect.name if session.bind else "sqlite"
    insert = pg_insert if dialect == "postgresql" else lite_insert
    statement = (
        insert(TicketCounter)
        .values(values)
        .on_conflict_do_update(
            index_elements=[TicketCounter.workspace_id, TicketCounter.year],
            set_={"last": TicketCounter.last + 1},
        )
        .returning(TicketCounter.last)
    )
    last = int((await session.execute(statement)).scalar_one())
    return f"{now.year}-{last:06d}"


# ---------------------------------------------------------------------------
# views


class Shown(Protocol):
    """What a TicketOut is made of: a Ticket row, or a row of the list's LISTED columns."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def number(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def description(self) -> str: ...
    @property
    def status_kind(self) -> str: ...
    @property
    def priority(self) -> str: ...
    @property
    def contact_id(self) -> uuid.UUID | None: ...
    @property
    def department_id(self) -> uuid.UUID | None: ...
    @property
    def assignee_id(self) -> uuid.UUID | None: ...
    @property
    def category(self) -> str | None: ...
    @property
    def tags(self) -> list[Any]: ...
    @property
    def channel(self) -> str | None: ...
    @property
    def due_at(self) -> datetime | None: ...
    @property
    def version(self) -> int: ...
    @property
    def sla_next_due_at(self) -> datetime | None: ...
    @property
    def sla_state(self) -> dict[str, Any]: ...
    @property
    def progress_nonce(self) -> str: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def updated_at(self) -> datetime: ...
    @property
    def type(self) -> str | None: ...
    @property
    def custom(self) -> dict[str, Any]: ...
    @property
    def merged_into_id(self) -> uuid.UUID | None: ...
    @property
    def remind_at(self) -> datetime | None: ...


# The list's columns: what `_out` reads, without the event-log copies (clock_log,
# recent_changes) a page of 50 would otherwise fetch, decode and throw away.
LISTED = tuple(
    getattr(Ticket, name)
    for name in Shown.__dict__
    if not name.startswith("_") and isinstance(Shown.__dict__[name], property)
)


def _out(
    kefu: Kefu,
    ticket: Shown,
    conversation_ids: list[uuid.UUID],
    comments: list[TicketComment] | None = None,
    now: datetime | None = None,
    extras: TicketExtras | None = None,
) -> TicketOut:
    clocks = [
        ClockOut(target=c.target, state=c.state, due_at=c.due_at, remaining_s=c.remaining_s)
        for c in sla.clocks_of_state(ticket.sla_state, now or utcnow())
    ]
    return TicketOut(
        id=ticket.id,
        number=ticket.number,
        title=ticket.title,
        description=ticket.description,
        status=StatusKind(ticket.status_kind),
        priority=Priority(ticket.priority),
        contact_id=ticket.contact_id,
        department_id=ticket.department_id,
        assignee_id=ticket.assignee_id,
        category=ticket.category,
        tags=list(ticket.tags or []),
        channel=ticket.channel,
        due_at=ticket.due_at,
        version=ticket.version,
        sla_next_due_at=ticket.sla_next_due_at,
        progress_url=progress.url_of(kefu.settings, ticket.id, ticket.progress_nonce),
        conversation_ids=conversation_ids,
        created_at=ticket.created_at,
        updated_at=ticket.updated_at,
        clocks=clocks,
        comments=[comment_out(c) for c in comments or []],
        type=ticket.type,
        custom=dict(ticket.custom or {}),
        merged_into_id=ticket.merged_into_id,
        remind_at=ticket.remind_at,
        watcher_ids=extras.watcher_ids if extras else [],
        links=extras.links if extras else [],
    )


def comment_out(comment: TicketComment) -> CommentOut:
    return CommentOut(
        id=comment.id,
        author_kind=comment.author_kind,
        author_id=comment.author_id,
        author_name=comment.author_name,
        public=comment.public,
        body=comment.body,
        created_at=comment.created_at,
    )


async def _conversation_ids(session: AsyncSession, ticket_id: uuid.UUID) -> list[uuid.UUID]:
    rows = await session.scalars(
        sa.select(TicketConversation.conversation_id)
        .where(TicketConversation.ticket_id == ticket_id)
        .order_by(TicketConversation.created_at)
    )
    return list(rows)


# ---------------------------------------------------------------------------
# the event log


def assignment_of(ticket: Ticket) -> dict[str, Any]:
    """The data of a `ticket.assigned` event: who and which department hold it now."""
    return {
        "agent_id": str(ticket.assignee_id) if ticket.assignee_id else None,
        "department_id": str(ticket.department_id) if ticket.department_id else None,
    }


def log_change(
    session: AsyncSession,
    ticket: Ticket,
    type_: str,
    data: dict[str, Any],
    *,
    actor_kind: str,
    actor_id: uuid.UUID | None,
    conversation_id: uuid.UUID | None,
    at: datetime,
    clock_kind: str | None = None,
    clock: dict[str, Any] | None = None,
) -> None:
    """One `ticket.*` row (contract: data has ticket_id and number) and, for what the
    SLA clocks read, the same fact appended to the row's clock log."""
    record(
        session,
        LoggedEvent(
            workspace_id=ticket.workspace_id,
            conversation_id=conversation_id,
            type=type_,
            actor_kind=actor_kind,
            actor_id=actor_id,
            data={"ticket_id": str(ticket.id), "number": ticket.number, **data},
        ),
    )
    if clock_kind is not None:
        entry = {"at": at.isoformat(), "kind": clock_kind, **(clock or {})}
        ticket.clock_log = [*(ticket.clock_log or []), entry]


async def _first_conversation(session: AsyncSession, ticket_id: uuid.UUID) -> uuid.UUID | None:
    ids = await _conversation_ids(session, ticket_id)
    return ids[0] if ids else None


async def _check_refs(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    *,
    contact_id: uuid.UUID | None = None,
    department_id: uuid.UUID | None = None,
    assignee_id: uuid.UUID | None = None,
) -> None:
    """Ids the body names must be of this workspace: a 422 on the field, never a row
    pointing into another tenant."""
    checks: list[tuple[str, Any, uuid.UUID | None]] = [
        ("contact_id", Contact, contact_id),
        ("department_id", SkillGroup, department_id),
        ("assignee_id", User, assignee_id),
    ]
    for field, model, value in checks:
        if value is None:
            continue
        found = await session.scalar(
            sa.select(model.id).where(model.id == value, model.workspace_id == workspace_id)
        )
        if found is None:
            raise Invalid(
                Text(f"no such {field[:-3]}", "不存在的对象"),
                errors=[FieldError(field, Text("not found in this workspace", "本工作区中不存在"))],
            )


# ---------------------------------------------------------------------------
# create


async def _create(
    kefu: Kefu,
    session: AsyncSession,
    user: AuthUser | None,
    data: TicketCreate,
    *,
    source: str,
    conversation: Conversation | None = None,
    workspace_id: uuid.UUID | None = None,
) -> Ticket:
    """`user` None: the system opens it (a left message, a mail to a department address)
    in `workspace_id`."""
    workspace_id = user.workspace_id if user is not None else workspace_id
    assert workspace_id is not None
    actor_kind, actor_id = ("agent", user.id) if user is not None else ("system", None)
    await _check_refs(
        session,
        workspace_id,
        contact_id=data.contact_id,
        department_id=data.department_id,
        assignee_id=data.assignee_id,
    )
    now = utcnow()
    ticket = Ticket(
        id=new_id(),
        workspace_id=workspace_id,
        number=await allocate_number(session, workspace_id, now),
        title=data.title,
        description=data.description,
        contact_id=conversation.contact_id if conversation is not None else data.contact_id,
        department_id=data.department_id,
        assignee_id=data.assignee_id,
        status="new",
        status_kind="new",
        priority=data.priority.value,
        category=data.category,
        tags=list(dict.fromkeys(data.tags)),
        channel=conversation.channel if conversation is not None else None,
        due_at=data.due_at.astimezone(UTC) if data.due_at else None,
        version=1,
        sla_state={},
        clock_log=[],
        recent_changes=[],
        progress_nonce=progress.new_nonce(),
        created_at=now,
        updated_at=now,
    )
    session.add(ticket)
    await session.flush()
    conversation_id = conversation.id if conversation is not None else None
    if conversation is not None:
        session.add(
            TicketConversation(
                ticket_id=ticket.id,
                conversation_id=conversation.id,
                workspace_id=ticket.workspace_id,
                created_at=now,
            )
        )
    log_change(
        session,
        ticket,
        "ticket.created",
        {
            "priority": ticket.priority,
            "department_id": str(ticket.department_id) if ticket.department_id else None,
            "channel": ticket.channel,
            "source": source,
        },
        actor_kind=actor_kind,
        actor_id=actor_id,
        conversation_id=conversation_id,
        at=now,
        clock_kind="created",
    )
    if ticket.assignee_id is not None or ticket.department_id is not None:
        log_change(
            session,
            ticket,
            "ticket.assigned",
            assignment_of(ticket),
            actor_kind=actor_kind,
            actor_id=actor_id,
            conversation_id=conversation_id,
            at=now,
        )
    await sla.refresh(session, ticket, now)
    return ticket


@retrying
async def create(kefu: Kefu, user: AuthUser, data: TicketCreate, source: str = "api") -> TicketOut:
    async with kefu.db.transaction() as session:
        ticket = await _create(kefu, session, user, data, source=source)
        return _out(kefu, ticket, [])


async def _prefill(session: AsyncSession, conversation: Conversation) -> tuple[str, str]:
    """A title from the customer's first words, a description from the last messages."""
    messages = list(
        await session.scalars(
            sa.select(Message)
            .where(Message.conversation_id == conversation.id, Message.type == "text")
            .order_by(Message.seq.desc())
            .limit(20)
        )
    )
    messages.reverse()
    inbound = [m for m in messages if m.direction == "in" and (m.body or "").strip()]
    contact = await session.get(Contact, conversation.contact_id)
    who = (contact.name if contact is not None else None) or "customer"
    first = inbound[0].body.strip().splitlines()[0] if inbound else ""
    title = (first[:80] + ("…" if len(first) > 80 else "")) if first else f"Conversation with {who}"
    lines = [
        f"{'customer' if m.direction == 'in' else 'agent'}: {m.body.strip()}"
        for m in messages
        if m.direction in ("in", "out") and (m.body or "").strip()
    ]
    return title[:200], "\n".join(lines)[:20000]


async def create_from_conversation(
    kefu: Kefu, user: AuthUser, conversation_id: uuid.UUID, data: FromConversation
) -> TicketOut:
    """A ticket linked to the conversation, prefilled from it; then the customer is told
    the number and progress link by a reply in their channel (the ordinary reply path:
    outbox, retries, delivery status)."""

    @retrying
    async def work() -> tuple[TicketOut, str, str | None]:
        async with kefu.db.transaction() as session:
            actor = actions.actor_of(user)
            conversation = await actions.load_conversation(session, actor, conversation_id)
            title, description = await _prefill(session, conversation)
            ticket = await _create(
                kefu,
                session,
                user,
                TicketCreate(
                    title=data.title or title,
                    description=description if data.description is None else data.description,
                    priority=data.priority,
                    department_id=data.department_id,
                ),
                source="conversation",
                conversation=conversation,
            )
            contact = await session.get(Contact, conversation.contact_id)
            language = contact.language if contact is not None else None
            return _out(kefu, ticket, [conversation.id]), ticket.number, language

    out, number, language = await work()
    told = TOLD.render("zh-CN" if (language or "").lower().startswith("zh") else "en")
    try:
        await actions.reply(
            kefu,
            conversation_id,
            actions.actor_of(user),
            told.format(number=number, url=out.progress_url),
            client_message_id=f"ticket-{out.id}",
        )
    except KefuError as exc:
        # The ticket stands; the agent sees the conversation without the notice and can
        # send the link by hand (e.g. the agent had no capacity to take the chat).
        log.warning("ticket %s: customer not told: %s", number, exc.detail)
    return out


# ---------------------------------------------------------------------------
# read


async def _load(
    session: AsyncSession, user: AuthUser, ticket_id: uuid.UUID, *, lock: bool = False
) -> Ticket:
    return await one_in_workspace(
        session, Ticket, user.workspace_id, ticket_id, "ticket", lock=lock
    )


async def get(kefu: Kefu, user: AuthUser, ticket_id: uuid.UUID) -> TicketOut:
    async with kefu.db.session() as session:
        ticket = await _load(session, user, ticket_id)
        comments = list(
            await session.scalars(
                sa.select(TicketComment)
                .where(TicketComment.ticket_id == ticket.id)
                .order_by(TicketComment.created_at, TicketComment.id)
            )
        )
        return _out(
            kefu,
            ticket,
            await _conversation_ids(session, ticket.id),
            comments,
            extras=await extras_of(session, ticket),
        )


def _cursor(values: list[str]) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode(values)).decode().rstrip("=")


def _uncursor(cursor: str) -> list[str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = msgspec.json.decode(base64.urlsafe_b64decode(padded), type=list[str])
    except (ValueError, msgspec.DecodeError) as exc:
        raise Invalid("bad cursor", errors=[FieldError("cursor", "not a cursor")]) from exc
    return values


NUMBER = re.compile(r"#?(?:(\d{4})-)?(\d{1,9})")


def _matching(workspace_id: uuid.UUID, q: str) -> sa.ColumnElement[bool]:
    """The search of the list and of the merge / link pickers. A number is matched
    exactly through the (workspace_id, number) unique index: with a year, that one; a
    bare `123` in each year the workspace has numbered tickets in. Anything else: the
    title contains it (LIKE wildcards literal)."""
    q = q.strip()
    if "\x00" in q:
        raise Invalid("bad search", errors=[FieldError("q", "no NUL characters")])
    shaped = NUMBER.fullmatch(q)
    if shaped is None:
        return contains(Ticket.title, q)
    year, sequence = shaped.groups()
    suffix = f"-{int(sequence):06d}"
    if year is not None:
        return Ticket.number == year + suffix
    years = sa.select(sa.cast(TicketCounter.year, sa.String) + suffix).where(
        TicketCounter.workspace_id == workspace_id
    )
    return Ticket.number.in_(years)


def _linked(dialect: str) -> sa.Label[Any]:
    """Each listed ticket's conversations in the same statement (a correlated aggregate over
    the ticket_conversations primary key): one round trip for the page, not two."""
    linked = TicketConversation.conversation_id
    aggregate: sa.ColumnElement[Any] = (
        sa.func.array_agg(linked) if dialect == "postgresql" else sa.func.group_concat(linked)
    )
    return (
        sa.select(aggregate)
        .where(TicketConversation.ticket_id == Ticket.id)
        .correlate(Ticket)
        .scalar_subquery()
        .label("conversation_ids")
    )


def _ids(value: list[uuid.UUID] | str | None) -> list[uuid.UUID]:
    """`_linked`'s column: PostgreSQL's array of UUIDs, or SQLite's comma-separated hex."""
    if value is None:
        return []
    if isinstance(value, str):
        return [uuid.UUID(part) for part in value.split(",")]
    return [v if isinstance(v, uuid.UUID) else uuid.UUID(str(v)) for v in value]


async def list_tickets(
    kefu: Kefu,
    user: AuthUser,
    *,
    status: str | None = None,
    assignee: str | None = None,
    department: uuid.UUID | None = None,
    breaching_before: datetime | None = None,
    q: str | None = None,
    cursor: str | None = None,
    limit: int = PAGE,
) -> TicketPage:
    """Newest first; with `breaching_before`, open tickets whose next SLA target is due
    before then, soonest first (the "breaching soon" view: one range scan of
    ix_tickets_sla_due). `status` is a kind or "active" (not resolved/closed);
    `assignee` a user id, "me" or "none"; `q` a ticket number (`#2026-000123`,
    `2026-000123`, or `123` in any year) or else text the title contains."""
    if breaching_before is not None:
        if breaching_before.tzinfo is None:
            raise Invalid(
                "breaching_before needs a time zone",
                errors=[FieldError("breaching_before", "an ISO-8601 time with an offset or Z")],
            )
        # UTC before it reaches SQL: SQLite compares stored times as text.
        breaching_before = breaching_before.astimezone(UTC)
    query = sa.select(*LISTED).where(Ticket.workspace_id == user.workspace_id)
    if status == "active":
        query = query.where(Ticket.status_kind.not_in(DONE_KINDS))
    elif status is not None:
        try:
            query = query.where(Ticket.status_kind == StatusKind(status).value)
        except ValueError as exc:
            raise Invalid("bad status", errors=[FieldError("status", "unknown status")]) from exc
    if assignee == "me":
        query = query.where(Ticket.assignee_id == user.id)
    elif assignee == "none":
        query = query.where(Ticket.assignee_id.is_(None))
    elif assignee is not None:
        try:
            query = query.where(Ticket.assignee_id == uuid.UUID(assignee))
        except ValueError as exc:
            raise Invalid(
                "bad assignee", errors=[FieldError("assignee", "a user id, me or none")]
            ) from exc
    if department is not None:
        query = query.where(Ticket.department_id == department)
    if q is not None and q.strip():
        query = query.where(_matching(user.workspace_id, q))
    after = _uncursor(cursor) if cursor else None
    try:
        if breaching_before is not None:
            query = query.where(
                Ticket.sla_next_due_at.is_not(None), Ticket.sla_next_due_at < breaching_before
            )
            if after:
                due = datetime.fromisoformat(after[0]).astimezone(UTC)
                last = uuid.UUID(after[1])
                query = query.where(
                    sa.or_(
                        Ticket.sla_next_due_at > due,
                        sa.and_(Ticket.sla_next_due_at == due, Ticket.id > last),
                    )
                )
            query = query.order_by(Ticket.sla_next_due_at, Ticket.id)
        else:
            if after:
                query = query.where(Ticket.id < uuid.UUID(after[0]))
            query = query.order_by(Ticket.id.desc())
    except (ValueError, IndexError) as exc:
        raise Invalid("bad cursor", errors=[FieldError("cursor", "not a cursor")]) from exc
    query = query.add_columns(_linked(kefu.db.engine.dialect.name))
    async with kefu.db.session() as session:
        rows = (await session.execute(query.limit(limit + 1))).all()
    now = utcnow()
    items = [_out(kefu, r, _ids(r.conversation_ids), now=now) for r in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        final = rows[limit - 1]
        if breaching_before is not None:
            assert final.sla_next_due_at is not None
            next_cursor = _cursor([final.sla_next_due_at.isoformat(), str(final.id)])
        else:
            next_cursor = _cursor([str(final.id)])
    return TicketPage(items, next_cursor)


# ---------------------------------------------------------------------------
# edit


FIELDS = ("title", "description", "status", "priority", "department_id", "assignee_id",
          "category", "tags", "due_at")  # fmt: skip


def _stale(ticket: Ticket, version: int) -> Conflict:
    changed = sorted(
        {f for c in ticket.recent_changes or [] if c["version"] > version for f in c["fields"]}
    )
    return Conflict(
        Text(
            "someone else changed this ticket since you opened it: " + ", ".join(changed),
            "您打开后，其他人修改了这张工单：" + "、".join(changed),
        ),
        extra={
            "reason": "stale_version",
            "current_version": ticket.version,
            "changed": changed,
            "changes": [c for c in ticket.recent_changes or [] if c["version"] > version],
        },
    )


async def update(kefu: Kefu, user: AuthUser, ticket_id: uuid.UUID, data: TicketPatch) -> TicketOut:
    """`_update`, then the customer hears of a status change that concerns them."""
    out, notice = await _update(kefu, user, ticket_id, data)
    if notice is not None:
        await _tell(kefu, user, notice)
    if out.version != data.version:
        live.changed(kefu, user.workspace_id, out, "updated", public=notice is not None, by=user.id)
    return out


@retrying
async def _update(
    kefu: Kefu, user: AuthUser, ticket_id: uuid.UUID, data: TicketPatch
) -> tuple[TicketOut, Notice | None]:
    """Apply the fields given, if `version` is still the ticket's (else a 409 naming what
    changed since: no lost update). The version check and the write are one UPDATE ...
    WHERE version = :read under the row lock, so two concurrent PATCHes of the same
    version cannot both win."""
    async with kefu.db.transaction() as session:
        ticket = await _load(session, user, ticket_id, lock=True)
        return await apply_locked(kefu, session, user, ticket, data)


async def apply_locked(
    kefu: Kefu, session: AsyncSession, user: AuthUser, ticket: Ticket, data: TicketPatch
) -> tuple[TicketOut, Notice | None]:
    """The body of a PATCH on a ticket locked in `session` (the bulk action runs it per
    ticket): 409 on a stale version, 422 on a bad reference or custom value."""
    if ticket.version != data.version:
        raise _stale(ticket, data.version)
    await _check_refs(
        session,
        user.workspace_id,
        department_id=data.department_id,
        assignee_id=data.assignee_id,
    )
    now = utcnow()
    conversation_id = await _first_conversation(session, ticket.id)
    wanted: dict[str, Any] = {
        "title": data.title,
        "description": data.description,
        "priority": data.priority.value if data.priority else None,
        "department_id": data.department_id,
        "assignee_id": data.assignee_id,
        "category": data.category,
        "tags": list(dict.fromkeys(data.tags)) if data.tags is not None else None,
        "due_at": data.due_at.astimezone(UTC) if data.due_at else None,
        "type": data.type.value if data.type else None,
        "remind_at": data.remind_at.astimezone(UTC) if data.remind_at else None,
    }
    if data.custom is not None:
        from kefu.tickets.fields import merged_values

        wanted["custom"] = await merged_values(session, ticket, data.custom)
    changed: list[str] = []
    for field, value in wanted.items():
        if value is not None and getattr(ticket, field) != value:
            setattr(ticket, field, value)
            changed.append(field)
    for field in data.clear:
        if getattr(ticket, field) is not None:
            setattr(ticket, field, None)
            changed.append(field)
    common: dict[str, Any] = {
        "actor_kind": "agent",
        "actor_id": user.id,
        "conversation_id": conversation_id,
    }
    if data.status is not None and data.status.value != ticket.status_kind:
        before = ticket.status_kind
        ticket.status = ticket.status_kind = data.status.value
        ticket.resolved_at = now if data.status.value in DONE_KINDS else None
        changed.append("status")
        if ticket.status_kind not in WAITING_KINDS and ticket.remind_at is not None:
            # A reminder belongs to a wait; the wait is over.
            ticket.remind_at = None
            changed.append("remind_at")
        log_change(
            session,
            ticket,
            "ticket.status",
            {
                "from": before,
                "to": ticket.status,
                "from_kind": before,
                "to_kind": ticket.status,
            },
            at=now,
            clock_kind="status",
            clock={"to_kind": ticket.status_kind},
            **common,
        )
    if "assignee_id" in changed or "department_id" in changed:
        log_change(
            session,
            ticket,
            "ticket.assigned",
            assignment_of(ticket),
            at=now,
            **common,
        )
    if not changed:
        return await _reload_out(kefu, session, ticket), None
    if any(f not in ("status", "assignee_id", "department_id") for f in changed):
        # Edits of the other fields are history too (the contract's types do not
        # cover them; reports ignore this type).
        log_change(session, ticket, "ticket.updated", {"fields": changed}, at=now, **common)
    await _bump(session, ticket, version=data.version, fields=changed, actor=user.id, at=now)
    await sla.refresh(session, ticket, now)
    notice = None
    if "status" in changed and ticket.status_kind in TOLD_KINDS:
        client_id = f"status-{ticket.id.hex}-{ticket.version}"
        notice = await _notice(kefu, session, ticket, STATUS_TOLD, client_id)
    return await _reload_out(kefu, session, ticket), notice


async def _bump(
    session: AsyncSession,
    ticket: Ticket,
    *,
    version: int,
    fields: list[str],
    actor: uuid.UUID | None,
    at: datetime,
    check: bool = True,
) -> None:
    """The next version, written with a compare-and-set on the one read. `check=False`
    for a row its caller holds locked FOR UPDATE (PostgreSQL): nobody else can move it,
    so the write waits for the commit's flush instead of a round trip of its own."""
    ticket.recent_changes = [
        *(ticket.recent_changes or [])[-(RECENT_CHANGES - 1) :],
        {
            "version": version + 1,
            "fields": fields,
            "actor_id": str(actor) if actor else None,
            "at": at.isoformat(),
        },
    ]
    ticket.updated_at = at
    ticket.version = version + 1
    if not check:
        return
    await session.flush()
    # The ORM's UPDATE carried the new version; re-check that nobody else moved it (a
    # backstop for SQLite, where FOR UPDATE is a no-op but writers are serialised).
    current = await session.scalar(sa.select(Ticket.version).where(Ticket.id == ticket.id))
    if current != version + 1:
        raise Conflict("the ticket changed meanwhile", extra={"reason": "stale_version"})


async def _reload_out(kefu: Kefu, session: AsyncSession, ticket: Ticket) -> TicketOut:
    comments = list(
        await session.scalars(
            sa.select(TicketComment)
            .where(TicketComment.ticket_id == ticket.id)
            .order_by(TicketComment.created_at, TicketComment.id)
        )
    )
    return _out(
        kefu,
        ticket,
        await _conversation_ids(session, ticket.id),
        comments,
        extras=await extras_of(session, ticket),
    )


async def extras_of(session: AsyncSession, ticket: Ticket) -> TicketExtras:
    """Watchers and links (both directions are stored, so one lookup each)."""
    from kefu.tickets.ops import extras

    return await extras(session, ticket)


# ---------------------------------------------------------------------------
# telling the customer


class Notice(msgspec.Struct, frozen=True, kw_only=True):
    """What to tell the customer, read in the change's transaction, sent after commit."""

    conversation_id: uuid.UUID
    text: Text
    number: str
    url: str
    locale: str
    client_id: str
    status: str | None = None


async def _notice(
    kefu: Kefu, session: AsyncSession, ticket: Ticket, text: Text, client_id: str
) -> Notice | None:
    conversation_id = await _first_conversation(session, ticket.id)
    if conversation_id is None:
        return None
    language = None
    if ticket.contact_id is not None:
        language = await session.scalar(
            sa.select(Contact.language).where(Contact.id == ticket.contact_id)
        )
    return Notice(
        conversation_id=conversation_id,
        text=text,
        number=ticket.number,
        url=progress.url(kefu.settings, ticket),
        locale="zh-CN" if (language or "").lower().startswith("zh") else "en",
        client_id=client_id,
        status=ticket.status_kind,
    )


async def _tell(kefu: Kefu, user: AuthUser, notice: Notice, *, body: str = "") -> None:
    from kefu.tickets.intake import RESOLVED_TOLD
    from kefu.tickets.pages import KINDS

    status = KINDS[notice.status].render(notice.locale) if notice.status in KINDS else ""
    # A resolved ticket's notice asks for the rating (the progress page takes it).
    said = (
        RESOLVED_TOLD if notice.text is STATUS_TOLD and notice.status == "resolved" else notice.text
    )
    text = said.render(notice.locale).format(
        number=notice.number, url=notice.url, body=body, status=status
    )
    try:
        await actions.reply(
            kefu,
            notice.conversation_id,
            actions.actor_of(user),
            text[:20000],
            client_message_id=f"ticket-{notice.client_id}"[:64],
            # The agent works on the ticket: telling its customer does not take the chat.
            take=False,
        )
    except KefuError as exc:
        # The change stands; the customer still sees it on the progress page.
        log.warning("ticket %s: customer not told: %s", notice.number, exc.detail)


# ---------------------------------------------------------------------------
# comments


async def add_comment_locked(
    session: AsyncSession,
    ticket: Ticket,
    *,
    body: str,
    public: bool,
    author_kind: str,
    author_id: uuid.UUID | None,
    author_name: str | None,
    now: datetime,
) -> TicketComment:
    comment = TicketComment(
        workspace_id=ticket.workspace_id,
        ticket_id=ticket.id,
        author_kind=author_kind,
        author_id=author_id,
        author_name=author_name,
        public=public,
        body=body,
        created_at=now,
    )
    session.add(comment)
    conversation_id = await _first_conversation(session, ticket.id)
    log_change(
        session,
        ticket,
        "ticket.comment",
        {"public": public, "author_kind": author_kind},
        actor_kind=author_kind if author_kind == "agent" else "customer",
        actor_id=author_id,
        conversation_id=conversation_id,
        at=now,
        clock_kind="comment" if public else None,
        clock={"public": public, "author_kind": author_kind},
    )
    status_changed = False
    if author_kind == "customer" and ticket.status_kind in ("pending_customer", "resolved"):
        # The customer answered: the ticket is the team's again (and the clocks run).
        before = ticket.status_kind
        ticket.status = ticket.status_kind = "open"
        ticket.resolved_at = None
        status_changed = True
        log_change(
            session,
            ticket,
            "ticket.status",
            {"from": before, "to": "open", "from_kind": before, "to_kind": "open"},
            actor_kind="customer",
            actor_id=None,
            conversation_id=conversation_id,
            at=now,
            clock_kind="status",
            clock={"to_kind": "open"},
        )
    elif author_kind == "agent" and public and ticket.status_kind == "new":
        ticket.status = ticket.status_kind = "open"
        status_changed = True
        log_change(
            session,
            ticket,
            "ticket.status",
            {"from": "new", "to": "open", "from_kind": "new", "to_kind": "open"},
            actor_kind="agent",
            actor_id=author_id,
            conversation_id=conversation_id,
            at=now,
            clock_kind="status",
            clock={"to_kind": "open"},
        )
    await _bump(
        session,
        ticket,
        version=ticket.version,
        fields=["comments", "status"] if status_changed else ["comments"],
        actor=author_id,
        at=now,
    )
    await sla.refresh(session, ticket, now)
    return comment


async def add_comment(
    kefu: Kefu, user: AuthUser, ticket_id: uuid.UUID, data: CommentCreate
) -> CommentOut:
    """An agent's comment; a public one also reaches the customer in the linked
    conversation's channel (the ordinary reply path)."""

    @retrying
    async def work() -> tuple[CommentOut, Notice | None, str, list[uuid.UUID]]:
        async with kefu.db.transaction() as session:
            # Seen first, then validated: another workspace's id is a 404 whatever the body.
            ticket = await _load(session, user, ticket_id, lock=True)
            if not data.body.strip():
                raise Invalid(
                    "empty comment", errors=[FieldError("body", Text("empty", "内容为空"))]
                )
            comment = await add_comment_locked(
                session,
                ticket,
                body=data.body,
                public=data.public,
                author_kind="agent",
                author_id=user.id,
                author_name=user.name,
                now=utcnow(),
            )
            notice = None
            if data.public:
                notice = await _notice(kefu, session, ticket, COMMENTED, f"comment-{comment.id}")
            who = await live.recipients(session, ticket)
            return comment_out(comment), notice, ticket.number, who

    out, notice, number, who = await work()
    if notice is not None:
        await _tell(kefu, user, notice, body=data.body)
    live.publish(
        kefu, user.workspace_id, ticket_id, number, "comment", who, public=data.public, by=user.id
    )
    return out


async def customer_comment(kefu: Kefu, ticket_id: uuid.UUID, body: str, now: datetime) -> None:
    """The customer's reply from the progress page: a public customer comment; the
    ticket's watchers and assignee hear of it."""
    told = await _customer_comment(kefu, ticket_id, body, now)
    if told is not None:
        workspace_id, number, who = told
        live.publish(kefu, workspace_id, ticket_id, number, "comment", who, public=True)


@retrying
async def _customer_comment(
    kefu: Kefu, ticket_id: uuid.UUID, body: str, now: datetime
) -> tuple[uuid.UUID, str, list[uuid.UUID]] | None:
    async with kefu.db.transaction() as session:
        ticket = await session.get(Ticket, ticket_id, with_for_update=not kefu.db.is_sqlite)
        if ticket is None:
            return None
        await add_comment_locked(
            session,
            ticket,
            body=body,
            public=True,
            author_kind="customer",
            author_id=None,
            author_name=None,
            now=now,
        )
        return ticket.workspace_id, ticket.number, await live.recipients(session, ticket)


@retrying
async def rate(kefu: Kefu, ticket_id: uuid.UUID, score: int, now: datetime) -> bool:
    """The customer's rating of a resolved (or closed) ticket, once: `ticket.rated`.
    Answers whether it was taken (False: not resolved yet, or rated already)."""
    async with kefu.db.transaction() as session:
        ticket = await session.get(Ticket, ticket_id, with_for_update=not kefu.db.is_sqlite)
        if ticket is None or ticket.status_kind not in DONE_KINDS or ticket.csat_score:
            return False
        ticket.csat_score = score
        log_change(
            session,
            ticket,
            "ticket.rated",
            {"score": score},
            actor_kind="customer",
            actor_id=None,
            conversation_id=await _first_conversation(session, ticket.id),
            at=now,
        )
        await _bump(
            session, ticket, version=ticket.version, fields=["csat_score"], actor=None, at=now
        )
        return True


@retrying
async def revoke_link(kefu: Kefu, user: AuthUser, ticket_id: uuid.UUID) -> TicketOut:
    """A new progress link: every link handed out so far stops working (a new nonce)."""
    async with kefu.db.transaction() as session:
        ticket = await _load(session, user, ticket_id, lock=True)
        ticket.progress_nonce = progress.new_nonce()
        await _bump(
            session,
            ticket,
            version=ticket.version,
            fields=["progress_url"],
            actor=user.id,
            at=utcnow(),
        )
        return await _reload_out(kefu, session, ticket)
