"""Tickets over HTTP: numbers, the conversation → ticket path, versioned edits, comments,
the contracted ticket.* events, list filters, SLA outcomes and the sweep, the progress
page, bad input and tenancy."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import timedelta, timezone
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from kefu.context import Kefu
from kefu.conversations.ingest import ingest
from kefu.db.tables import ConversationEventRow, Message
from kefu.demo import Demo
from kefu.model import Identity, Inbound, utcnow
from kefu.tickets.sweep import sweep_once
from kefu.tickets.tables import SlaPolicy, Ticket, TicketComment, TicketCounter
from tests.conftest import login_headers, login_of

NUMBER = re.compile(r"^\d{4}-\d{6}$")


async def admin(client: httpx.AsyncClient, demo: Demo, local: str = "admin") -> dict[str, str]:
    return await login_headers(client, login_of(demo, local))


async def new_ticket(
    client: httpx.AsyncClient, headers: dict[str, str], **body: Any
) -> dict[str, Any]:
    body.setdefault("title", "Refund not received")
    response = await client.post("/api/v1/tickets", json=body, headers=headers)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def events(kefu: Kefu, type_: str) -> list[ConversationEventRow]:
    async with kefu.db.session() as session:
        rows = await session.scalars(
            sa.select(ConversationEventRow)
            .where(ConversationEventRow.type == type_)
            .order_by(ConversationEventRow.created_at, ConversationEventRow.id)
        )
        return list(rows)


async def conversation_of(kefu: Kefu, demo: Demo, body: str = "我的订单没有收到退款") -> uuid.UUID:
    result = await ingest(
        kefu,
        Inbound(
            inbox_id=demo.inbox_id,
            identity=Identity(kind="web_visitor", value=uuid.uuid4().hex),
            client_message_id=uuid.uuid4().hex,
            body=body,
        ),
    )
    return result.conversation_id


async def test_create_answers_number_status_and_progress_url_and_logs_ticket_created(
    client: httpx.AsyncClient, kefu: Kefu, workspace: Demo
) -> None:
    headers = await admin(client, workspace)
    group = workspace.groups["aftersales"]
    ticket = await new_ticket(
        client, headers, description="order 123", priority="high", department_id=str(group)
    )
    assert NUMBER.match(ticket["number"]) and ticket["number"].endswith("-000001")
    assert ticket["status"] == "new" and ticket["version"] == 1
    assert "/t/" in ticket["progress_url"]
    second = await new_ticket(client, headers)
    assert second["number"].endswith("-000002")
    [created, _] = await events(kefu, "ticket.created")
    assert created.conversation_id is None
    assert created.data == {
        "ticket_id": ticket["id"],
        "number": ticket["number"],
        "priority": "high",
        "department_id": str(group),
        "channel": None,
        "source": "api",
    }
    [assigned] = await events(kefu, "ticket.assigned")
    assert assigned.data["department_id"] == str(group) and assigned.data["agent_id"] is None


@pytest.mark.engine_sensitive
async def test_concurrent_creates_never_share_a_number(
    client: httpx.AsyncClient, kefu: Kefu, workspace: Demo
) -> None:
    headers = await admin(client, workspace)
    responses = await asyncio.gather(
        *(
            client.post("/api/v1/tickets", json={"title": f"t{i}"}, headers=headers)
            for i in range(12)
        )
    )
    assert [r.status_code for r in responses] == [201] * 12, [r.text for r in responses]
    numbers = sorted(int(r.json()["number"].split("-")[1]) for r in responses)
    assert numbers == list(range(1, 13))


async def test_numbers_are_per_workspace(
    client: httpx.AsyncClient, workspace: Demo, other_workspace: Demo
) -> None:
    mine = await new_ticket(client, await admin(client, workspace))
    theirs = await new_ticket(client, await admin(client, other_workspace))
    assert mine["number"] == theirs["number"]


async def test_conversation_becomes_a_ticket_and_the_customer_is_told_the_number(
    client: httpx.AsyncClient, kefu: Kefu, workspace: Demo
) -> None:
    conversation_id = await conversation_of(kefu, workspace)
    headers = await admin(client, workspace, "lina")
    response = await client.post(
        f"/api/v1/conversations/{conversation_id}/ticket", json={}, headers=headers
    )
    assert response.status_code == 201, response.text
    ticket = response.json()
    assert ticket["title"] == "我的订单没有收到退款"
    assert "我的订单没有收到退款" in ticket["description"]
    assert ticket["conversation_ids"] == [str(conversation_id)]
    assert ticket["channel"] == "web"
    async with kefu.db.session() as session:
        told = list(
            await session.scalars(
                sa.select(Message.body).where(
                    Message.conversation_id == conversation_id, Message.direction == "out"
                )
            )
        )
    assert len(told) == 1 and ticket["number"] in told[0] and ticket["progress_url"] in told[0]
    [created] = await events(kefu, "ticket.created")
    assert created.conversation_id == conversation_id
    assert created.data["source"] == "conversation" and created.data["channel"] == "web"


async def test_a_stale_version_is_a_409_naming_what_changed(
    client: httpx.AsyncClient, kefu: Kefu, workspace: Demo
) -> None:
    headers = await admin(client, workspace)
    ticket = await new_ticket(client, headers)
    url = f"/api/v1/tickets/{ticket['id']}"
    first = await client.patch(
        url, json={"version": 1, "status": "pending_internal"}, headers=headers
    )
    assert first.status_code == 200, first.text
    assert first.json()["version"] == 2 and first.json()["status"] == "pending_internal"
    stale = await client.patch(url, json={"version": 1, "priority": "urgent"}, headers=headers)
    assert stale.status_code == 409
    problem = stale.json()
    assert problem["changed"] == ["status"] and problem["current_version"] == 2
    current = (await client.get(url, headers=headers)).json()
    assert current["priority"] == "normal"  # nothing of the stale edit was written
    [status] = await events(kefu, "ticket.status")
    assert status.data == {
        "ticket_id": ticket["id"],
        "number": ticket["number"],
        "from": "new",
        "to": "pending_internal",
        "from_kind": "new",
        "to_kind": "pending_internal",
    }


@pytest.mark.engine_sensitive
async def test_two_concurrent_edits_of_one_version_one_wins_one_409(
    client: httpx.AsyncClient, workspace: Demo
) -> None:
    headers = await admin(client, workspace)
    ticket = await new_ticket(client, headers)
    url = f"/api/v1/tickets/{ticket['id']}"
    a, b = await asyncio.gather(
        client.patch(url, json={"version": 1, "priority": "high"}, headers=headers),
        client.patch(url, json={"version": 1, "title": "other"}, headers=headers),
    )
    assert sorted([a.status_code, b.status_code]) == [200, 409], (a.text, b.text)
    current = (await client.get(url, headers=headers)).json()
    assert current["version"] == 2
    assert (current["priority"] == "high") != (current["title"] == "other")


async def test_assign_and_clear(client: httpx.AsyncClient, kefu: Kefu, workspace: Demo) -> None:
    headers = await admin(client, workspace)
    ticket = await new_ticket(client, headers)
    tom = str(next(p.id for p in workspace.logins if p.email.startswith("tom@")))
    url = f"/api/v1/tickets/{ticket['id']}"
    assigned = await client.patch(url, json={"version": 1, "assignee_id": tom}, headers=headers)
    assert assigned.json()["assignee_id"] == tom
    cleared = await client.patch(
        url, json={"version": 2, "clear": ["assignee_id"]}, headers=headers
    )
    assert cleared.json()["assignee_id"] is None
    logged = [e.data["agent_id"] for e in await events(kefu, "ticket.assigned")]
    assert logged == [tom, None]


async def test_comments_public_and_internal_and_the_progress_page(
    client: httpx.AsyncClient, kefu: Kefu, workspace: Demo
) -> None:
    headers = await admin(client, workspace)
    ticket = await new_ticket(client, headers)
    url = f"/api/v1/tickets/{ticket['id']}/comments"
    public = await client.post(url, json={"body": "We are on it", "public": True}, headers=headers)
    internal = await client.post(
        url, json={"body": "warehouse-secret", "public": False}, headers=headers
    )
    assert public.status_code == internal.status_code == 201
    logged = [e.data for e in await events(kefu, "ticket.comment")]
    assert logged == [
        {
            "ticket_id": ticket["id"],
            "number": ticket["number"],
            "public": True,
            "author_kind": "agent",
        },
        {
            "ticket_id": ticket["id"],
            "number": ticket["number"],
            "public": False,
            "author_kind": "agent",
        },
    ]
    detail = (await client.get(f"/api/v1/tickets/{ticket['id']}", headers=headers)).json()
    assert [c["public"] for c in detail["comments"]] == [True, False]
    assert detail["status"] == "open"  # a public answer opens a new ticket

    path = "/t/" + ticket["progress_url"].rsplit("/t/", 1)[1]
    page = await client.get(path + "?lang=en")
    assert page.status_code == 200
    assert f"#{ticket['number']}" in page.text and "We are on it" in page.text
    assert "warehouse-secret" not in page.text and "In progress" in page.text
    assert "处理中" in (await client.get(path + "?lang=zh-CN")).text

    reply = await client.post(path + "/reply", data={"body": "Thanks, order 123"})
    assert reply.status_code == 303
    async with kefu.db.session() as session:
        kinds = list(
            await session.scalars(
                sa.select(TicketComment.author_kind).order_by(TicketComment.created_at)
            )
        )
    assert kinds == ["agent", "agent", "customer"]
    assert "Thanks, order 123" in (await client.get(path)).text
    customer = (await events(kefu, "ticket.comment"))[-1]
    assert customer.data["author_kind"] == "customer" and customer.actor_kind == "customer"


async def test_a_wrong_or_revoked_progress_token_is_a_404_revealing_nothing(
    client: httpx.AsyncClient, kefu: Kefu, workspace: Demo
) -> None:
    ticket = await new_ticket(client, await admin(client, workspace), title="secret title")
    token = ticket["progress_url"].rsplit("/t/", 1)[1]
    forged = token[:22] + ("A" if token[22] != "A" else "B") + token[23:]
    for bad in (forged, "x" * 43, "short", uuid.uuid4().hex):
        response = await client.get(f"/t/{bad}")
        assert response.status_code == 404, bad
        assert "secret title" not in response.text and ticket["number"] not in response.text
    assert (await client.post(f"/t/{forged}/reply", data={"body": "hi"})).status_code == 404
    headers = await admin(client, workspace)
    revoked = await client.post(f"/api/v1/tickets/{ticket['id']}/progress-link", headers=headers)
    assert revoked.status_code == 201, revoked.text
    fresh = revoked.json()["progress_url"].rsplit("/t/", 1)[1]
    assert fresh != token
    assert (await client.get(f"/t/{token}")).status_code == 404
    assert (await client.get(f"/t/{fresh}")).status_code == 200


async def test_list_filters_and_cursor(client: httpx.AsyncClient, workspace: Demo) -> None:
    headers = await admin(client, workspace)
    me = str(next(p.id for p in workspace.logins if p.email.startswith("admin@")))
    group = str(workspace.groups["presales"])
    a = await new_ticket(client, headers, assignee_id=me)
    b = await new_ticket(client, headers, department_id=group)
    c = await new_ticket(client, headers)
    await client.patch(
        f"/api/v1/tickets/{c['id']}", json={"version": 1, "status": "resolved"}, headers=headers
    )

    async def ids(**params: Any) -> list[str]:
        response = await client.get("/api/v1/tickets", params=params, headers=headers)
        assert response.status_code == 200, response.text
        return [t["id"] for t in response.json()["items"]]

    assert await ids() == [c["id"], b["id"], a["id"]]
    assert await ids(assignee="me") == [a["id"]]
    assert await ids(assignee="none", status="active") == [b["id"]]
    assert await ids(department=group) == [b["id"]]
    assert await ids(status="resolved") == [c["id"]]
    first = (await client.get("/api/v1/tickets", params={"limit": 2}, headers=headers)).json()
    assert len(first["items"]) == 2 and first["next"]
    rest = await ids(limit=2, cursor=first["next"])
    assert rest == [a["id"]]
    for bad in (
        {"status": "nope"},
        {"assignee": "x"},
        {"cursor": "!!"},
        {"limit": 0},
        {"breaching_before": "2026-12-24T18:00:00"},
    ):
        response = await client.get("/api/v1/tickets", params=bad, headers=headers)
        assert response.status_code == 400 or response.status_code == 422, (bad, response.text)


async def _policy(kefu: Kefu, demo: Demo, **values: Any) -> None:
    async with kefu.db.transaction() as session:
        session.add(SlaPolicy(workspace_id=demo.workspace_id, name="p", **values))


async def test_sla_policy_by_conditions_breaching_view_and_the_sweep(
    client: httpx.AsyncClient, kefu: Kefu, workspace: Demo
) -> None:
    await _policy(
        kefu, workspace, position=0, conditions={"priority": ["urgent"]}, first_response_s=600
    )
    await _policy(
        kefu, workspace, position=1, conditions={}, first_response_s=7200, resolution_s=86400
    )
    headers = await admin(client, workspace)
    urgent = await new_ticket(client, headers, priority="urgent")
    normal = await new_ticket(client, headers)
    assert [c["target"] for c in urgent["clocks"]] == ["first_response"]
    assert [c["target"] for c in normal["clocks"]] == ["first_response", "resolution"]
    soon = (utcnow() + timedelta(hours=1)).isoformat()
    view = await client.get("/api/v1/tickets", params={"breaching_before": soon}, headers=headers)
    assert [t["id"] for t in view.json()["items"]] == [urgent["id"]]
    # The same instant in another offset selects the same rows (compared in UTC).
    local = (utcnow() + timedelta(hours=1)).astimezone(timezone(timedelta(hours=8))).isoformat()
    view = await client.get("/api/v1/tickets", params={"breaching_before": local}, headers=headers)
    assert [t["id"] for t in view.json()["items"]] == [urgent["id"]]

    # Normal is answered in time: a met outcome, once.
    await client.post(
        f"/api/v1/tickets/{normal['id']}/comments",
        json={"body": "hi", "public": True},
        headers=headers,
    )
    assert await sweep_once(kefu, utcnow() + timedelta(minutes=11)) == 1
    assert await sweep_once(kefu, utcnow() + timedelta(minutes=12)) == 0  # written once
    outcomes = sorted(
        (e.data["number"], e.data["target"], e.data["outcome"])
        for e in await events(kefu, "ticket.sla")
    )
    assert outcomes == [
        (urgent["number"], "first_response", "breached"),
        (normal["number"], "first_response", "met"),
    ]
    breached = next(e for e in await events(kefu, "ticket.sla") if e.data["outcome"] == "breached")
    assert set(breached.data) == {"ticket_id", "number", "target", "outcome", "due_at", "at"}
    # Urgent is the top: nothing to raise; a normal-priority breach raises it one step.
    await _policy(
        kefu, workspace, position=-1, conditions={"priority": ["low"]}, first_response_s=60
    )
    low = await new_ticket(client, headers, priority="low")
    assert await sweep_once(kefu, utcnow() + timedelta(minutes=2)) == 1
    raised = (await client.get(f"/api/v1/tickets/{low['id']}", headers=headers)).json()
    assert raised["priority"] == "normal" and raised["version"] == 2


async def test_pending_customer_stops_the_clock(
    client: httpx.AsyncClient, kefu: Kefu, workspace: Demo
) -> None:
    await _policy(kefu, workspace, resolution_s=3600)
    headers = await admin(client, workspace)
    ticket = await new_ticket(client, headers)
    paused = await client.patch(
        f"/api/v1/tickets/{ticket['id']}",
        json={"version": 1, "status": "pending_customer"},
        headers=headers,
    )
    body = paused.json()
    assert body["clocks"][0]["state"] == "paused" and body["sla_next_due_at"] is None
    assert await sweep_once(kefu, utcnow() + timedelta(hours=5)) == 0


@pytest.mark.engine_sensitive
async def test_hostile_inputs_are_4xx_and_write_nothing(
    client: httpx.AsyncClient, kefu: Kefu, workspace: Demo, other_workspace: Demo
) -> None:
    headers = await admin(client, workspace)
    their_group = str(other_workspace.groups["presales"])
    bad_bodies: list[dict[str, Any]] = [
        {"title": "a\x00b"},
        {"title": "x" * 201},
        {"title": ""},
        {"title": "ok", "description": "d" * 20001},
        {"title": "ok", "priority": "critical"},
        {"title": "ok", "tags": ["t"] * 21},
        {"title": "ok", "tags": ["x" * 65]},
        {"title": "ok", "category": "c" * 65},
        {"title": "ok", "department_id": their_group},
        {"title": "ok", "contact_id": str(uuid.uuid4())},
        {"title": "ok", "due_at": "2026-12-24T18:00:00"},
        {"title": "ok", "due_at": "not a date"},
    ]
    for body in bad_bodies:
        response = await client.post("/api/v1/tickets", json=body, headers=headers)
        assert 400 <= response.status_code < 500, (body, response.text)
    async with kefu.db.session() as session:
        assert await session.scalar(sa.select(sa.func.count()).select_from(Ticket)) == 0
    ticket = await new_ticket(client, headers)
    url = f"/api/v1/tickets/{ticket['id']}"
    for patch in (
        {"version": 2**31},
        {"version": 0},
        {"version": 1, "status": "done"},
        {"version": 1, "clear": ["title"]},
        {"version": 1, "title": "t\x00"},
    ):
        response = await client.patch(url, json=patch, headers=headers)
        assert 400 <= response.status_code < 500, (patch, response.text)
    for comment in ({"body": "x" * 20001}, {"body": ""}, {"body": "   "}, {"body": "\x00"}):
        response = await client.post(f"{url}/comments", json=comment, headers=headers)
        assert 400 <= response.status_code < 500, (comment, response.text)
    assert (await client.get(url, headers=headers)).json()["version"] == 1


async def test_another_workspaces_ticket_is_404_on_every_route(
    client: httpx.AsyncClient, kefu: Kefu, workspace: Demo, other_workspace: Demo
) -> None:
    theirs = await new_ticket(
        client, await admin(client, other_workspace), title="secret-of-globex"
    )
    their_conversation = await conversation_of(kefu, other_workspace)
    headers = await admin(client, workspace)
    url = f"/api/v1/tickets/{theirs['id']}"
    for response in (
        await client.get(url, headers=headers),
        await client.patch(url, json={"version": 1, "title": "mine"}, headers=headers),
        await client.post(f"{url}/comments", json={"body": "x", "public": True}, headers=headers),
        await client.post(
            f"/api/v1/conversations/{their_conversation}/ticket", json={}, headers=headers
        ),
    ):
        assert response.status_code == 404, response.text
        assert "secret-of-globex" not in response.text
    listed = (await client.get("/api/v1/tickets", headers=headers)).json()
    assert listed["items"] == []


async def test_sla_policies_api(
    client: httpx.AsyncClient, workspace: Demo, other_workspace: Demo
) -> None:
    headers = await admin(client, workspace)
    body = {
        "name": "VIP on WeChat",
        "conditions": {"priority": ["high", "urgent"], "channel": ["wechat"], "vip_level_min": 2},
        "first_response_s": 900,
        "resolution_s": 28800,
    }
    created = await client.post("/api/v1/sla-policies", json=body, headers=headers)
    assert created.status_code == 201, created.text
    listed = (await client.get("/api/v1/sla-policies", headers=headers)).json()["items"]
    assert [p["name"] for p in listed] == ["VIP on WeChat"]
    assert listed[0]["conditions"]["vip_level_min"] == 2
    their_calendar = await client.post(
        "/api/v1/routing/calendars",
        json={"name": "c"},
        headers=await admin(client, other_workspace),
    )
    for bad in (
        {"name": "none"},
        {"name": "x", "first_response_s": 2**31},
        {"name": "x", "first_response_s": 10},
        {"name": "x" * 201, "resolution_s": 3600},
        {"name": "x", "resolution_s": 3600, "conditions": {"priority": ["critical"]}},
        {"name": "x", "resolution_s": 3600, "calendar_id": their_calendar.json()["id"]},
    ):
        response = await client.post("/api/v1/sla-policies", json=bad, headers=headers)
        assert 400 <= response.status_code < 500, (bad, response.text)
    agent = await admin(client, workspace, "lina")
    assert (await client.post("/api/v1/sla-policies", json=body, headers=agent)).status_code == 403
    gone = await client.delete(f"/api/v1/sla-policies/{created.json()['id']}", headers=headers)
    assert gone.status_code == 204
    assert (await client.get("/api/v1/sla-policies", headers=headers)).json()["items"] == []


async def test_public_comments_and_resolution_reach_the_customer_in_their_channel(
    client: httpx.AsyncClient, kefu: Kefu, workspace: Demo
) -> None:
    conversation_id = await conversation_of(kefu, workspace, "where is my parcel")
    headers = await admin(client, workspace)
    made = await client.post(
        f"/api/v1/conversations/{conversation_id}/ticket", json={"title": "Parcel"}, headers=headers
    )
    ticket = made.json()
    url = f"/api/v1/tickets/{ticket['id']}"
    await client.post(
        f"{url}/comments", json={"body": "internal-only", "public": False}, headers=headers
    )
    await client.post(
        f"{url}/comments", json={"body": "It left the depot", "public": True}, headers=headers
    )
    version = (await client.get(url, headers=headers)).json()["version"]
    done = await client.patch(url, json={"version": version, "status": "resolved"}, headers=headers)
    assert done.status_code == 200, done.text
    async with kefu.db.session() as session:
        sent = list(
            await session.scalars(
                sa.select(Message.body)
                .where(Message.conversation_id == conversation_id, Message.direction == "out")
                .order_by(Message.seq)
            )
        )
    assert len(sent) == 3, sent
    assert "It left the depot" in sent[1] and ticket["number"] in sent[1]
    assert "Resolved" in sent[2] and ticket["number"] in sent[2]
    assert not any("internal-only" in body for body in sent)


async def test_the_customer_rates_a_resolved_ticket_once(
    client: httpx.AsyncClient, kefu: Kefu, workspace: Demo
) -> None:
    headers = await admin(client, workspace)
    ticket = await new_ticket(client, headers)
    path = "/t/" + ticket["progress_url"].rsplit("/t/", 1)[1]
    # Not resolved yet: no rating form, and a posted rating is not taken.
    assert 'name="score"' not in (await client.get(path)).text
    assert (await client.post(path + "/rate", data={"score": "5"})).status_code == 303
    assert await events(kefu, "ticket.rated") == []
    await client.patch(
        f"/api/v1/tickets/{ticket['id']}",
        json={"version": 1, "status": "resolved"},
        headers=headers,
    )
    assert 'name="score"' in (await client.get(path + "?lang=en")).text
    for bad in ("0", "6", "x"):
        assert (await client.post(path + "/rate", data={"score": bad})).status_code == 400
    assert (await client.post(path + "/rate", data={"score": "4"})).status_code == 303
    assert (await client.post(path + "/rate", data={"score": "1"})).status_code == 303
    [rated] = await events(kefu, "ticket.rated")
    assert rated.data == {"ticket_id": ticket["id"], "number": ticket["number"], "score": 4}
    assert "4 of 5" in (await client.get(path + "?lang=en")).text


@pytest.mark.engine_sensitive
async def test_search_by_number_or_title(
    client: httpx.AsyncClient, kefu: Kefu, workspace: Demo, other_workspace: Demo
) -> None:
    theirs = await new_ticket(client, await admin(client, other_workspace), title="100% refund")
    headers = await admin(client, workspace)
    first = await new_ticket(client, headers, title="Refund not received")
    second = await new_ticket(client, headers, title="100% refund, please")
    third = await new_ticket(client, headers, title="Invoice a_b missing")
    # A ticket numbered last year: a bare number finds it in every year numbered.
    async with kefu.db.transaction() as session:
        await session.execute(
            sa.insert(TicketCounter).values(workspace_id=workspace.workspace_id, year=2025, last=2)
        )
        await session.execute(
            sa.update(Ticket)
            .where(Ticket.id == uuid.UUID(third["id"]))
            .values(number="2025-000002")
        )

    async def found(q: str) -> list[str]:
        response = await client.get("/api/v1/tickets", params={"q": q}, headers=headers)
        assert response.status_code == 200, response.text
        return [t["id"] for t in response.json()["items"]]

    assert await found(f"#{first['number']}") == [first["id"]]
    assert await found(first["number"]) == [first["id"]]
    assert await found(f"  {second['number']} ") == [second["id"]]
    assert await found("1") == [first["id"]]
    assert await found("2") == [third["id"], second["id"]]
    assert await found("#2") == [third["id"], second["id"]]
    assert await found("2025-2") == [third["id"]]
    assert await found("1999-000001") == []
    # Otherwise the title contains it, case-insensitively, wildcards literal.
    assert await found("REFUND") == [second["id"], first["id"]]
    assert await found("100%") == [second["id"]]
    assert await found("a_b") == [third["id"]]
    assert await found("%") == [second["id"]]
    assert theirs["id"] not in await found("refund")
    # Combined with a filter; an empty q is no filter.
    await client.patch(
        f"/api/v1/tickets/{first['id']}", json={"version": 1, "status": "resolved"}, headers=headers
    )
    active = await client.get(
        "/api/v1/tickets", params={"q": "refund", "status": "active"}, headers=headers
    )
    assert [t["id"] for t in active.json()["items"]] == [second["id"]]
    assert len(await found("  ")) == 3
    for bad in ("a\x00b", "x" * 201):
        response = await client.get("/api/v1/tickets", params={"q": bad}, headers=headers)
        assert 400 <= response.status_code < 500, (bad, response.text)
    # The list answers each ticket's conversations (one statement on both engines).
    conversation_id = await conversation_of(kefu, workspace)
    made = await client.post(
        f"/api/v1/conversations/{conversation_id}/ticket", json={}, headers=headers
    )
    listed = await client.get(
        "/api/v1/tickets", params={"q": made.json()["number"]}, headers=headers
    )
    assert [t["conversation_ids"] for t in listed.json()["items"]] == [[str(conversation_id)]]
    assert all(
        t["conversation_ids"] == []
        for t in (
            await client.get("/api/v1/tickets", params={"q": "refund"}, headers=headers)
        ).json()["items"]
    )
