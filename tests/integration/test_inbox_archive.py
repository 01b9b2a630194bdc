"""Deleting an inbox cascades to all its conversations, so an inbox that has any is
deleted only once archived; an archived inbox takes no new messages (410 with a reason)
and comes back with unarchive (issue 12, item 4)."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest

from kefu.connectors.signing import signed_headers
from kefu.context import Kefu
from kefu.demo import Demo
from tests.conftest import login_headers, login_of
from tests.integration.test_api_channel import SECRET, _api_inbox

ZH = {"Accept-Language": "zh-CN"}


@pytest.fixture
async def admin(client: httpx.AsyncClient, workspace: Demo) -> dict[str, str]:
    return await login_headers(client, login_of(workspace, "admin"))


async def _send(client: httpx.AsyncClient, inbox_id: uuid.UUID, message_id: str) -> httpx.Response:
    body = json.dumps({"message_id": message_id, "user": {"id": "u-1"}, "text": "你好"}).encode()
    return await client.post(
        f"/connectors/api/{inbox_id}", content=body, headers={**signed_headers(SECRET, body), **ZH}
    )


async def test_an_inbox_with_conversations_is_deleted_only_once_archived(
    client: httpx.AsyncClient, kefu: Kefu, workspace: Demo, admin: dict[str, str]
) -> None:
    inbox_id = await _api_inbox(kefu, workspace)
    assert (await _send(client, inbox_id, "m1")).status_code == 202
    url = f"/api/v1/inboxes/{inbox_id}"
    assert (await client.get(url, headers=admin)).json()["conversation_count"] == 1

    refused = await client.delete(url, headers={**admin, **ZH})
    assert refused.status_code == 409
    assert "1 个会话" in refused.json()["detail"] and "请先归档" in refused.json()["detail"]
    english = await client.delete(url, headers=admin)
    assert "Archive it first" in english.json()["detail"]
    assert (await client.get(url, headers=admin)).status_code == 200  # still there

    archived = await client.post(f"{url}/archive", headers=admin)
    assert archived.status_code == 200
    assert archived.json()["archived_at"] and archived.json()["active"] is False
    # No new messages: the sender is told why, with a status it does not retry.
    gone = await _send(client, inbox_id, "m2")
    assert gone.status_code == 410
    assert "已归档" in gone.json()["detail"]

    assert (await client.delete(url, headers=admin)).status_code == 204
    assert (await client.get(url, headers=admin)).status_code == 404


async def test_unarchive_puts_the_inbox_back_in_service(
    client: httpx.AsyncClient, kefu: Kefu, workspace: Demo, admin: dict[str, str]
) -> None:
    inbox_id = await _api_inbox(kefu, workspace)
    url = f"/api/v1/inboxes/{inbox_id}"
    await client.post(f"{url}/archive", headers=admin)
    restored = await client.post(f"{url}/unarchive", headers=admin)
    assert restored.status_code == 200
    assert "archived_at" not in restored.json() and restored.json()["active"] is True
    assert (await _send(client, inbox_id, "m3")).status_code == 202


async def test_an_inbox_without_conversations_is_deleted_at_once(
    client: httpx.AsyncClient, kefu: Kefu, workspace: Demo, admin: dict[str, str]
) -> None:
    inbox_id = await _api_inbox(kefu, workspace)
    assert (await client.delete(f"/api/v1/inboxes/{inbox_id}", headers=admin)).status_code == 204


async def test_an_archived_widget_inbox_refuses_new_visitors(
    client: httpx.AsyncClient, workspace: Demo, admin: dict[str, str]
) -> None:
    inboxes = (await client.get("/api/v1/inboxes", headers=admin)).json()["items"]
    web = next(i for i in inboxes if i["public_key"] == workspace.widget_key)
    await client.post(f"/api/v1/inboxes/{web['id']}/archive", headers=admin)
    response = await client.post(
        "/api/v1/widget/sessions", json={"inbox": workspace.widget_key}, headers=ZH
    )
    assert response.status_code == 410
    assert "已归档" in response.json()["detail"]


async def test_only_admins_archive(client: httpx.AsyncClient, kefu: Kefu, workspace: Demo) -> None:
    inbox_id = await _api_inbox(kefu, workspace)
    supervisor = await login_headers(client, login_of(workspace, "supervisor"))
    response = await client.post(f"/api/v1/inboxes/{inbox_id}/archive", headers=supervisor)
    assert response.status_code == 403
