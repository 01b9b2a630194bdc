"""An admin builds routing in the browser: a calendar with a holiday, linked to a rule
(condition: outside its hours) and to an inbox (its business hours); a rule with two
conditions picked from lists; rules reordered with arrows; and the explain tool run
against a real conversation, saying which rule matched and why. Screenshots of every
screen in zh-CN and en go to /tmp/shots/, and no screen shows an untranslated key."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from kefu.context import Kefu
from kefu.conversations.ingest import ingest
from kefu.demo import Demo
from kefu.model import ContactFacts, ConversationFacts, Identity, Inbound
from tests.conftest import login_headers, login_of
from tests.e2e.browsers import async_chromium, console_as

pytestmark = [
    pytest.mark.e2e,
]

ROOT = Path(__file__).resolve().parents[2]
SHOTS = Path("/tmp/shots")
WAIT_MS = 15_000
# A translation key shown as text ("cond.page_url") means a string was left out of i18n.ts.
RAW_KEY = re.compile(r"\b(admin|cond|op|rule|explain|why|acd|strategy|target|day|lang)\.[a-z_]+\b")


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_chromium(console=True) as launched:
        yield launched


async def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    text = await page.locator("main").inner_text()
    assert not RAW_KEY.search(text), f"untranslated key on {name}: {RAW_KEY.search(text)}"
    assert "undefined" not in text and "[object Object]" not in text, name


async def visitor_on_pricing_page(kefu: Kefu, demo: Demo) -> uuid.UUID:
    result = await ingest(
        kefu,
        Inbound(
            inbox_id=demo.inbox_id,
            identity=Identity(kind="web_visitor", value="alice-visitor"),
            client_message_id=uuid.uuid4().hex,
            body="How much is the gold plan?",
            contact=ContactFacts(name="Alice Wang"),
            facts=ConversationFacts(page_url="https://shop.example/pricing?plan=gold"),
        ),
    )
    assert result.conversation_id is not None
    return result.conversation_id


async def test_calendar_rules_and_explain_in_the_browser(
    browser: Browser, live_server: str, kefu: Kefu, client: httpx.AsyncClient, workspace: Demo
) -> None:
    await visitor_on_pricing_page(kefu, workspace)
    page = await console_as(
        browser, live_server, workspace, "admin", "en", "/admin/hours", timezone_id="Asia/Shanghai"
    )

    # A calendar with National Day as a holiday.
    new = page.get_by_role("form", name="New calendar")
    await new.get_by_label("Name", exact=True).fill("Shop hours 门店")
    await new.get_by_role("button", name="+ Add a holiday or special day").click()
    await new.get_by_label("Special day 1: Date").fill("2026-10-01")
    await new.get_by_label("Special day 1: Occasion").fill("National Day 国庆节")
    await expect(new.get_by_label("Special day 1: Hours")).to_have_value("closed")
    await new.get_by_role("button", name="Save", exact=True).click()
    saved = page.get_by_role("form", name="Shop hours 门店")
    await expect(saved.get_by_label("Special day 1: Occasion")).to_have_value(
        "National Day 国庆节", timeout=WAIT_MS
    )

    # Rule 1: two conditions from lists, to the pre-sales group.
    await page.goto(f"{live_server}/console/#/admin/routing")
    await page.get_by_role("button", name="+ New rule").click()
    editor = page.get_by_role("form", name="New rule")
    await editor.get_by_label("Rule name").fill("Pricing page visitors")
    await editor.get_by_role("button", name="+ Add a condition").click()
    await expect(editor.get_by_label("Condition 1: Field")).to_have_value("channel")
    await editor.get_by_label("Condition 1: Value").select_option(label="Web")
    await editor.get_by_role("button", name="+ Add a condition").click()
    await editor.get_by_label("Condition 2: Field").select_option(label="Page URL")
    await editor.get_by_label("Condition 2: Operator").select_option(label="contains")
    await editor.get_by_label("Condition 2: Value").fill("pricing")
    await editor.get_by_label("Send to").select_option(label="Skill group")
    await editor.get_by_label("Group", exact=True).select_option(label="售前咨询 Pre-sales")
    await editor.get_by_role("button", name="Create", exact=True).click()
    row = page.locator("tr", has=page.get_by_role("rowheader", name="Pricing page visitors"))
    await expect(row).to_contain_text("Channel is Web and Page URL contains pricing")
    await expect(row).to_contain_text("group 售前咨询 Pre-sales")

    # Rule 2, on top: outside the calendar's hours, leave a message.
    await page.get_by_role("button", name="+ New rule").click()
    editor = page.get_by_role("form", name="New rule")
    await editor.get_by_label("Rule name").fill("Closed: leave a message")
    await editor.get_by_role("button", name="+ Add a condition").click()
    await editor.get_by_label("Condition 1: Field").select_option(label="Business hours")
    await editor.get_by_label("Condition 1: Operator").select_option(label="outside business hours")
    await editor.get_by_label("Condition 1: Value").select_option(label="Shop hours 门店")
    await editor.get_by_label("Send to").select_option(label="Leave a message")
    await editor.get_by_role("button", name="Create", exact=True).click()
    names = page.locator(".rules-table tbody th")
    await expect(names).to_have_text(["Closed: leave a message", "Pricing page visitors"])

    # Explain Alice's real conversation as of National Day: the holiday rule wins.
    explain = page.get_by_role("region", name="Explain routing")
    await explain.get_by_role("radio", name="A conversation").check()
    await explain.get_by_label("Customer name, e-mail or message text").fill("Alice")
    await explain.get_by_role("button", name="Find").click()
    await explain.get_by_role("button", name=re.compile("Alice Wang")).click()
    await explain.get_by_label("As of (optional)").fill("2026-10-01T10:00")
    await explain.get_by_role("button", name="Explain", exact=True).click()
    result = explain.get_by_role("status", name="Routing explained")
    await expect(result).to_contain_text(
        "Rule “Closed: leave a message” matches → Leave a message", timeout=WAIT_MS
    )
    await result.scroll_into_view_if_needed()
    await shot(page, "routing-explain-holiday-en")

    # Move the pricing rule up with its arrow; now it takes the conversation, and the
    # explanation says so in words.
    await page.get_by_role("button", name="Move up: Pricing page visitors").click()
    await expect(names).to_have_text(["Pricing page visitors", "Closed: leave a message"])
    await explain.get_by_role("button", name="Explain", exact=True).click()
    await expect(result).to_contain_text(
        "Rule “Pricing page visitors” matches → group 售前咨询 Pre-sales", timeout=WAIT_MS
    )
    await expect(result).to_contain_text("Pricing page visitors — every condition holds")
    await shot(page, "routing-reordered-en")

    # Link the calendar to the web inbox too; the calendar lists both users.
    await page.goto(f"{live_server}/console/#/admin/inboxes")
    await page.get_by_role("button", name="Edit: 演示商城网站 Demo shop website").click()
    form = page.locator("form.inbox-form")
    await form.get_by_label("Business hours", exact=True).select_option(label="Shop hours 门店")
    await form.get_by_role("button", name="Save", exact=True).click()
    await expect(page.get_by_text("Saved")).to_be_visible(timeout=WAIT_MS)
    await page.goto(f"{live_server}/console/#/admin/hours")
    used = page.get_by_role("form", name="Shop hours 门店").get_by_test_id("used-by")
    await expect(used).to_have_text(
        "Used by rule “Closed: leave a message”, inbox “演示商城网站 Demo shop website”",
        timeout=WAIT_MS,
    )
    await shot(page, "hours-linked-en")

    admin = await login_headers(client, login_of(workspace, "admin"))
    inbox = (await client.get(f"/api/v1/inboxes/{workspace.inbox_id}", headers=admin)).json()
    calendars = (await client.get("/api/v1/routing/calendars", headers=admin)).json()["items"]
    assert inbox["config"]["calendar_id"] == calendars[0]["id"]
    assert calendars[0]["special_days"] == [{"date": "2026-10-01", "name": "National Day 国庆节"}]
    rules = (await client.get("/api/v1/routing/rules", headers=admin)).json()["items"]
    assert [r["name"] for r in rules] == ["Pricing page visitors", "Closed: leave a message"]
    assert rules[0]["conditions"] == [
        {"field": "channel", "op": "equals", "value": "web"},
        {"field": "page_url", "op": "contains", "value": "pricing"},
    ]


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
async def test_every_admin_screen_reads_in_the_chosen_language(
    browser: Browser,
    live_server: str,
    kefu: Kefu,
    client: httpx.AsyncClient,
    workspace: Demo,
    locale: str,
) -> None:
    admin = await login_headers(client, login_of(workspace, "admin"))
    calendar = await client.post(
        "/api/v1/routing/calendars",
        headers=admin,
        json={
            "name": "工作日 Weekdays",
            "weekly": {d: [{"start": "09:00", "end": "18:00"}] for d in ("mon", "tue", "wed")},
            "special_days": [
                {"date": "2026-10-01", "name": "国庆节"},
                {
                    "date": "2026-10-11",
                    "name": "调休",
                    "hours": [{"start": "09:00", "end": "17:00"}],
                },
            ],
        },
    )
    assert calendar.status_code == 201, calendar.text
    rule = await client.post(
        "/api/v1/routing/rules",
        headers=admin,
        json={
            "name": "VIP 贵宾",
            "priority": 10,
            "set_priority": 5,
            "conditions": [
                {"field": "contact.vip_level", "op": "range", "value": {"min": 3}},
                {"field": "time", "op": "in_hours", "value": calendar.json()["id"]},
            ],
            "target": {"kind": "group", "group_id": str(workspace.groups["aftersales"])},
        },
    )
    assert rule.status_code == 201, rule.text
    await visitor_on_pricing_page(kefu, workspace)
    page = await console_as(
        browser,
        live_server,
        workspace,
        "admin",
        locale,
        "/admin/routing",
        timezone_id="Asia/Shanghai",
    )
    await expect(page.locator(".rules-table tbody th")).to_have_text(["VIP 贵宾"])
    vip = {"en": "VIP level is 3 or more", "zh-CN": "VIP 等级 为 3 及以上"}[locale]
    await expect(page.locator(".rules-table")).to_contain_text(vip)
    await page.get_by_role(
        "button", name={"en": "Edit: VIP 贵宾", "zh-CN": "编辑: VIP 贵宾"}[locale]
    ).click()
    await shot(page, f"routing-editor-{locale}")
    explain = page.get_by_role(
        "region", name={"en": "Explain routing", "zh-CN": "路由解释"}[locale]
    )
    await explain.get_by_role(
        "radio", name={"en": "A conversation", "zh-CN": "真实会话"}[locale]
    ).check()
    await explain.get_by_role("button", name={"en": "Find", "zh-CN": "查找"}[locale]).click()
    await explain.get_by_role("button", name=re.compile("Alice Wang")).click()
    await explain.get_by_role(
        "button", name={"en": "Explain", "zh-CN": "解释"}[locale], exact=True
    ).click()
    result = explain.get_by_role("status")
    missing = {
        "en": "VIP level is 0, but the rule wants VIP level is 3 or more",
        "zh-CN": "VIP 等级 为 0，而规则要求 VIP 等级 为 3 及以上",
    }[locale]
    await expect(result).to_contain_text(missing, timeout=WAIT_MS)
    await result.scroll_into_view_if_needed()
    await shot(page, f"routing-{locale}")
    # Sticky, region and VIP modifiers can be chosen; the strategy names are translated.
    await page.goto(f"{live_server}/console/#/admin/groups")
    policy = page.get_by_role(
        "form", name={"en": "Distribution", "zh-CN": "分配方式"}[locale] + ": 售后服务 After-sales"
    )
    strategy = {"en": "Longest idle", "zh-CN": "空闲最久优先"}[locale]
    await policy.get_by_role("combobox").first.select_option(label=strategy)
    sticky = {
        "en": "Returning customers get their last agent",
        "zh-CN": "老客户优先分配给上次接待的客服",
    }
    await policy.get_by_label(sticky[locale]).check()
    vip = {"en": "Serve higher VIP levels first", "zh-CN": "高 VIP 等级优先接待"}
    await policy.get_by_label(vip[locale]).check()
    await policy.get_by_role("button").last.click()
    await expect(page.get_by_text({"en": "Saved", "zh-CN": "已保存"}[locale])).to_be_visible(
        timeout=WAIT_MS
    )
    group_id = workspace.groups["aftersales"]
    stored = await client.get(f"/api/v1/routing/groups/{group_id}/policy", headers=admin)
    assert stored.json()["policy"] == {
        "strategy": "longest_idle",
        "sticky_days": 7,
        "vip_first": True,
    }

    for section in ("hours", "groups", "inboxes", "agents"):
        await page.goto(f"{live_server}/console/#/admin/{section}")
        await page.locator(".admin-body table, .admin-body form").first.wait_for()
        await shot(page, f"{section}-{locale}")


async def test_a_bad_rule_shows_its_message_beside_the_field_in_chinese(
    browser: Browser, live_server: str, kefu: Kefu, workspace: Demo
) -> None:
    page = await console_as(browser, live_server, workspace, "admin", "zh-CN", "/admin/routing")
    await page.get_by_role("button", name="+ 新建规则").click()
    editor = page.get_by_role("form", name="新建规则")
    await editor.get_by_label("规则名称").fill("价格页")
    await editor.get_by_role("button", name="+ 添加条件").click()
    await editor.get_by_label("条件 1: 条件项").select_option(label="页面地址")
    await editor.get_by_label("条件 1: 运算").select_option(label="匹配正则")
    await editor.get_by_label("条件 1: 值").fill("(pricing")
    # Chosen by name, as a person would (the list may still be loading when the form opens).
    await editor.get_by_label("技能组", exact=True).select_option(label="售后服务 After-sales")
    await editor.get_by_role("button", name="新建", exact=True).click()

    # The message sits in the condition's row, under its value, in Chinese — not a toast.
    condition = editor.get_by_role("listitem", name="条件 1")
    error = condition.locator('.field-error[data-field="conditions[0].value"]')
    await expect(error).to_contain_text("正则表达式无效", timeout=WAIT_MS)
    await expect(editor.locator("ul.field-error")).to_have_count(0)
    await expect(page.locator(".toast")).to_have_count(0)
    await shot(page, "routing-field-error-zh-CN")

    # Fixed, it saves, and the message is gone.
    await editor.get_by_label("条件 1: 值").fill("pricing|plans")
    await editor.get_by_role("button", name="新建", exact=True).click()
    await expect(
        page.locator("tr", has=page.get_by_role("rowheader", name="价格页"))
    ).to_be_visible(timeout=WAIT_MS)


async def test_a_backwards_interval_is_flagged_beside_it_in_chinese(
    browser: Browser, live_server: str, kefu: Kefu, workspace: Demo
) -> None:
    page = await console_as(browser, live_server, workspace, "admin", "zh-CN", "/admin/hours")
    new = page.get_by_role("form", name="新建日历")
    await new.get_by_label("名称", exact=True).fill("夜班")
    await new.get_by_label("周一: 营业").check()
    await new.get_by_label("周一 1 开始").fill("18:00")
    await new.get_by_label("周一 1 结束").fill("09:00")
    await new.get_by_role("button", name="保存", exact=True).click()
    error = new.locator('.field-error[data-field="weekly.mon[0].end"]')
    await expect(error).to_contain_text("跨夜班次请在午夜拆成两段", timeout=WAIT_MS)
    await expect(new.locator("ul.field-error")).to_have_count(0)
    await shot(page, "calendar-field-error-zh-CN")
