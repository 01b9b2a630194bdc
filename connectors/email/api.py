"""`POST /connectors/email/{inbox_id}/mime`: relays (Postfix pipe, Mailgun/SES-style
forwarders) hand over one RFC 822 mail with `Authorization: Bearer <inbound_token>`.
2xx once the mail is stored (or set aside with the reason); 4xx says what is wrong."""

from __future__ import annotations

import hmac
import uuid
from typing import Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.status_codes import HTTP_202_ACCEPTED

from kefu.channel_state.inboxes import active_inbox, cached_inbox
from kefu.connectors.email import intake
from kefu.connectors.email.connector import media_of
from kefu.context import Kefu
from kefu.errors import Invalid, NotFound, TooLarge, Unauthorized, UnsupportedType
from kefu.i18n import Text, locale_of
from kefu.mail import store
from kefu.model import ChannelKind
from kefu.people.auth import MANAGERS, AuthUser, require_role

# The route's own cap (the configured `email_max_bytes` is checked while reading).
ROUTE_MAX_BYTES = 2_000_000_000


class MimeAccepted(msgspec.Struct, frozen=True):
    status: str
    reason: str
    conversation_id: uuid.UUID | None
    message_id: uuid.UUID | None


class EmailMime(Controller):
    path = "/connectors/email"
    tags = ["connectors"]

    @post(
        "/{inbox_id:uuid}/mime",
        status_code=HTTP_202_ACCEPTED,
        request_max_body_size=ROUTE_MAX_BYTES,
    )
    async def receive(
        self, kefu: Kefu, request: Request[Any, Any, Any], inbox_id: uuid.UUID
    ) -> MimeAccepted:
        inbox = await active_inbox(kefu, inbox_id, ChannelKind.email)
        if inbox is None:
            raise NotFound(Text(f"no e-mail inbox {inbox_id}", f"没有邮件收件箱 {inbox_id}"))
        token = str(inbox.secrets.get("inbound_token", ""))
        given = request.headers.get("authorization", "")
        scheme, _, value = given.partition(" ")
        if (
            not token
            or scheme.lower() != "bearer"
            or not hmac.compare_digest(value.strip().encode(), token.encode())
        ):
            raise Unauthorized(
                Text(
                    "Wrong or missing inbound token (Authorization: Bearer …).",
                    "投递令牌错误或缺失（Authorization: Bearer …）。",
                )
            )
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype not in ("message/rfc822", "application/octet-stream", "text/plain"):
            raise UnsupportedType(
                Text(
                    "Send the mail as Content-Type: message/rfc822.",
                    "请以 Content-Type: message/rfc822 发送邮件。",
                )
            )
        limit = kefu.settings.email_max_bytes
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise TooLarge(
                    Text(
                        f"The mail is larger than the {limit}-byte limit.",
                        f"邮件超过 {limit} 字节的上限。",
                    )
                )
            chunks.append(chunk)
        raw = b"".join(chunks)
        outcome = await intake.take(kefu, inbox, raw, source="mime", media=media_of(kefu))
        if outcome.status == "failed" and outcome.reason.startswith("not a mail"):
            why = outcome.reason.removeprefix("not a mail: ")
            raise Invalid(Text(f"This is not a mail: {why}.", f"这不是一封邮件：{why}。"))
        return MimeAccepted(
            outcome.status, outcome.reason, outcome.conversation_id, outcome.message_id
        )


class EmailStatus(Controller):
    """`GET /api/v1/inboxes/{id}/mail`: the mailbox's last error in its server's words and
    the latest mails set aside (unreadable, too large, auto-replies, bounces), for the
    inbox's admin page."""

    path = "/api/v1/inboxes/{inbox_id:uuid}/mail"
    tags = ["inboxes"]
    guards = (require_role(*MANAGERS),)

    @get("/")
    async def status(
        self,
        kefu: Kefu,
        user: AuthUser,
        inbox_id: uuid.UUID,
        request: Request[Any, Any, Any],
    ) -> store.MailStatus:
        inbox = await cached_inbox(kefu, inbox_id)
        # Any inbox of the workspace answers (another channel's has no mail set aside).
        if inbox is None or inbox.workspace_id != user.workspace_id:
            raise NotFound(Text(f"no inbox {inbox_id}", f"没有收件箱 {inbox_id}"))
        locale = locale_of(request.headers.get("accept-language"))
        return store.localized(await store.status(kefu, inbox_id), locale)
