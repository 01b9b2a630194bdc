"""Ticket operations in the console (issue 17), in headless Chromium, zh-CN and en: two
tickets picked with checkboxes and set by the bulk bar, the shortcut help and j/Enter/c
on the keyboard, a watcher, a custom field, a merge from the ticket page, and breaching
tickets on the supervisor's board. Screenshots under /tmp/shots/tickets/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from kefu.tickets.tables import Ticket
from tests.conftest import PASSWORD
from tests.e2e import test_console
from tests.e2e.test_console import Server, expect, open_console
from tests.e2e.test_tickets_console import _with_policy

pytestmark = pytest.mark.e2e

server = test_console.server
browser = test_console.browser

SHOTS = Path("/tmp/shots/tickets")
W = {
    "en": {
        "nav": "Tickets",
        "all": "All",
        "select": "Select #{}",
        "selected": "2 selected",
        "status": "Set status…",
        "waiting": "Waiting on team",
        "done": "2 updated, 0 not changed.",
        "help": "Keyboard shortcuts",
        "close": "Close",
        "watch": "Watch",
        "field": "Order",
        "save": "Save fields",
        "pick": "Another ticket…",
        "merge": "Merge it into this one",
        "find": "Find by number or title",
        "merged_from": "merged from",
        "board": "Tickets breaching (within the hour)",
    },
    "zh-CN": {
        "nav": "工单",
        "all": "全部",
        "select": "选择 #{}",
        "selected": "已选 2 张",
        "status": "设置状态…",
        "waiting": "等待内部",
        "done": "已更新 2 张，0 张未更改。",
        "help": "键盘快捷键",
        "close": "关闭",
        "watch": "关注",
        "field": "订单号",
        "save": "保存字段",
        "pick": "选择另一张工单…",
        "merge": "合并到本工单",
        "find": "按编号或标题查找",
        "merged_from": "合并自",
        "board": "即将或已经超时的工单（一小时内）",
    },
}


def _api(server: Server) -> httpx.Client:
    http = httpx.Client(base_url=server.url)
    token = http.post(
        "/api/v1/auth/login", json={"email": server.login("admin"), "password": PASSWORD}
    ).json()["token"]
    http.headers["Authorization"] = f"Bearer {token}"
    return http


def _status(server: Server, number: str) -> str:
    async def read() -> str:
        async with server.kefu.db.session() as session:
            return str(
                await session.scalar(sa.select(Ticket.status_kind).where(Ticket.number == number))
            )

    return server.call(read)


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_bulk_bar_shortcuts_watchers_fields_merge_and_the_board(
    browser: Any, server: Server, locale: str
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    w = W[locale]
    _with_policy(server)
    http = _api(server)
    field = {"key": "order_no", "label": "Order", "label_zh": "订单号", "kind": "text"}
    assert http.post("/api/v1/ticket-fields", json=field).status_code in (201, 409)
    made = [
        http.post("/api/v1/tickets", json={"title": f"{locale} 退款 refund {i}"}).json()
        for i in range(3)
    ]
    numbers = [t["number"] for t in made]

    page = open_console(browser, server, "admin", locale)
    page.goto(f"{server.url}/console/#/tickets")
    page.get_by_role("button", name=w["all"], exact=True).click()
    for number in numbers[:2]:
        page.get_by_label(w["select"].format(number), exact=True).check()
    bar = page.get_by_role("toolbar")
    expect(bar).to_contain_text(w["selected"])
    page.screenshot(path=str(SHOTS / f"bulk-{locale}.png"), full_page=True)
    with page.expect_response(lambda r: r.url.endswith("/api/v1/tickets/bulk")) as done:
        bar.get_by_label(w["status"], exact=True).select_option("pending_internal")
    assert done.value.status == 200, done.value.text()
    expect(page.locator("body")).to_contain_text(w["done"])
    assert [_status(server, n) for n in numbers] == ["pending_internal"] * 2 + ["new"]
    expect(page.locator("tr", has_text=numbers[0])).to_contain_text(w["waiting"])

    # The keyboard: ? shows the help; j moves the cursor; Enter opens; c goes to comment.
    page.get_by_role("button", name=w["all"], exact=True).focus()
    page.keyboard.press("Escape")
    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("?")
    dialog = page.get_by_role("dialog", name=w["help"])
    expect(dialog).to_be_visible()
    page.screenshot(path=str(SHOTS / f"shortcuts-{locale}.png"))
    dialog.get_by_role("button", name=w["close"], exact=True).click()
    expect(dialog).to_have_count(0)
    expect(page.locator("tr.tko-cursor")).to_have_count(1)
    first = page.locator("tr.tko-cursor").inner_text()
    page.keyboard.press("j")
    # The cursor moves on a re-render: wait for it, then read where it is.
    expect(page.locator("tr.tko-cursor")).not_to_have_text(first)
    second = page.locator("tr.tko-cursor").inner_text()
    page.keyboard.press("Enter")
    heading = page.locator("#tk-title")
    expect(heading).to_be_visible()
    number = heading.inner_text().split()[0].lstrip("#")
    assert number in second
    page.keyboard.press("c")
    expect(page.locator("#tk-comment")).to_be_focused()
    page.locator("#tk-comment").blur()

    # Open the third ticket, watch it, fill the custom field, merge the first into it.
    page.goto(f"{server.url}/console/#/tickets/{made[2]['id']}")
    expect(heading).to_contain_text(numbers[2])
    page.get_by_role("button", name=w["watch"], exact=True).click()
    expect(page.locator(".tko-watchers li")).to_have_count(1)
    page.get_by_label(w["field"], exact=True).fill("A-2026-77")
    with page.expect_response(lambda r: r.request.method == "PATCH") as patched:
        page.get_by_role("button", name=w["save"], exact=True).click()
    assert patched.value.status == 200, patched.value.text()
    assert patched.value.json()["custom"] == {"order_no": "A-2026-77"}
    page.on("dialog", lambda d: d.accept())
    # The picker's type-ahead: the number finds the one ticket and picks it.
    with page.expect_response(lambda r: "q=" in r.url and "/api/v1/tickets" in r.url) as found:
        page.get_by_label(w["find"], exact=True).fill(f"#{numbers[0]}")
    assert [t["id"] for t in found.value.json()["items"]] == [made[0]["id"]]
    expect(page.get_by_label(w["pick"], exact=True)).to_have_value(made[0]["id"])
    page.locator(".tko-links").screenshot(path=str(SHOTS / f"ticket-picker-{locale}.png"))
    with page.expect_response(lambda r: r.url.endswith("/merge")) as merged:
        page.get_by_role("button", name=w["merge"], exact=True).click()
    assert merged.value.status == 200, merged.value.text()
    expect(page.locator(".tko-links")).to_contain_text(w["merged_from"])
    expect(page.locator(".tko-links")).to_contain_text(numbers[0])
    assert _status(server, numbers[0]) == "closed"
    page.screenshot(path=str(SHOTS / f"ticket-ops-{locale}.png"), full_page=True)
    page.context.close()

    # The supervisor's board lists the tickets due within the hour.
    board = open_console(browser, server, "supervisor", locale)
    board.goto(f"{server.url}/console/#/board")
    panel = board.locator("section", has=board.get_by_role("heading", name=w["board"]))
    expect(panel).to_contain_text(numbers[2])
    panel.screenshot(path=str(SHOTS / f"board-tickets-{locale}.png"))
    board.context.close()
    http.close()
