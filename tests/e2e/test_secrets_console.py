"""The console's destructive buttons ask first and say what they take with them: an inbox
with conversations must be archived before it is deleted (the confirmation names the
count), and an admin signs a colleague out everywhere. Screenshots in zh-CN and en go to
/tmp/shots/secrets/."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Dialog, Page, expect

from kefu.connectors.signing import signed_headers
from kefu.context import Kefu
from kefu.demo import Demo
from kefu.inboxes.schemas import InboxCreate
from kefu.inboxes.service import create_inbox
from kefu.model import ChannelKind
from tests.conftest import login_headers, login_of
from tests.e2e.browsers import async_chromium, console_as

pytestmark = [pytest.mark.e2e]

SHOTS = Path("/tmp/shots/secrets")
WAIT_MS = 15_000
SECRET = "console-test-signing-secret"
WORDS = {
    "en": {
        "delete": "Delete",
        "archive": "Archive",
        "archived": "Archived",
        "archive_first": "has conversations (1). Archive it first",
        "delete_confirm": "and its conversations (1)?",
        "sign_out": "Sign out everywhere",
        "signed_out": "was signed out everywhere",
    },
    "zh-CN": {
        "delete": "删除",
        "archive": "归档",
        "archived": "已归档",
        "archive_first": "有 1 个会话。请先归档",
        "delete_confirm": "及其 1 个会话？",
        "sign_out": "全部设备退出登录",
        "signed_out": "个会话",
    },
}


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_chromium(console=True) as launched:
        yield launched


async def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


class Dialogs:
    """Every alert/confirm the page raises, accepted, with its text kept."""

    def __init__(self, page: Page) -> None:
        self.said: list[str] = []
        page.on("dialog", self._on)

    async def _on(self, dialog: Dialog) -> None:
        self.said.append(dialog.message)
        await dialog.accept()


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
async def test_an_inbox_with_a_conversation_is_archived_then_deleted_with_its_count(
    browser: Browser,
    live_server: str,
    client: httpx.AsyncClient,
    kefu: Kefu,
    workspace: Demo,
    locale: str,
) -> None:
    words = WORDS[locale]
    name = f"CRM {uuid.uuid4().hex[:4]}"
    inbox = await create_inbox(
        kefu,
        workspace.workspace_id,
        InboxCreate(
            kind=ChannelKind.api,
            name=name,
            config={"webhook_url": "https://crm.example.com/hook", "signing_secret": SECRET},
        ),
    )
    body = json.dumps({"message_id": "m1", "user": {"id": "u1"}, "text": "你好"}).encode()
    sent = await client.post(
        f"/connectors/api/{inbox.id}", content=body, headers=signed_headers(SECRET, body)
    )
    assert sent.status_code == 202

    page = await console_as(browser, live_server, workspace, "admin", locale, "/admin/inboxes")
    dialogs = Dialogs(page)
    row = page.get_by_role("row").filter(has_text=name)
    await row.get_by_role("button", name=f"{words['delete']}: {name}").click()
    for _ in range(150):
        if dialogs.said:
            break
        await page.wait_for_timeout(100)
    assert words["archive_first"] in dialogs.said[0]
    await expect(row).to_be_visible()  # nothing was deleted

    await row.get_by_role("button", name=f"{words['archive']}: {name}").click()
    await expect(row.get_by_text(words["archived"], exact=True)).to_be_visible(timeout=WAIT_MS)
    await shot(page, f"inbox-archived-{locale}")

    await row.get_by_role("button", name=f"{words['delete']}: {name}").click()
    await expect(row).to_have_count(0, timeout=WAIT_MS)
    assert words["delete_confirm"] in dialogs.said[-1], dialogs.said
    await shot(page, f"inbox-deleted-{locale}")
    gone = await client.get(
        f"/api/v1/inboxes/{inbox.id}",
        headers=await login_headers(client, login_of(workspace, "admin")),
    )
    assert gone.status_code == 404


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
async def test_an_admin_signs_a_colleague_out_everywhere(
    browser: Browser,
    live_server: str,
    client: httpx.AsyncClient,
    workspace: Demo,
    locale: str,
) -> None:
    words = WORDS[locale]
    colleague = await login_headers(client, login_of(workspace, "lina"))
    assert (await client.get("/api/v1/agents/me", headers=colleague)).status_code == 200
    lina = next(login for login in workspace.logins if login.email.startswith("lina@"))

    page = await console_as(browser, live_server, workspace, "admin", locale, "/admin/agents")
    dialogs = Dialogs(page)
    await page.get_by_role("button", name=f"{words['sign_out']}: {lina.name}").click()
    await expect(page.get_by_text(words["signed_out"]).first).to_be_visible(timeout=WAIT_MS)
    assert lina.name in dialogs.said[0]
    await shot(page, f"agents-signed-out-{locale}")
    assert (await client.get("/api/v1/agents/me", headers=colleague)).status_code == 401
