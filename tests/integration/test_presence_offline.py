"""An agent's presence goes offline by itself: when they sign out, and when their last
console socket closes and no socket opens again within the grace (a page reload does not
count). Each change is one `agent.presence` event, so reports stop online time there."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import websockets

from kefu.context import Kefu
from kefu.db.tables import ConversationEventRow as Event
from kefu.db.tables import User
from kefu.demo import Demo
from kefu.settings import Settings
from tests.conftest import PASSWORD, login_of, make_settings

pytestmark = pytest.mark.engine_sensitive

GRACE = 0.3


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(
        database_url, media_dir=str(tmp_path / "media"), presence_grace_seconds=GRACE
    )


def _id_of(demo: Demo, local: str) -> uuid.UUID:
    return next(login.id for login in demo.logins if login.email.startswith(local + "@"))


async def _sign_in(base_url: str, email: str) -> dict[str, str]:
    async with httpx.AsyncClient(base_url=base_url) as http:
        response = await http.post(
            "/api/v1/auth/login", json={"email": email, "password": PASSWORD}
        )
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['token']}"}


async def _go_online(base_url: str, headers: dict[str, str]) -> None:
    async with httpx.AsyncClient(base_url=base_url, headers=headers) as http:
        response = await http.put("/api/v1/agents/me/presence", json={"presence": "online"})
        assert response.status_code == 200, response.text


async def _presence_of(kefu: Kefu, user_id: uuid.UUID) -> tuple[str, list[dict[str, Any]]]:
    async with kefu.db.session() as session:
        presence = await session.scalar(sa.select(User.presence).where(User.id == user_id))
        rows = await session.scalars(
            sa.select(Event.data)
            .where(Event.type == "agent.presence", Event.actor_id == user_id)
            .order_by(Event.created_at, Event.id)
        )
        return str(presence), [dict(row) for row in rows]


async def _offline_heard(socket: Any, user_id: uuid.UUID) -> None:
    async with asyncio.timeout(10):
        while True:
            event = json.loads(await socket.recv())
            if (
                event["type"] == "presence"
                and event["user_id"] == str(user_id)
                and event["presence"] == "offline"
            ):
                return


async def _until(condition: Any) -> None:
    """Wait for the server's side of a close (it runs after the client's handshake)."""
    async with asyncio.timeout(5):
        while not condition():
            await asyncio.sleep(0.005)


async def test_signing_out_takes_an_agent_offline(
    live_server: str, kefu: Kefu, workspace: Demo
) -> None:
    lina = _id_of(workspace, "lina")
    headers = await _sign_in(live_server, login_of(workspace, "lina"))
    await _go_online(live_server, headers)
    async with httpx.AsyncClient(base_url=live_server, headers=headers) as http:
        response = await http.post("/api/v1/auth/logout")
        assert response.status_code == 204, response.text
    presence, logged = await _presence_of(kefu, lina)
    assert presence == "offline"
    assert [(e["from"], e["to"]) for e in logged] == [("offline", "online"), ("online", "offline")]


async def test_signed_out_everywhere_by_an_admin_is_offline(
    live_server: str, kefu: Kefu, workspace: Demo
) -> None:
    tom = _id_of(workspace, "tom")
    await _go_online(live_server, await _sign_in(live_server, login_of(workspace, "tom")))
    admin = await _sign_in(live_server, login_of(workspace, "admin"))
    async with httpx.AsyncClient(base_url=live_server, headers=admin) as http:
        response = await http.delete(f"/api/v1/agents/{tom}/sessions")
        assert response.status_code == 200, response.text
    presence, logged = await _presence_of(kefu, tom)
    assert presence == "offline"
    assert [e["to"] for e in logged] == ["online", "offline"]


async def test_last_socket_closed_is_offline_after_the_grace_and_a_reload_is_not(
    live_server: str, kefu: Kefu, workspace: Demo
) -> None:
    lina = _id_of(workspace, "lina")
    ws_url = live_server.replace("http", "ws") + "/ws/agent"
    supervisor = await _sign_in(live_server, login_of(workspace, "supervisor"))
    agent = await _sign_in(live_server, login_of(workspace, "lina"))
    async with websockets.connect(ws_url, additional_headers=supervisor) as watcher:
        json.loads(await watcher.recv())  # hello
        async with websockets.connect(ws_url, additional_headers=agent) as first:
            json.loads(await first.recv())
            # Two tabs: closing one of them leaves the agent online.
            async with websockets.connect(ws_url, additional_headers=agent) as second:
                json.loads(await second.recv())
                await _go_online(live_server, agent)
            await _until(lambda: kefu.agent_sockets.get(lina) == 1)
            assert lina not in kefu.presence_timers
        # The last tab closed: the grace timer runs ...
        await _until(lambda: lina in kefu.presence_timers)
        # ... and a reload within it calls it off.
        async with websockets.connect(ws_url, additional_headers=agent) as reloaded:
            json.loads(await reloaded.recv())
            assert lina not in kefu.presence_timers
            assert (await _presence_of(kefu, lina))[0] == "online"
        # Closed for good: offline once the grace has run out, heard by the board.
        await _offline_heard(watcher, lina)
    await kefu.drain()
    presence, logged = await _presence_of(kefu, lina)
    assert presence == "offline"
    assert [(e["from"], e["to"]) for e in logged] == [("offline", "online"), ("online", "offline")]
    online_span = logged[-1]
    assert online_span["since"]  # the online span ends here, for the reports' online time
