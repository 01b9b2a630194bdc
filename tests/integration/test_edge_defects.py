"""Each edge defect the hardening issue found, as it was found: a 500 on PostgreSQL (or a
poison widget message) from ordinary hostile input, now a 4xx naming the field with
nothing written. Engine-sensitive: SQLite stored what PostgreSQL refused."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import websockets
from litestar import Litestar

from kefu.connectors.signing import signed_headers
from kefu.context import Kefu
from kefu.db.tables import Contact, Conversation, Inbox, Message
from kefu.demo import Demo, showcase
from kefu.inboxes.schemas import InboxCreate
from kefu.inboxes.service import create_inbox
from kefu.model import ChannelKind
from tests.conftest import login_headers, login_of
from tests.integration.test_widget_api import say, start, widget_app

pytestmark = pytest.mark.engine_sensitive

SECRET = "edge-signing-secret"


@pytest.fixture
def app(kefu: Kefu) -> Litestar:
    return widget_app(kefu)


@pytest.fixture
async def admin(client: httpx.AsyncClient, workspace: Demo) -> dict[str, str]:
    return await login_headers(client, login_of(workspace, "admin"))


async def count(kefu: Kefu, model: Any) -> int:
    async with kefu.db.session() as session:
        return int(await session.scalar(sa.select(sa.func.count()).select_from(model)) or 0)


def fields_of(response: httpx.Response) -> list[str]:
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return [e["field"] for e in response.json().get("errors", [])]


async def test_nul_in_the_widget_inbox_key_is_400_naming_inbox(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/widget/sessions", json={"inbox": "\u0000"})
    assert response.status_code == 400
    assert fields_of(response) == ["inbox"]


async def test_nul_in_a_webhook_path_is_400_before_the_rate_limit_stores_it(
    client: httpx.AsyncClient,
) -> None:
    """The per-inbox webhook limit is a guard, which runs before the request-wide check:
    on PostgreSQL its bucket key with a NUL was a 500."""
    response = await client.post("/connectors/wechat/a%00b", content=b"<xml></xml>")
    assert response.status_code == 400, response.text
    assert fields_of(response) == ["inbox_id"]


async def test_nul_in_the_login_email_is_a_4xx(client: httpx.AsyncClient, workspace: Demo) -> None:
    response = await client.post(
        "/api/v1/auth/login", json={"email": "admin\u0000@x", "password": "whatever"}
    )
    assert fields_of(response) == ["email"]


async def test_nul_in_a_search_query_is_400_naming_q(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    for path in ("/api/v1/conversations", "/api/v1/contacts", "/api/v1/quick-replies"):
        response = await client.get(f"{path}?q=a%00b", headers=admin)
        assert response.status_code == 400, path
        assert fields_of(response) == ["q"]


async def test_nul_in_replies_quick_replies_and_knowledge_is_refused(
    kefu: Kefu, client: httpx.AsyncClient, workspace: Demo, admin: dict[str, str]
) -> None:
    session = await start(client, workspace)
    conversation_id = (await say(client, session, "hello")).json()["conversation_id"]
    before = await count(kefu, Message)
    reply = await client.post(
        f"/api/v1/conversations/{conversation_id}/messages",
        json={"body": "a\u0000b"},
        headers=admin,
    )
    assert fields_of(reply) == ["body"]
    quick = await client.post(
        "/api/v1/quick-replies",
        json={"shortcut": "x", "title": "t", "body": "\u0000"},
        headers=admin,
    )
    assert fields_of(quick) == ["body"]
    entry = await client.post(
        "/api/v1/knowledge", json={"title": "t\u0000", "body": "b"}, headers=admin
    )
    assert fields_of(entry) == ["title"]
    views = await client.post(
        "/api/v1/widget/pageviews",
        json={"url": "https://x/\u0000", "title": "t"},
        headers={"Authorization": f"Bearer {session['token']}"},
    )
    assert fields_of(views) == ["url"]
    assert await count(kefu, Message) == before


async def test_integers_past_int32_are_4xx(
    kefu: Kefu, client: httpx.AsyncClient, workspace: Demo, admin: dict[str, str]
) -> None:
    await showcase(kefu, workspace)
    session = await start(client, workspace)
    conversation_id = (await say(client, session, "hello")).json()["conversation_id"]
    after = await client.get(
        f"/api/v1/conversations/{conversation_id}/messages?after_seq=3000000000", headers=admin
    )
    assert after.status_code == 400, after.text
    # An optional parameter keeps its bound too (it was a 500 once `| None` wrapped it).
    before = await client.get(
        f"/api/v1/conversations/{conversation_id}/messages?before_seq=3000000000", headers=admin
    )
    assert before.status_code == 400, before.text
    rule = await client.post(
        "/api/v1/routing/rules",
        json={
            "name": "big",
            "priority": 2**31,
            "target": {"kind": "group", "group_id": str(workspace.groups["presales"])},
        },
        headers=admin,
    )
    assert fields_of(rule) == ["priority"]
    entries = (await client.get("/api/v1/knowledge", headers=admin)).json()["items"]
    restore = await client.post(
        f"/api/v1/knowledge/{entries[0]['id']}/versions/3000000000/restore", headers=admin
    )
    assert 400 <= restore.status_code < 500, restore.text


@pytest.mark.parametrize(
    ("place", "value"),
    [
        (("user", "name"), "n" * 201),
        (("user", "phone"), "1" * 65),
        (("user", "email"), "e" * 321),
        (("user", "language"), "l" * 17),
        (("entry_point",), "p" * 201),
        (("attributes",), "DEEP"),
        (("text",), "a\u0000b"),
    ],
)
async def test_api_channel_values_beyond_their_columns_are_refused(
    kefu: Kefu, client: httpx.AsyncClient, workspace: Demo, place: tuple[str, ...], value: str
) -> None:
    inbox = await create_inbox(
        kefu,
        workspace.workspace_id,
        InboxCreate(
            kind=ChannelKind.api,
            name="CRM",
            config={"webhook_url": "http://127.0.0.1:9/none", "signing_secret": SECRET},
        ),
    )
    payload: dict[str, Any] = {"message_id": "m-1", "user": {"id": "u-1"}, "text": "hi"}
    target = payload
    for key in place[:-1]:
        target = target[key]
    target[place[-1]] = "\x01DEEP\x01" if value == "DEEP" else value
    body = json.dumps(payload, ensure_ascii=True)
    body = body.replace('"\\u0001DEEP\\u0001"', '{"a":' * 5000 + "1" + "}" * 5000).encode()
    response = await client.post(
        f"/connectors/api/{inbox.id}",
        content=body,
        headers={**signed_headers(SECRET, body), "content-type": "application/json"},
    )
    assert 400 <= response.status_code < 500, response.text
    assert fields_of(response)[:1] == [".".join(place)], response.text
    assert [await count(kefu, m) for m in (Contact, Conversation, Message)] == [0, 0, 0]


async def test_nul_in_an_inbox_name_or_string_setting_is_a_field_error(
    kefu: Kefu, client: httpx.AsyncClient, workspace: Demo, admin: dict[str, str]
) -> None:
    before = await count(kefu, Inbox)
    named = await client.post(
        "/api/v1/inboxes", json={"kind": "web", "name": "shop\u0000"}, headers=admin
    )
    assert fields_of(named) == ["name"]
    titled = await client.post(
        "/api/v1/inboxes",
        json={"kind": "web", "name": "shop", "config": {"title": "hi\u0000"}},
        headers=admin,
    )
    assert fields_of(titled) == ["config.title"]
    assert await count(kefu, Inbox) == before


async def test_string_settings_refuse_nul_when_not_sent_over_http(
    kefu: Kefu, workspace: Demo
) -> None:
    """The settings check itself refuses it (the CLI and services call it without HTTP)."""
    from kefu.errors import Invalid

    with pytest.raises(Invalid) as refused:
        await create_inbox(
            kefu,
            workspace.workspace_id,
            InboxCreate(kind=ChannelKind.web, name="shop", config={"title": "a\u0000"}),
        )
    assert [e.field for e in refused.value.errors] == ["config.title"]
    message = refused.value.errors[0].message
    assert not isinstance(message, str) and message.zh and message.en


async def test_like_wildcards_in_search_match_themselves(
    kefu: Kefu, client: httpx.AsyncClient, workspace: Demo, admin: dict[str, str]
) -> None:
    for name in ("50% off", "plain", "a_b"):
        session = await start(client, workspace)
        await client.post(
            "/api/v1/widget/prechat",
            json={"name": name},
            headers={"Authorization": f"Bearer {session['token']}"},
        )
        await say(client, session, "hello")
    listed = await client.get("/api/v1/contacts", headers=admin)
    assert sorted(c["name"] for c in listed.json()["items"]) == ["50% off", "a_b", "plain"]
    found = await client.get("/api/v1/contacts?q=%25", headers=admin)
    assert [c["name"] for c in found.json()["items"]] == ["50% off"]
    underscore = await client.get("/api/v1/contacts?q=_", headers=admin)
    assert [c["name"] for c in underscore.json()["items"]] == ["a_b"]


async def test_a_refused_widget_message_is_answered_not_a_closed_socket(
    kefu: Kefu, client: httpx.AsyncClient, live_server: str, workspace: Demo
) -> None:
    """A NUL message once closed the socket with 4500, and the widget resent it on every
    reconnect. Now the server answers a refusal naming the message; the socket stays open."""
    session = await start(client, workspace)
    url = live_server.replace("http://", "ws://") + f"/ws/visitor?token={session['token']}"
    async with websockets.connect(url) as ws:
        await ws.send(json.dumps({"type": "resume", "conversation_id": None, "after": 0}))
        for poison in (
            {"type": "send", "client_id": "cpoison000001", "body": "a\u0000b"},
            {"type": "send", "client_id": "cpoison000002", "body": ["wrong"]},
        ):
            await ws.send(json.dumps(poison))
            while True:
                frame = json.loads(await asyncio.wait_for(ws.recv(), timeout=10))
                if frame["type"] == "error":
                    break
            assert frame["client_id"] == poison["client_id"]
            assert 400 <= frame["status"] < 500
        await ws.send(json.dumps({"type": "send", "client_id": "cfine0000001", "body": "fine"}))
        while True:
            frame = json.loads(await asyncio.wait_for(ws.recv(), timeout=10))
            if frame["type"] == "ack":
                break
        assert frame["client_id"] == "cfine0000001"
    async with kefu.db.session() as s:
        bodies = (await s.scalars(sa.select(Message.body))).all()
    assert "fine" in bodies and not any("\x00" in b for b in bodies)
    assert uuid.UUID(frame["conversation_id"])
