"""Leave a message in the widget (headless Chromium) → a web-form ticket and its number in
the thanks → the visitor leaves the page → the agent replies → the reply (and the ticket
number) arrive by e-mail in a real aiosmtpd sink, threaded → the mail's link brings the
visitor back to the page with the conversation open. zh-CN and en.

Screenshots go to test-artifacts/intake-*.png (look at them)."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.async_api import Browser, expect

from kefu.context import Kefu
from kefu.conversations.outbox import dispatch_due
from kefu.demo import Demo
from kefu.model import utcnow
from tests.conftest import login_headers, login_of
from tests.e2e.test_widget import (  # noqa: F401  (the module's fixtures)
    LABELS,
    WAIT_MS,
    Server,
    app,
    browser,
    chromium,
    client,
    kefu,
    server,
    shot,
    visitor_page,
    workspace,
)
from tests.integration.test_intake import email_inbox, web_settings
from tests.mail_servers import smtp_sink

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

SAID = {
    "en": {"ticket": "Your ticket number is #", "reply": "We have re-sent the invoice."},
    "zh-CN": {"ticket": "您的工单号是 #", "reply": "发票已重新寄出。"},
}


@pytest.mark.parametrize("locale", ["en", "zh-CN"])
async def test_a_left_message_is_answered_by_email_and_the_link_reopens_the_widget(
    browser: Browser,  # noqa: F811
    server: Server,  # noqa: F811
    client: httpx.AsyncClient,  # noqa: F811
    kefu: Kefu,  # noqa: F811
    workspace: Demo,  # noqa: F811
    locale: str,
) -> None:
    t, said = LABELS[locale], SAID[locale]
    with smtp_sink() as (sink, port):
        mail_inbox = await email_inbox(kefu, workspace, port, signature_en="Acme support")
        await web_settings(
            kefu,
            workspace,
            reply_email_inbox_id=str(mail_inbox),
            reply_email_after_seconds=0,
            leave_message_ticket=True,
        )
        page = await visitor_page(browser, server, workspace, locale)
        await page.get_by_role("button", name=t["open"]).click()
        await page.get_by_label(t["email"]).fill(f"visitor-{locale.lower()}@example.cn")
        await page.get_by_label(t["body"]).fill("The invoice never arrived / 发票没收到")
        await page.get_by_role("button", name=t["leave"]).click()
        thanks = page.get_by_text(said["ticket"])
        await expect(thanks).to_be_visible(timeout=WAIT_MS)
        number = re.search(r"#(\d{4}-\d{6})", await thanks.inner_text())
        assert number is not None
        await page.screenshot(path=shot(f"intake-thanks-{locale}.png"))

        # The visitor leaves the page; the agent answers from the console's API.
        await page.goto("about:blank")
        admin = await login_headers(client, login_of(workspace, "admin"))
        (conversation,) = (await client.get("/api/v1/conversations", headers=admin)).json()["items"]
        answered = await client.post(
            f"/api/v1/conversations/{conversation['id']}/messages",
            json={"body": said["reply"]},
            headers=admin,
        )
        assert answered.status_code in (200, 201), answered.text
        await dispatch_due(kefu, utcnow())
        told, replied = sink.mails[-2:]
        assert number.group(1) in told.get_body(("plain",)).get_content()
        text = replied.get_body(("plain",)).get_content()
        assert text.startswith(said["reply"])
        # One thread in the visitor's mail client: the reply refers to the ticket notice.
        assert str(told["Message-ID"]).strip() in str(replied["References"])
        link = re.search(r"(http://\S+#kefu-chat)", text)
        assert link is not None and link.group(1).startswith(server.url)

        # The mail as the visitor's client shows it.
        mail_page = await browser.new_page(locale=locale)
        await mail_page.set_content(str(replied.get_body(("html",)).get_content()))
        await mail_page.screenshot(path=shot(f"intake-mail-{locale}.png"))
        await mail_page.close()

        # The link opens the page with the widget open on the whole exchange.
        await page.goto(link.group(1))
        log = page.get_by_role("log", name=t["log"])
        await expect(log.get_by_text(said["reply"])).to_be_visible(timeout=WAIT_MS)
        await expect(log.get_by_text(number.group(1))).to_be_visible(timeout=WAIT_MS)
        await page.screenshot(path=shot(f"intake-back-{locale}.png"))
        await page.context.close()
