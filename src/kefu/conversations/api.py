"""HTTP: the agent's view of conversations. Handlers stay thin: scope, call, return."""

from __future__ import annotations

import uuid
from typing import Annotated

import sqlalchemy as sa
from litestar import Controller, get, patch, post
from litestar.params import Parameter

from kefu.context import Kefu
from kefu.conversations import service
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
from kefu.model import ChannelKind, ConversationStatus, MessageView, Role, SenderKind
from kefu.people.auth import STAFF, AuthUser, require_role


def actor_of(user: AuthUser) -> service.Actor:
    return service.Actor(
        workspace_id=user.workspace_id, kind=SenderKind.agent, user_id=user.id, name=user.name
    )


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
        async with kefu.db.transaction() as session:
            conversation = await get_visible(session, user, conversation_id)
            changes: dict[str, object] = {}
            if data.labels is not None:
                conversation.labels = sorted(set(data.labels))
                changes["labels"] = conversation.labels
            if data.priority is not None:
                conversation.priority = data.priority
                changes["priority"] = data.priority
            service.log_event(session, conversation, "updated", SenderKind.agent, user.id, changes)
            contact = await session.get(Contact, conversation.contact_id)
            assert contact is not None
            return conversation_out(conversation, contact)

    @get("/{conversation_id:uuid}/messages")
    async def list_messages(
        self,
        kefu: Kefu,
        user: AuthUser,
        conversation_id: uuid.UUID,
        after_seq: Annotated[int, Parameter(ge=0)] = 0,
        before_seq: int | None = None,
        limit: Annotated[int, Parameter(ge=1, le=500)] = 100,
    ) -> MessagePage:
        async with kefu.db.session() as session:
            conversation = await get_visible(session, user, conversation_id)
            items = await messages_page(
                session, conversation, after_seq=after_seq, before_seq=before_seq, limit=limit
            )
        return MessagePage(items=items)

    @post("/{conversation_id:uuid}/messages")
    async def post_message(
        self, kefu: Kefu, user: AuthUser, conversation_id: uuid.UUID, data: ReplyRequest
    ) -> MessageView:
        await self._check(kefu, user, conversation_id)
        return await service.reply(
            kefu,
            conversation_id,
            actor_of(user),
            data.body,
            note=data.note,
            type=data.type,
            attachments=tuple(data.attachments),
            client_message_id=data.client_message_id,
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
        await self._check(kefu, user, conversation_id)
        if user.role == Role.agent and data.assignee_id not in (user.id, None):
            from kefu.errors import Forbidden

            raise Forbidden("agents can take a conversation themselves; use transfer to hand it on")
        await service.assign(kefu, conversation_id, actor_of(user), assignee_id=data.assignee_id)
        return await self._out(kefu, user, conversation_id)

    @post("/{conversation_id:uuid}/transfer")
    async def transfer(
        self, kefu: Kefu, user: AuthUser, conversation_id: uuid.UUID, data: TransferRequest
    ) -> ConversationOut:
        await self._check(kefu, user, conversation_id)
        await service.assign(
            kefu,
            conversation_id,
            actor_of(user),
            assignee_id=data.assignee_id,
            group_id=data.group_id,
            note=data.note,
            transfer=True,
        )
        return await self._out(kefu, user, conversation_id, any_scope=True)

    @post("/{conversation_id:uuid}/resolve")
    async def resolve(
        self, kefu: Kefu, user: AuthUser, conversation_id: uuid.UUID
    ) -> ConversationOut:
        await self._check(kefu, user, conversation_id)
        await service.change_status(
            kefu, conversation_id, actor_of(user), ConversationStatus.resolved
        )
        return await self._out(kefu, user, conversation_id)

    @post("/{conversation_id:uuid}/reopen")
    async def reopen(
        self, kefu: Kefu, user: AuthUser, conversation_id: uuid.UUID
    ) -> ConversationOut:
        await self._check(kefu, user, conversation_id)
        await service.change_status(kefu, conversation_id, actor_of(user), ConversationStatus.open)
        return await self._out(kefu, user, conversation_id, any_scope=True)

    @post("/{conversation_id:uuid}/snooze")
    async def snooze(
        self, kefu: Kefu, user: AuthUser, conversation_id: uuid.UUID, data: SnoozeRequest
    ) -> ConversationOut:
        await self._check(kefu, user, conversation_id)
        await service.change_status(
            kefu,
            conversation_id,
            actor_of(user),
            ConversationStatus.pending,
            snoozed_until=data.until,
        )
        return await self._out(kefu, user, conversation_id)

    @staticmethod
    async def _check(kefu: Kefu, user: AuthUser, conversation_id: uuid.UUID) -> None:
        async with kefu.db.session() as session:
            await get_visible(session, user, conversation_id)

    @staticmethod
    async def _out(
        kefu: Kefu, user: AuthUser, conversation_id: uuid.UUID, *, any_scope: bool = False
    ) -> ConversationOut:
        """The conversation after an action. A transfer may move it out of the actor's
        sight; they still get the result of what they did."""
        async with kefu.db.session() as session:
            if any_scope:
                conversation = await service.load_conversation(
                    session, user.workspace_id, conversation_id
                )
            else:
                conversation = await get_visible(session, user, conversation_id)
            contact = await session.get(Contact, conversation.contact_id)
            assert contact is not None
            return conversation_out(conversation, contact)


ROUTES = [ConversationsController]
