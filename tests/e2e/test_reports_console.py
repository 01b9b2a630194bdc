"""The reports section in headless Chromium: a supervisor reads the hand-computed fixture
(tests/integration/test_reports_history.py) on the conversations, CSAT, calls and agents
tabs in both languages, drills from a number to its conversations; an agent sees only
their own stats. Screenshots in /tmp/shots/reports/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.browsers import sync_chromium
from tests.e2e.test_console import Server, expect, open_console
from tests.integration.test_report_schedules import _mail_inbox
from tests.integration.test_reports_history import fixture

pytestmark = pytest.mark.e2e
SHOTS = Path("/tmp/shots/reports")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    s = Server(tmp_path_factory.mktemp("reports-console"))
    with pytest.MonkeyPatch.context() as mp:
        s.call(fixture, s.kefu, s.demo, mp)
    s.call(_mail_inbox, s.kefu, s.demo, 2525)  # never reached: the screen only saves
    yield s
    s.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_chromium(console=True) as b:
        yield b


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


WORDS = {
    "zh-CN": {
        "custom": "自定义",
        "from": "开始",
        "to": "结束",
        "csat": "满意度",
        "calls": "电话",
        "conversations": "会话",
        "agents": "坐席",
        "mine": "我的统计",
    },
    "en": {
        "custom": "Custom",
        "from": "From",
        "to": "To",
        "csat": "Satisfaction",
        "calls": "Calls",
        "conversations": "Conversations",
        "agents": "Agents",
        "mine": "My stats",
    },
}


def test_a_supervisor_reads_the_reports(browser: Any, server: Server) -> None:
    for locale in ("zh-CN", "en"):
        w = WORDS[locale]
        page = open_console(browser, server, "admin", locale)
        page.goto(f"{server.url}/console/#/reports")
        page.get_by_role("button", name=w["custom"], exact=True).click()
        page.get_by_label(w["from"], exact=True).fill("2026-11-16")
        page.get_by_label(w["to"], exact=True).fill("2026-11-23")
        expect(page.get_by_test_id("kpi-new")).to_contain_text("3")
        shot(page, f"overview-{locale}")
        page.get_by_role("tab", name=w["conversations"]).click()
        expect(page.get_by_test_id("kpi-new")).to_contain_text("3")
        expect(page.get_by_test_id("kpi-first_response_p50_s")).to_contain_text("2:30")
        expect(page.get_by_test_id("report-chart").locator("canvas")).to_have_count(1)
        shot(page, f"conversations-{locale}")
        page.get_by_test_id("kpi-new").get_by_role("link").click()
        expect(page.locator(".report-drill li")).to_have_count(3)
        shot(page, f"drill-{locale}")
        page.get_by_role("tab", name=w["csat"]).click()
        expect(page.get_by_test_id("csat-comments")).to_contain_text("太慢")
        expect(page.get_by_test_id("kpi-average")).to_contain_text("3.50")
        expect(page.get_by_test_id("csat-distribution")).to_contain_text("★★★★★")
        shot(page, f"csat-{locale}")
        page.get_by_role("tab", name=w["calls"]).click()
        expect(page.get_by_test_id("kpi-service_level")).to_contain_text("66.7%")
        expect(page.get_by_test_id("kpi-service_level_2")).to_contain_text("80.0%")
        shot(page, f"calls-{locale}")
        page.get_by_role("tab", name=w["agents"]).click()
        expect(page.locator(".report-table tbody tr")).to_have_count(2)
        # Desk presence 18 h signed in (Lina 17 h, Tom 1 h), reply time p50 2 min.
        expect(page.get_by_test_id("kpi-online_s")).to_contain_text("18:00:00")
        expect(page.get_by_test_id("kpi-reply_p50_s")).to_contain_text("2:00")
        shot(page, f"agents-{locale}")
        page.context.close()


def test_an_agent_sees_only_their_own_stats(browser: Any, server: Server) -> None:
    page = open_console(browser, server, "lina", "zh-CN")
    page.goto(f"{server.url}/console/#/reports")
    expect(page.get_by_role("heading", name=WORDS["zh-CN"]["mine"])).to_be_visible()
    expect(page.get_by_test_id("mine-handled")).to_be_visible()
    shot(page, "mine-zh-CN")
    page.context.close()


SCHEDULE_WORDS = {
    "zh-CN": {
        "section": "定时报表",
        "new": "新建定时报表",
        "name": "名称",
        "weekly": "每周",
        "calls": "电话",
        "save": "保存",
        "when": "每周 · 周一 08:00",
    },
    "en": {
        "section": "Scheduled reports",
        "new": "New scheduled report",
        "name": "Name",
        "weekly": "Weekly",
        "calls": "Calls",
        "save": "Save",
        "when": "Weekly · Monday 08:00",
    },
}


def test_an_admin_schedules_a_weekly_report(browser: Any, server: Server) -> None:
    for locale in ("zh-CN", "en"):
        w = SCHEDULE_WORDS[locale]
        page = open_console(browser, server, "admin", locale)
        page.goto(f"{server.url}/console/#/admin/reports")
        expect(page.get_by_role("heading", name=w["section"])).to_be_visible()
        page.get_by_role("button", name=w["new"]).click()
        form = page.get_by_test_id("schedule-form")
        form.get_by_label(w["name"]).fill(f"Weekly {locale}")
        form.locator("select").first.select_option("weekly")
        form.get_by_label(w["calls"]).check()
        form.get_by_label("王芳 Wang Fang").check()
        shot(page, f"schedule-form-{locale}")
        form.get_by_role("button", name=w["save"]).click()
        row = page.get_by_test_id("schedule-row").filter(has_text=f"Weekly {locale}")
        expect(row).to_contain_text(w["when"])
        expect(row).to_contain_text("王芳")
        shot(page, f"schedules-{locale}")
        page.context.close()
