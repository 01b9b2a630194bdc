"""Visitor tokens expire (KEFU_VISITOR_TOKEN_HOURS), are handed out fresh with every
session (the widget asks again at half-life), and are revoked when staff block the
visitor (issue 12, item 4)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from kefu.connectors.web import tokens
from kefu.context import Kefu
from kefu.demo import Demo
from tests.conftest import login_headers, login_of
from tests.integration.test_widget_api import bearer, say, start

ZH = {"Accept-Language": "zh-CN"}


async def test_each_session_hands_out_a_fresh_token_with_its_expiry(
    client: httpx.AsyncClient, kefu: Kefu, workspace: Demo
) -> None:
    first = await start(client, workspace)
    expires = datetime.fromisoformat(first["token_expires_at"])
    expected = datetime.now(UTC) + timedelta(hours=kefu.settings.visitor_token_hours)
    assert abs(expires - expected) < timedelta(seconds=30)
    await asyncio_sleep_ms(5)
    again = await start(client, workspace, token=first["token"])
    assert again["visitor_id"] == first["visitor_id"]
    assert again["token"] != first["token"]
    # Rotation does not cut off the page still holding the previous token.
    for session in (first, again):
        response = await client.get("/api/v1/widget/messages", headers=bearer(session))
        assert response.status_code == 200


async def asyncio_sleep_ms(ms: int) -> None:
    import asyncio

    await asyncio.sleep(ms / 1000)


async def test_an_expired_token_is_refused_and_starts_a_new_visitor(
    client: httpx.AsyncClient, kefu: Kefu, workspace: Demo
) -> None:
    first = await start(client, workspace)
    read = tokens.read_visitor(
        kefu.settings.secret_key,
        first["token"],
        now=datetime.now(UTC),
        max_age=timedelta(hours=1),
    )
    old = tokens.sign_visitor(
        kefu.settings.secret_key,
        read.inbox_id,
        read.visitor_id,
        datetime.now(UTC) - timedelta(hours=kefu.settings.visitor_token_hours, seconds=1),
    )
    response = await client.get(
        "/api/v1/widget/messages", headers={"Authorization": f"Bearer {old}"}
    )
    assert response.status_code == 401
    assert "expired" in response.text
    fresh = await start(client, workspace, token=old)
    assert fresh["visitor_id"] != first["visitor_id"]


@pytest.mark.engine_sensitive
async def test_blocking_a_visitor_revokes_their_tokens_and_refuses_new_sessions(
    client: httpx.AsyncClient, kefu: Kefu, workspace: Demo
) -> None:
    visitor = await start(client, workspace)
    assert (await say(client, visitor, "你好")).status_code == 200
    agent = await login_headers(client, login_of(workspace, "lina"))
    state = f"/api/v1/visitors/{visitor['visitor_id']}"
    before = await client.get(state, headers=agent)
    assert before.status_code == 200 and before.json()["blocked"] is False
    blocked = await client.post(f"/api/v1/visitors/{visitor['visitor_id']}/block", headers=agent)
    assert blocked.status_code == 200 and blocked.json()["blocked"] is True
    assert (await client.get(state, headers=agent)).json()["blocked"] is True

    refused = await client.get("/api/v1/widget/messages", headers={**bearer(visitor), **ZH})
    assert refused.status_code == 403
    assert "无法使用" in refused.json()["detail"]
    again = await client.post(
        "/api/v1/widget/sessions",
        json={"inbox": workspace.widget_key, "token": visitor["token"]},
        headers=ZH,
    )
    assert again.status_code == 403

    unblocked = await client.post(
        f"/api/v1/visitors/{visitor['visitor_id']}/unblock", headers=agent
    )
    assert unblocked.status_code == 200 and unblocked.json()["blocked"] is False
    assert (await client.get(state, headers=agent)).json()["blocked"] is False
    # The tokens issued before the block stay revoked.
    still = await client.get("/api/v1/widget/messages", headers=bearer(visitor))
    assert still.status_code == 401 and "revoked" in still.text


async def test_visitors_of_another_workspace_cannot_be_blocked_or_seen(
    client: httpx.AsyncClient, workspace: Demo, other_workspace: Demo
) -> None:
    visitor = await start(client, other_workspace)
    agent = await login_headers(client, login_of(workspace, "lina"))
    response = await client.post(f"/api/v1/visitors/{visitor['visitor_id']}/block", headers=agent)
    assert response.status_code == 404
    unknown = await client.post(f"/api/v1/visitors/{uuid.uuid4()}/block", headers=agent)
    assert unknown.status_code == 404
    # Nor is their state shown.
    seen = await client.get(f"/api/v1/visitors/{visitor['visitor_id']}", headers=agent)
    assert seen.status_code == 404
