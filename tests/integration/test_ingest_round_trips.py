"""A new customer's first message is stored in as few statements as the rows need: no
lookup of conversations a contact created in the same transaction cannot have, and each
new row written once (no INSERT followed by UPDATEs of the same row)."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from kefu.context import Kefu
from kefu.conversations.ingest import ingest
from kefu.db.tables import Conversation, ConversationEventRow
from kefu.demo import Demo
from kefu.model import ContactFacts, Identity, Inbound

pytestmark = pytest.mark.engine_sensitive


async def test_first_contact_writes_each_new_row_once(kefu: Kefu, workspace: Demo) -> None:
    async def first_message(visitor: str) -> uuid.UUID:
        result = await ingest(
            kefu,
            Inbound(
                inbox_id=workspace.inbox_id,
                identity=Identity(kind="web_visitor", value=visitor),
                client_message_id=uuid.uuid4().hex,
                body="hello",
                contact=ContactFacts(name="Ada", language="en"),
            ),
        )
        assert result.conversation_id is not None and result.opened
        return result.conversation_id

    await first_message("warm")  # the process's copies of inbox and routing filled
    seen: list[str] = []

    def note(*args: object) -> None:
        seen.append(" ".join(str(args[2]).split()))

    event.listen(kefu.db.engine.sync_engine, "before_cursor_execute", note)
    try:
        conversation_id = await first_message("new")
    finally:
        event.remove(kefu.db.engine.sync_engine, "before_cursor_execute", note)
    assert not [s for s in seen if s.startswith("SELECT") and "FROM conversations" in s], seen
    for table in ("contacts", "conversations"):
        assert not [s for s in seen if s.startswith(f"UPDATE {table} ")], seen
        assert len([s for s in seen if s.startswith(f"INSERT INTO {table} ")]) == 1, seen

    # What was written is what the longer path wrote: facts, identity, decision, events.
    async with kefu.db.session() as session:
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None
        assert conversation.identity_id is not None
        assert conversation.group_id == workspace.groups["presales"]
        assert (conversation.status, conversation.last_seq) == ("queued", 1)
        assert conversation.queued_at is not None
        types = list(
            await session.scalars(
                sa.select(ConversationEventRow.type)
                .where(ConversationEventRow.conversation_id == conversation_id)
                .order_by(ConversationEventRow.created_at, ConversationEventRow.id)
            )
        )
    assert types[0] == "created"
    assert "queued" in types
