"""The visitor side of the web widget: who the caller is (the signed token), what the
widget shows (its config, online or not), and the visitor API's rules (limits, pre-chat
fields, identify hashes, uploads we stored). Rows belong to the core: visitors and their
pages to `kefu.visitors`, messages to `kefu.conversations` (entered through `ingest`
like every channel's), ratings, read receipts and typing to `conversations.feedback`,
"online" to `kefu.routing.availability`.

A visitor sees only conversations of their own contact in the widget's inbox, and never
internal notes.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any

import msgspec

from kefu import ratelimit
from kefu.channel_state.inboxes import ChannelInbox, active_inbox, active_inbox_by_key
from kefu.connectors.web import tokens
from kefu.connectors.web.schemas import (
    IdentifyRequest,
    LeaveMessageRequest,
    LeftMessage,
    MessagesPage,
    PageIn,
    PrechatField,
    PrechatRequest,
    RatingRequest,
    SendResult,
    SessionRequest,
    SessionView,
    WidgetConfig,
)
from kefu.connectors.web.uploads import locate
from kefu.context import Kefu
from kefu.conversations import feedback
from kefu.conversations.ingest import ingest
from kefu.errors import Forbidden, Invalid, NotFound, Unauthorized
from kefu.i18n import Text
from kefu.model import (
    Attachment,
    ChannelKind,
    ContactFacts,
    ConversationFacts,
    Identity,
    Inbound,
    MessageType,
    utcnow,
)
from kefu.ratelimit import Rule
from kefu.routing.availability import inbox_availability
from kefu.tickets import intake as tickets
from kefu.visitors import pages, reading, sessions
from kefu.visitors.schemas import Visitor

MEDIA_PREFIX = "/api/v1/widget/media/"
HISTORY_LIMIT = reading.HISTORY_LIMIT
MAX_ATTRIBUTES = 50
MAX_ATTRIBUTES_BYTES = 4096


class Caller:
    """The visitor behind a request (from a verified token) and their inbox, as frozen
    values read when the request came in."""

    def __init__(
        self, visitor: Visitor, inbox: ChannelInbox, issued_at: datetime | None = None
    ) -> None:
        self.visitor = visitor
        self.inbox = inbox
        # When the token presented was issued (a long-lived socket re-checks revocation).
        self.issued_at = issued_at

    @property
    def mandatory(self) -> bool:
        return bool((self.inbox.config or {}).get("identity_mandatory"))

    def identity(self) -> Identity:
        return sessions.identity_of(self.visitor)

    def also_known_as(self) -> tuple[Identity, ...]:
        return sessions.also_known_as(self.visitor)

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


async def check_rate(kefu: Kefu, key: str, rule: Rule) -> None:
    await ratelimit.check(kefu, (key, rule))


# --------------------------------------------------------------------------- sessions


VISITOR_BLOCKED = Text(
    "This chat is not available to you.",
    "您无法使用此在线咨询。",
)
TOKEN_REVOKED = Text(
    "This visitor token was revoked; start a new session.",
    "该访客令牌已被撤销，请重新开始会话。",
)


async def _caller(
    kefu: Kefu, inbox_id: uuid.UUID, visitor_id: uuid.UUID, issued_at: datetime | None = None
) -> Caller:
    inbox = await active_inbox(kefu, inbox_id, ChannelKind.web)
    visitor = await sessions.find(kefu, inbox_id, visitor_id) if inbox is not None else None
    if inbox is None or visitor is None:
        raise Unauthorized("this visitor token is no longer valid; start a new session")
    if visitor.blocked:
        raise Forbidden(VISITOR_BLOCKED)
    revoked = visitor.tokens_valid_after
    if issued_at is not None and revoked is not None and issued_at < revoked:
        raise Unauthorized(TOKEN_REVOKED)
    return Caller(visitor, inbox, issued_at)


def _read(kefu: Kefu, token: str) -> tokens.VisitorToken:
    return tokens.read_visitor(
        kefu.settings.secret_key,
        token,
        now=utcnow(),
        max_age=timedelta(hours=kefu.settings.visitor_token_hours),
    )


async def authenticate(kefu: Kefu, token: str | None) -> Caller:
    if not token:
        raise Unauthorized("a visitor token is required (start a session first)")
    try:
        read = _read(kefu, token)
    except tokens.BadToken as exc:
        raise Unauthorized(str(exc)) from None
    return await _caller(kefu, read.inbox_id, read.visitor_id, read.issued_at)


async def refresh(kefu: Kefu, caller: Caller) -> Caller:
    """The caller with the visitor row as it is now: a long-lived socket must send the
    attributes and page the host page reported after it connected."""
    return await _caller(kefu, caller.inbox.id, caller.visitor.id, caller.issued_at)


async def start_session(kefu: Kefu, data: SessionRequest, ip: str) -> SessionView:
    """A returning visitor (valid token for this inbox) gets their history; anyone else
    becomes a new anonymous visitor with a new token."""
    await check_rate(kefu, f"session:ip:{ip}", kefu.rate_limits.session_per_ip)
    inbox = await active_inbox_by_key(kefu, data.inbox, ChannelKind.web)
    if inbox is None:
        raise NotFound(f"no active web widget inbox has the key {data.inbox!r}")
    returning: uuid.UUID | None = None
    if data.token:
        try:
            read = _read(kefu, data.token)
        except tokens.BadToken:
            pass  # a stale, expired or foreign token: this browser becomes a new visitor
        else:
            if read.inbox_id == inbox.id:
                known = await sessions.find(kefu, inbox.id, read.visitor_id)
                if known is not None and known.blocked:
                    raise Forbidden(VISITOR_BLOCKED)
                revoked = known.tokens_valid_after if known is not None else None
                if revoked is None or read.issued_at >= revoked:
                    returning = read.visitor_id
    visitor = await sessions.start(
        kefu,
        inbox.workspace_id,
        inbox.id,
        returning,
        entry=data.entry,
        locale=data.locale,
        page=data.page,
    )
    return await _session_view(kefu, Caller(visitor, inbox))


async def _session_view(kefu: Kefu, caller: Caller) -> SessionView:
    thread = await reading.thread(kefu, caller.visitor, last=HISTORY_LIMIT)
    # Every session answer carries a fresh token: the widget asks again before this one
    # expires (at half its life), so a visitor never meets the expiry.
    issued = utcnow()
    return SessionView(
        token=tokens.sign_visitor(
            kefu.settings.secret_key, caller.inbox.id, caller.visitor.id, issued
        ),
        token_expires_at=tokens.expires_at(
            issued, timedelta(hours=kefu.settings.visitor_token_hours)
        ),
        visitor_id=caller.visitor.id,
        verified=caller.visitor.verified,
        prechat_done=caller.visitor.prechat_done,
        config=await widget_config(kefu, caller.inbox, utcnow()),
        conversation=thread.conversation,
        messages=thread.messages,
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
    visitor = await sessions.identify(
        kefu,
        caller.visitor.id,
        verified_id=data.id if verified else None,
        name=data.name,
        email=data.email,
        phone=data.phone,
    )
    return await _session_view(kefu, Caller(visitor, caller.inbox))


async def prechat(kefu: Kefu, caller: Caller, data: PrechatRequest) -> None:
    fields = _prechat_fields(caller.inbox.config or {})
    missing = [f.name for f in fields if f.required and not (getattr(data, f.name) or "").strip()]
    if missing:
        raise Invalid(f"please fill in: {', '.join(missing)}")
    await sessions.update_details(
        kefu,
        caller.visitor.id,
        name=data.name,
        email=data.email,
        phone=data.phone,
        prechat_done=True,
    )


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
    await sessions.set_attributes(kefu, caller.visitor.id, attributes)


# --------------------------------------------------------------------------- config


def _prechat_fields(config: dict[str, Any]) -> list[PrechatField]:
    try:
        return msgspec.convert(config.get("prechat_fields") or [], list[PrechatField])
    except msgspec.ValidationError:
        return []


async def widget_config(kefu: Kefu, inbox: ChannelInbox, now: datetime) -> WidgetConfig:
    config = inbox.config or {}
    # Online: within the linked calendar's hours (routing's; none = always) and someone
    # who serves this inbox is online.
    available = await inbox_availability(
        kefu, inbox.workspace_id, inbox.default_group_id, config, now
    )
    offline_mode = config.get("offline_mode", "leave_message")
    return WidgetConfig(
        title=config.get("title"),
        greeting=config.get("greeting"),
        brand_color=str(config.get("color") or config.get("brand_color") or "#1f6feb"),
        avatar_url=config.get("avatar_url"),
        locales=[str(x) for x in config.get("locales") or ["zh-CN", "en"]],
        prechat_fields=_prechat_fields(config),
        identity_mandatory=bool(config.get("identity_mandatory")),
        online=available.served,
        offline_mode="chat" if offline_mode == "chat" else "leave_message",
        max_upload_bytes=kefu.settings.max_upload_bytes,
        upload_types=[t.strip() for t in kefu.settings.upload_types.split(",") if t.strip()],
        voice=bool(config.get("voice_inbox_id")),
    )


# --------------------------------------------------------------------------- reading


async def messages_after(
    kefu: Kefu, caller: Caller, conversation_id: uuid.UUID | None, after: int
) -> MessagesPage:
    """The HTTP fallback's poll: what the visitor has not seen yet."""
    thread = await reading.thread(kefu, caller.visitor, conversation_id, after=after)
    return MessagesPage(conversation=thread.conversation, messages=thread.messages)


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
    rules = kefu.rate_limits
    takes = [(f"message:visitor:{caller.visitor.id}", rules.message_per_visitor)]
    if ip:
        takes.append((f"message:ip:{ip}", rules.message_per_ip))
    await ratelimit.check(kefu, *takes)
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
    message = await reading.message(kefu, result.message_id)
    return SendResult(
        conversation_id=result.conversation_id,
        seq=message.seq,
        duplicate=result.duplicate,
        message=message,
    )


async def leave_message(
    kefu: Kefu, caller: Caller, data: LeaveMessageRequest, ip: str
) -> LeftMessage:
    """A message left while no one is available: a conversation like any other, with the
    e-mail or phone the team replies to on the contact; a web-form ticket too when the
    inbox says so (`leave_message_ticket`), whose number the visitor is shown."""
    require_allowed(caller)
    await check_rate(kefu, f"leave:ip:{ip}", kefu.rate_limits.leave_message_per_ip)
    email = (data.email or "").strip() or None
    phone = (data.phone or "").strip() or None
    if not email and not phone:
        raise Invalid("leave an e-mail address or a phone number so the team can reply")
    if email and ("@" not in email or len(email) < 3):
        raise Invalid("that e-mail address does not look right")
    visitor = await sessions.update_details(
        kefu, caller.visitor.id, name=data.name, email=email, phone=phone
    )
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
                # `reply_email`: the address the reply is mailed to when the web inbox
                # answers left messages by e-mail (kefu.conversations.relay).
                {"left_message": True, "reply_to": email or phone or "", "reply_email": email}
            ),
        ),
    )
    assert result.conversation_id is not None
    # Read by name: rows written before these settings existed still convert.
    config = caller.inbox.config or {}
    if not config.get("leave_message_ticket"):
        return LeftMessage(conversation_id=result.conversation_id)
    department = config.get("leave_message_department_id")
    opened = await tickets.open_ticket(
        kefu,
        result.conversation_id,
        source="web_form",
        department_id=uuid.UUID(str(department)) if department else None,
        text=data.body.strip(),
    )
    return LeftMessage(
        conversation_id=result.conversation_id,
        ticket_number=opened.number,
        # The notice with the number goes by mail when the inbox answers left messages so.
        ticket_emailed=bool(email and config.get("reply_email_inbox_id")),
    )


async def rate(kefu: Kefu, caller: Caller, data: RatingRequest) -> None:
    """Satisfaction (1-5 and a comment) for a resolved conversation, once."""
    customer = await reading.customer(kefu, caller.visitor)
    await feedback.rate(kefu, customer, data.conversation_id, data.score, data.comment)


async def typing(kefu: Kefu, caller: Caller, is_typing: bool) -> None:
    await check_rate(
        kefu, f"typing:visitor:{caller.visitor.id}", kefu.rate_limits.typing_per_visitor
    )
    customer = await reading.customer(kefu, caller.visitor)
    await feedback.customer_typing(kefu, customer, caller.visitor.name, is_typing)


async def mark_read(kefu: Kefu, caller: Caller, conversation_id: uuid.UUID, seq: int) -> int:
    """The visitor has seen replies up to `seq`: they become `read` for the agent."""
    customer = await reading.customer(kefu, caller.visitor)
    return await feedback.mark_read(kefu, customer, conversation_id, seq)


# --------------------------------------------------------------------------- page views


async def record_page_view(kefu: Kefu, caller: Caller, page: PageIn) -> uuid.UUID:
    if not page.url:
        raise Invalid("a page view needs the page's url")
    await check_rate(
        kefu, f"pageview:visitor:{caller.visitor.id}", kefu.rate_limits.page_view_per_visitor
    )
    return await pages.record_page_view(kefu, caller.visitor.id, page)


async def page_left(kefu: Kefu, caller: Caller, view_id: uuid.UUID, seconds: int) -> None:
    await pages.page_left(kefu, caller.visitor.id, view_id, seconds)
