"""Quick replies over HTTP: scopes and permissions, bad input, search for the
composer's `/`, and variables filled from the conversation."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import pytest
import sqlalchemy as sa
from litestar.testing import AsyncTestClient

import kefu.quickreplies.tables  # registers the table before the test database is made
from kefu.app import create_app
from kefu.context import Kefu
from kefu.conversations.ingest import ingest
from kefu.demo import Demo
from kefu.model import ContactFacts, Identity, Inbound
from kefu.quickreplies import variables
from kefu.quickreplies.api import QuickRepliesController
from tests.conftest import login_headers, login_of

QuickReply = kefu.quickreplies.tables.QuickReply
T = TypeVar("T")


@pytest.fixture
async def api(kefu: Kefu, workspace: Demo) -> AsyncIterator[AsyncTestClient[Any]]:
    app = create_app(kefu=kefu)
    if not any(r.path == "/api/v1/quick-replies" for r in app.routes):
        app.register(QuickRepliesController)  # until the lead wires it in create_app
    app.on_startup.clear()
    app.on_shutdown.clear()
    # The client serves on its own event loop; asyncpg connections belong to the loop
    # that opened them, so the ones the seeding pooled are closed first.
    await kefu.db.engine.dispose()
    async with AsyncTestClient(app=app) as client:
        yield client


async def as_(api: AsyncTestClient[Any], demo: Demo, local: str) -> dict[str, str]:
    return await login_headers(api, login_of(demo, local))


async def create(api: AsyncTestClient[Any], headers: dict[str, str], **body: Any) -> dict[str, Any]:
    response = await api.post("/api/v1/quick-replies", json=body, headers=headers)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def shortcuts(api: AsyncTestClient[Any], headers: dict[str, str], q: str = "") -> list[str]:
    response = await api.get("/api/v1/quick-replies", params={"q": q}, headers=headers)
    assert response.status_code == 200, response.text
    return [item["shortcut"] for item in response.json()["items"]]


async def in_app(api: AsyncTestClient[Any], fn: Callable[..., Awaitable[T]], *args: Any) -> T:
    """Run database code on the app's loop, where the pooled connections now live."""
    return await asyncio.to_thread(api.blocking_portal.call, fn, *args)


async def _count_rows(kefu: Kefu) -> int:
    async with kefu.db.session() as session:
        return int(await session.scalar(sa.select(sa.func.count()).select_from(QuickReply)) or 0)


async def count_rows(api: AsyncTestClient[Any], kefu: Kefu) -> int:
    return await in_app(api, _count_rows, kefu)


async def _visitor_writes(kefu: Kefu, demo: Demo, name: str) -> uuid.UUID:
    result = await ingest(
        kefu,
        Inbound(
            inbox_id=demo.inbox_id,
            identity=Identity(kind="web_visitor", value=uuid.uuid4().hex),
            client_message_id=uuid.uuid4().hex,
            body="你好",
            contact=ContactFacts(name=name),
        ),
    )
    assert result.conversation_id is not None
    return result.conversation_id


async def test_a_personal_reply_is_seen_only_by_its_owner(
    api: AsyncTestClient[Any], workspace: Demo
) -> None:
    lina, tom = await as_(api, workspace, "lina"), await as_(api, workspace, "tom")

    made = await create(api, lina, shortcut="hi", title="Greeting", body="您好！")

    assert made["scope"] == "personal"
    assert await shortcuts(api, lina) == ["hi"]
    assert await shortcuts(api, tom) == []
    response = await api.delete(f"/api/v1/quick-replies/{made['id']}", headers=tom)
    assert response.status_code == 404


async def test_team_replies_are_written_by_supervisors_and_read_by_everyone(
    api: AsyncTestClient[Any], kefu: Kefu, workspace: Demo
) -> None:
    boss, lina = await as_(api, workspace, "supervisor"), await as_(api, workspace, "lina")

    made = await create(
        api, boss, shortcut="ship", title="Shipping", body="48 小时内发货", scope="team"
    )
    refused = await api.post(
        "/api/v1/quick-replies",
        json={"shortcut": "x", "title": "x", "body": "x", "scope": "team"},
        headers=lina,
    )
    delete_refused = await api.delete(f"/api/v1/quick-replies/{made['id']}", headers=lina)

    assert await shortcuts(api, lina) == ["ship"]
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert delete_refused.status_code == 403
    assert await count_rows(api, kefu) == 1


@pytest.mark.engine_sensitive
async def test_a_taken_shortcut_is_a_conflict_and_writes_nothing(
    api: AsyncTestClient[Any], kefu: Kefu, workspace: Demo
) -> None:
    lina = await as_(api, workspace, "lina")
    await create(api, lina, shortcut="hi", title="One", body="one")

    response = await api.post(
        "/api/v1/quick-replies",
        json={"shortcut": "hi", "title": "Two", "body": "two"},
        headers=lina,
    )

    assert response.status_code == 409
    assert "/hi" in response.json()["detail"]
    assert await count_rows(api, kefu) == 1


@pytest.mark.engine_sensitive
@pytest.mark.parametrize(
    "body",
    [
        {"shortcut": "two words", "title": "t", "body": "b"},
        {"shortcut": "a/b", "title": "t", "body": "b"},
        {"shortcut": "ok", "title": "", "body": "b"},
        {"shortcut": "ok", "title": "t"},
        {"shortcut": "ok", "title": "t", "body": "b", "scope": "galaxy"},
    ],
)
async def test_bad_input_is_a_problem_and_writes_nothing(
    api: AsyncTestClient[Any], kefu: Kefu, workspace: Demo, body: dict[str, Any]
) -> None:
    lina = await as_(api, workspace, "lina")

    response = await api.post("/api/v1/quick-replies", json=body, headers=lina)

    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert await count_rows(api, kefu) == 0


@pytest.mark.engine_sensitive
async def test_search_puts_shortcuts_that_start_with_the_typed_word_first(
    api: AsyncTestClient[Any], workspace: Demo
) -> None:
    lina = await as_(api, workspace, "lina")
    await create(
        api, lina, shortcut="bye", title="Goodbye", body="Thanks, have a nice shipping day"
    )
    await create(api, lina, shortcut="ship", title="Shipping", body="We ship in 48 h")
    await create(api, lina, shortcut="refund", title="Refund", body="Refunds take 3 days")

    assert await shortcuts(api, lina, "ship") == ["ship", "bye"]
    assert await shortcuts(api, lina, "REF") == ["refund"]
    assert await shortcuts(api, lina, "%") == []


async def test_editing_a_reply_changes_its_text(api: AsyncTestClient[Any], workspace: Demo) -> None:
    lina = await as_(api, workspace, "lina")
    made = await create(api, lina, shortcut="hi", title="Greeting", body="Hello")

    response = await api.patch(
        f"/api/v1/quick-replies/{made['id']}", json={"body": "Hello again"}, headers=lina
    )

    assert response.status_code == 200, response.text
    assert response.json()["body"] == "Hello again"


async def test_render_fills_the_contacts_name_and_the_agents(
    api: AsyncTestClient[Any], kefu: Kefu, workspace: Demo
) -> None:
    lina = await as_(api, workspace, "lina")
    made = await create(
        api,
        lina,
        shortcut="hi",
        title="Greeting",
        body="{{contact.name|您}}好，我是{{agent.name}}。{{contact.phone|}}{{ticket.id}}",
    )
    conversation_id = await in_app(api, _visitor_writes, kefu, workspace, "张三")

    response = await api.post(
        f"/api/v1/quick-replies/{made['id']}/render",
        json={"conversation_id": str(conversation_id)},
        headers=lina,
    )

    assert response.status_code == 200, response.text
    assert response.json() == {"body": "张三好，我是李娜 Li Na。{{ticket.id}}", "missing": []}


async def test_render_refuses_a_conversation_the_agent_cannot_see(
    api: AsyncTestClient[Any], workspace: Demo
) -> None:
    lina = await as_(api, workspace, "lina")
    made = await create(api, lina, shortcut="hi", title="Greeting", body="Hi")

    response = await api.post(
        f"/api/v1/quick-replies/{made['id']}/render",
        json={"conversation_id": str(uuid.uuid4())},
        headers=lina,
    )

    assert response.status_code == 404


# ---------------------------------------------------------------------------
# the pure variable filling


@pytest.mark.parametrize(
    ("text", "values", "expected"),
    [
        ("Hi {{contact.name}}", {"contact.name": "Ann"}, ("Hi Ann", [])),
        ("Hi {{ contact.name }}", {"contact.name": "Ann"}, ("Hi Ann", [])),
        ("{{contact.name|您}}好", {"contact.name": None}, ("您好", [])),
        ("{{contact.name|您}}好", {"contact.name": ""}, ("您好", [])),
        ("Hi {{contact.name}}!", {}, ("Hi !", ["contact.name"])),
        ("{{order.id}} stays", {}, ("{{order.id}} stays", [])),
        ("no variables", {"contact.name": "x"}, ("no variables", [])),
        ("<b>{{contact.name}}</b>", {"contact.name": "<script>"}, ("<b><script></b>", [])),
    ],
)
def test_fill(text: str, values: dict[str, str | None], expected: tuple[str, list[str]]) -> None:
    assert variables.fill(text, values) == expected
