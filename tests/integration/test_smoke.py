from __future__ import annotations

from typing import Any

import httpx

from kefu.demo import Demo
from tests.conftest import login_headers, login_of


async def test_health_answers_ok(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert response.json() == {"status": "ok", "database": "ok"}


async def test_admin_logs_in_and_sees_itself(client: httpx.AsyncClient, workspace: Demo) -> None:
    headers = await login_headers(client, login_of(workspace, "admin"))
    me = (await client.get("/api/v1/agents/me", headers=headers)).json()
    assert me["email"] == login_of(workspace, "admin")
    assert me["role"] == "admin"
