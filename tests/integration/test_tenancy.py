"""Workspace A's admin walks every /api route with workspace B's ids and sees nothing."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
from litestar import Litestar

from kefu.context import Kefu
from kefu.conversations.ingest import ingest
from kefu.demo import Demo
from kefu.model import Identity, Inbound
from tests.conftest import login_headers, login_of

PARAM = re.compile(r"\{(\w+):?\w*\}")


async def _ids(kefu: Kefu, demo: Demo, visitor: str) -> dict[str, str]:
    result = await ingest(
        kefu,
        Inbound(
            inbox_id=demo.inbox_id,
            identity=Identity("web_visitor", visitor),
            body="secret-of-" + demo.slug,
        ),
    )
    return {
        "conversation_id": str(result.conversation_id),
        "contact_id": str(result.contact_id),
        "inbox_id": str(demo.inbox_id),
        "group_id": str(demo.groups["presales"]),
        "agent_id": str(demo.logins[1].id),
        "user_id": str(demo.logins[1].id),
    }


RULE: dict[str, Any] = {"name": "probe", "target": {"kind": "bot"}}


async def _other_domains(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, str]:
    """B's own rows in the other domains' tables, so their routes are probed with real ids."""
    entry = await client.post(
        "/api/v1/knowledge",
        json={"title": "secret-of-globex FAQ", "body": "x", "category": "globex-only"},
        headers=headers,
    )
    calendar = await client.post("/api/v1/routing/calendars", json={"name": "c"}, headers=headers)
    rule = await client.post("/api/v1/routing/rules", json=RULE, headers=headers)
    reply = await client.post(
        "/api/v1/quick-replies",
        json={"shortcut": "hi", "title": "secret-of-globex", "body": "hi", "scope": "team"},
        headers=headers,
    )
    ticket = await client.post(
        "/api/v1/tickets", json={"title": "secret-of-globex ticket"}, headers=headers
    )
    policy = await client.post(
        "/api/v1/sla-policies", json={"name": "p", "resolution_s": 3600}, headers=headers
    )
    field = await client.post(
        "/api/v1/ticket-fields",
        json={"key": "globex_only", "label": "secret-of-globex field", "kind": "text"},
        headers=headers,
    )
    for response in (entry, rule, reply, calendar, ticket, policy, field):
        assert response.status_code == 201, response.text
    categories = (await client.get("/api/v1/knowledge/categories", headers=headers)).json()
    return {
        "calendar_id": calendar.json()["id"],
        "category_id": categories[0]["id"],
        "entry_id": entry.json()["id"],
        "rule_id": rule.json()["id"],
        "reply_id": reply.json()["id"],
        "ticket_id": ticket.json()["id"],
        "policy_id": policy.json()["id"],
        "field_id": field.json()["id"],
        "version": "1",
    }


def _routes(app: Litestar) -> list[tuple[str, str]]:
    found = []
    for route in app.routes:
        # /api/v1/widget/ is the visitors' API (visitor tokens); its isolation between
        # visitors is tested with the widget.
        if not route.path.startswith("/api/") or "{" not in route.path:
            continue
        if route.path.startswith("/api/v1/widget/"):
            continue
        # A report's path names a metric, not a row: what it counts is the caller's own
        # workspace, tested with the reports (test_reports_history.py).
        if set(PARAM.findall(route.path)) <= {"metric", "number"}:
            continue
        for method in sorted(getattr(route, "methods", set()) - {"HEAD", "OPTIONS"}):
            found.append((method, route.path))
    return found


async def test_every_api_route_with_another_workspaces_ids_answers_403_or_404(
    app: Litestar, client: httpx.AsyncClient, kefu: Kefu, workspace: Demo, other_workspace: Demo
) -> None:
    mine = await _ids(kefu, workspace, "visitor-a")
    theirs = await _ids(kefu, other_workspace, "visitor-b")
    headers = await login_headers(client, login_of(workspace, "admin"))
    their_headers = await login_headers(client, login_of(other_workspace, "admin"))
    theirs.update(await _other_domains(client, their_headers))
    body: dict[str, Any] = {
        "body": "probe",
        "presence": "online",
        "other_id": mine["contact_id"],
    }
    # Routes whose body has required fields get a valid one, so what answers is the
    # workspace check and not validation.
    bodies: dict[str, dict[str, Any]] = {
        "/api/v1/routing/rules/{rule_id:uuid}": RULE,
        "/api/v1/routing/calendars/{calendar_id:uuid}": {"name": "probe"},
        "/api/v1/knowledge/categories/{category_id:uuid}": {"name": "probe"},
        "/api/v1/knowledge/{entry_id:uuid}": {"title": "probe"},
        "/api/v1/knowledge/{entry_id:uuid}/feedback": {"helpful": True},
        "/api/v1/knowledge/{entry_id:uuid}/insertions": {},
        "/api/v1/tickets/{ticket_id:uuid}": {"version": 1, "title": "probe"},
        "/api/v1/tickets/{ticket_id:uuid}/watchers": {"user_id": mine["user_id"]},
        "/api/v1/tickets/{ticket_id:uuid}/merge": {"source_id": str(uuid.uuid4())},
        "/api/v1/tickets/{ticket_id:uuid}/split": {"comment_id": str(uuid.uuid4())},
        "/api/v1/sla-policies/{policy_id:uuid}": {"name": "probe", "resolution_s": 3600},
        "/api/v1/reports/schedules/{schedule_id:uuid}": {
            "name": "probe",
            "frequency": "daily",
            "metrics": ["conversations"],
            "recipient_ids": [str(uuid.uuid4())],
            "inbox_id": str(uuid.uuid4()),
        },
        # calls (issue 18)
        "/api/v1/calls/{call_id:uuid}/conference": {"number": "+8610123456"},
        "/api/v1/calls/{call_id:uuid}/dtmf": {"digit": "1"},
        "/api/v1/calls/{call_id:uuid}/notes": {"body": "probe"},
        "/api/v1/calls/{call_id:uuid}/transfer": {"group_id": str(uuid.uuid4())},
        "/api/v1/quick-replies/{reply_id:uuid}/render": {
            "conversation_id": mine["conversation_id"]
        },
    }
    routes = _routes(app)
    assert len(routes) >= 15, routes
    leaks = []
    for method, path in routes:
        url = PARAM.sub(lambda m: theirs.get(m.group(1), str(uuid.uuid4())), path)
        payload = bodies.get(path, body) if method != "GET" else None
        response = await client.request(method, url, headers=headers, json=payload)
        text = response.text
        # An error may echo the id it was given; it must show nothing else of B's.
        unasked = [v for v in theirs.values() if v not in url]
        if (
            response.status_code not in (403, 404)
            or any(v in text for v in unasked)
            or "secret-of-globex" in text
        ):
            leaks.append((method, path, response.status_code, text[:200]))
    assert not leaks, "\n".join(f"{m} {p} {c} {t[:120]}" for m, p, c, t in leaks)

    # The same GETs with B's own credentials get past the workspace check, so the probe
    # above could have failed.
    for method, path in routes:
        if method == "GET" and set(PARAM.findall(path)) <= set(theirs):
            url = PARAM.sub(lambda m: theirs[m.group(1)], path)
            response = await client.get(url, headers=their_headers)
            assert response.status_code not in (401, 403, 404), (path, response.text)


async def test_list_filters_with_another_workspaces_ids_return_nothing(
    client: httpx.AsyncClient, kefu: Kefu, workspace: Demo, other_workspace: Demo
) -> None:
    await _ids(kefu, workspace, "visitor-a")
    theirs = await _ids(kefu, other_workspace, "visitor-b")
    headers = await login_headers(client, login_of(workspace, "admin"))
    for query in (
        f"inbox={theirs['inbox_id']}",
        f"contact={theirs['contact_id']}",
        "q=secret-of-globex",
    ):
        page = (await client.get(f"/api/v1/conversations?{query}", headers=headers)).json()
        assert page["items"] == [], query
    own = (await client.get("/api/v1/conversations", headers=headers)).json()
    assert [c["contact"]["id"] for c in own["items"]] != [] and theirs[
        "contact_id"
    ] not in own.__repr__()


async def test_agent_sees_own_and_group_work_but_not_other_groups_assigned_work(
    client: httpx.AsyncClient, kefu: Kefu, workspace: Demo
) -> None:
    from kefu.conversations.actions import Actor, assign
    from kefu.model import SenderKind

    ids = await _ids(kefu, workspace, "visitor-a")
    tom = next(login for login in workspace.logins if login.email.startswith("tom@"))
    system = Actor(workspace_id=workspace.workspace_id, kind=SenderKind.system)
    conversation_id = uuid.UUID(ids["conversation_id"])
    lina = await login_headers(client, login_of(workspace, "lina"))
    tom_headers = await login_headers(client, login_of(workspace, "tom"))
    url = f"/api/v1/conversations/{ids['conversation_id']}"
    # In Li Na's group (pre-sales) but served by Tom: her group view shows it.
    await assign(kefu, conversation_id, system, assignee_id=tom.id)
    assert (await client.get(url, headers=lina)).status_code == 200
    # Moved to Tom's group (after-sales), not hers: she no longer sees it; he does.
    await assign(
        kefu,
        conversation_id,
        system,
        assignee_id=tom.id,
        group_id=workspace.groups["aftersales"],
    )
    assert (await client.get(url, headers=lina)).status_code == 404
    assert (await client.get(url, headers=tom_headers)).status_code == 200


async def test_knowledge_manager_cannot_read_conversations(
    client: httpx.AsyncClient, workspace: Demo
) -> None:
    headers = await login_headers(client, login_of(workspace, "knowledge"))
    response = await client.get("/api/v1/conversations", headers=headers)
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("application/problem+json")
