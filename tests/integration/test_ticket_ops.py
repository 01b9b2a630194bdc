"""Ticket operations over HTTP: bulk actions (per-ticket all-or-nothing, events per
ticket, audited), custom fields and type, watchers over the realtime fan-out, merge,
split and related links, SLA warnings and escalation actions, pending reminders, the
board's breaches; tenancy and bad input for each new route."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import websockets

from kefu.audit.tables import AuditEntry
from kefu.context import Kefu
from kefu.db.tables import Message
from kefu.demo import Demo
from kefu.model import utcnow
from kefu.tickets.sweep import remind_once, sweep_once
from kefu.tickets.tables import SlaPolicy, Ticket
from tests.conftest import login_headers, login_of
from tests.integration.test_tickets import admin, conversation_of, events, new_ticket


def _id(demo: Demo, local: str) -> str:
    return str(next(login.id for login in demo.logins if login.email.startswith(local + "@")))


async def _bulk(
    client: httpx.AsyncClient, headers: dict[str, str], ids: list[str], **change: Any
) -> httpx.Response:
    return await client.post(
        "/api/v1/tickets/bulk", json={"ids": ids, "set": change}, headers=headers
    )


# ---------------------------------------------------------------------------
# bulk


@pytest.mark.engine_sensitive
async def test_bulk_changes_each_ticket_wholly_or_not_and_says_which(
    client: httpx.AsyncClient, kefu: Kefu, workspace: Demo, other_workspace: Demo
) -> None:
    headers = await admin(client, workspace)
    tom = _id(workspace, "tom")
    a = await new_ticket(client, headers, tags=["vip"])
    b = await new_ticket(client, headers)
    # Twenty tags already: adding one more is refused for this ticket alone.
    full = await new_ticket(client, headers, tags=[f"t{i}" for i in range(20)])
    theirs = await new_ticket(client, await admin(client, other_workspace))
    response = await _bulk(
        client,
        headers,
        [a["id"], b["id"], full["id"], theirs["id"]],
        assignee_id=tom,
        status="pending_internal",
        priority="high",
        add_tags=["refund"],
        remove_tags=["vip"],
    )
    assert response.status_code == 200, response.text
    body = response.json()
    outcomes = {r["id"]: r["outcome"] for r in body["results"]}
    assert outcomes == {
        a["id"]: "updated",
        b["id"]: "updated",
        full["id"]: "invalid",
        theirs["id"]: "not_found",
    }
    assert body["updated"] == 2 and body["failed"] == 2
    # Nothing of another workspace's ticket shows in the answer.
    assert "secret" not in response.text and theirs["number"] not in response.text
    for ticket in (a, b):
        got = (await client.get(f"/api/v1/tickets/{ticket['id']}", headers=headers)).json()
        assert got["assignee_id"] == tom and got["status"] == "pending_internal"
        assert got["priority"] == "high" and got["tags"] == ["refund"]
        assert got["version"] == 2
    untouched = (await client.get(f"/api/v1/tickets/{full['id']}", headers=headers)).json()
    assert untouched["version"] == 1 and untouched["status"] == "new"
    assert untouched["assignee_id"] is None and untouched["priority"] == "normal"
    # One event of each kind per ticket changed, none for the refused ones.
    for type_ in ("ticket.status", "ticket.assigned", "ticket.updated"):
        touched = sorted(e.data["ticket_id"] for e in await events(kefu, type_))
        assert touched == sorted([a["id"], b["id"]]), type_
    async with kefu.db.session() as session:
        audited = list(
            await session.scalars(
                sa.select(AuditEntry).where(AuditEntry.action == "ticket.bulk_update")
            )
        )
    assert len(audited) == 1 and audited[0].details["fields"] == ["ids", "set"]
    # The same again changes nothing: every ticket says so.
    again = await _bulk(client, headers, [a["id"], b["id"]], status="pending_internal")
    assert {r["outcome"] for r in again.json()["results"]} == {"unchanged"}


async def test_bulk_refuses_bad_requests_whole(
    client: httpx.AsyncClient, workspace: Demo, other_workspace: Demo
) -> None:
    headers = await admin(client, workspace)
    one = await new_ticket(client, headers)
    cases: list[dict[str, Any]] = [
        {"ids": [], "set": {"priority": "high"}},
        {"ids": [str(uuid.uuid4()) for _ in range(101)], "set": {"priority": "high"}},
        {"ids": [one["id"]], "set": {"priority": "later"}},
        {"ids": [one["id"]], "set": {"title": "not a bulk field"}},
        {"ids": [one["id"]], "set": {"add_tags": ["x" * 65]}},
        {"ids": [one["id"]], "set": {"assignee_id": _id(workspace, "tom"), "unassign": True}},
        # Another workspace's agent: refused before any ticket changes.
        {"ids": [one["id"]], "set": {"assignee_id": _id(other_workspace, "tom")}},
    ]
    for case in cases:
        response = await client.post("/api/v1/tickets/bulk", json=case, headers=headers)
        assert response.status_code in (400, 422), (case, response.text)
    got = (await client.get(f"/api/v1/tickets/{one['id']}", headers=headers)).json()
    assert got["version"] == 1
    assert (await client.post("/api/v1/tickets/bulk", json=cases[2])).status_code == 401


@pytest.mark.engine_sensitive
async def test_bulk_and_a_patch_at_once_lose_no_update(
    client: httpx.AsyncClient, workspace: Demo
) -> None:
    headers = await admin(client, workspace)
    ticket = await new_ticket(client, headers)
    bulk, patch = await asyncio.gather(
        _bulk(client, headers, [ticket["id"]], add_tags=["bulk"]),
        client.patch(
            f"/api/v1/tickets/{ticket['id']}",
            json={"version": 1, "title": "edited"},
            headers=headers,
        ),
    )
    assert bulk.status_code == 200
    got = (await client.get(f"/api/v1/tickets/{ticket['id']}", headers=headers)).json()
    # The bulk action reads the version under the row lock: it never loses to the PATCH.
    assert got["tags"] == ["bulk"]
    if patch.status_code == 200:
        assert got["title"] == "edited" and got["version"] == 3
    else:
        assert patch.status_code == 409 and patch.json()["changed"] == ["tags"]


# ---------------------------------------------------------------------------
# custom fields and type


FIELDS: list[dict[str, Any]] = [
    {"key": "order_no", "label": "Order", "label_zh": "订单号", "kind": "text", "max_length": 10},
    {"key": "items", "label": "Items", "kind": "number", "min_value": 1, "max_value": 5},
    {"key": "bought", "label": "Bought on", "kind": "date"},
    {"key": "reason", "label": "Reason", "kind": "list", "options": ["broken", "late"]},
    {"key": "gift", "label": "Gift", "kind": "checkbox", "required": True},
]


async def _fields(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    for field in FIELDS:
        response = await client.post("/api/v1/ticket-fields", json=field, headers=headers)
        assert response.status_code == 201, response.text


@pytest.mark.engine_sensitive
async def test_custom_field_values_are_checked_against_their_definitions(
    client: httpx.AsyncClient, workspace: Demo
) -> None:
    headers = await admin(client, workspace)
    await _fields(client, headers)
    listed = (await client.get("/api/v1/ticket-fields", headers=headers)).json()["items"]
    assert [f["key"] for f in listed] == ["bought", "gift", "items", "order_no", "reason"]
    ticket = await new_ticket(client, headers)
    url = f"/api/v1/tickets/{ticket['id']}"
    good = {"order_no": "A-123", "items": 2, "bought": "2026-11-30", "reason": "late", "gift": True}
    response = await client.patch(
        url, json={"version": 1, "custom": good, "type": "incident"}, headers=headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["custom"] == good and response.json()["type"] == "incident"
    bad: list[tuple[str, Any]] = [
        ("order_no", "x" * 11),
        ("order_no", 5),
        ("items", 6),
        ("items", "2"),
        ("items", True),
        ("bought", "2026-13-01"),
        ("bought", "yesterday"),
        ("reason", "other"),
        ("gift", "yes"),
        ("gift", None),  # required: cannot be cleared
        ("nope", "x"),
    ]
    for key, value in bad:
        response = await client.patch(
            url, json={"version": 2, "custom": {key: value}}, headers=headers
        )
        assert response.status_code == 422, (key, value, response.text)
        assert response.json()["errors"][0]["field"] == f"custom.{key}"
    assert (await client.get(url, headers=headers)).json()["version"] == 2
    for body in ({"version": 2, "type": "bug"}, {"version": 2, "custom": {"Bad Key": 1}}):
        assert (await client.patch(url, json=body, headers=headers)).status_code == 400
    cleared = await client.patch(
        url, json={"version": 2, "custom": {"reason": None}, "clear": ["type"]}, headers=headers
    )
    assert cleared.status_code == 200
    assert "reason" not in cleared.json()["custom"] and cleared.json()["type"] is None


async def test_only_admins_define_fields_and_definitions_are_bounded(
    client: httpx.AsyncClient, workspace: Demo
) -> None:
    headers = await admin(client, workspace)
    agent = await login_headers(client, login_of(workspace, "tom"))
    field = {"key": "order_no", "label": "Order", "kind": "text"}
    assert (
        await client.post("/api/v1/ticket-fields", json=field, headers=agent)
    ).status_code == 403
    assert (await client.get("/api/v1/ticket-fields", headers=agent)).status_code == 200
    created = await client.post("/api/v1/ticket-fields", json=field, headers=headers)
    assert created.status_code == 201
    again = await client.post("/api/v1/ticket-fields", json=field, headers=headers)
    assert again.status_code == 409
    for bad in (
        {"key": "l", "label": "L", "kind": "list"},
        {"key": "l", "label": "L", "kind": "list", "options": ["a", "a"]},
        {"key": "n", "label": "N", "kind": "number", "min_value": 5, "max_value": 1},
        {"key": "t", "label": "T", "kind": "text", "max_length": 5001},
        {"key": "t\x00", "label": "T", "kind": "text"},
        {"key": "t", "label": "T", "kind": "colour"},
    ):
        response = await client.post("/api/v1/ticket-fields", json=bad, headers=headers)
        assert response.status_code in (400, 422), (bad, response.text)
    gone = await client.delete(f"/api/v1/ticket-fields/{created.json()['id']}", headers=headers)
    assert gone.status_code == 204
    assert (await client.get("/api/v1/ticket-fields", headers=headers)).json()["items"] == []


# ---------------------------------------------------------------------------
# watchers


async def _token(client: httpx.AsyncClient, demo: Demo, local: str) -> str:
    return (await login_headers(client, login_of(demo, local)))["Authorization"].split()[1]


async def _next_ticket_event(socket: Any, timeout: float = 10.0) -> dict[str, Any]:
    async with asyncio.timeout(timeout):
        while True:
            event = json.loads(await socket.recv())
            if event["type"] == "ticket":
                return event


async def test_watchers_hear_public_and_internal_changes_over_the_socket(
    live_server: str, client: httpx.AsyncClient, kefu: Kefu, workspace: Demo
) -> None:
    headers = await admin(client, workspace)
    ticket = await new_ticket(client, headers)
    url = f"/api/v1/tickets/{ticket['id']}"
    tom = _id(workspace, "tom")
    added = await client.post(f"{url}/watchers", json={"user_id": tom}, headers=headers)
    assert added.status_code == 200 and added.json()["watcher_ids"] == [tom]
    ws_url = live_server.replace("http", "ws") + "/ws/agent"
    tom_token = await _token(client, workspace, "tom")
    lina_token = await _token(client, workspace, "lina")
    async with (
        websockets.connect(
            ws_url, additional_headers={"Authorization": f"Bearer {tom_token}"}
        ) as tom_socket,
        websockets.connect(
            ws_url, additional_headers={"Authorization": f"Bearer {lina_token}"}
        ) as lina_socket,
    ):
        for socket in (tom_socket, lina_socket):
            assert json.loads(await socket.recv())["type"] == "hello"
        await client.post(
            f"{url}/comments", json={"body": "internal note", "public": False}, headers=headers
        )
        event = await _next_ticket_event(tom_socket)
        assert event["ticket_id"] == ticket["id"] and event["change"] == "comment"
        assert event["public"] is False and event["notify"] == [tom]
        await client.patch(url, json={"version": 2, "priority": "urgent"}, headers=headers)
        assert (await _next_ticket_event(tom_socket))["change"] == "updated"
        # Li Na watches nothing: the one ticket event she hears is the one that names her.
        lina = _id(workspace, "lina")
        await client.post(f"{url}/watchers", json={"user_id": lina}, headers=headers)
        await client.post(f"{url}/comments", json={"body": "hi", "public": False}, headers=headers)
        heard = await _next_ticket_event(lina_socket)
        assert heard["change"] == "comment" and lina in heard["notify"]
    removed = await client.delete(f"{url}/watchers/{tom}", headers=headers)
    assert removed.json()["watcher_ids"] == [lina]
    assert [e.data["user_id"] for e in await events(kefu, "ticket.watcher_added")] == [tom, lina]


async def test_watchers_must_be_colleagues_of_the_workspace(
    client: httpx.AsyncClient, workspace: Demo, other_workspace: Demo
) -> None:
    headers = await admin(client, workspace)
    ticket = await new_ticket(client, headers)
    response = await client.post(
        f"/api/v1/tickets/{ticket['id']}/watchers",
        json={"user_id": _id(other_workspace, "tom")},
        headers=headers,
    )
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "user_id"


# ---------------------------------------------------------------------------
# merge, split, links


@pytest.mark.engine_sensitive
async def test_merge_moves_everything_closes_the_source_and_tells_its_customer_once(
    client: httpx.AsyncClient, kefu: Kefu, workspace: Demo
) -> None:
    headers = await admin(client, workspace)
    conversation_id = await conversation_of(kefu, workspace)
    source = (
        await client.post(
            f"/api/v1/conversations/{conversation_id}/ticket", json={}, headers=headers
        )
    ).json()
    target = await new_ticket(client, headers, title="The main one")
    third = await new_ticket(client, headers, title="Related to the source")
    tom = _id(workspace, "tom")
    await client.post(
        f"/api/v1/tickets/{source['id']}/watchers", json={"user_id": tom}, headers=headers
    )
    await client.post(
        f"/api/v1/tickets/{source['id']}/links", json={"other_id": third["id"]}, headers=headers
    )
    await client.post(
        f"/api/v1/tickets/{source['id']}/comments",
        json={"body": "source comment", "public": False},
        headers=headers,
    )
    response = await client.post(
        f"/api/v1/tickets/{target['id']}/merge", json={"source_id": source["id"]}, headers=headers
    )
    assert response.status_code == 200, response.text
    merged = response.json()
    assert [c["body"] for c in merged["comments"]] == ["source comment"]
    assert merged["conversation_ids"] == [str(conversation_id)]
    assert merged["watcher_ids"] == [tom]
    assert {(link["ticket_id"], link["kind"]) for link in merged["links"]} == {
        (source["id"], "merged_from"),
        (third["id"], "related"),
    }
    closed = (await client.get(f"/api/v1/tickets/{source['id']}", headers=headers)).json()
    assert closed["status"] == "closed" and closed["merged_into_id"] == target["id"]
    assert closed["comments"] == [] and closed["watcher_ids"] == []
    assert [(x["ticket_id"], x["kind"]) for x in closed["links"]] == [(target["id"], "merged_into")]
    other = (await client.get(f"/api/v1/tickets/{third['id']}", headers=headers)).json()
    assert [(x["ticket_id"], x["kind"]) for x in other["links"]] == [(target["id"], "related")]
    async with kefu.db.session() as session:
        told = list(
            await session.scalars(
                sa.select(Message.body).where(
                    Message.conversation_id == conversation_id, Message.direction == "out"
                )
            )
        )
    merged_notes = [b for b in told if target["number"] in b]
    assert len(merged_notes) == 1 and source["number"] in merged_notes[0]
    [on_source, on_target] = sorted(
        (e.data for e in await events(kefu, "ticket.merged")), key=lambda d: "into_id" not in d
    )
    assert on_source["into_id"] == target["id"] and on_target["from_id"] == source["id"]
    # Once merged, never again; and a ticket cannot swallow itself.
    again = await client.post(
        f"/api/v1/tickets/{target['id']}/merge", json={"source_id": source["id"]}, headers=headers
    )
    assert again.status_code == 409
    itself = await client.post(
        f"/api/v1/tickets/{target['id']}/merge", json={"source_id": target["id"]}, headers=headers
    )
    assert itself.status_code == 422


async def test_merge_and_link_refuse_another_workspaces_ticket(
    client: httpx.AsyncClient, workspace: Demo, other_workspace: Demo
) -> None:
    headers = await admin(client, workspace)
    mine = await new_ticket(client, headers)
    theirs = await new_ticket(client, await admin(client, other_workspace))
    for path, body in (
        ("merge", {"source_id": theirs["id"]}),
        ("links", {"other_id": theirs["id"]}),
    ):
        response = await client.post(
            f"/api/v1/tickets/{mine['id']}/{path}", json=body, headers=headers
        )
        assert response.status_code == 404, (path, response.text)
        assert theirs["number"] not in response.text
    got = (await client.get(f"/api/v1/tickets/{mine['id']}", headers=headers)).json()
    assert got["links"] == [] and got["version"] == 1


async def test_split_makes_a_comment_a_new_linked_ticket_and_related_links_go_both_ways(
    client: httpx.AsyncClient, kefu: Kefu, workspace: Demo
) -> None:
    headers = await admin(client, workspace)
    group = str(workspace.groups["aftersales"])
    ticket = await new_ticket(client, headers, priority="high", department_id=group)
    comment = (
        await client.post(
            f"/api/v1/tickets/{ticket['id']}/comments",
            json={"body": "Also: the invoice is wrong\nplease fix", "public": False},
            headers=headers,
        )
    ).json()
    response = await client.post(
        f"/api/v1/tickets/{ticket['id']}/split", json={"comment_id": comment["id"]}, headers=headers
    )
    assert response.status_code == 201, response.text
    new = response.json()
    assert new["title"] == "Also: the invoice is wrong" and new["priority"] == "high"
    assert new["department_id"] == group and new["number"] != ticket["number"]
    assert [c["id"] for c in new["comments"]] == [comment["id"]]
    assert [(x["ticket_id"], x["kind"]) for x in new["links"]] == [(ticket["id"], "split_from")]
    old = (await client.get(f"/api/v1/tickets/{ticket['id']}", headers=headers)).json()
    assert old["comments"] == []
    assert [(x["ticket_id"], x["kind"]) for x in old["links"]] == [(new["id"], "split_into")]
    [created_by_split] = [
        e for e in await events(kefu, "ticket.created") if e.data["source"] == "split"
    ]
    assert created_by_split.data["ticket_id"] == new["id"]
    # A comment of another ticket cannot be split off this one.
    other = await client.post(
        f"/api/v1/tickets/{ticket['id']}/split", json={"comment_id": comment["id"]}, headers=headers
    )
    assert other.status_code == 422

    a, b = await new_ticket(client, headers), await new_ticket(client, headers)
    linked = await client.post(
        f"/api/v1/tickets/{a['id']}/links", json={"other_id": b["id"]}, headers=headers
    )
    assert [(x["ticket_id"], x["kind"]) for x in linked.json()["links"]] == [(b["id"], "related")]
    seen = (await client.get(f"/api/v1/tickets/{b['id']}", headers=headers)).json()
    assert [(x["ticket_id"], x["kind"]) for x in seen["links"]] == [(a["id"], "related")]
    unlinked = await client.delete(f"/api/v1/tickets/{b['id']}/links/{a['id']}", headers=headers)
    assert unlinked.json()["links"] == []
    assert (await client.get(f"/api/v1/tickets/{a['id']}", headers=headers)).json()["links"] == []


# ---------------------------------------------------------------------------
# SLA warnings, escalation, reminders, the board


async def _sla_events(kefu: Kefu, ticket_id: str) -> list[tuple[str, str]]:
    return [
        (e.data["target"], e.data["outcome"])
        for e in await events(kefu, "ticket.sla")
        if e.data["ticket_id"] == ticket_id
    ]


@pytest.mark.engine_sensitive
async def test_sla_warns_before_and_escalates_at_breach_as_the_policy_says(
    client: httpx.AsyncClient, kefu: Kefu, workspace: Demo
) -> None:
    headers = await admin(client, workspace)
    tom, lina = _id(workspace, "tom"), _id(workspace, "lina")
    group = str(workspace.groups["aftersales"])
    policy = await client.post(
        "/api/v1/sla-policies",
        json={
            "name": "Escalating",
            "first_response_s": 3600,
            "warn_before_s": 600,
            "raise_priority": False,
            "actions": {
                "warning": [{"kind": "notify_assignee"}],
                "breach": [
                    {"kind": "notify_supervisors"},
                    {"kind": "raise_priority"},
                    {"kind": "reassign", "group_id": group, "agent_id": tom},
                ],
            },
        },
        headers=headers,
    )
    assert policy.status_code == 201, policy.text
    assert policy.json()["actions"]["breach"][2] == {
        "kind": "reassign",
        "group_id": group,
        "agent_id": tom,
    }
    ticket = await new_ticket(client, headers, assignee_id=lina)
    start = utcnow()
    assert await sweep_once(kefu, start + timedelta(minutes=40)) == 0
    assert await _sla_events(kefu, ticket["id"]) == []
    # Ten minutes before due: a warning, once.
    assert await sweep_once(kefu, start + timedelta(minutes=51)) == 0
    assert await sweep_once(kefu, start + timedelta(minutes=52)) == 0
    assert await _sla_events(kefu, ticket["id"]) == [("first_response", "warning")]
    got = (await client.get(f"/api/v1/tickets/{ticket['id']}", headers=headers)).json()
    assert got["version"] == 1  # a warning notifies; it changes nothing
    # At the breach: priority up one step, reassigned to the group and Tom.
    assert await sweep_once(kefu, start + timedelta(minutes=61)) == 1
    assert await _sla_events(kefu, ticket["id"]) == [
        ("first_response", "warning"),
        ("first_response", "breached"),
    ]
    got = (await client.get(f"/api/v1/tickets/{ticket['id']}", headers=headers)).json()
    assert got["priority"] == "high" and got["assignee_id"] == tom
    assert got["department_id"] == group and got["version"] == 2
    [reassigned] = [e.data for e in await events(kefu, "ticket.assigned") if e.data.get("reason")]
    assert reassigned == {
        "ticket_id": ticket["id"],
        "number": ticket["number"],
        "agent_id": tom,
        "department_id": group,
        "reason": "sla_breach",
    }
    # The board shows supervisors what breaches within the hour (in real time this one
    # is due an hour after it was made: the sweep above ran in the future).
    supervisor = await login_headers(client, login_of(workspace, "supervisor"))
    board = (await client.get("/api/v1/reports/board", headers=supervisor)).json()
    assert [t["number"] for t in board["tickets"]] == [ticket["number"]]
    assert 0 < board["tickets"][0]["remaining_s"] <= 3600


async def test_escalation_notifies_the_people_the_policy_names(
    live_server: str, client: httpx.AsyncClient, kefu: Kefu, workspace: Demo
) -> None:
    headers = await admin(client, workspace)
    lina = _id(workspace, "lina")
    await client.post(
        "/api/v1/sla-policies",
        json={
            "name": "Warn",
            "first_response_s": 3600,
            "warn_before_s": 600,
            "actions": {"warning": [{"kind": "notify_assignee"}]},
        },
        headers=headers,
    )
    ticket = await new_ticket(client, headers, assignee_id=lina)
    ws_url = live_server.replace("http", "ws") + "/ws/agent"
    token = await _token(client, workspace, "lina")
    async with websockets.connect(
        ws_url, additional_headers={"Authorization": f"Bearer {token}"}
    ) as socket:
        assert json.loads(await socket.recv())["type"] == "hello"
        await sweep_once(kefu, utcnow() + timedelta(minutes=55))
        event = await _next_ticket_event(socket)
    assert event["change"] == "sla_warning" and event["ticket_id"] == ticket["id"]
    assert event["notify"] == [lina]


async def test_policy_actions_are_checked_and_a_policy_can_be_edited(
    client: httpx.AsyncClient, workspace: Demo, other_workspace: Demo
) -> None:
    headers = await admin(client, workspace)
    base = {"name": "P", "resolution_s": 3600}
    for actions in (
        {"breach": [{"kind": "reassign"}]},
        {"breach": [{"kind": "reassign", "group_id": str(other_workspace.groups["presales"])}]},
        {"warning": [{"kind": "explode"}]},
    ):
        response = await client.post(
            "/api/v1/sla-policies", json={**base, "actions": actions}, headers=headers
        )
        assert response.status_code in (400, 422), (actions, response.text)
    created = (await client.post("/api/v1/sla-policies", json=base, headers=headers)).json()
    edited = await client.put(
        f"/api/v1/sla-policies/{created['id']}",
        json={
            **base,
            "warn_before_s": 300,
            "actions": {"warning": [{"kind": "notify_supervisors"}]},
        },
        headers=headers,
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["warn_before_s"] == 300
    assert edited.json()["actions"] == {"warning": [{"kind": "notify_supervisors"}], "breach": []}


@pytest.mark.engine_sensitive
async def test_a_pending_reminder_reopens_the_ticket_at_its_time(
    client: httpx.AsyncClient, kefu: Kefu, workspace: Demo
) -> None:
    headers = await admin(client, workspace)
    ticket = await new_ticket(client, headers)
    url = f"/api/v1/tickets/{ticket['id']}"
    when = utcnow() + timedelta(hours=2)
    response = await client.patch(
        url,
        json={"version": 1, "status": "pending_customer", "remind_at": when.isoformat()},
        headers=headers,
    )
    assert response.status_code == 200 and response.json()["remind_at"] is not None
    naive = await client.patch(
        url, json={"version": 2, "remind_at": "2026-12-24T10:00:00"}, headers=headers
    )
    assert naive.status_code == 400
    assert await remind_once(kefu, utcnow() + timedelta(hours=1)) == 0
    assert await remind_once(kefu, when + timedelta(seconds=1)) == 1
    got = (await client.get(url, headers=headers)).json()
    assert got["status"] == "open" and got["remind_at"] is None and got["version"] == 3
    [reopened] = [e for e in await events(kefu, "ticket.status") if e.data.get("reason")]
    assert reopened.data["from"] == "pending_customer" and reopened.data["to"] == "open"
    assert reopened.actor_kind == "system"
    # A reminder on a ticket no longer waiting is dropped, not acted on.
    await client.patch(
        url,
        json={"version": 3, "status": "pending_internal", "remind_at": when.isoformat()},
        headers=headers,
    )
    closed = await client.patch(url, json={"version": 4, "status": "resolved"}, headers=headers)
    assert closed.json()["remind_at"] is None
    assert await remind_once(kefu, when + timedelta(days=1)) == 0
    async with kefu.db.session() as session:
        row = await session.get(Ticket, uuid.UUID(ticket["id"]))
        assert row is not None and row.status_kind == "resolved"
        assert await session.scalar(sa.select(sa.func.count()).select_from(SlaPolicy)) == 0
