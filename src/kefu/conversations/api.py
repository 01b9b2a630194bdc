"""HTTP: the agent's view of conversations. Handlers stay thin: scope, call, return."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import msgspec
import sqlalchemy as sa
from litestar import Controller, Request, get, patch, post
from litestar.params import Parameter

from kefu.context import Kefu
from kefu.conversations import actions
from kefu.conversations.actions import actor_of
from kefu.conversations.queries import (
    Filters,
    conversation_out,
    get_visible,
    list_conversations,
    messages_page,
)
from kefu.conversations.schemas import (
    AssignRequest,
    ConversationOut,
    ConversationPage,
    ConversationUpdate,
    EventOut,
    EventPage,
    MessagePage,
    ReplyRequest,
    SnoozeRequest,
    TransferRequest,
)
from kefu.db.tables import Contact, ConversationEventRow
from kefu.errors import Forbidden
from kefu.i18n import locale_of
from kefu.mail import reasons
from kefu.model import INT32_MAX, ChannelKind, ConversationStatus, MessageView, Role
from kefu.people.auth import STAFF, AuthUser, require_role


class ConversationsController(Controller):
    path = "/api/v1/conversations"
    tags = ["conversations"]
    guards = [require_role(*STAFF)]

    @get("/")
    async def list_conversations(
        self,
        kefu: Kefu,
        user: AuthUser,
        status: list[ConversationStatus] | None = None,
        assignee: str | None = None,
        group: uuid.UUID | None = None,
        inbox: uuid.UUID | None = None,
        channel: ChannelKind | None = None,
        label: str | None = None,
        q: str | None = None,
        contact: uuid.UUID | None = None,
        mentioned: bool = False,
        cursor: str | None = None,
        limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
    ) -> ConversationPage:
        filters = Filters(
            status=status or [],
            assignee=assignee,
            group=group,
            inbox=inbox,
            channel=channel,
            label=label,
            q=q,
            contact=contact,
            mentioned=mentioned,
        )
        async with kefu.db.session() as session:
            items, next_cursor = await list_conversations(session, user, filters, cursor, limit)
        return ConversationPage(items=items, next=next_cursor)

    @get("/{conversation_id:uuid}")
    async def get_conversation(
        self, kefu: Kefu, user: AuthUser, conversation_id: uuid.UUID
    ) -> ConversationOut:
        async with kefu.db.session() as session:
            conversation = await get_visible(session, user, conversation_id)
            contact = await session.get(Contact, conversation.contact_id)
            assert contact is not None
            return conversation_out(conversation, contact)

    @patch("/{conversation_id:uuid}")
    async def update_conversation(
        self, kefu: Kefu, user: AuthUser, conversation_id: uuid.UUID, data: ConversationUpdate
    ) -> ConversationOut:
        return await actions.update(
            kefu,
            conversation_id,
            actor_of(user),
            labels=data.labels,
            priority=data.priority,
            email=data.email,
        )

    @get("/{conversation_id:uuid}/messages")
    async def list_messages(
        self,
        kefu: Kefu,
        user: AuthUser,
        conversation_id: uuid.UUID,
        request: Request[Any, Any, Any],
        after_seq: Annotated[int, Parameter(ge=0, le=INT32_MAX)] = 0,
        before_seq: Annotated[int | None, Parameter(ge=0, le=INT32_MAX)] = None,
        limit: Annotated[int, Parameter(ge=1, le=500)] = 100,
    ) -> MessagePage:
        async with kefu.db.session() as session:
            conversation = await get_visible(session, user, conversation_id)
            items = await messages_page(
                session, conversation, after_seq=after_seq, before_seq=before_seq, limit=limit
            )
        # Why a reply failed, in the agent's language (stored in English: kefu.mail.reasons).
        locale = locale_of(request.headers.get("accept-language"))
        return MessagePage(
            items=[
                msgspec.structs.replace(
                    m, failure_reason=reasons.localized(m.failure_reason, locale)
                )
                if m.failure_reason
                else m
                for m in items
            ]
        )

    @post("/{conversation_id:uuid}/messages")
    async def post_message(
        self, kefu: Kefu, user: AuthUser, conversation_id: uuid.UUID, data: ReplyRequest
    ) -> MessageView:
        return await actions.reply(
            kefu,
            conversation_id,
            actor_of(user),
            data.body,
            note=data.note,
            type=data.type,
            attachments=tuple(data.attachments),
            client_message_id=data.client_message_id,
            override_capacity=data.override_capacity,
        )

    @get("/{conversation_id:uuid}/events")
    async def list_events(
        self, kefu: Kefu, user: AuthUser, conversation_id: uuid.UUID
    ) -> EventPage:
        async with kefu.db.session() as session:
            await get_visible(session, user, conversation_id)
            rows = (
                await session.scalars(
                    sa.select(ConversationEventRow)
                    .where(
                        ConversationEventRow.conversation_id == conversation_id,
                        ConversationEventRow.workspace_id == user.workspace_id,
                    )
                    .order_by(ConversationEventRow.id)
                )
            ).all()
        return EventPage(
            items=[
                EventOut(
                    id=r.id,
                    type=r.type,
                    actor_kind=r.actor_kind,
                    actor_id=r.actor_id,
                    data=r.data,
                    created_at=r.created_at,
                )
                for r in rows
            ]
        )

    @post("/{conversation_id:uuid}/assign")
    async def assign(
        self, kefu: Kefu, user: AuthUser, conversation_id: uuid.UUID, data: AssignRequest
    ) -> ConversationOut:
        if user.role == Role.agent and data.assignee_id not in (user.id, None):
            # Seen first (404) before refused (403), as before: ids reveal nothing.
            async with kefu.db.session() as session:
                await get_visible(session, user, conversation_id)
            raise Forbidden("agents can take a conversation themselves; use transfer to hand it on")
        return await actions.assign(
            kefu,
            conversation_id,
            actor_of(user),
            assignee_id=data.assignee_id,
            override_capacity=data.override_capacity,
        )

    @post("/{conversation_id:uuid}/transfer")
    async def transfer(
        self, kefu: Kefu, user: AuthUser, conversation_id: uuid.UUID, data: TransferRequest
    ) -> ConversationOut:
        return await actions.assign(
            kefu,
            conversation_id,
            actor_of(user),
            assignee_id=data.assignee_id,
            group_id=data.group_id,
            note=data.note,
            transfer=True,
            override_capacity=data.override_capacity,
        )

    @post("/{conversation_id:uuid}/resolve")
    async def resolve(
        self, kefu: Kefu, user: AuthUser, conversation_id: uuid.UUID
    ) -> ConversationOut:
        return await actions.change_status(
            kefu, conversation_id, actor_of(user), ConversationStatus.resolved
        )

    @post("/{conversation_id:uuid}/reopen")
    async def reopen(
        self, kefu: Kefu, user: AuthUser, conversation_id: uuid.UUID
    ) -> ConversationOut:
        return await actions.change_status(
            kefu, conversation_id, actor_of(user), ConversationStatus.open
        )

    @post("/{conversation_id:uuid}/snooze")
    async def snooze(
        self, kefu: Kefu, user: AuthUser, conversation_id: uuid.UUID, data: SnoozeRequest
    ) -> ConversationOut:
        return await actions.change_status(
            kefu,
            conversation_id,
            actor_of(user),
            ConversationStatus.pending,
            snoozed_until=data.until,
        )


ROUTES = [ConversationsController]
