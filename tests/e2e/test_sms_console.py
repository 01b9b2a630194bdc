"""SMS in the browser: an admin creates a Twilio SMS inbox from the connector's schema
form; an SMS conversation's composer counts characters and segments, offers a Tencent
inbox's templates, and a reply turns "delivered" on the agent's screen when the
stand-in's status callback arrives. Screenshots in zh-CN and en go to /tmp/shots/sms/."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from kefu.connectors.sms.connector import SmsConnector
from kefu.connectors.sms.standin import TwilioStandIn, create_standin
from kefu.connectors.sms.twilio import SIGNATURE_HEADER, signature
from kefu.context import Kefu
from kefu.conversations.outbox import dispatch_due
from kefu.demo import Demo
from kefu.model import utcnow
from kefu.settings import Settings
from tests.conftest import login_headers, login_of, make_settings
from tests.e2e.browsers import async_chromium, console_as
from tests.servers import serve

pytestmark = [pytest.mark.e2e]

SHOTS = Path("/tmp/shots/sms")
WAIT_MS = 20_000
PUBLIC = "https://kefu.example.com"
TOKEN = "twilio-auth-token-e2e"

WORDS = {
    "en": {
        "new": "+ New inbox",
        "kind": "Kind",
        "sms": "SMS",
        "name": "Name",
        "create": "Create",
        "sid": "Account SID (Twilio)",
        "from": "Sender number",
        "token": "Auth token (Twilio)",
        "count": "14 chars · 1 segment",
        "delivered": "Delivered",
        "template": "Template",
        "variable": "Variable 1",
        "use": "Use template",
    },
    "zh-CN": {
        "new": "+ 新建渠道",
        "kind": "类型",
        "sms": "短信",
        "name": "名称",
        "create": "新建",
        "sid": "账户 SID（Twilio）",
        "from": "发送号码",
        "token": "Auth Token（Twilio）",
        "count": "14 字 · 1 条",
        "delivered": "已送达",
        "template": "模板",
        "variable": "变量 1",
        "use": "使用模板",
    },
}


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, media_dir=str(tmp_path / "media"), public_url=PUBLIC)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_chromium(console=True) as launched:
        yield launched


async def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
async def test_admin_creates_an_sms_inbox_in_the_console(
    browser: Browser, live_server: str, client: httpx.AsyncClient, workspace: Demo, locale: str
) -> None:
    words = WORDS[locale]
    page = await console_as(browser, live_server, workspace, "admin", locale, "/admin/inboxes")
    await page.get_by_role("button", name=words["new"]).click()
    form = page.get_by_role("form")
    await form.get_by_label(words["kind"], exact=True).select_option(label=words["sms"])
    await form.get_by_label(words["name"], exact=True).fill("短信 SMS")
    await form.get_by_label(words["sid"], exact=True).fill("AC0123456789")
    await form.get_by_label(words["from"], exact=True).fill("+14155550100")
    await form.get_by_label(words["token"], exact=True).fill(TOKEN)
    await shot(page, f"inbox-form-{locale}")
    await form.get_by_role("button", name=words["create"], exact=True).click()
    await expect(page.get_by_role("form", name="短信 SMS")).to_be_visible(timeout=WAIT_MS)
    await shot(page, f"inbox-created-{locale}")
    admin = await login_headers(client, login_of(workspace, "admin"))
    inboxes = (await client.get("/api/v1/inboxes", headers=admin)).json()
    items = inboxes["items"] if isinstance(inboxes, dict) else inboxes
    sms = [i for i in items if i["kind"] == "sms"]
    assert len(sms) == 1
    assert sms[0]["config"]["from_number"] == "+14155550100"
    assert "auth_token" in sms[0]["secrets_set"]


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
async def test_sms_reply_counts_segments_and_turns_delivered_on_screen(
    browser: Browser,
    live_server: str,
    client: httpx.AsyncClient,
    kefu: Kefu,
    workspace: Demo,
    locale: str,
) -> None:
    words = WORDS[locale]
    standin = TwilioStandIn(auth_token=TOKEN)
    admin = await login_headers(client, login_of(workspace, "admin"))
    async with serve(create_standin(standin), lifespan="off") as api_base:
        kefu.connectors.register(SmsConnector(kefu.outbound, public_url=PUBLIC))
        created = await client.post(
            "/api/v1/inboxes",
            json={
                "kind": "sms",
                "name": "SMS",
                "config": {
                    "provider": "twilio",
                    "account_sid": "AC_standin",
                    "auth_token": TOKEN,
                    "from_number": "+14155550100",
                    "api_base": api_base,
                },
            },
            headers=admin,
        )
        assert created.status_code == 201, created.text
        path = f"/connectors/sms/{created.json()['id']}/twilio"
        form = {
            "MessageSid": "SMe2e1",
            "From": "13800138000",
            "To": "+14155550100",
            "Body": "快递到哪了？",
            "NumMedia": "0",
        }
        headers = {SIGNATURE_HEADER: signature(TOKEN, PUBLIC + path, list(form.items()))}
        assert (await client.post(path, data=form, headers=headers)).status_code == 200
        conversations = (await client.get("/api/v1/conversations", headers=admin)).json()
        conversation_id = conversations["items"][0]["id"]
        page = await console_as(
            browser, live_server, workspace, "admin", locale, f"/inbox/{conversation_id}"
        )
        await expect(page.get_by_text("快递到哪了？").first).to_be_visible(timeout=WAIT_MS)
        # A second SMS while the page is open reaches the agent through the socket.
        form = {**form, "MessageSid": "SMe2e2", "Body": "还有一个问题"}
        headers = {SIGNATURE_HEADER: signature(TOKEN, PUBLIC + path, list(form.items()))}
        assert (await client.post(path, data=form, headers=headers)).status_code == 200
        await expect(page.get_by_text("还有一个问题").first).to_be_visible(timeout=WAIT_MS)
        box = page.locator("#composer-input")
        await box.fill("Your parcel: 1")  # 14 GSM-7 characters
        await expect(page.get_by_test_id("sms-line")).to_contain_text(words["count"])
        await box.fill("您的包裹已到达驿站")
        await expect(page.get_by_test_id("sms-line")).to_contain_text("9")
        await shot(page, f"composer-{locale}")
        await page.locator("button.send").click()
        await expect(box).to_have_value("", timeout=WAIT_MS)
        await dispatch_due(kefu, utcnow())
        assert [m["Body"] for m in standin.sent] == ["您的包裹已到达驿站"]
        url, status_form, status_headers = standin.status_callback(
            standin.sent[0]["sid"], "delivered"
        )
        answered = await client.post(
            url.removeprefix(PUBLIC), data=status_form, headers=status_headers
        )
        assert answered.status_code == 200
        await expect(page.locator(".delivery.delivered").first).to_contain_text(
            words["delivered"], timeout=WAIT_MS
        )
        await shot(page, f"delivered-{locale}")


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
async def test_tencent_composer_fills_a_template(
    browser: Browser, live_server: str, client: httpx.AsyncClient, workspace: Demo, locale: str
) -> None:
    words = WORDS[locale]
    admin = await login_headers(client, login_of(workspace, "admin"))
    created = await client.post(
        "/api/v1/inboxes",
        json={
            "kind": "sms",
            "name": "腾讯云短信",
            "config": {
                "provider": "tencent",
                "secret_id": "AKIDstandin",
                "secret_key": "standin-secret-key",
                "sdk_app_id": "1400006666",
                "sign_name": "腾讯云",
                "templates": [{"id": "449739", "text": "您的订单{1}已发货，预计{2}送达。"}],
            },
        },
        headers=admin,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    token = body["generated_secrets"]["url_token"]
    reply_cb = {
        "extend": "",
        "mobile": "13800138000",
        "nationcode": "86",
        "sign": "腾讯云",
        "text": "发货了吗",
        "time": 1,
    }
    answered = await client.post(f"/connectors/sms/{body['id']}/tencent/{token}", json=reply_cb)
    assert answered.status_code == 200, answered.text
    conversation_id = (await client.get("/api/v1/conversations", headers=admin)).json()["items"][0][
        "id"
    ]
    page = await console_as(
        browser, live_server, workspace, "admin", locale, f"/inbox/{conversation_id}"
    )
    line = page.get_by_test_id("sms-line")
    await line.get_by_label(words["template"]).select_option("449739")
    await line.get_by_label(words["variable"], exact=True).fill("A123")
    await line.get_by_label(words["variable"].replace("1", "2"), exact=True).fill("明天")
    await line.get_by_role("button", name=words["use"]).click()
    await expect(page.locator("#composer-input")).to_have_value(
        "您的订单A123已发货，预计明天送达。"
    )
    # 19 characters + 【腾讯云】 (5) = 24, one UCS-2 segment.
    await expect(line).to_contain_text("24")
    await expect(line).to_contain_text("【腾讯云】")
    await shot(page, f"tencent-template-{locale}")
