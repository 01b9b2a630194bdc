"""Capacity on the manual paths (issue 12 item 6): an agent taking work, an agent
replying to a queued conversation, an admin assigning and a supervisor transferring all
stop at the agent's capacity with a 409 that names the load, unless an admin or a
supervisor overrides explicitly, which the event log and the audit log record.

Found as: one agent went from 2/2 to 5/2 through these paths with no warning."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from kefu.context import Kefu
from kefu.conversations.actions import Actor, assign
from kefu.conversations.ingest import ingest
from kefu.db.tables import Conversation, ConversationEventRow, Message, User
from kefu.demo import Demo
from kefu.errors import Conflict
from kefu.model import ConversationStatus, Identity, Inbound, Presence, SenderKind
from kefu.people.auth import AuthUser
from kefu.routing.loaders import LOAD_STATUSES
from tests.conftest import login_headers, login_of

# Locking decides whether two assigners can both squeeze past the limit: both engines.
pytestmark = pytest.mark.engine_sensitive

LINA_EN = "李娜 Li Na is at capacity (2 of 2)."
LINA_ZH = "李娜 Li Na 已达接待上限（2/2）。"


def agent_id(demo: Demo, local: str) -> uuid.UUID:
    return next(x.id for x in demo.logins if x.email.startswith(local + "@"))


async def _setup(kefu: Kefu, demo: Demo, conversations: int) -> list[uuid.UUID]:
    """Everybody offline (so routing assigns nothing by itself), Li Na's capacity 2, and
    `conversations` waiting in the queue."""
    async with kefu.db.transaction() as session:
        await session.execute(
            sa.update(User)
            .where(User.workspace_id == demo.workspace_id)
            .values(presence=Presence.offline)
        )
        await session.execute(
            sa.update(User).where(User.id == agent_id(demo, "lina")).values(capacity={"*": 2})
        )
    ids = []
    for n in range(conversations):
        result = await ingest(
            kefu,
            Inbound(
                inbox_id=demo.inbox_id,
                identity=Identity(kind="web_visitor", value=f"cap-{n}-{uuid.uuid4().hex[:6]}"),
                client_message_id=uuid.uuid4().hex,
                body="在吗 hello",
            ),
        )
        assert result.conversation_id is not None
        ids.append(result.conversation_id)
    await kefu.drain()
    return ids


async def _load(kefu: Kefu, user_id: uuid.UUID) -> int:
    async with kefu.db.session() as session:
        return int(
            await session.scalar(
                sa.select(sa.func.count()).where(
                    Conversation.assignee_id == user_id,
                    Conversation.status.in_([s.value for s in LOAD_STATUSES]),
                )
            )
            or 0
        )


async def _events(kefu: Kefu, conversation_id: uuid.UUID) -> list[tuple[str, dict[str, Any]]]:
    async with kefu.db.session() as session:
        rows = await session.execute(
            sa.select(ConversationEventRow.type, ConversationEventRow.data)
            .where(ConversationEventRow.conversation_id == conversation_id)
            .order_by(ConversationEventRow.id)
        )
        return [(t, dict(d or {})) for t, d in rows]


async def _post(
    client: httpx.AsyncClient, path: str, headers: dict[str, str], body: dict[str, Any], lang: str
) -> httpx.Response:
    return await client.post(path, json=body, headers={**headers, "Accept-Language": lang})


async def _fill_lina(
    client: httpx.AsyncClient, headers: dict[str, str], ids: list[uuid.UUID], lina: uuid.UUID
) -> None:
    """Give Li Na the first two conversations (her capacity) as `headers`' user."""
    for cid in ids[:2]:
        done = await _post(
            client, f"/api/v1/conversations/{cid}/assign", headers, {"assignee_id": str(lina)}, "en"
        )
        assert done.status_code == 201, done.text


async def test_agent_taking_work_stops_at_capacity_with_a_409_naming_the_load(
    kefu: Kefu, workspace: Demo, client: httpx.AsyncClient
) -> None:
    ids = await _setup(kefu, workspace, 3)
    lina = agent_id(workspace, "lina")
    headers = await login_headers(client, login_of(workspace, "lina"))
    body = {"assignee_id": str(lina)}
    await _fill_lina(client, headers, ids, lina)
    refused = await _post(client, f"/api/v1/conversations/{ids[2]}/assign", headers, body, "en")
    assert refused.status_code == 409, refused.text
    problem = refused.json()
    assert problem["detail"] == LINA_EN
    assert (problem["reason"], problem["load"], problem["capacity"]) == ("at_capacity", 2, 2)
    assert problem["agent_name"] == "李娜 Li Na"
    assert problem["can_override"] is False
    zh = await _post(client, f"/api/v1/conversations/{ids[2]}/assign", headers, body, "zh-CN")
    assert zh.status_code == 409 and zh.json()["detail"] == LINA_ZH
    # An agent cannot override, even for themselves.
    forced = await _post(
        client,
        f"/api/v1/conversations/{ids[2]}/assign",
        headers,
        {**body, "override_capacity": True},
        "zh-CN",
    )
    assert forced.status_code == 403, forced.text
    assert "管理员或主管" in forced.json()["detail"]
    assert await _load(kefu, lina) == 2


async def test_agent_replying_to_a_queued_conversation_at_capacity_is_refused_and_nothing_stored(
    kefu: Kefu, workspace: Demo, client: httpx.AsyncClient
) -> None:
    ids = await _setup(kefu, workspace, 3)
    lina = agent_id(workspace, "lina")
    headers = await login_headers(client, login_of(workspace, "lina"))
    for cid in ids[:2]:
        sent = await _post(
            client, f"/api/v1/conversations/{cid}/messages", headers, {"body": "您好"}, "en"
        )
        assert sent.status_code == 201, sent.text
    refused = await _post(
        client, f"/api/v1/conversations/{ids[2]}/messages", headers, {"body": "您好"}, "en"
    )
    assert refused.status_code == 409, refused.text
    assert refused.json()["detail"] == LINA_EN
    async with kefu.db.session() as session:
        outbound = await session.scalar(
            sa.select(sa.func.count()).where(
                Message.conversation_id == ids[2], Message.direction == "out"
            )
        )
        status = await session.scalar(
            sa.select(Conversation.status).where(Conversation.id == ids[2])
        )
    assert outbound == 0 and status == ConversationStatus.queued
    # A note does not take the conversation, so it is not refused.
    note = await _post(
        client,
        f"/api/v1/conversations/{ids[2]}/messages",
        headers,
        {"body": "看一下", "note": True},
        "en",
    )
    assert note.status_code == 201, note.text
    assert await _load(kefu, lina) == 2


async def test_admin_assign_is_refused_then_overridden_and_the_override_is_logged_twice(
    kefu: Kefu, workspace: Demo, client: httpx.AsyncClient
) -> None:
    ids = await _setup(kefu, workspace, 3)
    lina = agent_id(workspace, "lina")
    admin = await login_headers(client, login_of(workspace, "admin"))
    body = {"assignee_id": str(lina)}
    await _fill_lina(client, admin, ids, lina)
    refused = await _post(client, f"/api/v1/conversations/{ids[2]}/assign", admin, body, "zh-CN")
    assert refused.status_code == 409
    assert refused.json()["detail"] == LINA_ZH
    assert refused.json()["can_override"] is True
    forced = await _post(
        client,
        f"/api/v1/conversations/{ids[2]}/assign",
        admin,
        {**body, "override_capacity": True},
        "en",
    )
    assert forced.status_code == 201, forced.text
    assert forced.json()["assignee_id"] == str(lina)
    assert await _load(kefu, lina) == 3
    assigned = [d for t, d in await _events(kefu, ids[2]) if t == "assigned"]
    assert assigned[-1]["override_capacity"] is True
    assert (assigned[-1]["load"], assigned[-1]["capacity"]) == (2, 2)
    # The audit log holds the override, and only the override: plain assigns are
    # conversation work, recorded in the event log alone.
    entries = (
        await client.get(
            "/api/v1/audit", params={"action": "conversation.capacity_override"}, headers=admin
        )
    ).json()["items"]
    assert [e["object_id"] for e in entries] == [str(ids[2])]
    assert entries[0]["details"]["values"]["override_capacity"] is True


async def test_supervisor_transfer_to_a_full_agent_is_refused_unless_overridden(
    kefu: Kefu, workspace: Demo, client: httpx.AsyncClient
) -> None:
    ids = await _setup(kefu, workspace, 3)
    lina = agent_id(workspace, "lina")
    supervisor = await login_headers(client, login_of(workspace, "supervisor"))
    await _fill_lina(client, supervisor, ids, lina)
    path = f"/api/v1/conversations/{ids[2]}/transfer"
    body = {"assignee_id": str(lina), "note": "VIP"}
    refused = await _post(client, path, supervisor, body, "en")
    assert refused.status_code == 409 and refused.json()["detail"] == LINA_EN
    forced = await _post(client, path, supervisor, {**body, "override_capacity": True}, "en")
    assert forced.status_code == 201, forced.text
    transferred = [d for t, d in await _events(kefu, ids[2]) if t == "transferred"]
    assert transferred[-1]["override_capacity"] is True
    # Re-assigning a conversation the agent already holds adds no load: never refused.
    again = await _post(
        client,
        f"/api/v1/conversations/{ids[0]}/assign",
        supervisor,
        {"assignee_id": str(lina)},
        "en",
    )
    assert again.status_code == 201, again.text


async def test_two_admins_assigning_at_once_never_push_an_agent_past_capacity(
    kefu: Kefu, workspace: Demo
) -> None:
    """Li Na has one slot left; eight admins give her eight conversations at the same
    moment. Exactly one gets through: her row is locked before her load is counted."""
    ids = await _setup(kefu, workspace, 9)
    lina = agent_id(workspace, "lina")
    admin_login = next(x for x in workspace.logins if x.email.startswith("admin@"))
    viewer = AuthUser(
        id=admin_login.id,
        workspace_id=workspace.workspace_id,
        role=admin_login.role,
        name=admin_login.name,
        email=admin_login.email,
        session_id=uuid.uuid4(),
    )
    actor = Actor(
        workspace_id=workspace.workspace_id,
        kind=SenderKind.agent,
        user_id=viewer.id,
        name=viewer.name,
        viewer=viewer,
    )
    await assign(kefu, ids[0], actor, assignee_id=lina)
    results = await asyncio.gather(
        *(assign(kefu, cid, actor, assignee_id=lina) for cid in ids[1:]), return_exceptions=True
    )
    refused = [r for r in results if isinstance(r, Conflict)]
    others = [r for r in results if isinstance(r, BaseException) and not isinstance(r, Conflict)]
    assert not others, others
    assert len(refused) == 7
    assert await _load(kefu, lina) == 2
