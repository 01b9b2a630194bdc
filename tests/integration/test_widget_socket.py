"""The visitor websocket against a real server (uvicorn on loopback): resume by seq,
once-only sends, agent replies pushed, internal notes never pushed."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
import websockets
from litestar import Litestar

import kefu.visitors.tables  # noqa: F401  (registers the visitor tables for create_all)
from kefu.context import Kefu
from kefu.demo import Demo
from tests.conftest import login_headers, login_of
from tests.integration.test_widget_api import bearer, say, start, widget_app


@pytest.fixture
def app(kefu: Kefu) -> Litestar:
    return widget_app(kefu)


def ws_url(live_server: str, session: dict[str, Any]) -> str:
    return live_server.replace("http://", "ws://") + f"/ws/visitor?token={session['token']}"


async def next_frame(ws: Any, kind: str) -> dict[str, Any]:
    """The next frame of a kind, skipping others; bounded so a missing frame fails."""
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), timeout=10))
        if frame["type"] == kind:
            return dict(frame)


@pytest.mark.engine_sensitive
async def test_resume_replays_what_the_visitor_missed_in_order(
    client: httpx.AsyncClient, live_server: str, workspace: Demo
) -> None:
    session = await start(client, workspace)
    first = (await say(client, session, "first")).json()
    agent = await login_headers(client, login_of(workspace, "admin"))
    for body in ("reply one", "reply two"):
        response = await client.post(
            f"/api/v1/conversations/{first['conversation_id']}/messages",
            json={"body": body},
            headers=agent,
        )
        assert response.status_code in (200, 201)
    async with websockets.connect(ws_url(live_server, session)) as ws:
        await ws.send(
            json.dumps(
                {
                    "type": "resume",
                    "conversation_id": first["conversation_id"],
                    "after": first["seq"],
                }
            )
        )
        replayed = []
        while True:
            frame = json.loads(await asyncio.wait_for(ws.recv(), timeout=10))
            if frame["type"] == "synced":
                break
            if frame["type"] == "message":
                replayed.append((frame["message"]["seq"], frame["message"]["body"]))
        assert replayed == [(first["seq"] + 1, "reply one"), (first["seq"] + 2, "reply two")]
        assert frame["conversation"]["id"] == first["conversation_id"]


@pytest.mark.engine_sensitive
async def test_send_is_acked_once_and_replies_are_pushed_but_notes_never(
    client: httpx.AsyncClient, live_server: str, workspace: Demo
) -> None:
    session = await start(client, workspace)
    async with websockets.connect(ws_url(live_server, session)) as ws:
        await ws.send(json.dumps({"type": "resume", "conversation_id": None, "after": 0}))
        synced = await next_frame(ws, "synced")
        assert synced["conversation"] is None
        frame = {"type": "send", "client_id": "c1234567890abcdef", "body": "from the socket"}
        await ws.send(json.dumps(frame))
        ack = await next_frame(ws, "ack")
        await ws.send(json.dumps(frame))
        again = await next_frame(ws, "ack")
        assert (ack["duplicate"], again["duplicate"]) == (False, True)
        assert ack["message"]["id"] == again["message"]["id"]
        conversation_id = ack["conversation_id"]
        agent = await login_headers(client, login_of(workspace, "admin"))
        await client.post(
            f"/api/v1/conversations/{conversation_id}/messages",
            json={"body": "internal: check stock", "note": True},
            headers=agent,
        )
        await client.post(
            f"/api/v1/conversations/{conversation_id}/messages",
            json={"body": "We have it!"},
            headers=agent,
        )
        bodies = []
        while "We have it!" not in bodies:
            pushed = await next_frame(ws, "message")
            bodies.append(pushed["message"]["body"])
        assert "internal: check stock" not in bodies
    page = (
        await client.get(
            f"/api/v1/widget/messages?conversation_id={conversation_id}", headers=bearer(session)
        )
    ).json()
    assert [m["body"] for m in page["messages"]] == ["from the socket", "We have it!"]


async def test_a_socket_cannot_follow_someone_elses_conversation(
    client: httpx.AsyncClient, live_server: str, workspace: Demo
) -> None:
    alice = await start(client, workspace)
    bob = await start(client, workspace)
    alice_conversation = (await say(client, alice, "alice only")).json()["conversation_id"]
    async with websockets.connect(ws_url(live_server, bob)) as ws:
        await ws.send(
            json.dumps({"type": "resume", "conversation_id": alice_conversation, "after": 0})
        )
        frames = []
        while True:
            frame = json.loads(await asyncio.wait_for(ws.recv(), timeout=10))
            frames.append(frame)
            if frame["type"] == "synced":
                break
    assert frames == [{"type": "synced", "conversation": None}]


async def test_a_bad_token_cannot_open_a_socket(live_server: str) -> None:
    url = live_server.replace("http://", "ws://") + "/ws/visitor?token=v1.bad.token.sig"
    with pytest.raises(websockets.exceptions.InvalidStatus):
        async with websockets.connect(url):
            pass


async def test_typing_travels_both_ways(
    client: httpx.AsyncClient, live_server: str, workspace: Demo
) -> None:
    session = await start(client, workspace)
    conversation_id = (await say(client, session, "hi")).json()["conversation_id"]
    agent = await login_headers(client, login_of(workspace, "admin"))
    token = agent["Authorization"].split(" ", 1)[1]
    base = live_server.replace("http://", "ws://")
    async with (
        websockets.connect(f"{base}/ws/agent?token={token}") as agent_ws,
        websockets.connect(ws_url(live_server, session)) as visitor_ws,
    ):
        await next_frame(agent_ws, "hello")
        await visitor_ws.send(
            json.dumps({"type": "resume", "conversation_id": conversation_id, "after": 0})
        )
        await next_frame(visitor_ws, "synced")
        await visitor_ws.send(json.dumps({"type": "typing", "typing": True}))
        seen_by_agent = await next_frame(agent_ws, "typing")
        assert (seen_by_agent["sender_kind"], seen_by_agent["typing"]) == ("contact", True)
        await agent_ws.send(
            json.dumps({"type": "typing", "conversation_id": conversation_id, "typing": True})
        )
        seen_by_visitor = await next_frame(visitor_ws, "typing")
        assert seen_by_visitor == {"type": "typing", "typing": True, "sender_name": "Admin 管理员"}
