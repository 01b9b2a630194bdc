"""Bulk actions: up to 100 tickets at a time (assign, status, priority, tags). Each
ticket is its own unit of work (lock, the same PATCH path, its events, commit): one
ticket refused leaves the others done, and no ticket is half changed. The answer says,
per ticket, what happened."""

from __future__ import annotations

import uuid

from kefu.context import Kefu
from kefu.db.retry import retrying
from kefu.errors import Conflict, Invalid, KefuError, NotFound
from kefu.people.auth import AuthUser
from kefu.tickets import live, service
from kefu.tickets.schemas import BulkIn, BulkOut, BulkResult, BulkSet, TicketOut, TicketPatch

MAX_TAGS = 20


def _patch(version: int, tags: list[str], change: BulkSet) -> TicketPatch:
    new_tags: list[str] | None = None
    if change.add_tags or change.remove_tags:
        removed = set(change.remove_tags)
        new_tags = [t for t in dict.fromkeys([*tags, *change.add_tags]) if t not in removed]
        if len(new_tags) > MAX_TAGS:
            raise Invalid(f"a ticket has at most {MAX_TAGS} tags")
    return TicketPatch(
        version=version,
        status=change.status,
        priority=change.priority,
        assignee_id=change.assignee_id,
        tags=new_tags,
        clear=["assignee_id"] if change.unassign else [],
    )


async def bulk_update(kefu: Kefu, user: AuthUser, data: BulkIn) -> BulkOut:
    if data.set.unassign and data.set.assignee_id is not None:
        raise Invalid("assign or unassign, not both")
    if data.set.assignee_id is not None:
        # Checked once: another workspace's agent refuses the whole request.
        async with kefu.db.session() as session:
            await service._check_refs(session, user.workspace_id, assignee_id=data.set.assignee_id)
    results: list[BulkResult] = []
    for ticket_id in dict.fromkeys(data.ids):
        results.append(await _one(kefu, user, ticket_id, data.set))
    updated = sum(r.outcome == "updated" for r in results)
    failed = sum(r.outcome not in ("updated", "unchanged") for r in results)
    return BulkOut(updated=updated, failed=failed, results=results)


async def _one(kefu: Kefu, user: AuthUser, ticket_id: uuid.UUID, change: BulkSet) -> BulkResult:
    try:
        out, notice, before = await _apply(kefu, user, ticket_id, change)
    except NotFound:
        return BulkResult(id=ticket_id, outcome="not_found")
    except Conflict as exc:
        return BulkResult(id=ticket_id, outcome="conflict", reason=str(exc.detail)[:200])
    except KefuError as exc:
        return BulkResult(id=ticket_id, outcome="invalid", reason=str(exc.detail)[:200])
    if notice is not None:
        await service._tell(kefu, user, notice)
    if out.version == before:
        return BulkResult(id=ticket_id, outcome="unchanged", version=out.version)
    live.changed(kefu, user.workspace_id, out, "updated", public=notice is not None, by=user.id)
    return BulkResult(id=ticket_id, outcome="updated", version=out.version)


@retrying
async def _apply(
    kefu: Kefu, user: AuthUser, ticket_id: uuid.UUID, change: BulkSet
) -> tuple[TicketOut, service.Notice | None, int]:
    async with kefu.db.transaction() as session:
        ticket = await service._load(session, user, ticket_id, lock=True)
        before = ticket.version
        # The version is read under the row lock: nobody can move it before the write.
        patch = _patch(before, list(ticket.tags or []), change)
        out, notice = await service.apply_locked(kefu, session, user, ticket, patch)
        return out, notice, before
