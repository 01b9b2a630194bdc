"""HTTP: ticket operations (bulk actions, watchers, links, merge, split) for staff, and
the custom field definitions (everyone on the staff reads them; admins change them)."""

from __future__ import annotations

import uuid

from litestar import Controller, delete, get, post

from kefu.context import Kefu
from kefu.model import Role
from kefu.people.auth import STAFF, AuthUser, require_role
from kefu.tickets import bulk, fields, ops
from kefu.tickets.schemas import (
    BulkIn,
    BulkOut,
    LinkIn,
    MergeIn,
    SplitIn,
    TicketFieldIn,
    TicketFieldList,
    TicketFieldOut,
    TicketOut,
    WatcherIn,
)


class TicketOpsController(Controller):
    path = "/api/v1/tickets"
    tags = ("tickets",)
    guards = (require_role(*STAFF),)

    @post("/bulk", status_code=200)
    async def bulk_update(self, kefu: Kefu, user: AuthUser, data: BulkIn) -> BulkOut:
        """Set the same fields on up to 100 tickets; each ticket is changed wholly or
        not at all, and `results` says which (updated, unchanged, not_found, invalid,
        conflict)."""
        return await bulk.bulk_update(kefu, user, data)

    @post("/{ticket_id:uuid}/watchers", status_code=200)
    async def add_watcher(
        self, kefu: Kefu, user: AuthUser, ticket_id: uuid.UUID, data: WatcherIn
    ) -> TicketOut:
        return await ops.add_watcher(kefu, user, ticket_id, data.user_id)

    @delete("/{ticket_id:uuid}/watchers/{user_id:uuid}", status_code=200)
    async def remove_watcher(
        self, kefu: Kefu, user: AuthUser, ticket_id: uuid.UUID, user_id: uuid.UUID
    ) -> TicketOut:
        return await ops.remove_watcher(kefu, user, ticket_id, user_id)

    @post("/{ticket_id:uuid}/links", status_code=200)
    async def link(
        self, kefu: Kefu, user: AuthUser, ticket_id: uuid.UUID, data: LinkIn
    ) -> TicketOut:
        """Link two tickets as related (both see the link)."""
        return await ops.link(kefu, user, ticket_id, data.other_id)

    @delete("/{ticket_id:uuid}/links/{other_id:uuid}", status_code=200)
    async def unlink(
        self, kefu: Kefu, user: AuthUser, ticket_id: uuid.UUID, other_id: uuid.UUID
    ) -> TicketOut:
        return await ops.unlink(kefu, user, ticket_id, other_id)

    @post("/{ticket_id:uuid}/merge", status_code=200)
    async def merge(
        self, kefu: Kefu, user: AuthUser, ticket_id: uuid.UUID, data: MergeIn
    ) -> TicketOut:
        """Merge `source_id` into this ticket; the source closes, pointing here."""
        return await ops.merge(kefu, user, ticket_id, data)

    @post("/{ticket_id:uuid}/split")
    async def split(
        self, kefu: Kefu, user: AuthUser, ticket_id: uuid.UUID, data: SplitIn
    ) -> TicketOut:
        """A comment becomes a new ticket, linked to this one; answers the new ticket."""
        return await ops.split(kefu, user, ticket_id, data)


class TicketFieldsController(Controller):
    path = "/api/v1/ticket-fields"
    tags = ("tickets",)
    guards = (require_role(*STAFF),)

    @get("/")
    async def list_fields(self, kefu: Kefu, user: AuthUser) -> TicketFieldList:
        return await fields.list_fields(kefu, user)

    @post("/", guards=[require_role(Role.admin)])
    async def create_field(self, kefu: Kefu, user: AuthUser, data: TicketFieldIn) -> TicketFieldOut:
        return await fields.create(kefu, user, data)

    @delete("/{field_id:uuid}", guards=[require_role(Role.admin)])
    async def delete_field(self, kefu: Kefu, user: AuthUser, field_id: uuid.UUID) -> None:
        await fields.delete(kefu, user, field_id)


ROUTES = [TicketOpsController, TicketFieldsController]
