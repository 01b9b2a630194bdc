"""Merging two contacts: the other folds into the one kept, and the event log says who
merged which (written by the one event-log writer, `conversations.events`)."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from kefu.contacts.service import merge_contacts
from kefu.context import Kefu
from kefu.conversations.actions import Actor, change_status
from kefu.conversations.ingest import IngestResult, ingest
from kefu.db.tables import Contact, ContactIdentity, ConversationEventRow
from kefu.demo import Demo
from kefu.model import ConversationStatus, Identity, Inbound, SenderKind


async def visitor_writes(kefu: Kefu, demo: Demo, visitor: str) -> IngestResult:
    result = await ingest(
        kefu,
        Inbound(
            inbox_id=demo.inbox_id,
            identity=Identity(kind="web_visitor", value=visitor),
            client_message_id=uuid.uuid4().hex,
            body="你好",
        ),
    )
    return result


async def test_merging_moves_identities_and_logs_who_merged(kefu: Kefu, workspace: Demo) -> None:
    keep = (await visitor_writes(kefu, workspace, "phone")).contact_id
    written = await visitor_writes(kefu, workspace, "laptop")
    other = written.contact_id
    admin = workspace.logins[0].id
    # Two open conversations in one inbox cannot merge: close the other's first.
    assert written.conversation_id is not None
    system = Actor(workspace_id=workspace.workspace_id, kind=SenderKind.system)
    await change_status(kefu, written.conversation_id, system, ConversationStatus.resolved)

    out = await merge_contacts(kefu, workspace.workspace_id, keep, other, admin)

    assert out.id == keep
    async with kefu.db.session() as session:
        owners = set(
            await session.scalars(
                sa.select(ContactIdentity.contact_id).where(
                    ContactIdentity.workspace_id == workspace.workspace_id,
                    ContactIdentity.value.in_(["phone", "laptop"]),
                )
            )
        )
        tombstone = await session.get(Contact, other)
        rows = (
            await session.scalars(
                sa.select(ConversationEventRow).where(
                    ConversationEventRow.type == "contacts_merged"
                )
            )
        ).all()
    assert owners == {keep}
    assert tombstone is not None and tombstone.merged_into_id == keep
    assert [
        (r.workspace_id, r.conversation_id, r.actor_kind, r.actor_id, r.data) for r in rows
    ] == [(workspace.workspace_id, None, "agent", admin, {"kept": str(keep), "merged": str(other)})]
