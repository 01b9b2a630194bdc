"""The chat widget in headless Chromium (Debian's, through Python Playwright), on the demo
shop page served by the real app: a visitor writes, the agent sees it on the agent
websocket and replies, the reply shows in the widget; messages typed while the server is
down arrive once and in order when it is back; hostile text stays text.

Screenshots go to test-artifacts/ (look at them: zh-CN and en)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
import websockets
from litestar import Litestar
from playwright.async_api import Browser, Page, expect

import kefu.visitors.tables
from kefu.connectors.web import api as web_api
from kefu.context import Kefu
from kefu.db.tables import Inbox
from kefu.demo import Demo, seed
from kefu.demo_site import page as demo_page
from kefu.settings import Settings
from tests.conftest import PASSWORD, asgi_client, login_headers, login_of, running_kefu
from tests.e2e.browsers import async_chromium
from tests.integration.test_widget_api import widget_app
from tests.servers import LoopServer

# Browser tests run on SQLite only (see tests/conftest.py); one event loop per module.
pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
# Bounded waits on conditions (never sleeps): the widget reconnects within ~5 s.
WAIT_MS = 20_000

LABELS = {
    "en": {
        "open": "Open chat",
        "input": "Type a message",
        "send": "Send",
        "log": "Messages",
        "reconnecting": "Connection lost",
        "sent": "Sent",
        "leave": "Send message",
        "email": "Email",
        "body": "Your message",
        "thanks": "Thank you!",
    },
    "zh-CN": {
        "open": "打开在线客服",
        "input": "输入消息",
        "send": "发送",
        "log": "消息",
        "reconnecting": "连接已断开",
        "sent": "已发送",
        "leave": "提交留言",
        "email": "邮箱",
        "body": "留言内容",
        "thanks": "谢谢！",
    },
}


def shop_app(kefu: Kefu) -> Litestar:
    app = widget_app(kefu)
    if "/" not in {route.path for route in app.routes}:
        for handler in demo_page.ROUTES:
            app.register(handler)
    return app


@pytest.fixture
def app(kefu: Kefu) -> Litestar:
    if not (web_api.STATIC_CHAT / "widget.js").is_file():
        pytest.fail("widget.js is not built: run `cd widgets/chat && npm ci && npm run build`")
    return shop_app(kefu)


# One Chromium for the whole module, so every test and fixture here runs in the module's
# event loop (Playwright's objects belong to the loop that started them). The fixtures
# below are the shared ones from tests/conftest.py, rebuilt in that loop.


@pytest_asyncio.fixture(loop_scope="module")
async def kefu(settings: Settings) -> AsyncIterator[Kefu]:
    async with running_kefu(settings) as running:
        yield running


@pytest_asyncio.fixture(loop_scope="module")
async def workspace(kefu: Kefu) -> Demo:
    return await seed(kefu, slug="acme", password=PASSWORD)


@pytest_asyncio.fixture(loop_scope="module")
async def client(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(app) as test_client:
        yield test_client


class Server(LoopServer):
    """The shop served on loopback; a test may stop it and start it again on the same port."""

    def __init__(self, app: Litestar) -> None:
        super().__init__(app, lifespan="off", ws="websockets-sansio")


@pytest_asyncio.fixture(loop_scope="module")
async def server(app: Litestar) -> AsyncIterator[Server]:
    live = Server(app)
    await live.start()
    yield live
    await live.stop()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def chromium() -> AsyncIterator[Browser]:
    async with async_chromium() as launched:
        yield launched


@pytest_asyncio.fixture(loop_scope="module")
async def browser(chromium: Browser) -> AsyncIterator[Browser]:
    """The module's Chromium; what a test opened in it is closed after the test, so no page
    of an earlier test keeps reconnecting while the next one runs."""
    before = set(chromium.contexts)
    yield chromium
    for context in chromium.contexts:
        if context not in before:
            await context.close()


async def visitor_page(
    browser: Browser, server: Server, demo: Demo, locale: str, **context: Any
) -> Page:
    ctx = await browser.new_context(locale=locale, **context)
    page = await ctx.new_page()
    await page.goto(f"{server.url}/?inbox={demo.widget_key}&entry=e2e")
    return page


async def agent_online(client: httpx.AsyncClient, demo: Demo, who: str = "lina") -> dict[str, str]:
    headers = await login_headers(client, login_of(demo, who))
    response = await client.put(
        "/api/v1/agents/me/presence", json={"presence": "online"}, headers=headers
    )
    assert response.status_code == 200, response.text
    return headers


async def next_event(ws: Any, predicate: Any) -> dict[str, Any]:
    while True:
        event = json.loads(await asyncio.wait_for(ws.recv(), timeout=WAIT_MS / 1000))
        if predicate(event):
            return dict(event)


def shot(name: str) -> str:
    ARTIFACTS.mkdir(exist_ok=True)
    return str(ARTIFACTS / name)


@pytest.mark.parametrize("locale", ["en", "zh-CN"])
async def test_visitor_message_reaches_the_agent_and_the_reply_shows_in_the_widget(
    browser: Browser, server: Server, client: httpx.AsyncClient, workspace: Demo, locale: str
) -> None:
    t = LABELS[locale]
    agent = await agent_online(client, workspace)
    token = agent["Authorization"].split(" ", 1)[1]
    question = "Is the wool scarf in stock?" if locale == "en" else "羊毛围巾还有货吗？"
    answer = "Yes, three left. 😊" if locale == "en" else "有的，还剩三条。😊"
    async with websockets.connect(
        server.url.replace("http", "ws") + f"/ws/agent?token={token}"
    ) as agent_ws:
        await next_event(agent_ws, lambda e: e["type"] == "hello")
        page = await visitor_page(browser, server, workspace, locale)
        await page.get_by_role("button", name=t["open"]).click()
        await page.get_by_role("textbox", name=t["input"]).fill(question)
        await page.get_by_role("button", name=t["send"], exact=True).click()
        arrived = await next_event(
            agent_ws, lambda e: e["type"] == "message" and e["message"]["body"] == question
        )
    conversation_id = arrived["conversation_id"]
    conversation = (
        await client.get(f"/api/v1/conversations/{conversation_id}", headers=agent)
    ).json()
    assert conversation["entry_point"] == "e2e"
    assert conversation["language"] == locale
    reply = await client.post(
        f"/api/v1/conversations/{conversation_id}/messages", json={"body": answer}, headers=agent
    )
    assert reply.status_code in (200, 201), reply.text
    log = page.get_by_role("log", name=t["log"])
    await expect(log.get_by_text(answer)).to_be_visible(timeout=WAIT_MS)
    await expect(log.get_by_text(question)).to_be_visible()
    await page.screenshot(path=shot(f"widget-chat-{locale}.png"))


async def test_messages_typed_while_the_server_is_down_arrive_once_and_in_order(
    browser: Browser, server: Server, client: httpx.AsyncClient, workspace: Demo
) -> None:
    t = LABELS["en"]
    agent = await agent_online(client, workspace)
    page = await visitor_page(browser, server, workspace, "en")
    await page.get_by_role("button", name=t["open"]).click()
    box = page.get_by_role("textbox", name=t["input"])
    send = page.get_by_role("button", name=t["send"], exact=True)
    log = page.get_by_role("log", name=t["log"])
    await box.fill("before the outage")
    await send.click()
    await expect(
        log.locator(".msg.in")
        .filter(has_text="before the outage")
        .get_by_text(t["sent"], exact=True)
    ).to_be_visible(timeout=WAIT_MS)

    await server.stop()
    await expect(page.get_by_text(t["reconnecting"])).to_be_visible(timeout=WAIT_MS)
    offline = ["offline one", "offline two", "offline three"]
    for body in offline:
        await box.fill(body)
        await send.click()
    await expect(log.locator(".msg.in.pending")).to_have_count(3)
    await page.screenshot(path=shot("widget-offline-en.png"))

    await server.start()
    for body in offline:
        await expect(
            log.locator(".msg.in").filter(has_text=body).get_by_text(t["sent"], exact=True)
        ).to_be_visible(timeout=WAIT_MS)
    await expect(log.locator(".msg.in.pending")).to_have_count(0)
    # Reloading the page (history from the server) shows each message once as well.
    await page.reload()
    await page.get_by_role("button", name=t["open"]).click()
    await expect(log.locator(".msg.in")).to_have_count(4, timeout=WAIT_MS)

    conversations = (await client.get("/api/v1/conversations", headers=agent)).json()["items"]
    assert len(conversations) == 1
    items = (
        await client.get(f"/api/v1/conversations/{conversations[0]['id']}/messages", headers=agent)
    ).json()["items"]
    assert [m["body"] for m in items] == ["before the outage", *offline]
    assert [m["seq"] for m in items] == sorted(m["seq"] for m in items)
    await page.screenshot(path=shot("widget-reconnected-en.png"))


async def test_hostile_text_is_shown_as_text(
    browser: Browser, server: Server, client: httpx.AsyncClient, kefu: Kefu, workspace: Demo
) -> None:
    async with kefu.db.transaction() as s:
        inbox = await s.get(Inbox, workspace.inbox_id)
        assert inbox is not None
        inbox.config = {**inbox.config, "title": '<img src=x onerror="window.__xss=3">Help'}
    agent = await agent_online(client, workspace)
    t = LABELS["en"]
    page = await visitor_page(browser, server, workspace, "en")
    await page.get_by_role("button", name=t["open"]).click()
    visitor_payload = '<img src=x onerror="window.__xss=1">'
    await page.get_by_role("textbox", name=t["input"]).fill(visitor_payload)
    await page.get_by_role("button", name=t["send"], exact=True).click()
    log = page.get_by_role("log", name=t["log"])
    await expect(
        log.locator(".msg.in").filter(has_text=visitor_payload).get_by_text(t["sent"], exact=True)
    ).to_be_visible(timeout=WAIT_MS)
    conversations = (await client.get("/api/v1/conversations", headers=agent)).json()["items"]
    agent_payload = "<script>window.__xss=2</script><b>bold</b> <a href=javascript:alert(1)>x</a>"
    await client.post(
        f"/api/v1/conversations/{conversations[0]['id']}/messages",
        json={"body": agent_payload},
        headers=agent,
    )
    await expect(log.get_by_text(agent_payload)).to_be_visible(timeout=WAIT_MS)
    await expect(
        page.get_by_role("dialog").get_by_text('<img src=x onerror="window.__xss=3">Help')
    ).to_be_visible()
    assert await page.evaluate("window.__xss") is None
    widget = page.locator("[data-kefu-widget]")
    assert await widget.locator(".log img, .log script, .log b, header img[src='x']").count() == 0
    await page.screenshot(path=shot("widget-xss-en.png"))


async def test_leave_a_message_when_nobody_is_online(
    browser: Browser, server: Server, client: httpx.AsyncClient, workspace: Demo
) -> None:
    t = LABELS["zh-CN"]
    page = await visitor_page(browser, server, workspace, "zh-CN")
    await page.get_by_role("button", name=t["open"]).click()
    # Nobody is online: the leave-a-message form replaces the live chat composer.
    await expect(page.get_by_role("textbox", name=t["input"])).to_be_hidden()
    await page.get_by_label(t["email"]).fill("zhao@example.com")
    await page.get_by_label(t["body"]).fill("请把发票寄给我")
    await page.screenshot(path=shot("widget-leave-message-zh-CN.png"))
    await page.get_by_role("button", name=t["leave"]).click()
    await expect(page.get_by_text(t["thanks"])).to_be_visible(timeout=WAIT_MS)
    admin = await login_headers(client, login_of(workspace, "admin"))
    conversations = (await client.get("/api/v1/conversations", headers=admin)).json()["items"]
    assert [c["contact"]["email"] for c in conversations] == ["zhao@example.com"]


async def test_set_locale_switches_the_widget_language(
    browser: Browser, server: Server, client: httpx.AsyncClient, workspace: Demo
) -> None:
    await agent_online(client, workspace)
    page = await visitor_page(browser, server, workspace, "zh-CN")
    await expect(page.get_by_role("button", name=LABELS["zh-CN"]["open"])).to_be_visible(
        timeout=WAIT_MS
    )
    await page.get_by_role(
        "button", name="English"
    ).click()  # the demo page calls kefu('setLocale', 'en')
    await page.get_by_role("button", name=LABELS["en"]["open"]).click()
    await expect(page.get_by_role("textbox", name=LABELS["en"]["input"])).to_be_visible()


async def test_mobile_panel_fills_the_screen(
    browser: Browser, server: Server, client: httpx.AsyncClient, workspace: Demo
) -> None:
    await agent_online(client, workspace)
    page = await visitor_page(
        browser,
        server,
        workspace,
        "zh-CN",
        viewport={"width": 390, "height": 760},
        is_mobile=True,
        has_touch=True,
    )
    await page.get_by_role("button", name=LABELS["zh-CN"]["open"]).click()
    box = await page.get_by_role("dialog").bounding_box()
    assert box is not None and box["width"] == 390 and box["height"] == 760
    await page.screenshot(path=shot("widget-mobile-zh-CN.png"))


async def test_blocked_websockets_fall_back_to_http(
    browser: Browser, server: Server, client: httpx.AsyncClient, workspace: Demo
) -> None:
    agent = await agent_online(client, workspace)
    ctx = await browser.new_context(locale="en")
    page = await ctx.new_page()
    # A proxy that kills every websocket: the widget must carry on over plain HTTP.
    await page.route_web_socket("**/ws/visitor**", lambda ws: ws.close())
    await page.goto(f"{server.url}/?inbox={workspace.widget_key}")
    t = LABELS["en"]
    await page.get_by_role("button", name=t["open"]).click()
    await expect(page.get_by_text("Live connection unavailable")).to_be_visible(timeout=WAIT_MS)
    await page.get_by_role("textbox", name=t["input"]).fill("sent over http")
    await page.get_by_role("button", name=t["send"], exact=True).click()
    log = page.get_by_role("log", name=t["log"])
    await expect(
        log.locator(".msg.in").filter(has_text="sent over http").get_by_text(t["sent"], exact=True)
    ).to_be_visible(timeout=WAIT_MS)
    conversations = (await client.get("/api/v1/conversations", headers=agent)).json()["items"]
    await client.post(
        f"/api/v1/conversations/{conversations[0]['id']}/messages",
        json={"body": "polled reply"},
        headers=agent,
    )
    await expect(log.get_by_text("polled reply")).to_be_visible(timeout=WAIT_MS)


async def test_visitor_sends_an_image(
    browser: Browser, server: Server, client: httpx.AsyncClient, workspace: Demo
) -> None:
    agent = await agent_online(client, workspace)
    t = LABELS["en"]
    page = await visitor_page(browser, server, workspace, "en")
    await page.get_by_role("button", name=t["open"]).click()
    png = (
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
        b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89"
        b"\x99=\x1d\x00\x00\x00\x00IEND\xaeB`\x82"
    )
    async with page.expect_file_chooser() as chooser:
        await page.get_by_role("button", name="Attach a file or image").click()
    await (await chooser.value).set_files(
        files=[{"name": "dot.png", "mimeType": "image/png", "buffer": png}]
    )
    log = page.get_by_role("log", name=t["log"])
    await expect(log.get_by_role("img", name="dot.png")).to_be_visible(timeout=WAIT_MS)
    conversations = (await client.get("/api/v1/conversations", headers=agent)).json()["items"]
    items = (
        await client.get(f"/api/v1/conversations/{conversations[0]['id']}/messages", headers=agent)
    ).json()["items"]
    assert items[0]["type"] == "image"
    assert items[0]["attachments"][0]["content_type"] == "image/png"


async def test_host_page_identifies_the_user_and_hears_replies(
    browser: Browser, server: Server, client: httpx.AsyncClient, kefu: Kefu, workspace: Demo
) -> None:
    agent = await agent_online(client, workspace)
    async with kefu.db.session() as s:
        inbox = await s.get(Inbox, workspace.inbox_id)
        assert inbox is not None
        secret = str(inbox.secrets["identity_secret"])
    # What the host site's back end computes and hands to its page.
    digest = hmac.new(secret.encode(), b"shop-user-9", hashlib.sha256).hexdigest()
    page = await visitor_page(browser, server, workspace, "en")
    await page.evaluate(
        "() => { window.__heard = []; kefu('on', 'message', d => window.__heard.push(d.body)); }"
    )
    await page.evaluate(
        "(hash) => kefu('identify',"
        " {id: 'shop-user-9', name: 'Qian Hui', email: 'qh@example.com', hash})",
        digest,
    )
    await page.evaluate("() => kefu('setAttributes', {plan: 'gold'})")
    await page.evaluate("() => kefu('open')")
    t = LABELS["en"]
    await page.get_by_role("textbox", name=t["input"]).fill("I am signed in")
    await page.get_by_role("button", name=t["send"], exact=True).click()
    log = page.get_by_role("log", name=t["log"])
    await expect(
        log.locator(".msg.in").filter(has_text="I am signed in").get_by_text(t["sent"], exact=True)
    ).to_be_visible(timeout=WAIT_MS)
    conversations = (await client.get("/api/v1/conversations", headers=agent)).json()["items"]
    assert len(conversations) == 1
    conversation = conversations[0]
    assert conversation["contact"]["verified"] is True
    assert conversation["contact"]["name"] == "Qian Hui"
    assert conversation["attributes"]["plan"] == "gold"
    await client.post(
        f"/api/v1/conversations/{conversation['id']}/messages",
        json={"body": "Welcome back, Qian Hui"},
        headers=agent,
    )
    await page.wait_for_function(
        "() => window.__heard.includes('Welcome back, Qian Hui')", timeout=WAIT_MS
    )


async def test_visitor_rates_the_conversation_when_the_agent_resolves_it(
    browser: Browser, server: Server, client: httpx.AsyncClient, workspace: Demo
) -> None:
    agent = await agent_online(client, workspace)
    t = LABELS["zh-CN"]
    page = await visitor_page(browser, server, workspace, "zh-CN")
    await page.get_by_role("button", name=t["open"]).click()
    await page.get_by_role("textbox", name=t["input"]).fill("好的，谢谢")
    await page.get_by_role("button", name=t["send"], exact=True).click()
    log = page.get_by_role("log", name=t["log"])
    await expect(
        log.locator(".msg.in").filter(has_text="好的，谢谢").get_by_text(t["sent"], exact=True)
    ).to_be_visible(timeout=WAIT_MS)
    conversations = (await client.get("/api/v1/conversations", headers=agent)).json()["items"]
    conversation_id = conversations[0]["id"]
    resolved = await client.post(f"/api/v1/conversations/{conversation_id}/resolve", headers=agent)
    assert resolved.status_code in (200, 201), resolved.text
    stars = page.get_by_role("radiogroup", name="为本次对话评分")
    await expect(stars).to_be_visible(timeout=WAIT_MS)
    await stars.get_by_role("radio", name="4 星").click()
    await page.get_by_role("textbox", name="意见（可选）").fill("回复很快")
    await page.screenshot(path=shot("widget-csat-zh-CN.png"))
    await page.get_by_role("button", name="提交评价").click()
    await expect(page.get_by_text("感谢您的评价！")).to_be_visible(timeout=WAIT_MS)
    conversation = (
        await client.get(f"/api/v1/conversations/{conversation_id}", headers=agent)
    ).json()
    assert (conversation["csat_score"], conversation["csat_comment"]) == (4, "回复很快")
