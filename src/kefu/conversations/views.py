"""Rows to the msgspec values that leave the core (API responses, realtime events)."""

from __future__ import annotations

import msgspec

from kefu.db.tables import Conversation, Message, NewMessage
from kefu.model import (
    Attachment,
    ConversationEvent,
    ConversationStatus,
    DeliveryStatus,
    Direction,
    MessageEvent,
    MessageType,
    MessageView,
    SenderKind,
)


def message_view(message: Message | NewMessage, sender_name: str | None) -> MessageView:
    return MessageView(
        id=message.id,
        conversation_id=message.conversation_id,
        seq=message.seq,
        direction=Direction(message.direction),
        sender_kind=SenderKind(message.sender_kind),
        sender_id=message.sender_id,
        sender_name=sender_name,
        type=MessageType(message.type),
        body=message.body,
        attachments=msgspec.convert(message.attachments or [], list[Attachment]),
        delivery_status=DeliveryStatus(message.delivery_status),
        failure_reason=message.failure_reason,
        client_message_id=message.client_message_id,
        created_at=message.created_at,
    )


def message_event(message: Message | NewMessage, sender_name: str | None) -> MessageEvent:
    return MessageEvent(
        workspace_id=message.workspace_id,
        conversation_id=message.conversation_id,
        seq=message.seq,
        message=message_view(message, sender_name),
    )


def conversation_event(
    conversation: Conversation, change: str, queue_position: int | None = None
) -> ConversationEvent:
    return ConversationEvent(
        workspace_id=conversation.workspace_id,
        conversation_id=conversation.id,
        change=change,
        status=ConversationStatus(conversation.status),
        assignee_id=conversation.assignee_id,
        group_id=conversation.group_id,
        queue_position=queue_position,
    )
