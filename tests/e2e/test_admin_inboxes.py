"""An admin sets channels up in the browser: a WeChat inbox from its schema form, whose
secrets come back only as "set"; a website widget's greeting and colour, which the widget
on the demo page then shows; and a server validation error, said in the admin's language
beside the field it is about. Screenshots in zh-CN and en go to /tmp/shots/."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from kefu.demo import Demo
from tests.conftest import login_headers, login_of
from tests.e2e.browsers import async_chromium, console_as

# Browser tests run on SQLite only: what they show does not depend on the engine.
pytestmark = [
    pytest.mark.e2e,
]

ROOT = Path(__file__).resolve().parents[2]
SHOTS = Path("/tmp/shots")
WAIT_MS = 15_000


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_chromium(console=True) as launched:
        yield launched


async def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


WECHAT = {
    "en": {
        "new": "+ New inbox",
        "kind": "Kind",
        "wechat": "WeChat official account",
        "name": "Name",
        "create": "Create",
        "set": "set",
        "webhook": "Webhook URL",
        "test": "Test connection",
    },
    "zh-CN": {
        "new": "+ 新建渠道",
        "kind": "类型",
        "wechat": "微信公众号",
        "name": "名称",
        "create": "新建",
        "set": "已设置",
        "webhook": "回调地址（URL）",
        "test": "测试连接",
    },
}


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
async def test_admin_creates_a_wechat_inbox_whose_secrets_show_only_as_set(
    browser: Browser,
    live_server: str,
    client: httpx.AsyncClient,
    workspace: Demo,
    locale: str,
) -> None:
    words = WECHAT[locale]
    page = await console_as(browser, live_server, workspace, "admin", locale, "/admin/inboxes")
    await page.get_by_role("button", name=words["new"]).click()
    form = page.get_by_role("form")
    await form.get_by_label(words["kind"], exact=True).select_option(label=words["wechat"])
    await form.get_by_label(words["name"], exact=True).fill("公众号 Official")
    await form.get_by_label("AppID", exact=True).fill("wx1234567890abcdef")
    await form.get_by_label("AppSecret", exact=True).fill("s3cr3t-app-secret-value")
    token_label = "Token" if locale == "en" else "令牌（Token）"
    # Too short for WeChat (3-32 characters): the server says so beside the field.
    await form.get_by_label(token_label, exact=True).fill("ab")
    await form.get_by_role("button", name=words["create"], exact=True).click()
    token_error = form.locator('[data-field="config.token"]')
    await expect(token_error).to_be_visible(timeout=WAIT_MS)
    if locale == "zh-CN":
        await expect(token_error).to_have_text(re.compile(r"[\u4e00-\u9fff]"))
    await shot(page, f"inbox-wechat-error-{locale}")

    await form.get_by_label(token_label, exact=True).fill("kefu-token-42")
    await form.get_by_role("button", name=words["create"], exact=True).click()
    # The saved inbox opens for editing: secrets are "set", their inputs stay empty.
    editor = page.get_by_role("form", name="公众号 Official")
    await expect(editor.get_by_test_id("set-secret")).to_have_text(words["set"], timeout=WAIT_MS)
    await expect(editor.get_by_test_id("set-token")).to_have_text(words["set"])
    await expect(editor.get_by_label("AppSecret", exact=True)).to_have_value("")
    await expect(editor.get_by_label(token_label, exact=True)).to_have_value("")
    await expect(editor.get_by_label("AppID", exact=True)).to_have_value("wx1234567890abcdef")
    await expect(editor.get_by_test_id("webhook-url")).to_contain_text("/wechat")
    await expect(editor.get_by_role("button", name=words["test"])).to_be_visible()
    assert "s3cr3t-app-secret-value" not in await page.content()
    await shot(page, f"inbox-wechat-{locale}")

    admin = await login_headers(client, login_of(workspace, "admin"))
    listed = (await client.get("/api/v1/inboxes", headers=admin)).json()["items"]
    wechat = next(i for i in listed if i["kind"] == "wechat")
    assert wechat["name"] == "公众号 Official"
    assert wechat["config"]["appid"] == "wx1234567890abcdef"
    assert {"secret", "token"} <= set(wechat["secrets_set"])
    assert "secret" not in wechat["config"] and "token" not in wechat["config"]


async def test_widget_greeting_and_colour_edited_in_the_console_show_in_the_widget(
    browser: Browser, live_server: str, workspace: Demo
) -> None:
    page = await console_as(browser, live_server, workspace, "admin", "en", "/admin/inboxes")
    await page.get_by_role("button", name="Edit: 演示商城网站 Demo shop website").click()
    form = page.locator("form.inbox-form")
    # The demo stores one greeting per language: one input each.
    await form.get_by_label("Greeting (English)", exact=True).fill("Hello from the console!")
    await form.get_by_label("Greeting (Chinese)", exact=True).fill("您好，来自控制台！")
    await form.get_by_label("Colour", exact=True).fill("#d81e06")
    await form.get_by_label("Widget title (English)", exact=True).fill("Shop help")
    await form.get_by_role("button", name="Save", exact=True).click()
    await expect(page.get_by_text("Saved")).to_be_visible(timeout=WAIT_MS)
    await shot(page, "inbox-web-en")

    visitor = await (await browser.new_context(locale="en")).new_page()
    await visitor.goto(f"{live_server}/?inbox={workspace.widget_key}&entry=e2e")
    await visitor.get_by_role("button", name="Open chat").click()
    await expect(visitor.locator(".greeting .bubble")).to_have_text(
        "Hello from the console!", timeout=WAIT_MS
    )
    await expect(visitor.get_by_role("heading", name="Shop help")).to_be_visible()
    brand = await visitor.locator(".panel").evaluate(
        "el => getComputedStyle(el).getPropertyValue('--kefu-brand').trim()"
    )
    assert brand.lower() == "#d81e06"
    await visitor.screenshot(path=str(SHOTS / "widget-after-console-edit-en.png"))


@pytest.mark.parametrize(
    ("locale", "message"), [("zh-CN", "至少 8 个字符。"), ("en", "At least 8 characters.")]
)
async def test_a_server_validation_error_is_translated_beside_its_field(
    browser: Browser, live_server: str, workspace: Demo, locale: str, message: str
) -> None:
    labels = {
        "en": ("Name", "E-mail", "Initial password", "Create"),
        "zh-CN": ("名称", "邮箱", "初始密码", "新建"),
    }[locale]
    page = await console_as(browser, live_server, workspace, "admin", locale, "/admin/agents")
    form = page.locator("form.agent-form")
    await form.get_by_label(labels[0], exact=True).fill("Zhao Lei 赵磊")
    await form.get_by_label(labels[1], exact=True).fill("zhao@example.com")
    await form.get_by_label(labels[2], exact=True).fill("short")
    await form.get_by_role("button", name=labels[3], exact=True).click()
    error = form.locator('[data-field="password"]')
    await expect(error).to_have_text(message, timeout=WAIT_MS)
    assert "Validation failed" not in await page.content()
    await shot(page, f"agents-error-{locale}")
