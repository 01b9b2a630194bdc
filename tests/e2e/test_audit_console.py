"""The audit log screen in headless Chromium: an admin's changes made over HTTP appear,
newest first, in words in both languages; filters narrow them; screenshots under
test-artifacts/console/audit-{zh-CN,en}.png."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import PASSWORD
from tests.e2e.browsers import sync_chromium
from tests.e2e.test_console import Server, expect, open_console, shot

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    s = Server(tmp_path_factory.mktemp("audit-console"))
    yield s
    s.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_chromium(console=True) as b:
        yield b


def admin_makes_changes(server: Server) -> None:
    headers = {"User-Agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) Chrome/131.0 Safari/537"}
    with httpx.Client(base_url=server.url, headers=headers) as http:
        signed = http.post(
            "/api/v1/auth/login", json={"email": server.login("admin"), "password": PASSWORD}
        )
        assert signed.status_code == 200, signed.text
        http.cookies.clear()
        http.headers["Authorization"] = f"Bearer {signed.json()['token']}"
        inbox = http.post(
            "/api/v1/inboxes", json={"kind": "web", "name": "官网客服 Website", "config": {}}
        )
        assert inbox.status_code == 201, inbox.text
        tom = next(x.id for x in server.demo.logins if x.email.startswith("tom@"))
        role = http.patch(f"/api/v1/agents/{tom}", json={"role": "supervisor"})
        assert role.status_code == 200, role.text
        rule = http.post(
            "/api/v1/routing/rules",
            json={"name": "VIP 优先 first", "priority": 10, "target": {"kind": "bot"}},
        )
        assert rule.status_code == 201, rule.text
        assert http.get("/api/v1/knowledge/export").status_code == 200


def test_an_admin_reads_the_audit_log(browser: Any, server: Server) -> None:
    admin_makes_changes(server)
    for locale, made, changed_role, export in (
        ("zh-CN", "创建了接入渠道", "修改了角色", "导出了知识库"),
        ("en", "Created an inbox", "Changed a role", "Exported the knowledge base"),
    ):
        page = open_console(browser, server, "admin", locale)
        page.goto(f"{server.url}/console/#/admin/audit")
        log = page.get_by_role("table", name={"zh-CN": "操作日志", "en": "Audit log"}[locale])
        expect(log).to_contain_text(made)
        expect(log).to_contain_text(changed_role)
        rows = log.locator("tbody tr")
        # Newest first: this console's sign-in on top; the export after the inbox it followed.
        expect(rows.first).to_contain_text({"zh-CN": "登录", "en": "Signed in"}[locale])
        texts = rows.all_inner_texts()
        exported = next(i for i, text in enumerate(texts) if export in text)
        assert exported < next(i for i, text in enumerate(texts) if made in text)
        assert "127.0.0.1" in texts[exported] and "Chrome 131 · macOS" in texts[exported]
        shot(page, f"audit-{locale}")

        what = {"zh-CN": "操作", "en": "Action"}[locale]
        page.get_by_label(what, exact=True).select_option(label=changed_role)
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text("role: supervisor")
        page.context.close()
