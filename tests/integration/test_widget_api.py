"""The visitor HTTP API of the web widget, end to end through the app (SQLite and
PostgreSQL): sessions and tokens, identify, messages once-only, what a visitor may read,
uploads by content, page views, leave-a-message, ratings, limits and CORS."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from litestar import Litestar

import kefu.visitors.tables  # noqa: F401  (registers the visitor tables for create_all)
from kefu.app import create_app
from kefu.connectors.web import api as web_api
from kefu.context import Kefu
from kefu.conversations.ingest import ingest
from kefu.db.tables import Contact, ContactIdentity, Conversation, Inbox, Message
from kefu.demo import Demo
from kefu.model import Identity, Inbound
from kefu.ratelimit import RateLimits, Rule
from kefu.routing.tables import BusinessCalendar
from tests.conftest import login_headers, login_of

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64


def widget_app(kefu: Kefu) -> Litestar:
    """The real app; the widget's routes are added if `create_app` does not list them yet."""
    app = create_app(kefu=kefu)
    paths = {route.path for route in app.routes}
    if "/api/v1/widget/sessions" not in paths:
        for handler in web_api.ROUTES:
            app.register(handler)
    return app


@pytest.fixture
def app(kefu: Kefu) -> Litestar:
    return widget_app(kefu)


@pytest.fixture
async def wc(client: httpx.AsyncClient) -> httpx.AsyncClient:
    return client


async def start(
    wc: httpx.AsyncClient, demo: Demo, token: str | None = None, **extra: Any
) -> dict[str, Any]:
    body = {
        "inbox": demo.widget_key,
        "token": token,
        "locale": "zh-CN",
        "entry": "pricing",
        "page": {
            "url": "https://shop.example/pricing",
            "title": "Pricing",
            "referrer": "https://search.example/",
        },
    }
    body.update(extra)
    response = await wc.post("/api/v1/widget/sessions", json=body)
    assert response.status_code == 200, response.text
    return dict(response.json())


def bearer(session: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {session['token']}"}


async def say(
    wc: httpx.AsyncClient, session: dict[str, Any], body: str, client_id: str | None = None
) -> Any:
    return await wc.post(
        "/api/v1/widget/messages",
        json={"client_id": client_id or "c" + uuid.uuid4().hex[:20], "body": body},
        headers=bearer(session),
    )


async def identity_secret(kefu: Kefu, demo: Demo) -> str:
    async with kefu.db.session() as s:
        inbox = await s.get(Inbox, demo.inbox_id)
        assert inbox is not None
        return str(inbox.secrets["identity_secret"])


async def set_inbox_config(kefu: Kefu, demo: Demo, **values: Any) -> None:
    async with kefu.db.transaction() as s:
        inbox = await s.get(Inbox, demo.inbox_id)
        assert inbox is not None
        inbox.config = {**inbox.config, **values}


# --------------------------------------------------------------------------- sessions


async def test_new_visitor_gets_a_token_and_the_inbox_settings_but_no_secrets(
    wc: httpx.AsyncClient, workspace: Demo
) -> None:
    response = await wc.post("/api/v1/widget/sessions", json={"inbox": workspace.widget_key})
    assert response.status_code == 200
    session = response.json()
    assert session["token"].startswith("v2.")
    assert session["config"]["title"] == {"zh-CN": "在线客服", "en": "Chat with us"}
    assert session["config"]["locales"] == ["zh-CN", "en"]
    assert session["conversation"] is None and session["messages"] == []
    assert "identity_secret" not in response.text and "demo-identity" not in response.text


@pytest.mark.engine_sensitive
async def test_returning_visitor_sees_their_history(wc: httpx.AsyncClient, workspace: Demo) -> None:
    first = await start(wc, workspace)
    assert (await say(wc, first, "我的订单什么时候发货？")).status_code == 200
    again = await start(wc, workspace, token=first["token"])
    assert again["visitor_id"] == first["visitor_id"]
    assert [m["body"] for m in again["messages"]] == ["我的订单什么时候发货？"]
    assert again["conversation"]["status"] in ("queued", "open")


async def test_forged_or_foreign_token_is_refused_and_never_reused(
    wc: httpx.AsyncClient, workspace: Demo, other_workspace: Demo
) -> None:
    mine = await start(wc, workspace)
    forged = mine["token"][:-4] + ("AAAA" if not mine["token"].endswith("AAAA") else "BBBB")
    response = await wc.get(
        "/api/v1/widget/messages", headers={"Authorization": f"Bearer {forged}"}
    )
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    # A token of another inbox starts a new visitor there instead of reusing the old one.
    elsewhere = await start(wc, other_workspace, token=mine["token"])
    assert elsewhere["visitor_id"] != mine["visitor_id"]


@pytest.mark.engine_sensitive
async def test_unknown_inbox_and_bad_bodies_are_problems_not_500(
    wc: httpx.AsyncClient, workspace: Demo
) -> None:
    unknown = await wc.post("/api/v1/widget/sessions", json={"inbox": "no-such-key"})
    assert unknown.status_code == 404
    assert unknown.json()["status"] == 404
    missing = await wc.post("/api/v1/widget/sessions", json={"token": "x"})
    assert missing.status_code == 400
    session = await start(wc, workspace)
    bad_id = await wc.post(
        "/api/v1/widget/messages", json={"client_id": "x", "body": "hi"}, headers=bearer(session)
    )
    assert bad_id.status_code == 400
    empty = await say(wc, session, "   ")
    assert empty.status_code == 422


# --------------------------------------------------------------------------- messages


@pytest.mark.engine_sensitive
async def test_same_client_id_twice_stores_one_message(
    wc: httpx.AsyncClient, kefu: Kefu, workspace: Demo
) -> None:
    session = await start(wc, workspace)
    first = await say(wc, session, "hello", client_id="c0123456789abcdef")
    second = await say(wc, session, "hello", client_id="c0123456789abcdef")
    assert first.json()["duplicate"] is False and second.json()["duplicate"] is True
    assert first.json()["message"]["id"] == second.json()["message"]["id"]
    assert second.json()["message"]["client_message_id"] == "c0123456789abcdef"
    # Another visitor may pick the same client id: it is scoped per visitor.
    other = await start(wc, workspace)
    third = await say(wc, other, "hello", client_id="c0123456789abcdef")
    assert third.json()["duplicate"] is False
    async with kefu.db.session() as s:
        count = await s.scalar(
            sa.select(sa.func.count()).select_from(Message).where(Message.body == "hello")
        )
    assert count == 2


async def test_message_reaches_the_agent_and_the_reply_reaches_the_visitor_but_notes_do_not(
    wc: httpx.AsyncClient, workspace: Demo
) -> None:
    session = await start(wc, workspace)
    sent = (await say(wc, session, "Is the scarf in stock?")).json()
    conversation_id = sent["conversation_id"]
    agent = await login_headers(wc, login_of(workspace, "admin"))
    seen = (await wc.get(f"/api/v1/conversations/{conversation_id}/messages", headers=agent)).json()
    assert [m["body"] for m in seen["items"]] == ["Is the scarf in stock?"]
    conversation = (await wc.get(f"/api/v1/conversations/{conversation_id}", headers=agent)).json()
    assert conversation["entry_point"] == "pricing"
    assert conversation["first_page"] == "https://shop.example/pricing"
    assert conversation["referrer"] == "https://search.example/"
    note = await wc.post(
        f"/api/v1/conversations/{conversation_id}/messages",
        json={"body": "VIP, be nice", "note": True},
        headers=agent,
    )
    assert note.status_code in (200, 201), note.text
    reply = await wc.post(
        f"/api/v1/conversations/{conversation_id}/messages",
        json={"body": "Yes, 3 left."},
        headers=agent,
    )
    assert reply.status_code in (200, 201), reply.text
    page = (
        await wc.get(
            f"/api/v1/widget/messages?conversation_id={conversation_id}&after={sent['seq']}",
            headers=bearer(session),
        )
    ).json()
    assert [m["body"] for m in page["messages"]] == ["Yes, 3 left."]
    assert page["messages"][0]["sender_name"] == "Admin 管理员"
    assert "VIP" not in str(page)


async def test_a_visitor_reads_only_their_own_conversation(
    wc: httpx.AsyncClient, workspace: Demo
) -> None:
    alice = await start(wc, workspace)
    bob = await start(wc, workspace)
    alice_conversation = (await say(wc, alice, "alice's secret order")).json()["conversation_id"]
    peek = await wc.get(
        f"/api/v1/widget/messages?conversation_id={alice_conversation}", headers=bearer(bob)
    )
    assert peek.status_code == 404
    assert (await wc.get("/api/v1/widget/messages", headers=bearer(bob))).json() == {
        "conversation": None,
        "messages": [],
    }
    rate = await wc.post(
        "/api/v1/widget/csat",
        json={"conversation_id": alice_conversation, "score": 1},
        headers=bearer(bob),
    )
    assert rate.status_code == 404
    read = await wc.post(
        "/api/v1/widget/read",
        json={"conversation_id": alice_conversation, "seq": 5},
        headers=bearer(bob),
    )
    assert read.status_code == 404


async def test_attachments_must_be_files_we_stored(wc: httpx.AsyncClient, workspace: Demo) -> None:
    session = await start(wc, workspace)
    response = await wc.post(
        "/api/v1/widget/messages",
        json={
            "client_id": "c" + uuid.uuid4().hex[:20],
            "type": "image",
            "attachments": [
                {"name": "x.png", "content_type": "image/png", "url": "javascript:alert(1)"}
            ],
        },
        headers=bearer(session),
    )
    assert response.status_code == 422


# --------------------------------------------------------------------------- identify


async def test_identify_with_a_valid_hash_verifies_and_links_the_contact(
    wc: httpx.AsyncClient, kefu: Kefu, workspace: Demo
) -> None:
    secret = await identity_secret(kefu, workspace)
    session = await start(wc, workspace)
    digest = hmac.new(secret.encode(), b"user-42", hashlib.sha256).hexdigest()
    identified = await wc.post(
        "/api/v1/widget/identify",
        json={"id": "user-42", "hash": digest, "name": "Wang Lei", "email": "wl@example.com"},
        headers=bearer(session),
    )
    assert identified.status_code == 200, identified.text
    assert identified.json()["verified"] is True
    sent = await say(wc, identified.json(), "signed in now")
    assert sent.status_code == 200
    async with kefu.db.session() as s:
        kinds = {
            (i.kind, i.value)
            for i in (
                await s.scalars(
                    sa.select(ContactIdentity).where(
                        ContactIdentity.workspace_id == workspace.workspace_id
                    )
                )
            ).all()
        }
        contact = await s.scalar(sa.select(Contact).where(Contact.email == "wl@example.com"))
    assert ("external", "user-42") in kinds
    assert ("web_visitor", identified.json()["visitor_id"]) in kinds
    assert contact is not None and contact.verified and contact.name == "Wang Lei"


async def test_identify_with_a_wrong_hash_is_refused(
    wc: httpx.AsyncClient, workspace: Demo
) -> None:
    session = await start(wc, workspace)
    response = await wc.post(
        "/api/v1/widget/identify",
        json={"id": "user-42", "hash": "00" * 32},
        headers=bearer(session),
    )
    assert response.status_code == 403
    assert "HMAC-SHA256" in response.json()["detail"]


async def test_mandatory_mode_refuses_anonymous_chats_until_identified(
    wc: httpx.AsyncClient, kefu: Kefu, workspace: Demo
) -> None:
    await set_inbox_config(kefu, workspace, identity_mandatory=True)
    session = await start(wc, workspace)
    assert session["config"]["identity_mandatory"] is True
    refused = await say(wc, session, "let me in")
    assert refused.status_code == 403
    unverified = await wc.post(
        "/api/v1/widget/identify", json={"id": "user-7", "name": "Li"}, headers=bearer(session)
    )
    assert unverified.status_code == 403
    secret = await identity_secret(kefu, workspace)
    digest = hmac.new(secret.encode(), b"user-7", hashlib.sha256).hexdigest()
    verified = await wc.post(
        "/api/v1/widget/identify", json={"id": "user-7", "hash": digest}, headers=bearer(session)
    )
    assert (await say(wc, verified.json(), "now?")).status_code == 200


async def test_another_user_on_the_same_browser_does_not_see_the_first_users_chat(
    wc: httpx.AsyncClient, kefu: Kefu, workspace: Demo
) -> None:
    secret = await identity_secret(kefu, workspace)
    session = await start(wc, workspace)

    async def as_user(token_session: dict[str, Any], user: str) -> dict[str, Any]:
        digest = hmac.new(secret.encode(), user.encode(), hashlib.sha256).hexdigest()
        response = await wc.post(
            "/api/v1/widget/identify",
            json={"id": user, "hash": digest},
            headers=bearer(token_session),
        )
        return dict(response.json())

    first = await as_user(session, "user-1")
    await say(wc, first, "user one's question")
    second = await as_user(first, "user-2")
    assert second["visitor_id"] != first["visitor_id"]
    assert second["messages"] == []


# --------------------------------------------------------------------------- uploads


async def test_upload_is_typed_by_content_not_by_name(
    wc: httpx.AsyncClient, kefu: Kefu, workspace: Demo
) -> None:
    session = await start(wc, workspace)
    png = await wc.post(
        "/api/v1/widget/uploads",
        files={"file": ("notes.txt", PNG, "text/plain")},
        headers=bearer(session),
    )
    assert png.status_code == 201, png.text
    attachment = png.json()
    assert attachment["content_type"] == "image/png" and attachment["name"] == "notes.txt.png"
    served = await wc.get(attachment["url"])
    assert served.content == PNG
    assert served.headers["x-content-type-options"] == "nosniff"
    assert served.headers["content-type"].startswith("image/png")
    exe = await wc.post(
        "/api/v1/widget/uploads",
        files={"file": ("cat.png", b"MZ\x90\x00\x03" + b"\x00" * 50, "image/png")},
        headers=bearer(session),
    )
    assert exe.status_code == 415
    sent = await wc.post(
        "/api/v1/widget/messages",
        json={
            "client_id": "c" + uuid.uuid4().hex[:20],
            "type": "image",
            "attachments": [attachment],
        },
        headers=bearer(session),
    )
    assert sent.status_code == 200, sent.text
    assert sent.json()["message"]["type"] == "image"
    assert sent.json()["message"]["attachments"][0]["url"] == attachment["url"]


async def test_upload_over_the_size_limit_is_refused(
    wc: httpx.AsyncClient, kefu: Kefu, workspace: Demo
) -> None:
    kefu.settings.max_upload_bytes = 1024
    session = await start(wc, workspace)
    response = await wc.post(
        "/api/v1/widget/uploads",
        files={"file": ("big.png", PNG + b"\x00" * 2048, "image/png")},
        headers=bearer(session),
    )
    assert response.status_code == 413


# --------------------------------------------------------------------------- track, leave, rate


async def test_page_views_are_stored_and_shown_to_agents(
    wc: httpx.AsyncClient, workspace: Demo
) -> None:
    session = await start(wc, workspace)
    view = await wc.post(
        "/api/v1/widget/pageviews",
        json={"url": "https://shop.example/p/scarf", "title": "Wool scarf", "referrer": ""},
        headers=bearer(session),
    )
    assert view.status_code == 201
    left = await wc.post(
        f"/api/v1/widget/pageviews/{view.json()['id']}/duration",
        json={"seconds": 42},
        headers=bearer(session),
    )
    assert left.status_code == 204
    conversation_id = (await say(wc, session, "about this scarf")).json()["conversation_id"]
    agent = await login_headers(wc, login_of(workspace, "admin"))
    trail = (
        await wc.get(f"/api/v1/conversations/{conversation_id}/page-views", headers=agent)
    ).json()
    assert [(v["url"], v["title"], v["seconds_on_page"]) for v in trail["items"]] == [
        ("https://shop.example/p/scarf", "Wool scarf", 42)
    ]
    conversation = (await wc.get(f"/api/v1/conversations/{conversation_id}", headers=agent)).json()
    assert conversation["attributes"]["current_page"] == "https://shop.example/p/scarf"


async def test_a_visitor_identity_that_is_not_a_widget_uuid_gives_a_trail_not_a_500(
    wc: httpx.AsyncClient, kefu: Kefu, workspace: Demo
) -> None:
    agent = await login_headers(wc, login_of(workspace, "admin"))
    # A contact the site (or the API) named with its own visitor id: no browser trail.
    named = await ingest(
        kefu,
        Inbound(
            inbox_id=workspace.inbox_id,
            identity=Identity("web_visitor", "site-user-7"),
            body="hello from the site",
        ),
    )
    response = await wc.get(
        f"/api/v1/conversations/{named.conversation_id}/page-views", headers=agent
    )
    assert response.status_code == 200, response.text
    assert response.json()["items"] == []

    # A widget visitor who is also known by such an id keeps the widget's trail.
    session = await start(wc, workspace)
    await wc.post(
        "/api/v1/widget/pageviews",
        json={"url": "https://shop.example/p/hat", "title": "Hat", "referrer": ""},
        headers=bearer(session),
    )
    conversation_id = (await say(wc, session, "about this hat")).json()["conversation_id"]
    async with kefu.db.transaction() as db:
        contact_id = await db.scalar(
            sa.select(Conversation.contact_id).where(Conversation.id == uuid.UUID(conversation_id))
        )
        db.add(
            ContactIdentity(
                workspace_id=workspace.workspace_id,
                contact_id=contact_id,
                kind="web_visitor",
                value="site-user-8",
            )
        )
    response = await wc.get(f"/api/v1/conversations/{conversation_id}/page-views", headers=agent)
    assert response.status_code == 200, response.text
    assert "https://shop.example/p/hat" in [v["url"] for v in response.json()["items"]]


async def test_custom_attributes_travel_with_the_conversation(
    wc: httpx.AsyncClient, workspace: Demo
) -> None:
    session = await start(wc, workspace)
    response = await wc.post(
        "/api/v1/widget/attributes",
        json={"attributes": {"plan": "pro", "cart_total": 199}},
        headers=bearer(session),
    )
    assert response.status_code == 204
    conversation_id = (await say(wc, session, "upgrade?")).json()["conversation_id"]
    agent = await login_headers(wc, login_of(workspace, "admin"))
    conversation = (await wc.get(f"/api/v1/conversations/{conversation_id}", headers=agent)).json()
    assert (
        conversation["attributes"]["plan"] == "pro"
        and conversation["attributes"]["cart_total"] == 199
    )
    nested = await wc.post(
        "/api/v1/widget/attributes",
        json={"attributes": {"x": {"deep": 1}}},
        headers=bearer(session),
    )
    assert nested.status_code == 422


async def test_leave_message_becomes_a_conversation_with_the_reply_address(
    wc: httpx.AsyncClient, workspace: Demo
) -> None:
    session = await start(wc, workspace)
    assert session["config"]["online"] is False  # nobody is online in a fresh workspace
    no_contact = await wc.post(
        "/api/v1/widget/leave-message", json={"body": "call me"}, headers=bearer(session)
    )
    assert no_contact.status_code == 422
    left = await wc.post(
        "/api/v1/widget/leave-message",
        json={"body": "Please send an invoice", "name": "Zhao", "email": "zhao@example.com"},
        headers=bearer(session),
    )
    assert left.status_code == 201, left.text
    agent = await login_headers(wc, login_of(workspace, "admin"))
    conversation = (
        await wc.get(f"/api/v1/conversations/{left.json()['conversation_id']}", headers=agent)
    ).json()
    assert conversation["contact"]["email"] == "zhao@example.com"
    assert conversation["attributes"]["left_message"] is True
    messages = (
        await wc.get(
            f"/api/v1/conversations/{left.json()['conversation_id']}/messages", headers=agent
        )
    ).json()["items"]
    assert [m["body"] for m in messages] == ["Please send an invoice"]


async def test_rating_after_the_agent_resolves(wc: httpx.AsyncClient, workspace: Demo) -> None:
    session = await start(wc, workspace)
    conversation_id = (await say(wc, session, "thanks")).json()["conversation_id"]
    early = await wc.post(
        "/api/v1/widget/csat",
        json={"conversation_id": conversation_id, "score": 5},
        headers=bearer(session),
    )
    assert early.status_code == 409
    agent = await login_headers(wc, login_of(workspace, "admin"))
    resolved = await wc.post(f"/api/v1/conversations/{conversation_id}/resolve", headers=agent)
    assert resolved.status_code in (200, 201), resolved.text
    polled = (await wc.get("/api/v1/widget/messages", headers=bearer(session))).json()
    assert (
        polled["conversation"]["status"] == "resolved"
        and polled["conversation"]["csat_score"] is None
    )
    rated = await wc.post(
        "/api/v1/widget/csat",
        json={"conversation_id": conversation_id, "score": 4, "comment": "quick"},
        headers=bearer(session),
    )
    assert rated.status_code == 204
    twice = await wc.post(
        "/api/v1/widget/csat",
        json={"conversation_id": conversation_id, "score": 1},
        headers=bearer(session),
    )
    assert twice.status_code == 409
    out_of_range = await wc.post(
        "/api/v1/widget/csat",
        json={"conversation_id": conversation_id, "score": 9},
        headers=bearer(session),
    )
    assert out_of_range.status_code == 400
    conversation = (await wc.get(f"/api/v1/conversations/{conversation_id}", headers=agent)).json()
    assert (conversation["csat_score"], conversation["csat_comment"]) == (4, "quick")


async def test_visitor_read_marks_agent_replies_read(
    wc: httpx.AsyncClient, kefu: Kefu, workspace: Demo
) -> None:
    session = await start(wc, workspace)
    sent = (await say(wc, session, "hi")).json()
    agent = await login_headers(wc, login_of(workspace, "admin"))
    reply = (
        await wc.post(
            f"/api/v1/conversations/{sent['conversation_id']}/messages",
            json={"body": "hello"},
            headers=agent,
        )
    ).json()
    # The outbox has not run in tests: a pending reply is not marked read before it was sent.
    read = await wc.post(
        "/api/v1/widget/read",
        json={"conversation_id": sent["conversation_id"], "seq": reply["seq"]},
        headers=bearer(session),
    )
    assert read.status_code == 204
    from kefu.connectors.web.connector import WebConnector
    from kefu.conversations.outbox import dispatch_due

    kefu.connectors.register(WebConnector())
    await dispatch_due(kefu)
    await wc.post(
        "/api/v1/widget/read",
        json={"conversation_id": sent["conversation_id"], "seq": reply["seq"]},
        headers=bearer(session),
    )
    items = (
        await wc.get(f"/api/v1/conversations/{sent['conversation_id']}/messages", headers=agent)
    ).json()["items"]
    assert [(m["body"], m["delivery_status"]) for m in items] == [
        ("hi", "delivered"),
        ("hello", "read"),
    ]


# --------------------------------------------------------------------------- limits, CORS, script


async def test_too_many_sessions_from_one_ip_get_429(
    wc: httpx.AsyncClient, kefu: Kefu, workspace: Demo
) -> None:
    kefu.rate_limits = RateLimits(session_per_ip=Rule(burst=3, per_second=0.001))
    codes = [
        (await wc.post("/api/v1/widget/sessions", json={"inbox": workspace.widget_key})).status_code
        for _ in range(4)
    ]
    assert codes == [200, 200, 200, 429]


async def test_too_many_messages_from_one_visitor_get_429_and_nothing_is_stored(
    wc: httpx.AsyncClient, kefu: Kefu, workspace: Demo
) -> None:
    kefu.rate_limits = RateLimits(message_per_visitor=Rule(burst=2, per_second=0.001))
    session = await start(wc, workspace)
    codes = [(await say(wc, session, f"spam {n}")).status_code for n in range(3)]
    assert codes == [200, 200, 429]
    async with kefu.db.session() as s:
        bodies = (await s.scalars(sa.select(Message.body).where(Message.body.like("spam %")))).all()
    assert sorted(bodies) == ["spam 0", "spam 1"]


async def test_any_site_may_call_the_visitor_api(wc: httpx.AsyncClient, workspace: Demo) -> None:
    preflight = await wc.options(
        "/api/v1/widget/messages",
        headers={
            "Origin": "https://customer.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert "authorization" in preflight.headers["access-control-allow-headers"]
    response = await wc.post(
        "/api/v1/widget/sessions",
        json={"inbox": workspace.widget_key},
        headers={"Origin": "https://customer.example"},
    )
    assert response.headers["access-control-allow-origin"] == "*"


async def test_widget_script_is_served_as_utf8_javascript(wc: httpx.AsyncClient) -> None:
    response = await wc.get("/widget.js")
    if not (web_api.STATIC_CHAT / "widget.js").is_file():
        pytest.fail("widget.js is not built: run `cd widgets/chat && npm ci && npm run build`")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/javascript; charset=utf-8"
    assert b"data-inbox" in response.content or b"inbox" in response.content


@pytest.mark.engine_sensitive
async def test_waiting_visitors_see_their_place_in_the_queue(
    wc: httpx.AsyncClient, workspace: Demo
) -> None:
    first = await start(wc, workspace)
    second = await start(wc, workspace)
    await say(wc, first, "first in line")
    await say(wc, second, "second in line")
    views = [
        (await wc.get("/api/v1/widget/messages", headers=bearer(s))).json()["conversation"]
        for s in (first, second)
    ]
    assert [(v["status"], v["queue_position"]) for v in views] == [("queued", 1), ("queued", 2)]


@pytest.mark.engine_sensitive
async def test_prechat_form_requires_the_fields_the_inbox_marks_required(
    wc: httpx.AsyncClient, kefu: Kefu, workspace: Demo
) -> None:
    await set_inbox_config(
        kefu,
        workspace,
        prechat_fields=[{"name": "name", "required": True}, {"name": "email", "required": False}],
    )
    session = await start(wc, workspace)
    assert session["config"]["prechat_fields"] == [
        {"name": "name", "required": True},
        {"name": "email", "required": False},
    ]
    assert session["prechat_done"] is False
    missing = await wc.post(
        "/api/v1/widget/prechat", json={"email": "a@b.c"}, headers=bearer(session)
    )
    assert missing.status_code == 422 and "name" in missing.json()["detail"]
    done = await wc.post(
        "/api/v1/widget/prechat",
        json={"name": "Sun Li", "email": "sun@example.com"},
        headers=bearer(session),
    )
    assert done.status_code == 204
    again = await start(wc, workspace, token=session["token"])
    assert again["prechat_done"] is True
    conversation_id = (await say(wc, again, "hello")).json()["conversation_id"]
    agent = await login_headers(wc, login_of(workspace, "admin"))
    conversation = (await wc.get(f"/api/v1/conversations/{conversation_id}", headers=agent)).json()
    assert (conversation["contact"]["name"], conversation["contact"]["email"]) == (
        "Sun Li",
        "sun@example.com",
    )


async def test_business_hours_and_presence_decide_online(
    wc: httpx.AsyncClient, kefu: Kefu, workspace: Demo
) -> None:
    agent = await login_headers(wc, login_of(workspace, "lina"))
    await wc.put("/api/v1/agents/me/presence", json={"presence": "online"}, headers=agent)
    assert (await start(wc, workspace))["config"]["online"] is True
    # Closed every day of the week: nobody is "available" whatever their presence.
    async with kefu.db.transaction() as s:
        closed = BusinessCalendar(
            workspace_id=workspace.workspace_id, name="closed", timezone="Asia/Shanghai"
        )
        s.add(closed)
        await s.flush()
        calendar_id = str(closed.id)
    await set_inbox_config(kefu, workspace, calendar_id=calendar_id)
    assert (await start(wc, workspace))["config"]["online"] is False


async def test_uploads_may_exceed_the_general_body_limit_up_to_the_upload_limit(
    wc: httpx.AsyncClient, kefu: Kefu, workspace: Demo
) -> None:
    assert kefu.settings.max_upload_bytes > 2 * kefu.settings.max_body_bytes
    session = await start(wc, workspace)
    photo = PNG + b"\x00" * (2 * kefu.settings.max_body_bytes)
    response = await wc.post(
        "/api/v1/widget/uploads",
        files={"file": ("photo.png", photo, "image/png")},
        headers=bearer(session),
    )
    assert response.status_code == 201, response.text
    assert response.json()["size"] == len(photo)
