"""The knowledge manager's day in headless Chromium, in zh-CN and en, against the real app:
a visitor asks the bot something it cannot answer; the knowledge manager signs in (and
lands on the studio, not the inbox), answers the unanswered question with a new FAQ,
publishes it, checks "try the bot"; a new visitor then gets the answer from the bot in the
widget, rendered as Markdown. Then the public help centre renders, switches language,
searches, opens an article, takes feedback and opens the chat; and the widget searches
articles before a chat starts.

Screenshots go to /tmp/shots/studio/ (look at them: zh-CN and en)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from litestar import Litestar
from playwright.async_api import Browser, Page, expect

import kefu.knowledge.tables
import kefu.visitors.tables  # (tables in the test schema)
from kefu.app import create_app
from kefu.context import Kefu
from kefu.db.tables import Inbox
from kefu.demo import Demo, seed
from kefu.knowledge import bot, entries, io
from kefu.routing import bot_first
from kefu.settings import Settings
from tests.conftest import PASSWORD, login_headers, login_of, running_kefu
from tests.e2e.browsers import async_chromium, console_as
from tests.servers import LoopServer

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

SHOTS = Path("/tmp/shots/studio")
WAIT_MS = 20_000

WORDS = {
    "zh-CN": {
        "open": "打开在线客服",
        "input": "输入消息",
        "send": "发送",
        "question": "门店有停车位吗？",
        "clarify": "抱歉，我没能理解您的问题",
        "answer": "门店有 **免费停车位**，在商场 B2 层。",
        "answer_text": "免费停车位",
        "entries": "知识条目",
        "unanswered": "未解答问题",
        "answer_it": "解答",
        "answer_label": "答案（Markdown）",
        "answered": "已解答",
        "try": "测试机器人",
        "try_q": "客户的问题",
        "ask": "提问",
        "would_answer": "机器人会：直接回答",
        "usage": "使用情况",
        "new_article": "新建文章",
        "title": "标题",
        "body": "正文（Markdown）",
        "help_title": "帮助中心",
        "search_label": "搜索帮助中心",
        "search_q": "退款",
        "results": "搜索结果",
        "yes": "有帮助",
        "thanks": "感谢您的反馈！",
        "chat": "联系在线客服",
        "widget_search": "搜索帮助文章",
        "widget_q": "发票",
        "back": "返回搜索结果",
    },
    "en": {
        "open": "Open chat",
        "input": "Type a message",
        "send": "Send",
        "question": "Do you have parking at the store?",
        "clarify": "Sorry, I didn't understand",
        "answer": "Yes: **free parking** on level B2 of the mall.",
        "answer_text": "free parking",
        "entries": "Entries",
        "unanswered": "Unanswered",
        "answer_it": "Answer it",
        "answer_label": "Answer (Markdown)",
        "answered": "Answered",
        "try": "Try the bot",
        "try_q": "A customer's question",
        "ask": "Ask",
        "would_answer": "The bot would: answer",
        "usage": "Usage",
        "new_article": "New article",
        "title": "Title",
        "body": "Article (Markdown)",
        "help_title": "Help centre",
        "search_label": "Search the help centre",
        "search_q": "refund",
        "results": "Results for",
        "yes": "Yes",
        "thanks": "Thank you for your feedback!",
        "chat": "Chat with us",
        "widget_search": "Search help articles",
        "widget_q": "invoice",
        "back": "Back to results",
    },
}


def shot(name: str) -> str:
    SHOTS.mkdir(parents=True, exist_ok=True)
    return str(SHOTS / name)


@pytest_asyncio.fixture(loop_scope="module")
async def kefu(settings: Settings) -> AsyncIterator[Kefu]:
    async with running_kefu(settings) as running:
        yield running


@pytest_asyncio.fixture(loop_scope="module")
async def workspace(kefu: Kefu) -> Demo:
    """The demo shop, its web inbox answered by the bot first, the sample knowledge base."""
    demo = await seed(kefu, slug="acme", password=PASSWORD)
    async with kefu.db.transaction() as session:
        inbox = await session.get(Inbox, demo.inbox_id)
        assert inbox is not None
        await bot_first.start_with_bot(session, demo.workspace_id, demo.inbox_id)
    await entries.import_entries(kefu, demo.workspace_id, io.read_folder(io.SAMPLES))
    if bot.on_ingest not in kefu.after_ingest:
        kefu.after_ingest.append(bot.on_ingest)
    return demo


@pytest_asyncio.fixture(loop_scope="module")
async def server(kefu: Kefu, workspace: Demo) -> AsyncIterator[LoopServer]:
    app: Litestar = create_app(kefu=kefu)
    live = LoopServer(app, lifespan="off", ws="websockets-sansio")
    await live.start()
    # An agent is online, so the widget offers a chat (not leave-a-message); the bot goes first.
    async with httpx.AsyncClient(base_url=live.url) as client:
        headers = await login_headers(client, login_of(workspace, "lina"))
        online = await client.put(
            "/api/v1/agents/me/presence", json={"presence": "online"}, headers=headers
        )
        assert online.status_code == 200, online.text
    yield live
    await live.stop()


@pytest_asyncio.fixture(loop_scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with async_chromium(console=True) as launched:
        yield launched


async def visitor_asks(browser: Browser, url: str, demo: Demo, locale: str, text: str) -> Page:
    w = WORDS[locale]
    context = await browser.new_context(locale=locale, viewport={"width": 1100, "height": 800})
    page = await context.new_page()
    await page.goto(f"{url}/?inbox={demo.widget_key}&entry=e2e")
    await page.get_by_role("button", name=w["open"]).click()
    await page.get_by_role("textbox", name=w["input"]).fill(text)
    await page.get_by_role("button", name=w["send"], exact=True).click()
    return page


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
async def test_manager_answers_an_unanswered_question_and_the_bot_then_answers_it(
    browser: Browser, server: LoopServer, workspace: Demo, locale: str
) -> None:
    w = WORDS[locale]
    first = await visitor_asks(browser, server.url, workspace, locale, w["question"])
    await expect(first.get_by_text(w["clarify"])).to_be_visible(timeout=WAIT_MS)
    await first.context.close()

    # The knowledge manager lands on the studio, with no "needs one of the roles" toast.
    page = await console_as(browser, server.url, workspace, "knowledge", locale, "/")
    await expect(page.get_by_role("heading", name=w["entries"], exact=True)).to_be_visible()
    await expect(page.locator(".toast.error")).to_have_count(0)
    await page.screenshot(path=shot(f"studio-entries-{locale}.png"))

    await page.get_by_role("link", name=w["unanswered"]).click()
    group = page.locator(".kn-groups > li").filter(has_text=w["question"])
    await expect(group).to_be_visible()
    await page.screenshot(path=shot(f"studio-unanswered-{locale}.png"))
    await group.get_by_role("button", name=w["answer_it"], exact=True).click()
    await group.get_by_label(w["answer_label"]).fill(w["answer"])
    await expect(group.locator(".md.preview strong")).to_have_text(w["answer_text"])
    await page.screenshot(path=shot(f"studio-answer-it-{locale}.png"))
    await group.get_by_role("button", name=w["answer_it"], exact=True).click()
    await expect(page.locator(".toast")).to_contain_text(w["answered"])
    await expect(page.locator(".kn-groups > li").filter(has_text=w["question"])).to_have_count(0)

    await page.get_by_role("link", name=w["try"]).click()
    await page.get_by_role("textbox", name=w["try_q"]).fill(w["question"])
    await page.get_by_role("button", name=w["ask"], exact=True).click()
    await expect(page.get_by_text(w["would_answer"])).to_be_visible()
    await expect(page.locator("tr.kn-chosen")).to_contain_text(w["question"])
    await expect(page.locator(".kn-try-result .bubble.md strong")).to_have_text(w["answer_text"])
    await page.screenshot(path=shot(f"studio-try-{locale}.png"))

    # A new visitor asks the same question: the bot answers with the new FAQ, as Markdown.
    second = await visitor_asks(browser, server.url, workspace, locale, w["question"])
    answer = second.locator(".msg.out .bubble.md strong").filter(has_text=w["answer_text"])
    await expect(answer).to_be_visible(timeout=WAIT_MS)
    assert "**" not in (await second.locator(".msg.out .bubble.md").last.inner_text())
    await second.screenshot(path=shot(f"widget-bot-answer-{locale}.png"))
    await second.context.close()

    await page.get_by_role("link", name=w["usage"]).click()
    row = page.locator("tbody tr").filter(has_text=w["question"])
    await expect(row).to_be_visible()
    await page.screenshot(path=shot(f"studio-usage-{locale}.png"))

    await page.get_by_role("link", name=w["entries"]).click()
    await page.get_by_role("link", name=w["new_article"]).click()
    await page.get_by_label(w["title"], exact=True).fill("Markdown")
    await page.get_by_label(w["body"]).fill(
        "# Heading\n\n- **bold** item\n- [link](https://example.com)\n\n<script>alert(1)</script>"
    )
    preview = page.locator(".md.preview")
    await expect(preview.locator("h1")).to_have_text("Heading")
    await expect(preview.locator("script")).to_have_count(0)
    await expect(preview).to_contain_text("<script>alert(1)</script>")
    await page.screenshot(path=shot(f"studio-editor-{locale}.png"))
    await page.context.close()


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
async def test_help_centre_renders_searches_takes_feedback_and_opens_chat(
    browser: Browser, server: LoopServer, workspace: Demo, locale: str
) -> None:
    w = WORDS[locale]
    other = "en" if locale == "zh-CN" else "zh-CN"
    context = await browser.new_context(locale=other, viewport={"width": 1100, "height": 900})
    page = await context.new_page()
    await page.goto(f"{server.url}/help/acme?lang={locale}")
    await expect(page).to_have_title(f"{w['help_title']} · acme")
    assert await page.locator("html").get_attribute("lang") == locale
    await page.screenshot(path=shot(f"help-home-{locale}.png"), full_page=True)

    await page.get_by_role("searchbox", name=w["search_label"]).fill(w["search_q"])
    await page.get_by_role("searchbox", name=w["search_label"]).press("Enter")
    await expect(page.get_by_role("heading", level=1)).to_contain_text(w["results"])
    await expect(page.locator("ul.list mark").first).to_be_visible()
    await page.screenshot(path=shot(f"help-search-{locale}.png"), full_page=True)

    await page.locator("ul.list a").first.click()
    await expect(page.locator("article h1")).to_be_visible()
    canonical = await page.locator('link[rel="canonical"]').get_attribute("href")
    assert canonical and "/help/acme/articles/" in canonical
    assert await page.locator('meta[name="description"]').get_attribute("content")
    assert "lang=" + locale in page.url  # the chosen language follows the links
    await page.get_by_role("button", name=w["yes"]).click()
    await expect(page.get_by_text(w["thanks"])).to_be_visible()
    await page.screenshot(path=shot(f"help-article-{locale}.png"), full_page=True)

    await page.get_by_role("button", name=w["chat"]).click()
    await expect(page.get_by_role("textbox", name=w["input"])).to_be_visible(timeout=WAIT_MS)
    await page.screenshot(path=shot(f"help-chat-{locale}.png"))
    await context.close()


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
async def test_widget_searches_articles_before_a_chat_starts(
    browser: Browser, server: LoopServer, workspace: Demo, locale: str
) -> None:
    w = WORDS[locale]
    context = await browser.new_context(locale=locale, viewport={"width": 1100, "height": 800})
    page = await context.new_page()
    await page.goto(f"{server.url}/?inbox={workspace.widget_key}&entry=e2e-help")
    await page.get_by_role("button", name=w["open"]).click()
    search = page.get_by_role("searchbox", name=w["widget_search"])
    await search.fill(w["widget_q"])
    await search.press("Enter")
    results = page.locator(".help li button")
    await expect(results.first).to_be_visible(timeout=WAIT_MS)
    await page.screenshot(path=shot(f"widget-help-search-{locale}.png"))
    await results.first.click()
    await expect(page.locator(".help article h3")).to_be_visible()
    await expect(page.get_by_role("button", name=w["back"], exact=False)).to_be_visible()
    await page.screenshot(path=shot(f"widget-help-article-{locale}.png"))
    # Once the visitor writes, the search gives the room to the conversation.
    await page.get_by_role("textbox", name=w["input"]).fill("hello")
    await page.get_by_role("button", name=w["send"], exact=True).click()
    await expect(page.locator(".help")).to_be_hidden()
    await context.close()
