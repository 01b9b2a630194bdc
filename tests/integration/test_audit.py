"""The audit log (issue 12): who did what to which object, from where and when, for
admin, role, inbox, routing, knowledge and export actions; read by admins only. And a
guard for the future: a staff route that changes something must be in the catalogue."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.routes import HTTPRoute

from kefu.audit import catalogue
from kefu.demo import Demo
from tests.conftest import login_headers, login_of

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) kefu-audit-test"


@pytest.fixture
async def admin(client: httpx.AsyncClient, workspace: Demo) -> dict[str, str]:
    headers = await login_headers(client, login_of(workspace, "admin"))
    return {**headers, "User-Agent": BROWSER}


def admin_id(workspace: Demo) -> str:
    return str(next(x.id for x in workspace.logins if x.email.startswith("admin@")))


async def audit(
    client: httpx.AsyncClient, headers: dict[str, str], **params: Any
) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/audit", params=params, headers=headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_creating_an_inbox_is_recorded_with_who_what_and_where(
    client: httpx.AsyncClient, workspace: Demo, admin: dict[str, str]
) -> None:
    made = await client.post(
        "/api/v1/inboxes", json={"kind": "web", "name": "Shop widget", "config": {}}, headers=admin
    )
    assert made.status_code == 201, made.text
    [entry] = await audit(client, admin, action="inbox.create")
    assert entry["object_type"] == "inbox"
    assert entry["object_id"] == made.json()["id"]
    assert entry["actor_id"] == admin_id(workspace)
    assert entry["actor_name"] == "Admin 管理员"
    assert (entry["method"], entry["path"], entry["status"]) == ("POST", "/api/v1/inboxes", 201)
    assert entry["ip"] == "127.0.0.1"
    assert entry["user_agent"] == BROWSER
    assert entry["details"]["fields"] == ["config", "kind", "name"]
    assert entry["details"]["values"] == {"kind": "web", "name": "Shop widget"}
    assert entry["label"] == {"en": "Created an inbox", "zh-CN": "创建了接入渠道"}


async def test_routing_rule_changes_are_recorded(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    rule = {"name": "vip first", "target": {"kind": "bot"}}
    made = await client.post("/api/v1/routing/rules", json=rule, headers=admin)
    assert made.status_code == 201, made.text
    rule_id = made.json()["id"]
    changed = await client.put(
        f"/api/v1/routing/rules/{rule_id}", json={**rule, "priority": 7}, headers=admin
    )
    assert changed.status_code == 200, changed.text
    removed = await client.delete(f"/api/v1/routing/rules/{rule_id}", headers=admin)
    assert removed.status_code == 204

    entries = await audit(client, admin, action="routing.*")
    assert [(e["action"], e["object_id"]) for e in entries] == [
        ("routing.rule.delete", rule_id),
        ("routing.rule.update", rule_id),
        ("routing.rule.create", rule_id),
    ]
    assert entries[1]["details"]["values"]["priority"] == 7
    assert [e["object_id"] for e in await audit(client, admin, object=rule_id)] == [rule_id] * 3


async def test_a_role_change_is_its_own_action_and_no_password_is_written_down(
    client: httpx.AsyncClient, workspace: Demo, admin: dict[str, str]
) -> None:
    tom = str(next(x.id for x in workspace.logins if x.email.startswith("tom@")))
    response = await client.patch(
        f"/api/v1/agents/{tom}",
        json={"role": "supervisor", "password": "tom's new secret 42"},
        headers=admin,
    )
    assert response.status_code == 200, response.text
    rename = await client.patch(f"/api/v1/agents/{tom}", json={"name": "Tom C."}, headers=admin)
    assert rename.status_code == 200

    entries = await audit(client, admin, object=tom)
    assert sorted(e["action"] for e in entries) == [
        "agent.password_reset",
        "agent.role_change",
        "agent.update",
    ]
    role = next(e for e in entries if e["action"] == "agent.role_change")
    assert role["details"]["values"] == {"role": "supervisor"}
    assert role["details"]["fields"] == ["password", "role"]
    raw = (await client.get("/api/v1/audit", headers=admin)).text
    assert "tom's new secret 42" not in raw


async def test_a_knowledge_export_is_recorded(
    client: httpx.AsyncClient, workspace: Demo, admin: dict[str, str]
) -> None:
    exported = await client.get("/api/v1/knowledge/export", headers=admin)
    assert exported.status_code == 200, exported.text
    csv = await client.get("/api/v1/knowledge/export", params={"format": "csv"}, headers=admin)
    assert csv.status_code == 200
    entries = await audit(client, admin, action="knowledge.export")
    assert [e["path"] for e in entries] == [
        "/api/v1/knowledge/export?format=csv",
        "/api/v1/knowledge/export",
    ]
    assert all(e["actor_id"] == admin_id(workspace) for e in entries)


async def test_refused_requests_leave_no_entry(
    client: httpx.AsyncClient, workspace: Demo, admin: dict[str, str]
) -> None:
    agent = await login_headers(client, login_of(workspace, "lina"))
    refused = await client.post(
        "/api/v1/inboxes", json={"kind": "web", "name": "x", "config": {}}, headers=agent
    )
    assert refused.status_code == 403
    invalid = await client.post("/api/v1/routing/rules", json={"name": ""}, headers=admin)
    assert invalid.status_code in (400, 422)
    assert await audit(client, admin, action="inbox.create") == []
    assert await audit(client, admin, action="routing.rule.create") == []


async def test_only_admins_read_the_log_and_only_their_workspace(
    client: httpx.AsyncClient, workspace: Demo, other_workspace: Demo, admin: dict[str, str]
) -> None:
    made = await client.post(
        "/api/v1/inboxes", json={"kind": "web", "name": "Ours", "config": {}}, headers=admin
    )
    assert made.status_code == 201
    supervisor = await login_headers(client, login_of(workspace, "supervisor"))
    assert (await client.get("/api/v1/audit", headers=supervisor)).status_code == 403
    assert (await client.get("/api/v1/audit")).status_code == 401
    theirs = await login_headers(client, login_of(other_workspace, "admin"))
    assert await audit(client, theirs, action="inbox.create") == []


async def test_filters_and_pages_newest_first(
    client: httpx.AsyncClient, workspace: Demo, admin: dict[str, str]
) -> None:
    names = [f"Inbox {i}" for i in range(5)]
    for name in names:
        made = await client.post(
            "/api/v1/inboxes", json={"kind": "web", "name": name, "config": {}}, headers=admin
        )
        assert made.status_code == 201
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"action": "inbox.create", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get("/api/v1/audit", params=params, headers=admin)).json()
        seen += [e["details"]["values"]["name"] for e in page["items"]]
        pages += 1
        cursor = page["next"]
        if cursor is None:
            break
    assert seen == names[::-1]
    assert pages == 3

    everything = await audit(client, admin, actor=admin_id(workspace))
    newest = everything[0]["at"]
    assert await audit(client, admin, since=newest, action="inbox.create") == everything[:1]
    assert len(await audit(client, admin, until=newest, action="inbox.create")) == 4
    lina = str(next(x.id for x in workspace.logins if x.email.startswith("lina@")))
    assert await audit(client, admin, actor=lina, action="inbox.create") == []
    bad = await client.get("/api/v1/audit", params={"cursor": "not-a-cursor"}, headers=admin)
    assert bad.status_code == 422


async def test_sign_ins_are_recorded(
    client: httpx.AsyncClient, workspace: Demo, admin: dict[str, str]
) -> None:
    [entry] = await audit(client, admin, action="auth.login")
    assert entry["actor_id"] == admin_id(workspace)
    assert entry["object_id"] == admin_id(workspace)
    assert entry["details"]["fields"] == ["email", "password"]
    assert entry["details"]["values"] == {"email": login_of(workspace, "admin")}


async def test_the_action_list_names_every_action_in_both_languages(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    response = await client.get("/api/v1/audit/actions", headers=admin)
    assert response.status_code == 200
    items = {a["action"]: a["label"] for a in response.json()["items"]}
    assert items["agent.role_change"] == {"en": "Changed a role", "zh-CN": "修改了角色"}
    assert {"inbox.create", "routing.rule.update", "knowledge.export"} <= set(items)


# ---------------------------------------------------------------------------
# The catalogue covers every route: a new admin endpoint cannot forget the audit log.


def _staff_guarded(handler: Any) -> bool:
    return any(getattr(g, "__module__", "") == "kefu.people.auth" for g in handler.resolve_guards())


def _routes(app: Litestar) -> list[tuple[str, str, Any]]:
    found = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or not route.path.startswith("/api/v1/"):
            continue
        for handler in route.route_handlers:
            for method in handler.http_methods:
                found.append((method, route.path_format, handler))
    return found


def test_every_staff_route_that_changes_something_is_audited_or_says_why_not(
    app: Litestar,
) -> None:
    missing = []
    unguarded = []
    for method, path, handler in _routes(app):
        key = (method, path)
        if method not in catalogue.MUTATING and not catalogue.is_export(method, path):
            continue
        if key in catalogue.PUBLIC or path.startswith(catalogue.PUBLIC_PREFIXES):
            continue
        if not _staff_guarded(handler):
            unguarded.append(key)
        if key not in catalogue.AUDITED and key not in catalogue.NOT_AUDITED:
            missing.append(key)
    assert unguarded == [], f"routes that change something with no staff guard: {unguarded}"
    assert missing == [], (
        "add these routes to kefu/audit/catalogue.py (AUDITED, or NOT_AUDITED with the "
        f"reason): {missing}"
    )


def test_the_catalogue_names_only_routes_that_exist(app: Litestar) -> None:
    existing = {(method, path) for method, path, _ in _routes(app)}
    stale = sorted(set(catalogue.AUDITED) - existing) + sorted(
        set(catalogue.NOT_AUDITED) - existing
    )
    assert stale == [], f"catalogue entries for routes that are gone or renamed: {stale}"
    assert not set(catalogue.AUDITED) & set(catalogue.NOT_AUDITED)


def test_the_coverage_check_would_catch_a_forgotten_route(app: Litestar) -> None:
    """The check above is only worth something if it fails: a new admin route, unlisted."""
    from litestar import post

    from kefu.model import Role
    from kefu.people.auth import require_role

    @post("/api/v1/inboxes/{inbox_id:uuid}/purge", guards=[require_role(Role.admin)])
    async def purge(inbox_id: str) -> None:
        return None

    app.register(purge)
    with pytest.raises(AssertionError, match="purge"):
        test_every_staff_route_that_changes_something_is_audited_or_says_why_not(app)


async def test_an_audit_write_that_fails_does_not_turn_a_done_change_into_an_error(
    client: httpx.AsyncClient, admin: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from kefu.audit import service

    async def broken(*_: object) -> None:
        raise RuntimeError("audit store down")

    monkeypatch.setattr(service, "record", broken)
    made = await client.post(
        "/api/v1/inboxes", json={"kind": "web", "name": "Still made", "config": {}}, headers=admin
    )
    # The inbox exists, so the client must hear so (a 500 would invite a duplicate).
    assert made.status_code == 201
    assert made.json()["name"] == "Still made"
