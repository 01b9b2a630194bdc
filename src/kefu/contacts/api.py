from __future__ import annotations

import uuid

import sqlalchemy as sa
from litestar import Controller, get, patch, post

from kefu.contacts import service
from kefu.contacts.schemas import ContactOut, ContactPage, ContactUpdate, MergeRequest
from kefu.context import Kefu
from kefu.db.search import contains
from kefu.db.tables import Contact
from kefu.people.auth import STAFF, AuthUser, require_role


class ContactsController(Controller):
    path = "/api/v1/contacts"
    tags = ["contacts"]
    guards = [require_role(*STAFF)]

    @get("/")
    async def search_contacts(self, kefu: Kefu, user: AuthUser, q: str = "") -> ContactPage:
        q = q.strip()
        async with kefu.db.session() as session:
            rows = (
                await session.scalars(
                    sa.select(Contact)
                    .where(
                        Contact.workspace_id == user.workspace_id,
                        Contact.merged_into_id.is_(None),
                        sa.or_(
                            contains(Contact.name, q),
                            contains(Contact.email, q),
                            contains(Contact.phone, q),
                        ),
                    )
                    .order_by(Contact.id.desc())
                    .limit(50)
                )
            ).all()
            return ContactPage([await service.contact_out(session, c) for c in rows])

    @get("/{contact_id:uuid}")
    async def get_contact(self, kefu: Kefu, user: AuthUser, contact_id: uuid.UUID) -> ContactOut:
        async with kefu.db.session() as session:
            return await service.contact_out(
                session, await service.get_contact(session, user.workspace_id, contact_id)
            )

    @patch("/{contact_id:uuid}")
    async def update_contact(
        self, kefu: Kefu, user: AuthUser, contact_id: uuid.UUID, data: ContactUpdate
    ) -> ContactOut:
        return await service.update_contact(kefu, user.workspace_id, contact_id, data)

    @post("/{contact_id:uuid}/merge")
    async def merge(
        self, kefu: Kefu, user: AuthUser, contact_id: uuid.UUID, data: MergeRequest
    ) -> ContactOut:
        return await service.merge_contacts(
            kefu, user.workspace_id, contact_id, data.other_id, user.id
        )


ROUTES = [ContactsController]
