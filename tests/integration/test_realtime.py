"""Events reach agent sockets after commit: in one process, and across processes through
PostgreSQL LISTEN/NOTIFY or Redis."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import websockets

from kefu.app import build_kefu
from kefu.context import Kefu
from kefu.conversations.service import ingest
from kefu.demo import Demo, seed
from kefu.inboxes.schemas import InboxCreate
from kefu.inboxes.service import create_inbox
from kefu.model import ChannelKind, Identity, Inbound
from tests.conftest import PASSWORD, _truncate, login_of, make_settings
from tests.servers import KefuProcess


async def _token(base_url: str, email: str) -> str:
    async with httpx.AsyncClient(base_url=base_url) as http:
        response = await http.post(
            "/api/v1/auth/login", json={"email": email, "password": PASSWORD}
        )
        assert response.status_code == 200, response.text
        return str(response.json()["token"])


async def _next_of_type(socket: Any, kind: str, timeout: float = 10.0) -> dict[str, Any]:
    async with asyncio.timeout(timeout):
        while True:
            event = json.loads(await socket.recv())
            if event["type"] == kind:
                return event


async def test_ingested_message_reaches_an_agent_socket(
    live_server: str, kefu: Kefu, workspace: Demo
) -> None:
    token = await _token(live_server, login_of(workspace, "supervisor"))
    ws_url = live_server.replace("http", "ws") + "/ws/agent"
    async with websockets.connect(
        ws_url, additional_headers={"Authorization": f"Bearer {token}"}
    ) as socket:
        assert (await _next_of_type(socket, "hello"))["role"] == "supervisor"
        result = await ingest(
            kefu,
            Inbound(
                inbox_id=workspace.inbox_id, identity=Identity("web_visitor", "v"), body="有人吗？"
            ),
        )
        event = await _next_of_type(socket, "message")
    assert event["conversation_id"] == str(result.conversation_id)
    assert event["message"]["body"] == "有人吗？"
    assert event["seq"] == 1


async def test_socket_without_credentials_is_closed(live_server: str) -> None:
    ws_url = live_server.replace("http", "ws") + "/ws/agent"
    with pytest.raises(websockets.exceptions.WebSocketException):
        async with websockets.connect(ws_url) as socket:
            await socket.recv()


async def test_agent_socket_hears_nothing_of_another_workspace(
    live_server: str, kefu: Kefu, workspace: Demo, other_workspace: Demo
) -> None:
    token = await _token(live_server, login_of(workspace, "admin"))
    ws_url = live_server.replace("http", "ws") + "/ws/agent"
    async with websockets.connect(
        ws_url, additional_headers={"Authorization": f"Bearer {token}"}
    ) as socket:
        await _next_of_type(socket, "hello")
        await ingest(
            kefu,
            Inbound(
                inbox_id=other_workspace.inbox_id, identity=Identity("web_visitor", "x"), body="B"
            ),
        )
        mine = await ingest(
            kefu,
            Inbound(inbox_id=workspace.inbox_id, identity=Identity("web_visitor", "y"), body="A"),
        )
        event = await _next_of_type(socket, "message")
    # Events arrive in order; the first message event this socket gets is its own workspace's.
    assert event["conversation_id"] == str(mine.conversation_id)


@pytest.fixture
async def pg_kefu(pg_database: str) -> AsyncIterator[Kefu]:
    """Cross-process fan-out needs a shared server database: PostgreSQL only."""
    await _truncate(pg_database)
    kefu = build_kefu(make_settings(pg_database))
    yield kefu
    await kefu.db.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("fanout", ["postgres", "redis"])
async def test_message_ingested_in_process_a_reaches_a_socket_on_process_b(
    pg_kefu: Kefu, fanout: str
) -> None:
    from kefu.connectors.signing import signed_headers

    # Signing secrets are at least 16 characters (the API channel's settings say so).
    SIGNING = "realtime-signing-key"
    kefu, settings = pg_kefu, pg_kefu.settings
    workspace = await seed(kefu, slug="acme", password=PASSWORD)
    inbox = await create_inbox(
        kefu,
        workspace.workspace_id,
        InboxCreate(kind=ChannelKind.api, name="CRM", config={"signing_secret": SIGNING}),
    )
    env = {"KEFU_FANOUT": fanout, "KEFU_REDIS_URL": "redis://127.0.0.1:6379/0"}
    a, b = await asyncio.gather(
        asyncio.to_thread(KefuProcess, settings, **env),
        asyncio.to_thread(KefuProcess, settings, **env),
    )
    try:
        token = await _token(b.url, login_of(workspace, "admin"))
        ws_url = b.url.replace("http", "ws") + "/ws/agent"
        async with websockets.connect(
            ws_url, additional_headers={"Authorization": f"Bearer {token}"}
        ) as socket:
            await _next_of_type(socket, "hello")
            body = json.dumps(
                {"message_id": str(uuid.uuid4()), "user": {"id": "u"}, "text": "跨进程"}
            ).encode()
            async with httpx.AsyncClient(base_url=a.url) as http:
                accepted = await http.post(
                    f"/connectors/api/{inbox.id}",
                    content=body,
                    headers=signed_headers(SIGNING, body),
                )
            assert accepted.status_code == 202, accepted.text
            event = await _next_of_type(socket, "message")
        assert event["message"]["body"] == "跨进程"
        assert event["conversation_id"] == accepted.json()["conversation_id"]
    finally:
        a.stop()
        b.stop()
