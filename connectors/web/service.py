"""The visitor side of the web widget: sessions, identity, messages, page views, leave-a-
message and ratings. Messages enter through `kefu.conversations.ingest.ingest` like
every channel's; this module only decides who the visitor is and what they may see.

A visitor sees only conversations of their own contact in the widget's inbox, and never
internal notes.
"""

from __future__ import annotations

import secrets
import time
import uuid
from datetime import datetime
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.connectors.web import tokens
from kefu.connectors.web.ratelimit import Buckets, RateLimits, Rule
from kefu.connectors.web.schemas import (
    ConversationView,
    IdentifyRequest,
    LeaveMessageRequest,
    MessagesPage,
    PageIn,
    PageViewOut,
    PrechatField,
    PrechatRequest,
    RatingRequest,
    SendResult,
    SessionRequest,
    SessionView,
    VisitorMessage,
    WidgetConfig,
)
from kefu.connectors.web.tables import WebPageView, WebVisitor
from kefu.connectors.web.uploads import locate
from kefu.context import Kefu
from kefu.conversations.events import conversation_event, log_event, message_event
from kefu.conversations.ingest import ingest
from kefu.conversations.messages import sender_names
from kefu.db.tables import (
    Contact,
    ContactIdentity,
    Conversation,
    GroupMember,
    Inbox,
    Message,
    User,
)
from kefu.errors import (
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    TooManyRequests,
    Unauthorized,
)
from kefu.model import (
    Attachment,
    ChannelKind,
    ContactFacts,
    ConversationFacts,
    ConversationStatus,
    DeliveryStatus,
    Direction,
    Identity,
    Inbound,
    MessageType,
    Presence,
    SenderKind,
    TypingEvent,
    utcnow,
)
from kefu.routing import hours
from kefu.routing.queue import queue_status

VISITOR_IDENTITY = "web_visitor"
EXTERNAL_IDENTITY = "external"
MEDIA_PREFIX = "/api/v1/widget/media/"
HISTORY_LIMIT = 50
MAX_ATTRIBUTES = 50
MAX_ATTRIBUTES_BYTES = 4096


class Caller:
    """The visitor behind a request (from a verified token) and their inbox. Rows are
    detached copies: read them, write through a session."""

    def __init__(self, visitor: WebVisitor, inbox: Inbox) -> None:
        self.visitor = visitor
        self.inbox = inbox

    @property
    def mandatory(self) -> bool:
        return bool((self.inbox.config or {}).get("identity_mandatory"))

    def identity(self) -> Identity:
        if self.visitor.verified and self.visitor.external_id:
            return Identity(kind=EXTERNAL_IDENTITY, value=self.visitor.external_id)
        return Identity(kind=VISITOR_IDENTITY, value=str(self.visitor.id))

    def also_known_as(self) -> tuple[Identity, ...]:
        if self.visitor.verified and self.visitor.external_id:
            return (Identity(kind=VISITOR_IDENTITY, value=str(self.visitor.id)),)
        return ()

    def client_message_id(self, client_id: str) -> str:
        # Scoped by visitor, so one visitor's ids can never collide with (or probe) another's.
        return f"{self.visitor.id.hex}:{client_id}"

    def contact_facts(self, **override: str | None) -> ContactFacts:
        v = self.visitor
        values = {"name": v.name, "email": v.email, "phone": v.phone, **override}
        return ContactFacts(
            name=values["name"] or None,
            email=values["email"] or None,
            phone=values["phone"] or None,
            language=v.language,
            verified=v.verified,
        )

    def conversation_facts(self, extra: dict[str, Any] | None = None) -> ConversationFacts:
        v = self.visitor
        return ConversationFacts(
            entry_point=v.entry_point,
            page_url=v.page_url,
            page_title=v.page_title,
            referrer=v.referrer,
            language=v.language,
            attributes={**(v.attributes or {}), **(extra or {})},
        )


# --------------------------------------------------------------------------- limits


def limits_of(kefu: Kefu) -> tuple[Buckets, RateLimits]:
    """The process's buckets; tests may put their own `RateLimits` in extras."""
    buckets = kefu.extras.setdefault("web.buckets", Buckets())
    rules = kefu.extras.setdefault("web.rate_limits", RateLimits())
    assert isinstance(buckets, Buckets) and isinstance(rules, RateLimits)
    return buckets, rules


def check_rate(kefu: Kefu, key: str, rule: Rule) -> None:
    buckets, _ = limits_of(kefu)
    wait = buckets.take(key, rule, time.monotonic())
    if wait > 0:
        raise TooManyRequests(f"too many requests; try again in {max(1, round(wait))} s")


# --------------------------------------------------------------------------- sessions


async def authenticate(kefu: Kefu, token: str | None) -> Caller:
    if not token:
        raise Unauthorized("a visitor token is required (start a session first)")
    try:
        inbox_id, visitor_id = tokens.read_visitor(kefu.settings.secret_key, token)
    except tokens.BadToken as exc:
        raise Unauthorized(str(exc)) from None
    async with kefu.db.session() as session:
        visitor = await session.get(WebVisitor, visitor_id)
        inbox = await session.get(Inbox, inbox_id)
    if visitor is None or inbox is None or visitor.inbox_id != inbox.id or not inbox.active:
        raise Unauthorized("this visitor token is no longer valid; start a new session")
    return Caller(visitor, inbox)


async def refresh(kefu: Kefu, caller: Caller) -> Caller:
    """The caller with the visitor row as it is now: a long-lived socket must send the
    attributes and page the host page reported after it connected."""
    async with kefu.db.session() as session:
        visitor = await session.get(WebVisitor, caller.visitor.id)
        inbox = await session.get(Inbox, caller.inbox.id)
    if visitor is None or inbox is None or not inbox.active:
        raise Unauthorized("this visitor token is no longer valid; start a new session")
    return Caller(visitor, inbox)


async def _web_inbox(session: AsyncSession, public_key: str) -> Inbox:
    inbox = await session.scalar(
        sa.select(Inbox).where(
            Inbox.public_key == public_key, Inbox.kind == ChannelKind.web, Inbox.active.is_(True)
        )
    )
    if inbox is None:
        raise NotFound(f"no active web widget inbox has the key {public_key!r}")
    return inbox


def _apply_page(visitor: WebVisitor, page: PageIn) -> None:
    if page.url:
        visitor.page_url = page.url
        visitor.page_title = page.title
        if page.referrer:
            visitor.referrer = page.referrer


async def start_session(kefu: Kefu, data: SessionRequest, ip: str) -> SessionView:
    """A returning visitor (valid token for this inbox) gets their history; anyone else
    becomes a new anonymous visitor with a new token."""
    _, rules = limits_of(kefu)
    check_rate(kefu, f"session:ip:{ip}", rules.session_per_ip)
    now = utcnow()
    async with kefu.db.transaction() as session:
        inbox = await _web_inbox(session, data.inbox)
        visitor: WebVisitor | None = None
        if data.token:
            try:
                token_inbox, visitor_id = tokens.read_visitor(kefu.settings.secret_key, data.token)
            except tokens.BadToken:
                pass  # a stale or foreign token: this browser simply becomes a new visitor
            else:
                if token_inbox == inbox.id:
                    visitor = await session.get(WebVisitor, visitor_id)
        if visitor is None or visitor.inbox_id != inbox.id:
            visitor = WebVisitor(
                workspace_id=inbox.workspace_id, inbox_id=inbox.id, created_at=now, attributes={}
            )
            session.add(visitor)
        if data.entry:
            visitor.entry_point = data.entry
        if data.locale:
            visitor.language = data.locale
        _apply_page(visitor, data.page)
        visitor.last_seen_at = now
        await session.flush()
        return await _session_view(session, kefu, Caller(visitor, inbox), now)


async def _session_view(
    session: AsyncSession, kefu: Kefu, caller: Caller, now: datetime
) -> SessionView:
    conversation = await latest_conversation(session, caller)
    messages: list[VisitorMessage] = []
    view = None
    if conversation is not None:
        messages = await visitor_messages(session, conversation, after=0, last=HISTORY_LIMIT)
        view = await conversation_view(session, conversation, now)
    return SessionView(
        token=tokens.sign_visitor(kefu.settings.secret_key, caller.inbox.id, caller.visitor.id),
        visitor_id=caller.visitor.id,
        verified=caller.visitor.verified,
        prechat_done=caller.visitor.prechat_done,
        config=await widget_config(session, kefu, caller.inbox, now),
        conversation=view,
        messages=messages,
    )


async def identify(kefu: Kefu, caller: Caller, data: IdentifyRequest) -> SessionView:
    """Mark the visitor as the host site's user `data.id`. With a valid hash the contact is
    verified and linked to that user on every channel; without one, name and e-mail are
    taken as what the visitor says about themselves (and refused in mandatory mode)."""
    secret = str((caller.inbox.secrets or {}).get("identity_secret") or "")
    verified = False
    if data.hash is not None:
        if not secret or not tokens.identity_hash_matches(secret, data.id, data.hash):
            raise Forbidden(
                "the identify hash does not match this user id; compute "
                "HMAC-SHA256(the inbox's identity secret, id) as hex on your server"
            )
        verified = True
    elif caller.mandatory:
        raise Forbidden("this inbox only accepts verified users: identify needs a hash")
    now = utcnow()
    async with kefu.db.transaction() as session:
        visitor = await session.get(WebVisitor, caller.visitor.id)
        assert visitor is not None
        if verified and visitor.verified and visitor.external_id != data.id:
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
        if verified:
            visitor.external_id = data.id
            visitor.verified = True
        for name in ("name", "email", "phone"):
            value = getattr(data, name)
            if value:
                setattr(visitor, name, value)
        visitor.last_seen_at = now
        await session.flush()
        return await _session_view(session, kefu, Caller(visitor, caller.inbox), now)


async def prechat(kefu: Kefu, caller: Caller, data: PrechatRequest) -> None:
    fields = _prechat_fields(caller.inbox.config or {})
    missing = [f.name for f in fields if f.required and not (getattr(data, f.name) or "").strip()]
    if missing:
        raise Invalid(f"please fill in: {', '.join(missing)}")
    async with kefu.db.transaction() as session:
        visitor = await session.get(WebVisitor, caller.visitor.id)
        assert visitor is not None
        for name in ("name", "email", "phone"):
            value = (getattr(data, name) or "").strip()
            if value:
                setattr(visitor, name, value)
        visitor.prechat_done = True


async def set_attributes(kefu: Kefu, caller: Caller, attributes: dict[str, Any]) -> None:
    """Custom attributes from the host page; they travel with the next message."""
    merged = {**(caller.visitor.attributes or {}), **attributes}
    if len(merged) > MAX_ATTRIBUTES or len(msgspec.json.encode(merged)) > MAX_ATTRIBUTES_BYTES:
        raise Invalid(
            f"custom attributes are limited to {MAX_ATTRIBUTES} keys "
            f"and {MAX_ATTRIBUTES_BYTES} bytes"
        )
    for key, value in attributes.items():
        if not isinstance(value, str | int | float | bool) and value is not None:
            raise Invalid(f"attribute {key!r} must be a string, number, boolean or null")
    async with kefu.db.transaction() as session:
        visitor = await session.get(WebVisitor, caller.visitor.id)
        assert visitor is not None
        visitor.attributes = merged


# --------------------------------------------------------------------------- config


def _prechat_fields(config: dict[str, Any]) -> list[PrechatField]:
    try:
        return msgspec.convert(config.get("prechat_fields") or [], list[PrechatField])
    except msgspec.ValidationError:
        return []


async def agents_online(session: AsyncSession, inbox: Inbox) -> int:
    query = (
        sa.select(sa.func.count())
        .select_from(User)
        .where(
            User.workspace_id == inbox.workspace_id,
            User.active.is_(True),
            User.presence == Presence.online,
        )
    )
    if inbox.default_group_id is not None:
        query = query.where(
            User.id.in_(
                sa.select(GroupMember.user_id).where(GroupMember.group_id == inbox.default_group_id)
            )
        )
    return int(await session.scalar(query) or 0)


def in_business_hours(config: dict[str, Any], now: datetime) -> bool:
    raw = config.get("business_hours")
    if not raw:
        return True
    try:
        return hours.is_open(msgspec.convert(raw, hours.Calendar), now)
    except (msgspec.ValidationError, ValueError):
        # A broken calendar must not hide the chat; admins see the config error elsewhere.
        return True


async def widget_config(
    session: AsyncSession, kefu: Kefu, inbox: Inbox, now: datetime
) -> WidgetConfig:
    config = inbox.config or {}
    online = in_business_hours(config, now) and await agents_online(session, inbox) > 0
    offline_mode = config.get("offline_mode", "leave_message")
    return WidgetConfig(
        title=config.get("title"),
        greeting=config.get("greeting"),
        brand_color=str(config.get("color") or config.get("brand_color") or "#1f6feb"),
        avatar_url=config.get("avatar_url"),
        locales=[str(x) for x in config.get("locales") or ["zh-CN", "en"]],
        prechat_fields=_prechat_fields(config),
        identity_mandatory=bool(config.get("identity_mandatory")),
        online=online,
        offline_mode="chat" if offline_mode == "chat" else "leave_message",
        max_upload_bytes=kefu.settings.max_upload_bytes,
        upload_types=[t.strip() for t in kefu.settings.upload_types.split(",") if t.strip()],
    )


# --------------------------------------------------------------------------- reading


async def contact_of(session: AsyncSession, caller: Caller) -> uuid.UUID | None:
    identity = caller.identity()
    contact_id = await session.scalar(
        sa.select(ContactIdentity.contact_id).where(
            ContactIdentity.workspace_id == caller.inbox.workspace_id,
            ContactIdentity.kind == identity.kind,
            ContactIdentity.value == identity.value,
        )
    )
    # Follow merges: a merged contact's conversations live on under the survivor.
    for _ in range(10):
        if contact_id is None:
            return None
        merged_into = await session.scalar(
            sa.select(Contact.merged_into_id).where(Contact.id == contact_id)
        )
        if merged_into is None:
            return contact_id
        contact_id = merged_into
    return contact_id


async def latest_conversation(session: AsyncSession, caller: Caller) -> Conversation | None:
    contact_id = await contact_of(session, caller)
    if contact_id is None:
        return None
    return await session.scalar(
        sa.select(Conversation)
        .where(Conversation.inbox_id == caller.inbox.id, Conversation.contact_id == contact_id)
        .order_by(Conversation.created_at.desc(), Conversation.id.desc())
        .limit(1)
    )


async def owned_conversation(
    session: AsyncSession, caller: Caller, conversation_id: uuid.UUID
) -> Conversation:
    """The conversation if it is this visitor's; 404 otherwise (no hint that it exists)."""
    contact_id = await contact_of(session, caller)
    conversation = await session.get(Conversation, conversation_id)
    if (
        conversation is None
        or contact_id is None
        or conversation.contact_id != contact_id
        or conversation.inbox_id != caller.inbox.id
    ):
        raise NotFound(f"conversation {conversation_id} not found")
    return conversation


def visitor_message(message: Message, sender_name: str | None) -> VisitorMessage:
    client_id = message.client_message_id
    if client_id and ":" in client_id:
        client_id = client_id.split(":", 1)[1]
    return VisitorMessage(
        id=message.id,
        conversation_id=message.conversation_id,
        seq=message.seq,
        direction=message.direction,
        sender_kind=message.sender_kind,
        sender_name=sender_name,
        type=message.type,
        body=message.body,
        attachments=msgspec.convert(message.attachments or [], list[Attachment]),
        delivery_status=message.delivery_status,
        client_message_id=client_id,
        created_at=message.created_at,
    )


async def visitor_messages(
    session: AsyncSession, conversation: Conversation, *, after: int, last: int | None = None
) -> list[VisitorMessage]:
    """Messages after `after` (oldest first), or the `last` ones; never internal notes."""
    query = sa.select(Message).where(
        Message.conversation_id == conversation.id,
        Message.seq > after,
        Message.direction != Direction.note,
    )
    if last is not None:
        query = query.order_by(Message.seq.desc()).limit(last)
    else:
        query = query.order_by(Message.seq).limit(500)
    rows = list((await session.scalars(query)).all())
    if last is not None:
        rows.reverse()
    names = await sender_names(session, rows)
    return [visitor_message(m, names.get(m.sender_id) if m.sender_id else None) for m in rows]


async def conversation_view(
    session: AsyncSession, conversation: Conversation, now: datetime
) -> ConversationView:
    assignee = (
        await session.get(User, conversation.assignee_id) if conversation.assignee_id else None
    )
    queue = await queue_status(session, conversation, now)
    wait = queue.estimated_wait_seconds
    return ConversationView(
        id=conversation.id,
        status=conversation.status,
        last_seq=conversation.last_seq,
        assignee_name=assignee.name if assignee else None,
        assignee_avatar=assignee.avatar_url if assignee else None,
        queue_position=queue.position,
        estimated_wait_seconds=round(wait) if wait is not None else None,
        csat_score=conversation.csat_score,
    )


async def messages_after(
    kefu: Kefu, caller: Caller, conversation_id: uuid.UUID | None, after: int
) -> MessagesPage:
    """The HTTP fallback's poll: what the visitor has not seen yet."""
    async with kefu.db.session() as session:
        conversation: Conversation | None
        if conversation_id is not None:
            conversation = await owned_conversation(session, caller, conversation_id)
        else:
            conversation = await latest_conversation(session, caller)
        if conversation is None:
            return MessagesPage(conversation=None, messages=[])
        return MessagesPage(
            conversation=await conversation_view(session, conversation, utcnow()),
            messages=await visitor_messages(session, conversation, after=after),
        )


# --------------------------------------------------------------------------- writing


def require_allowed(caller: Caller) -> None:
    if caller.mandatory and not caller.visitor.verified:
        raise Forbidden(
            "this inbox only takes chats from signed-in users of the site; "
            "the page must call kefu('identify', {id, hash})"
        )


def _our_attachments(kefu: Kefu, attachments: list[Attachment]) -> tuple[Attachment, ...]:
    """Only files this server stored for the widget may be attached, described by what
    was sniffed from them, not by what the client claims."""
    checked = []
    for attachment in attachments:
        key = (
            attachment.url.removeprefix(MEDIA_PREFIX)
            if attachment.url.startswith(MEDIA_PREFIX)
            else ""
        )
        found = locate(kefu.settings.media_dir, key) if key else None
        if found is None:
            raise Invalid("attachments must be uploaded through /api/v1/widget/uploads first")
        path, content_type = found
        checked.append(
            Attachment(
                name=attachment.name[:200] or key,
                content_type=content_type,
                size=path.stat().st_size,
                url=MEDIA_PREFIX + key,
            )
        )
    return tuple(checked)


async def send(
    kefu: Kefu,
    caller: Caller,
    *,
    client_id: str,
    body: str,
    type: str = "text",
    attachments: list[Attachment] | None = None,
    ip: str = "",
) -> SendResult:
    """Store one visitor message (once, however often it is resent) and return it."""
    require_allowed(caller)
    _, rules = limits_of(kefu)
    check_rate(kefu, f"message:visitor:{caller.visitor.id}", rules.message_per_visitor)
    if ip:
        check_rate(kefu, f"message:ip:{ip}", rules.message_per_ip)
    files = _our_attachments(kefu, attachments or [])
    if not body.strip() and not files:
        raise Invalid("a message needs text or an attachment")
    message_type = MessageType(type) if files else MessageType.text
    result = await ingest(
        kefu,
        Inbound(
            inbox_id=caller.inbox.id,
            identity=caller.identity(),
            also_known_as=caller.also_known_as(),
            client_message_id=caller.client_message_id(client_id),
            type=message_type,
            body=body.strip(),
            attachments=files,
            contact=caller.contact_facts(),
            facts=caller.conversation_facts(),
        ),
    )
    assert result.conversation_id is not None and result.message_id is not None
    async with kefu.db.session() as session:
        message = await session.get(Message, result.message_id)
        assert message is not None
        names = await sender_names(session, [message])
    return SendResult(
        conversation_id=result.conversation_id,
        seq=message.seq,
        duplicate=result.duplicate,
        message=visitor_message(
            message, names.get(message.sender_id) if message.sender_id else None
        ),
    )


async def leave_message(
    kefu: Kefu, caller: Caller, data: LeaveMessageRequest, ip: str
) -> uuid.UUID:
    """A message left while no one is available: a conversation like any other, with the
    e-mail or phone the team replies to on the contact."""
    require_allowed(caller)
    _, rules = limits_of(kefu)
    check_rate(kefu, f"leave:ip:{ip}", rules.leave_message_per_ip)
    email = (data.email or "").strip() or None
    phone = (data.phone or "").strip() or None
    if not email and not phone:
        raise Invalid("leave an e-mail address or a phone number so the team can reply")
    if email and ("@" not in email or len(email) < 3):
        raise Invalid("that e-mail address does not look right")
    async with kefu.db.transaction() as session:
        visitor = await session.get(WebVisitor, caller.visitor.id)
        assert visitor is not None
        visitor.name = (data.name or "").strip() or visitor.name
        visitor.email = email or visitor.email
        visitor.phone = phone or visitor.phone
        caller = Caller(visitor, caller.inbox)
    result = await ingest(
        kefu,
        Inbound(
            inbox_id=caller.inbox.id,
            identity=caller.identity(),
            also_known_as=caller.also_known_as(),
            client_message_id=caller.client_message_id("lm" + secrets.token_hex(8)),
            body=data.body.strip(),
            contact=caller.contact_facts(),
            facts=caller.conversation_facts(
                {"left_message": True, "reply_to": email or phone or ""}
            ),
        ),
    )
    assert result.conversation_id is not None
    return result.conversation_id


async def rate(kefu: Kefu, caller: Caller, data: RatingRequest) -> None:
    """Satisfaction (1-5 and a comment) for a resolved conversation, once."""
    async with kefu.db.transaction() as session:
        conversation = await owned_conversation(session, caller, data.conversation_id)
        if conversation.status != ConversationStatus.resolved:
            raise Conflict("a conversation can be rated once it is resolved")
        if conversation.csat_score is not None:
            raise Conflict("this conversation has already been rated")
        conversation.csat_score = data.score
        conversation.csat_comment = data.comment.strip() or None
        conversation.updated_at = utcnow()
        log_event(
            session,
            conversation,
            "rated",
            SenderKind.contact,
            conversation.contact_id,
            {"score": data.score, "comment": conversation.csat_comment},
        )
        event = conversation_event(conversation, "rated")
    kefu.events.publish(event)


async def typing(kefu: Kefu, caller: Caller, is_typing: bool) -> None:
    async with kefu.db.session() as session:
        conversation = await latest_conversation(session, caller)
    if conversation is None or conversation.status == ConversationStatus.resolved:
        return
    kefu.events.publish(
        TypingEvent(
            workspace_id=conversation.workspace_id,
            conversation_id=conversation.id,
            sender_kind=SenderKind.contact,
            sender_name=caller.visitor.name,
            typing=is_typing,
        )
    )


async def mark_read(kefu: Kefu, caller: Caller, conversation_id: uuid.UUID, seq: int) -> int:
    """The visitor has seen replies up to `seq`: they become `read` for the agent."""
    async with kefu.db.transaction() as session:
        conversation = await owned_conversation(session, caller, conversation_id)
        rows = list(
            (
                await session.scalars(
                    sa.select(Message).where(
                        Message.conversation_id == conversation.id,
                        Message.direction == Direction.outbound,
                        Message.seq <= seq,
                        Message.delivery_status.in_(
                            [DeliveryStatus.sent, DeliveryStatus.delivered]
                        ),
                    )
                )
            ).all()
        )
        for message in rows:
            message.delivery_status = DeliveryStatus.read
        await session.flush()
        names = await sender_names(session, rows)
        events = [message_event(m, names.get(m.sender_id) if m.sender_id else None) for m in rows]
    for event in events:
        kefu.events.publish(event)
    return len(events)


# --------------------------------------------------------------------------- page views


async def record_page_view(kefu: Kefu, caller: Caller, page: PageIn) -> uuid.UUID:
    if not page.url:
        raise Invalid("a page view needs the page's url")
    now = utcnow()
    async with kefu.db.transaction() as session:
        visitor = await session.get(WebVisitor, caller.visitor.id)
        assert visitor is not None
        _apply_page(visitor, page)
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


async def page_left(kefu: Kefu, caller: Caller, view_id: uuid.UUID, seconds: int) -> None:
    async with kefu.db.transaction() as session:
        view = await session.get(WebPageView, view_id)
        if view is None or view.visitor_id != caller.visitor.id:
            raise NotFound(f"page view {view_id} not found")
        view.seconds_on_page = seconds


async def page_views_of_contact(
    session: AsyncSession, workspace_id: uuid.UUID, contact_id: uuid.UUID, limit: int = 100
) -> list[PageViewOut]:
    """The pages a contact's browsers showed the widget on, newest first (for agents)."""
    values = (
        await session.scalars(
            sa.select(ContactIdentity.value).where(
                ContactIdentity.workspace_id == workspace_id,
                ContactIdentity.contact_id == contact_id,
                ContactIdentity.kind == VISITOR_IDENTITY,
            )
        )
    ).all()
    visitor_ids = [uuid.UUID(v) for v in values]
    if not visitor_ids:
        return []
    rows = (
        await session.scalars(
            sa.select(WebPageView)
            .where(
                WebPageView.workspace_id == workspace_id, WebPageView.visitor_id.in_(visitor_ids)
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
