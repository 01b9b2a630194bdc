"""Tickets in the console (issue 17), in headless Chromium, zh-CN and en: a widget
conversation becomes a ticket in one click, the agent comments publicly, the customer
sees it on the progress page, the ticket is resolved, the page says so and the customer
rates it.
Screenshots under /tmp/shots/tickets/."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from kefu.db.tables import Message
from kefu.tickets.tables import SlaPolicy
from tests.e2e import test_console
from tests.e2e.test_console import Server, expect, open_console

pytestmark = pytest.mark.e2e

server = test_console.server
browser = test_console.browser

SHOTS = Path("/tmp/shots/tickets")
W = {
    "en": {
        "create": "Create ticket",
        "comment": "Write a comment…",
        "send": "Add comment",
        "progress": "Customer's progress page",
        "status": "Status",
        "resolved": "Resolved",
        "all": "All",
        "nav": "Tickets",
        "public": "public",
        "left": "left",
        "rate": "Rate",
    },
    "zh-CN": {
        "create": "创建工单",
        "comment": "写下评论…",
        "send": "添加评论",
        "progress": "客户进度页",
        "status": "状态",
        "resolved": "已解决",
        "all": "全部",
        "nav": "工单",
        "public": "公开",
        "left": "剩余",
        "rate": "提交评价",
    },
}


def _with_policy(server: Server) -> None:
    async def add() -> None:
        async with server.kefu.db.transaction() as session:
            exists = await session.scalar(
                sa.select(SlaPolicy.id).where(SlaPolicy.workspace_id == server.demo.workspace_id)
            )
            if exists is None:
                session.add(
                    SlaPolicy(
                        workspace_id=server.demo.workspace_id,
                        name="standard",
                        first_response_s=3600,
                        resolution_s=8 * 3600,
                    )
                )

    server.call(add)


def _told(server: Server, cid: uuid.UUID) -> list[str]:
    async def read() -> list[str]:
        async with server.kefu.db.session() as session:
            rows = await session.scalars(
                sa.select(Message.body).where(
                    Message.conversation_id == cid, Message.direction == "out"
                )
            )
            return [r or "" for r in rows]

    return server.call(read)


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_conversation_to_ticket_to_progress_page_to_resolved(
    browser: Any, server: Server, locale: str
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    w = W[locale]
    _with_policy(server)
    cid = server.visitor_writes(str(uuid.uuid4()), "我买的耳机坏了，想换货", name="王先生")
    page = open_console(browser, server, "admin", locale)
    page.goto(f"{server.url}/console/#/inbox/{cid}")
    page.get_by_role("button", name=w["create"], exact=True).click()
    heading = page.locator("#tk-title")
    expect(heading).to_contain_text("我买的耳机坏了，想换货")
    number = heading.inner_text().split()[0].lstrip("#")
    assert any(number in body for body in _told(server, cid)), _told(server, cid)

    # The SLA badges say the time left in words.
    expect(page.locator(".tk-clocks")).to_contain_text(w["left"])
    page.get_by_label(w["comment"]).fill(
        "已安排换货，预计 3 天内寄出 / replacement ships in 3 days"
    )
    page.get_by_role("button", name=w["send"], exact=True).click()
    expect(page.locator(".tk-comments li")).to_have_count(1)
    expect(page.locator(".tk-comments")).to_contain_text(w["public"])
    page.screenshot(path=str(SHOTS / f"ticket-{locale}.png"), full_page=True)

    href = page.get_by_role("link", name=w["progress"]).get_attribute("href")
    assert href and "/t/" in href
    customer = page.context.new_page()
    customer.goto(f"{server.url}/t/{href.rsplit('/t/', 1)[1]}?lang={locale}")
    expect(customer.locator("body")).to_contain_text(f"#{number}")
    expect(customer.locator("body")).to_contain_text("replacement ships in 3 days")
    customer.screenshot(path=str(SHOTS / f"progress-{locale}.png"), full_page=True)

    with page.expect_response(lambda r: r.request.method == "PATCH") as patched:
        page.get_by_label(w["status"], exact=True).select_option("resolved")
    assert patched.value.status == 200, patched.value.text()
    expect(page.get_by_label(w["status"], exact=True)).to_have_value("resolved")
    customer.reload()
    expect(customer.locator(".badge")).to_have_text(w["resolved"])
    customer.screenshot(path=str(SHOTS / f"progress-resolved-{locale}.png"), full_page=True)
    customer.locator('input[name="score"][value="5"]').check()
    customer.get_by_role("button", name=w["rate"], exact=True).click()
    expect(customer.locator(".rated")).to_contain_text("5")
    customer.screenshot(path=str(SHOTS / f"progress-rated-{locale}.png"), full_page=True)

    page.get_by_role("link", name=w["nav"], exact=True).click()
    page.get_by_role("button", name=w["all"], exact=True).click()
    expect(page.locator(".tk-table")).to_contain_text(number)
    page.screenshot(path=str(SHOTS / f"list-{locale}.png"), full_page=True)
    page.context.close()


POLICY = {
    "en": {
        "view": "SLA policies",
        "name": "Name",
        "urgent": "Urgent",
        "first": "First response (min)",
        "add": "Add policy",
        "delete": "Delete policy {}",
    },
    "zh-CN": {
        "view": "SLA 策略",
        "name": "名称",
        "urgent": "紧急",
        "first": "首次响应（分钟）",
        "add": "添加策略",
        "delete": "删除策略 {}",
    },
}


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_a_supervisor_adds_and_removes_an_sla_policy(
    browser: Any, server: Server, locale: str
) -> None:
    w = POLICY[locale]
    page = open_console(browser, server, "supervisor", locale)
    page.goto(f"{server.url}/console/#/tickets")
    page.get_by_role("button", name=w["view"], exact=True).click()
    name = f"VIP {locale}"
    page.get_by_label(w["name"], exact=True).fill(name)
    page.get_by_label(w["urgent"], exact=True).check()
    page.get_by_label(w["first"], exact=True).fill("15")
    page.get_by_role("button", name=w["add"], exact=True).click()
    row = page.locator(".tk-table tr", has_text=name)
    expect(row).to_contain_text(w["urgent"])
    expect(row).to_contain_text("15")
    page.screenshot(path=str(SHOTS / f"policies-{locale}.png"), full_page=True)

    async def stored() -> list[tuple[str, int | None, dict[str, Any]]]:
        async with server.kefu.db.session() as session:
            rows = await session.execute(
                sa.select(SlaPolicy.name, SlaPolicy.first_response_s, SlaPolicy.conditions)
            )
            return [tuple(r) for r in rows]  # type: ignore[misc]

    assert (name, 900, {"priority": ["urgent"]}) in server.call(stored)
    page.get_by_role("button", name=w["delete"].format(name), exact=True).click()
    expect(row).to_have_count(0)
    assert all(r[0] != name for r in server.call(stored))
    page.context.close()
