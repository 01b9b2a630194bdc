from __future__ import annotations

import httpx

from kefu.demo import Demo
from tests.conftest import PASSWORD, login_headers, login_of


async def test_health_answers_ok(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert response.json() == {"status": "ok", "database": "ok"}


async def test_admin_logs_in_and_sees_itself(client: httpx.AsyncClient, workspace: Demo) -> None:
    headers = await login_headers(client, login_of(workspace, "admin"))
    me = (await client.get("/api/v1/agents/me", headers=headers)).json()
    assert me["email"] == login_of(workspace, "admin")
    assert me["role"] == "admin"


async def test_cookie_session_needs_the_csrf_header_to_change_anything(
    client: httpx.AsyncClient, workspace: Demo
) -> None:
    login = await client.post(
        "/api/v1/auth/login", json={"email": login_of(workspace, "lina"), "password": PASSWORD}
    )
    csrf = login.cookies["kefu_csrf"]
    assert (await client.get("/api/v1/agents/me")).status_code == 200
    refused = await client.put("/api/v1/agents/me/presence", json={"presence": "online"})
    assert refused.status_code == 403
    assert "X-CSRF-Token" in refused.json()["detail"]
    accepted = await client.put(
        "/api/v1/agents/me/presence", json={"presence": "online"}, headers={"X-CSRF-Token": csrf}
    )
    assert accepted.status_code == 200 and accepted.json()["presence"] == "online"


async def test_wrong_password_is_401_with_a_problem_body(
    client: httpx.AsyncClient, workspace: Demo
) -> None:
    response = await client.post(
        "/api/v1/auth/login", json={"email": login_of(workspace, "admin"), "password": "nope-nope"}
    )
    assert response.status_code == 401
    assert response.json()["detail"] == "wrong e-mail or password"


async def test_openapi_schema_is_served(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    assert "/api/v1/conversations" in schema["paths"]


async def test_openapi_declares_busy_and_rate_limited_answers_with_retry_after(
    client: httpx.AsyncClient,
) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method not in ("get", "put", "post", "delete", "patch"):
                continue
            for code in ("429", "503"):
                answer = operation["responses"].get(code)
                assert answer is not None, f"{method} {path} does not declare {code}"
                assert list(answer["content"]) == ["application/problem+json"]
                assert answer["headers"]["Retry-After"]["schema"]["type"] == "integer"


async def test_agents_list_colleagues_but_cannot_change_them(
    client: httpx.AsyncClient, workspace: Demo
) -> None:
    headers = await login_headers(client, login_of(workspace, "lina"))
    listed = await client.get("/api/v1/agents", headers=headers)
    assert listed.status_code == 200
    assert login_of(workspace, "tom") in {a["email"] for a in listed.json()["items"]}
    tom = next(a for a in listed.json()["items"] if a["email"].startswith("tom@"))
    changed = await client.patch(f"/api/v1/agents/{tom['id']}", json={"name": "x"}, headers=headers)
    assert changed.status_code == 403
    presence = await client.put(
        f"/api/v1/agents/{tom['id']}/presence", json={"presence": "online"}, headers=headers
    )
    assert presence.status_code == 403
