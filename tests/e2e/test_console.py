"""The agent console in headless Chromium against a real kefu server (SQLite, seeded
demo workspace): an agent's day, a live supervisor board, customer XSS rendered as
text, accessible names, and screenshots of each main screen in zh-CN and en under
test-artifacts/console/."""

from __future__ import annotations

import asyncio
import socket
import threading
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import uvicorn

from kefu.app import build_kefu, create_app
from kefu.context import Kefu
from kefu.conversations.actions import Actor, reply
from kefu.conversations.ingest import ingest
from kefu.db.metadata import all_tables
from kefu.demo import Demo, seed
from kefu.model import ContactFacts, ConversationFacts, Identity, Inbound
from tests.conftest import PASSWORD, make_settings
from tests.e2e.browsers import CONSOLE, require, sync_chromium

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "console"
T = TypeVar("T")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _wire_missing(app: Any) -> None:
    """Register the console and its APIs when create_app does not (yet) do so itself."""
    from litestar.static_files import create_static_files_router

    from kefu.quickreplies.api import QuickRepliesController
    from kefu.reports.api import ReportsController

    paths = {route.path for route in app.routes}
    if "/console" not in paths:
        app.register(
            create_static_files_router(path="/console", directories=[CONSOLE], html_mode=True)
        )
    if "/api/v1/reports/board" not in paths:
        app.register(ReportsController)
    if "/api/v1/quick-replies" not in paths:
        app.register(QuickRepliesController)
    if "/api/v1/routing/rules" not in paths:
        # Another team's API, shown by the admin pages; wired here until create_app does.
        from kefu.routing.api import ROUTES as ROUTING_ROUTES

        for controller in ROUTING_ROUTES:
            app.register(controller)


class Server:
    """kefu served by uvicorn on its own thread and event loop. Arranging code (a visitor
    writing) runs on that loop through `call`, as a connector would inside the server."""

    def __init__(self, tmp: Path) -> None:
        # These tables must exist in the test database.
        import kefu.quickreplies.tables
        import kefu.routing.tables  # noqa: F401

        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.settings = make_settings(f"sqlite+aiosqlite:///{tmp}/console.db")
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.kefu: Kefu
        self.demo: Demo
        self.server: uvicorn.Server
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        if not self.ready.wait(30):
            raise RuntimeError("kefu did not start")

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._serve())

    async def _serve(self) -> None:
        self.kefu = build_kefu(self.settings)
        async with self.kefu.db.engine.begin() as conn:
            await conn.run_sync(all_tables().create_all)
        self.demo = await seed(self.kefu, slug="demo", password=PASSWORD)
        app = create_app(kefu=self.kefu)
        _wire_missing(app)
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        serving = asyncio.create_task(self.server.serve())
        while not self.server.started:
            await asyncio.sleep(0.02)
        self.ready.set()
        await serving

    def call(self, fn: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        return asyncio.run_coroutine_threadsafe(fn(*args, **kwargs), self.loop).result(30)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(15)

    def login(self, local: str) -> str:
        return next(x.email for x in self.demo.logins if x.email.startswith(local + "@"))

    def add_inbox(self, kind: str, name: str) -> uuid.UUID:
        from kefu.db.tables import Inbox

        async def add() -> uuid.UUID:
            async with self.kefu.db.transaction() as session:
                inbox = Inbox(
                    workspace_id=self.demo.workspace_id,
                    kind=kind,
                    name=name,
                    public_key=uuid.uuid4().hex,
                    config={},
                )
                session.add(inbox)
                await session.flush()
                return inbox.id

        return self.call(add)

    def write_to(
        self, inbox_id: uuid.UUID, identity: Identity, body: str, name: str | None = None
    ) -> uuid.UUID:
        async def write() -> uuid.UUID:
            result = await ingest(
                self.kefu,
                Inbound(
                    inbox_id=inbox_id,
                    identity=identity,
                    channel_message_id=uuid.uuid4().hex,
                    body=body,
                    contact=ContactFacts(name=name),
                ),
            )
            assert result.conversation_id is not None
            return result.conversation_id

        return self.call(write)

    def visitor_writes(
        self, visitor: str, body: str, name: str | None = None, page: str | None = None
    ) -> uuid.UUID:
        async def write() -> uuid.UUID:
            result = await ingest(
                self.kefu,
                Inbound(
                    inbox_id=self.demo.inbox_id,
                    identity=Identity(kind="web_visitor", value=visitor),
                    client_message_id=uuid.uuid4().hex,
                    body=body,
                    contact=ContactFacts(name=name),
                    facts=ConversationFacts(page_url=page),
                ),
            )
            assert result.conversation_id is not None
            return result.conversation_id

        return self.call(write)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    require(console=True)
    s = Server(tmp_path_factory.mktemp("console"))
    yield s
    s.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_chromium(console=True) as b:
        yield b


def open_console(browser: Any, server: Server, local: str, locale: str = "en") -> Any:
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale=locale)
    # The language is the user's choice, remembered by the console; set it up front.
    context.add_init_script(f"localStorage.setItem('kefu.locale', '{locale}')")
    page = context.new_page()
    page.goto(f"{server.url}/console/")
    if local:
        sign_in(page, server, local, locale)
    return page


def sign_in(page: Any, server: Server, local: str, locale: str = "en") -> None:
    labels = {"en": ("E-mail", "Password", "Sign in"), "zh-CN": ("邮箱", "密码", "登录")}[locale]
    page.get_by_label(labels[0]).fill(server.login(local))
    page.get_by_label(labels[1]).fill(PASSWORD)
    page.get_by_role("button", name=labels[2], exact=True).click()
    page.get_by_role("combobox", name={"en": "Presence", "zh-CN": "在线状态"}[locale]).wait_for()


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def expect(locator: Any) -> Any:
    from playwright.sync_api import expect as pw_expect

    return pw_expect(locator)


async def rich_history(server: Server, visitor: str, conversation_id: uuid.UUID) -> None:
    """A conversation with every kind of message, for the screenshots."""
    from kefu.model import Attachment, MessageType, SenderKind

    invoice = Attachment(
        name="发票 invoice-2026-11.pdf", content_type="application/pdf", size=48213
    )
    kinds: list[tuple[MessageType, str, tuple[Attachment, ...]]] = [
        (MessageType.location, '{"lat": 31.2304, "lng": 121.4737, "label": "上海市黄浦区"}', ()),
        (MessageType.link, "https://shop.example/vip/benefits", ()),
        (MessageType.file, "", (invoice,)),
        (MessageType.call, "02:14", ()),
    ]
    for i, (type_, body, attachments) in enumerate(kinds):
        await ingest(
            server.kefu,
            Inbound(
                inbox_id=server.demo.inbox_id,
                identity=Identity(kind="web_visitor", value=visitor),
                client_message_id=f"{visitor}-{i}",
                type=type_,
                body=body,
                attachments=attachments,
            ),
        )
    lina = next(x for x in server.demo.logins if x.email.startswith("lina@"))
    actor = Actor(
        workspace_id=server.demo.workspace_id,
        kind=SenderKind.agent,
        user_id=lina.id,
        name=lina.name,
    )
    await reply(server.kefu, conversation_id, actor, "您好陈女士，金卡会员享 9 折，黑卡 8.5 折。")
    await reply(
        server.kefu, conversation_id, actor, "@王芳 Wang Fang 能否叠加优惠券？请确认。", note=True
    )


# ---------------------------------------------------------------------------


def test_an_agents_day(browser: Any, server: Server) -> None:
    """Lina takes a queued conversation, answers with a quick reply, leaves a note for
    Tom and transfers to after-sales; Tom takes it and resolves it with the keyboard.
    The supervisor's board follows along without a reload."""
    from kefu.people.auth import AuthUser
    from kefu.quickreplies import service as quick
    from kefu.quickreplies.schemas import QuickReplyCreate, Scope

    boss = next(x for x in server.demo.logins if x.email.startswith("supervisor@"))
    server.call(
        quick.create,
        server.kefu,
        AuthUser(
            id=boss.id,
            workspace_id=server.demo.workspace_id,
            role=boss.role,
            name=boss.name,
            email=boss.email,
            session_id=uuid.uuid4(),
        ),
        QuickReplyCreate(
            shortcut="hello",
            title="Greeting",
            body="Hi {{contact.name|there}}, I'm {{agent.name}}. How can I help?",
            scope=Scope.team,
        ),
    )
    board = open_console(browser, server, "supervisor")
    board.goto(f"{server.url}/console/#/board")
    presales = board.locator("tr", has_text="Pre-sales").locator("[data-testid=queued]")
    expect(presales).to_have_text("0")

    server.visitor_writes("day-visitor", "Where is my order #1234?", name="Alice Wang")

    # Live: the board counts the new arrival without a reload.
    expect(presales).to_have_text("1")

    lina = open_console(browser, server, "lina")
    lina.get_by_role("button", name="Queued").click()
    lina.get_by_role("button", name="Alice Wang").click()
    expect(lina.get_by_role("log", name="Timeline")).to_contain_text("Where is my order #1234?")
    lina.get_by_role("button", name="Take it").click()
    expect(lina.get_by_role("heading", name="Alice Wang")).to_be_visible()
    expect(lina.locator(".conv-head")).to_contain_text("Open")

    composer = lina.get_by_role("combobox", name="Message")
    composer.fill("/hel")
    composer.press("End")
    composer.type("l")
    expect(lina.get_by_role("option", name="/hello Greeting")).to_be_visible()
    composer.press("Enter")
    expect(composer).to_have_value("Hi Alice Wang, I'm 李娜 Li Na. How can I help?")
    composer.press("Enter")
    timeline = lina.get_by_role("log", name="Timeline")
    expect(timeline).to_contain_text("Hi Alice Wang, I'm 李娜 Li Na. How can I help?")

    lina.locator("body").click(position={"x": 5, "y": 300})
    lina.keyboard.press("n")
    expect(lina.get_by_role("tab", name="Note")).to_have_attribute("aria-selected", "true")
    expect(composer).to_be_focused()
    composer.type("Customer wants a refund, @Tom Chen 陈涛 please check.")
    composer.press("Enter")
    expect(timeline.locator("li.msg.note")).to_contain_text("@Tom Chen 陈涛 please check.")

    lina.locator("body").click(position={"x": 5, "y": 300})
    lina.keyboard.press("t")
    dialog = lina.get_by_role("dialog", name="Transfer conversation")
    dialog.get_by_label("To group").select_option(label="售后服务 After-sales")
    dialog.get_by_label("Note for the next agent").fill("Refund request, order #1234")
    dialog.get_by_role("button", name="Transfer").click()
    expect(dialog).to_be_hidden()

    tom = open_console(browser, server, "tom")
    tom.get_by_role("button", name="Queued").click()
    tom.get_by_role("button", name="Alice Wang").click()
    tom_timeline = tom.get_by_role("log", name="Timeline")
    expect(tom_timeline).to_contain_text("Refund request, order #1234")
    tom.get_by_role("button", name="Take it").click()
    expect(tom.locator(".conv-head")).to_contain_text("Open")
    tom.locator("body").click(position={"x": 5, "y": 300})
    tom.keyboard.press("e")
    expect(tom.locator(".conv-head")).to_contain_text("Resolved")
    expect(tom.get_by_role("button", name="Reopen")).to_be_visible()

    # The board saw it all: nothing waiting, nothing in progress, one resolved today.
    aftersales = board.locator("tr", has_text="After-sales").locator("[data-testid=queued]")
    expect(aftersales).to_have_text("0")
    expect(presales).to_have_text("0")
    expect(board.get_by_test_id("today-resolved")).to_have_text("1")
    expect(board.get_by_role("region", name="Conversations in progress")).not_to_contain_text(
        "Alice Wang"
    )
    shot(board, "board-after-day-en")
    for page in (board, lina, tom):
        page.context.close()


def test_the_inbox_updates_live_and_counts_unread(browser: Any, server: Server) -> None:
    page = open_console(browser, server, "supervisor")
    page.get_by_role("button", name="Queued").click()
    expect(page.get_by_role("button", name="Live Luo")).to_have_count(0)

    server.visitor_writes("live-visitor", "First question", name="Live Luo")
    expect(page.get_by_role("button", name="Live Luo")).to_be_visible()
    server.visitor_writes("live-visitor", "Second question", name="Live Luo")

    item = page.get_by_role("button", name="Live Luo")
    expect(item.get_by_label("2 unread")).to_be_visible()
    expect(item).to_contain_text("Second question")
    item.click()
    expect(page.get_by_role("log", name="Timeline")).to_contain_text("Second question")
    expect(item.get_by_label("2 unread")).to_have_count(0)
    page.context.close()


def test_a_note_mentions_an_agent_who_finds_it_under_mentions(browser: Any, server: Server) -> None:
    conversation_id = server.visitor_writes("mention-visitor", "Hi", name="Mia")
    page = open_console(browser, server, "supervisor")
    page.goto(f"{server.url}/console/#/inbox/{conversation_id}")
    page.get_by_role("tab", name="Note").click()
    composer = page.get_by_role("combobox", name="Message")

    composer.type("Please call her back @Li")
    expect(page.get_by_role("option", name="@李娜 Li Na")).to_be_visible()
    composer.press("Enter")
    composer.type("today")
    composer.press("Enter")

    note = page.get_by_role("log", name="Timeline").locator("li.msg.note")
    expect(note).to_contain_text("Please call her back @李娜 Li Na today")
    page.context.close()

    lina = open_console(browser, server, "lina")
    lina.get_by_role("button", name="Mentions").click()
    expect(lina.get_by_role("button", name="Mia")).to_be_visible()
    lina.context.close()


def test_a_failed_delivery_shows_its_reason(browser: Any, server: Server) -> None:
    """An API inbox with no webhook URL cannot deliver; the agent sees why."""
    from kefu.conversations import outbox

    inbox_id = server.add_inbox("api", "Partner API")
    conversation_id = server.write_to(
        inbox_id,
        Identity(kind="external", value="partner-user-7"),
        "Status of ticket 7?",
        name="Partner User",
    )
    page = open_console(browser, server, "supervisor")
    page.goto(f"{server.url}/console/#/inbox/{conversation_id}")
    composer = page.get_by_role("combobox", name="Message")
    composer.fill("We are on it.")
    composer.press("Enter")
    reply = page.get_by_role("log", name="Timeline").locator("li.msg.out")
    expect(reply).to_contain_text("Sending")

    server.call(outbox.dispatch_due, server.kefu)

    expect(reply).to_contain_text("Failed")
    expect(reply.get_by_role("alert")).to_contain_text("no webhook_url")
    page.context.close()


def test_the_timeline_shows_the_customers_other_channels(browser: Any, server: Server) -> None:
    grace = Identity(kind="email", value="grace@example.com")
    server.write_to(server.demo.inbox_id, grace, "Asked on the website", name="Grace Hopper")
    api_inbox = server.add_inbox("api", "Partner portal")
    current = server.write_to(api_inbox, grace, "Following up from the portal")
    page = open_console(browser, server, "supervisor")
    page.goto(f"{server.url}/console/#/inbox/{current}")
    timeline = page.get_by_role("log", name="Timeline")
    expect(timeline).to_contain_text("Following up from the portal")

    timeline.get_by_role("button", name="Show 1 earlier conversation(s) with this customer").click()

    earlier = timeline.locator("li.msg", has_text="Asked on the website")
    expect(earlier.locator(".chip.ch-web")).to_have_text("Web")
    now = timeline.locator("li.msg", has_text="Following up from the portal")
    expect(now.locator(".chip.ch-api")).to_have_text("API")
    page.context.close()


def test_keyboard_walks_the_list_and_acts(browser: Any, server: Server) -> None:
    server.visitor_writes("keys-1", "one", name="Key One")
    server.visitor_writes("keys-2", "two", name="Key Two")
    page = open_console(browser, server, "supervisor")
    page.get_by_role("button", name="All", exact=True).click()
    # Wait for the All view itself (both conversations listed), so that the key press
    # reaches the list it is meant for rather than the view being replaced.
    expect(page.locator(".items .item", has_text="Key One")).to_be_visible()
    expect(page.locator(".items .item", has_text="Key Two")).to_be_visible()
    first = page.locator(".items .item").first

    page.locator("body").press("j")
    expect(first).to_have_attribute("aria-current", "true")
    expect(first).to_be_focused()
    page.keyboard.press("j")
    second = page.locator(".items .item").nth(1)
    expect(second).to_have_attribute("aria-current", "true")
    page.keyboard.press("k")
    expect(first).to_have_attribute("aria-current", "true")
    page.keyboard.press("r")
    expect(page.get_by_role("combobox", name="Message")).to_be_focused()
    page.keyboard.press("Escape")
    page.keyboard.press("t")
    expect(page.get_by_role("dialog", name="Transfer conversation")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_have_count(0)
    page.keyboard.press("?")
    expect(page.get_by_role("dialog", name="Keyboard shortcuts")).to_be_visible()
    page.context.close()


def test_labels_priority_and_contact_attributes_are_saved(browser: Any, server: Server) -> None:
    conversation_id = server.visitor_writes("edit-visitor", "hello", name="Eve")
    page = open_console(browser, server, "supervisor")
    page.goto(f"{server.url}/console/#/inbox/{conversation_id}")
    page.get_by_role("log", name="Timeline").wait_for()

    page.get_by_role("button", name="Labels").click()
    page.get_by_role("textbox", name="Labels", exact=True).fill("vip, refund")
    page.get_by_role("button", name="Save", exact=True).first.click()
    page.get_by_role("combobox", name="Priority", exact=True).select_option("2")
    page.get_by_role("textbox", name="Attribute name").fill("order")
    page.get_by_role("textbox", name="Attribute value").fill("#1234")
    page.get_by_role("form", name="Edit contact").get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("Contact saved")

    page.reload()
    head = page.locator(".conv-head")
    expect(head).to_contain_text("refund")
    expect(head).to_contain_text("vip")
    expect(page.get_by_role("combobox", name="Priority", exact=True)).to_have_value("2")
    expect(page.get_by_role("complementary")).to_contain_text("#1234")
    page.context.close()


def test_supervisor_reassigns_from_the_board(browser: Any, server: Server) -> None:
    server.visitor_writes("board-visitor", "anyone there?", name="Bo Ard")
    page = open_console(browser, server, "supervisor")
    page.goto(f"{server.url}/console/#/board")
    row = page.get_by_role("row", name="Bo Ard")

    row.get_by_role("combobox").select_option(label="李娜 Li Na")

    expect(row).to_contain_text("李娜 Li Na")
    expect(row).to_contain_text("Open")
    page.context.close()


def test_admin_writes_a_team_quick_reply_that_agents_use(browser: Any, server: Server) -> None:
    admin = open_console(browser, server, "admin")
    admin.goto(f"{server.url}/console/#/admin/quick")
    form = admin.get_by_role("form", name="Create")
    form.get_by_role("textbox", name="Shortcut").fill("thanks")
    form.get_by_role("textbox", name="Name").fill("Thanks")
    form.get_by_role("combobox", name="Visible to").select_option("team")
    form.get_by_role("textbox", name="Text").fill("Thank you, {{contact.name|friend}}!")
    form.get_by_role("button", name="Create").click()
    expect(admin.get_by_role("row", name="/thanks")).to_contain_text("Everyone")
    admin.context.close()

    conversation_id = server.visitor_writes("qr-visitor", "bye", name="Quinn")
    lina = open_console(browser, server, "lina")
    lina.goto(f"{server.url}/console/#/inbox/{conversation_id}")
    composer = lina.get_by_role("combobox", name="Message")
    composer.type("/than")
    lina.get_by_role("option", name="/thanks Thanks").click()
    expect(composer).to_have_value("Thank you, Quinn!")
    lina.context.close()


def test_a_wrong_password_is_refused_with_a_reason(browser: Any, server: Server) -> None:
    page = open_console(browser, server, "")
    page.get_by_label("E-mail").fill(server.login("lina"))
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in", exact=True).click()

    expect(page.get_by_role("alert")).to_contain_text("Sign-in failed")
    expect(page.get_by_role("combobox", name="Presence")).to_have_count(0)
    page.context.close()


def test_customer_html_is_shown_as_text(browser: Any, server: Server) -> None:
    payload = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'
    name = '<b onmouseover="window.__xss=3">Mallory</b>'
    conversation_id = server.visitor_writes(
        "xss-visitor", payload, name=name, page="javascript:alert(1)"
    )

    page = open_console(browser, server, "supervisor")
    page.goto(f"{server.url}/console/#/inbox/{conversation_id}")
    timeline = page.get_by_role("log", name="Timeline")

    expect(timeline).to_contain_text(payload)
    expect(page.get_by_role("heading", name=name)).to_be_visible()
    assert page.evaluate("window.__xss") is None
    assert timeline.locator("img, script").count() == 0
    # The javascript: page URL is shown, never linked.
    assert page.locator('a[href^="javascript:"]').count() == 0
    page.context.close()


def test_every_control_has_an_accessible_name(browser: Any, server: Server) -> None:
    server.visitor_writes("a11y-visitor", "Hello", name="Ada")
    page = open_console(browser, server, "admin")
    unnamed_js = """() => {
      const name = (el) => (el.getAttribute('aria-label')
        || (el.labels && [...el.labels].map(l => l.textContent).join(' '))
        || el.getAttribute('title') || el.textContent || el.getAttribute('placeholder')
        || '').trim();
      return [...document.querySelectorAll('button, select, input, textarea, a[href]')]
        .filter(el => el.offsetParent !== null && !name(el)).map(el => el.outerHTML.slice(0, 120));
    }"""
    screens = [
        "#/inbox",
        "#/board",
        "#/admin/inboxes",
        "#/admin/agents",
        "#/admin/groups",
        "#/admin/quick",
    ]
    for hash_ in screens:
        page.goto(f"{server.url}/console/{hash_}")
        page.wait_for_load_state("networkidle")
        if hash_ == "#/inbox":
            page.get_by_role("button", name="All").click()
            page.get_by_role("button", name="Ada").click()
            page.get_by_role("log", name="Timeline").wait_for()
        assert page.evaluate(unnamed_js) == [], hash_
    page.context.close()


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_screenshots_of_each_main_screen(browser: Any, server: Server, locale: str) -> None:
    """Not a pixel comparison: the pictures are for a person to look at. The test checks
    that each screen speaks the chosen language."""
    rich = server.visitor_writes(
        f"shot-{locale}-1",
        "你好，我想咨询一下会员折扣。",
        name="陈静",
        page="https://shop.example/vip",
    )
    server.call(rich_history, server, f"shot-{locale}-1", rich)
    server.visitor_writes(f"shot-{locale}-2", "Do you ship to Singapore?", name="Sam Lee")
    texts = {
        "zh-CN": {
            "login": "登录 kefu",
            "all": "全部",
            "inbox": "排队中",
            "board": "实时监控看板",
            "admin": "接入渠道",
            "name": "名称",
            "save": "保存",
            "explain": "解释",
        },
        "en": {
            "login": "Sign in to kefu",
            "all": "All",
            "inbox": "Queued",
            "board": "Supervisor board",
            "admin": "Inboxes",
            "name": "Name",
            "save": "Save",
            "explain": "Explain",
        },
    }[locale]

    page = open_console(browser, server, "", locale)
    expect(page.get_by_role("heading", name=texts["login"])).to_be_visible()
    shot(page, f"login-{locale}")

    sign_in(page, server, "supervisor", locale)
    page.get_by_role("button", name=texts["all"], exact=True).click()
    page.locator(f'[data-conversation="{rich}"]').click()
    expect(page.locator(".timeline .msg.note")).to_be_visible()
    expect(page.get_by_role("complementary")).to_contain_text("web_visitor")
    shot(page, f"inbox-{locale}")

    page.get_by_role("tab", name={"zh-CN": "知识库", "en": "Knowledge"}[locale]).click()
    shot(page, f"inbox-knowledge-{locale}")

    page.goto(f"{server.url}/console/#/board")
    expect(page.get_by_role("heading", name=texts["board"])).to_be_visible()
    shot(page, f"board-{locale}")
    page.context.close()

    admin = open_console(browser, server, "admin", locale)
    for section in ("inboxes", "agents", "groups", "routing", "hours", "quick"):
        admin.goto(f"{server.url}/console/#/admin/{section}")
        admin.locator("#admin-title").wait_for()
        if section in ("inboxes", "agents", "groups"):
            admin.locator("tbody tr").first.wait_for()
        if section == "hours":
            office = f"Office {locale}"
            admin.get_by_label(texts["name"]).last.fill(office)
            admin.get_by_role("button", name=texts["save"]).last.click()
            expect(admin.get_by_role("form", name=office)).to_be_visible()
        if section == "routing":
            admin.get_by_role("button", name=texts["explain"]).click()
            expect(admin.get_by_role("status")).to_be_visible()
        admin.wait_for_load_state("networkidle")
        shot(admin, f"admin-{section}-{locale}")
    admin.goto(f"{server.url}/console/#/admin/inboxes")
    expect(admin.get_by_role("heading", name=texts["admin"])).to_be_visible()
    admin.context.close()
