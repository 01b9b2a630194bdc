"""Customer profiles: read, edit, merge two into one."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.contacts.phones import to_e164
from kefu.contacts.schemas import ContactOut, ContactUpdate, IdentityOut
from kefu.context import Kefu
from kefu.conversations.events import LoggedEvent, record
from kefu.db.scope import one_in_workspace
from kefu.db.tables import Contact, ContactIdentity, Conversation
from kefu.errors import Conflict, Invalid
from kefu.model import ConversationStatus, utcnow


async def get_contact(
    session: AsyncSession, workspace_id: uuid.UUID, contact_id: uuid.UUID
) -> Contact:
    return await one_in_workspace(session, Contact, workspace_id, contact_id, "contact")


async def contact_out(session: AsyncSession, contact: Contact) -> ContactOut:
    identities = (
        await session.scalars(
            sa.select(ContactIdentity)
            .where(ContactIdentity.contact_id == contact.id)
            .order_by(ContactIdentity.created_at)
        )
    ).all()
    return ContactOut(
        id=contact.id,
        name=contact.name,
        email=contact.email,
        phone=contact.phone,
        region=contact.region,
        gender=contact.gender,
        age=contact.age,
        language=contact.language,
        vip_level=contact.vip_level,
        verified=contact.verified,
        tags=list(contact.tags or []),
        attributes=dict(contact.attributes or {}),
        identities=[IdentityOut(i.kind, i.value) for i in identities],
        created_at=contact.created_at,
        updated_at=contact.updated_at,
    )


async def update_contact(
    kefu: Kefu, workspace_id: uuid.UUID, contact_id: uuid.UUID, data: ContactUpdate
) -> ContactOut:
    async with kefu.db.transaction() as session:
        contact = await get_contact(session, workspace_id, contact_id)
        for name in ("name", "email", "phone", "region", "gender", "age", "language", "vip_level"):
            value = getattr(data, name)
            if value is not None:
                setattr(contact, name, value)
        if data.phone is not None:
            await link_phone(session, contact, data.phone)
        if data.tags is not None:
            contact.tags = sorted(set(data.tags))
        if data.attributes is not None:
            merged = {**(contact.attributes or {}), **data.attributes}
            contact.attributes = {k: v for k, v in merged.items() if v is not None}
        contact.updated_at = utcnow()
        return await contact_out(session, contact)


PHONE = "phone"


async def link_phone(session: AsyncSession, contact: Contact, raw: str) -> None:
    """A profile phone is the contact's phone identity too (E.164), so an SMS or a call
    from that number finds this contact. A number another contact already owns is left
    there: joining two people is a merge, an agent's decision."""
    number = to_e164(raw)
    if number is None:
        return
    contact.phone = number
    owner = await session.scalar(
        sa.select(ContactIdentity.contact_id).where(
            ContactIdentity.workspace_id == contact.workspace_id,
            ContactIdentity.kind == PHONE,
            ContactIdentity.value == number,
        )
    )
    if owner is None:
        session.add(
            ContactIdentity(
                workspace_id=contact.workspace_id,
                contact_id=contact.id,
                kind=PHONE,
                value=number,
                created_at=utcnow(),
            )
        )
        await session.flush()


async def merge_contacts(
    kefu: Kefu,
    workspace_id: uuid.UUID,
    keep_id: uuid.UUID,
    other_id: uuid.UUID,
    actor_id: uuid.UUID,
) -> ContactOut:
    """Fold `other` into `keep`: identities and conversations move, empty profile fields
    are filled from the other, and the other row stays as a tombstone pointing here."""
    if keep_id == other_id:
        raise Invalid("a contact cannot be merged with itself")
    async with kefu.db.transaction() as session:
        keep = await get_contact(session, workspace_id, keep_id)
        other = await get_contact(session, workspace_id, other_id)
        if other.merged_into_id is not None or keep.merged_into_id is not None:
            raise Conflict("one of these contacts was already merged into another")
        both_active = (
            await session.execute(
                sa.select(Conversation.inbox_id)
                .where(
                    Conversation.contact_id.in_([keep.id, other.id]),
                    Conversation.status != ConversationStatus.resolved,
                )
                .group_by(Conversation.inbox_id)
                .having(sa.func.count(sa.distinct(Conversation.contact_id)) > 1)
            )
        ).first()
        if both_active is not None:
            raise Conflict(
                "both contacts have an unresolved conversation in the same inbox; resolve one first"
            )
        for name in ("name", "email", "phone", "region", "gender", "age", "language"):
            if getattr(keep, name) is None and getattr(other, name) is not None:
                setattr(keep, name, getattr(other, name))
        keep.vip_level = max(keep.vip_level, other.vip_level)
        keep.verified = keep.verified or other.verified
        keep.tags = sorted(set(keep.tags or []) | set(other.tags or []))
        keep.attributes = {**(other.attributes or {}), **(keep.attributes or {})}
        await session.execute(
            sa.update(ContactIdentity)
            .where(ContactIdentity.contact_id == other.id)
            .values(contact_id=keep.id)
        )
        await session.execute(
            sa.update(Conversation)
            .where(Conversation.contact_id == other.id)
            .values(contact_id=keep.id)
        )
        other.merged_into_id = keep.id
        now = utcnow()
        keep.updated_at = other.updated_at = now
        record(
            session,
            LoggedEvent(
                workspace_id=workspace_id,
                type="contacts_merged",
                actor_kind="agent",
                actor_id=actor_id,
                data={"kept": str(keep.id), "merged": str(other.id)},
            ),
        )
        await session.flush()
        return await contact_out(session, keep)
