"""Attachments a channel replaces after ingest: WeChat keeps what users send for three
days, so its connector downloads the files after the message is committed and hands the
stored copies back here, where the message row changes and the change is published."""

from __future__ import annotations

import uuid

import msgspec

from kefu.context import Kefu
from kefu.conversations.events import message_event
from kefu.db.tables import Message
from kefu.errors import Invalid
from kefu.model import Attachment


async def attachments_of(kefu: Kefu, message_id: uuid.UUID) -> list[Attachment] | None:
    """A message's attachments as stored (None when there is no such message)."""
    async with kefu.db.session() as session:
        message = await session.get(Message, message_id)
        if message is None:
            return None
        return msgspec.convert(message.attachments or [], list[Attachment])


async def replace_attachments(
    kefu: Kefu, message_id: uuid.UUID, attachments: list[Attachment]
) -> bool:
    """Point a message's attachments at new copies, one for one and in order; publish the
    changed message. False when the message is gone or nothing changed."""
    async with kefu.db.transaction() as session:
        row = await session.get(Message, message_id, with_for_update=True)
        if row is None:
            return False
        before = msgspec.convert(row.attachments or [], list[Attachment])
        if len(before) != len(attachments):
            raise Invalid("replacing attachments must keep one for each stored attachment")
        if before == attachments:
            return False
        row.attachments = msgspec.to_builtins(attachments)
        event = message_event(row, None)
    kefu.events.publish(event)
    return True
