"""What the console shows beside an SMS conversation's reply box: the signature the
customer sees (counted in the length), whether they opted out, and for Tencent inboxes
the approved templates to fill in."""

from __future__ import annotations

import uuid

import msgspec
from litestar import Controller, get

from kefu.channel_state.inboxes import active_inbox
from kefu.context import Kefu
from kefu.conversations.replies import reply_facts
from kefu.errors import Invalid, NotFound
from kefu.model import ChannelKind
from kefu.people.auth import STAFF, AuthUser, require_role


class Template(msgspec.Struct, frozen=True):
    id: str
    text: str


class SmsComposer(msgspec.Struct, frozen=True, kw_only=True):
    provider: str
    signature: str
    opted_out: bool
    templates_only: bool
    templates: list[Template]


class SmsComposerController(Controller):
    path = "/api/v1/sms/conversations"
    tags = ("connectors",)
    guards = (require_role(*STAFF),)

    @get("/{conversation_id:uuid}/composer")
    async def composer(self, kefu: Kefu, user: AuthUser, conversation_id: uuid.UUID) -> SmsComposer:
        facts = await reply_facts(kefu, user, conversation_id)  # 404 unless visible
        if facts.channel != ChannelKind.sms or facts.inbox_id is None:
            raise Invalid("only SMS conversations have an SMS composer")
        inbox = await active_inbox(kefu, facts.inbox_id, ChannelKind.sms)
        if inbox is None:
            raise NotFound(f"conversation {conversation_id} not found")
        provider = str(inbox.config.get("provider") or "twilio")
        return SmsComposer(
            provider=provider,
            signature=str(inbox.config.get("sign_name") or "") if provider != "twilio" else "",
            opted_out=facts.opted_out,
            templates_only=provider == "tencent",
            templates=[
                Template(str(t.get("id", "")), str(t.get("text", "")))
                for t in inbox.config.get("templates") or []
            ],
        )
