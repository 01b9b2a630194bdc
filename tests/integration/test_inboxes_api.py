"""Setting up channels through the admin API: each channel's form comes from its connector,
secrets are write-only, generated secrets are shown once, and errors name the field."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from litestar import Litestar

from kefu.connectors.signing import signed_headers
from kefu.connectors.wechat.standin import StandIn, create_standin, serve
from kefu.context import Kefu
from kefu.db.tables import Inbox
from kefu.demo import Demo
from tests.conftest import login_headers, login_of

AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}


@pytest.fixture
async def admin(client: httpx.AsyncClient, workspace: Demo) -> dict[str, str]:
    return await login_headers(client, login_of(workspace, "admin"))


@pytest.fixture
async def wechat_api() -> AsyncIterator[tuple[StandIn, str]]:
    state = StandIn()
    async with serve(create_standin(state)) as url:
        yield state, url


def _secret_values(body: Any) -> list[str]:
    """Every string anywhere in a JSON document."""
    if isinstance(body, dict):
        return [s for v in body.values() for s in _secret_values(v)]
    if isinstance(body, list):
        return [s for v in body for s in _secret_values(v)]
    return [body] if isinstance(body, str) else []


def _wechat_config(state: StandIn, url: str, **changes: str) -> dict[str, str]:
    return {
        "appid": state.appid,
        "mode": "safe",
        "api_base": url,
        "secret": state.secret,
        "token": "kefu-token",
        "encoding_aes_key": AES_KEY,
        **changes,
    }


async def test_every_connector_lists_its_form_in_both_languages(
    client: httpx.AsyncClient, kefu: Kefu, admin: dict[str, str]
) -> None:
    response = await client.get("/api/v1/channels", headers=admin)
    assert response.status_code == 200, response.text
    channels = {c["kind"]: c for c in response.json()["items"]}
    assert (
        set(channels)
        == {str(k) for k in kefu.connectors.kinds()}
        == {"web", "wechat", "api", "email", "sms", "voice"}
    )
    for channel in channels.values():
        assert channel["label"]["en"] and channel["label"]["zh-CN"]
        assert channel["label"]["en"] != channel["label"]["zh-CN"]
        for field in channel["fields"]:
            assert field["label"]["en"] and field["label"]["zh-CN"], field
            for item in field["item_fields"] or []:
                assert item["label"]["en"] and item["label"]["zh-CN"], item
    wechat = channels["wechat"]
    assert wechat["label"] == {"en": "WeChat official account", "zh-CN": "微信公众号"}
    assert (wechat["webhook"], wechat["can_test"]) == (True, True)
    assert wechat["capabilities"]["reply_window_hours"] == 48
    fields = {f["name"]: f for f in wechat["fields"]}
    assert fields["appid"]["secret"] is False and fields["appid"]["required"] is True
    assert fields["secret"]["secret"] is True and fields["token"]["secret"] is True
    assert fields["token"]["max_length"] == 32
    assert [c["value"] for c in fields["mode"]["choices"]] == ["plain", "compatible", "safe"]
    assert fields["mode"]["choices"][2]["label"]["zh-CN"] == "安全模式"
    api = {f["name"]: f for f in channels["api"]["fields"]}
    assert api["signing_secret"]["secret"] and api["signing_secret"]["generated"]
    web = {f["name"]: f for f in channels["web"]["fields"]}
    assert (channels["web"]["webhook"], channels["web"]["can_test"]) == (False, False)
    assert web["calendar_id"]["type"] == "calendar"
    assert web["calendar_id"]["section"] == "hours"
    assert {"title", "greeting", "color", "avatar_url", "locales", "prechat_fields"} <= set(web)
    assert "bot_enabled" not in web and "business_hours" not in web
    assert [f["name"] for f in web["prechat_fields"]["item_fields"]] == ["name", "required"]
    mail = {f["name"]: f for f in channels["email"]["fields"]}
    assert (channels["email"]["webhook"], channels["email"]["can_test"]) == (True, True)
    assert mail["address"]["required"] and not mail["address"]["secret"]
    assert mail["imap_password"]["secret"] and mail["smtp_password"]["secret"]
    assert mail["inbound_token"]["secret"] and mail["inbound_token"]["generated"]
    voice = {f["name"]: f for f in channels["voice"]["fields"]}
    assert channels["voice"]["capabilities"]["voice"] is True
    assert (channels["voice"]["webhook"], channels["voice"]["can_test"]) == (True, True)
    assert voice["api_secret"]["secret"] and voice["api_secret"]["required"]
    assert voice["livekit_url"]["required"] and not voice["livekit_url"]["secret"]
    assert voice["ivr"]["type"] == "ivr" and voice["ivr"]["default"] is None
    assert (voice["ring_timeout_s"]["min"], voice["ring_timeout_s"]["max"]) == (5, 120)
    assert {c["value"] for c in mail["imap_security"]["choices"]} == {"tls", "starttls", "none"}
    assert mail["accept_unknown_senders"]["type"] == "boolean"


async def test_agents_cannot_read_the_channel_forms(
    client: httpx.AsyncClient, workspace: Demo
) -> None:
    agent = await login_headers(client, login_of(workspace, "lina"))
    assert (await client.get("/api/v1/channels", headers=agent)).status_code == 403


async def test_an_inbox_of_a_kind_without_a_connector_cannot_be_created(
    client: httpx.AsyncClient, kefu: Kefu, admin: dict[str, str]
) -> None:
    assert kefu.connectors.find("telegram") is None
    for kind in ("telegram", "fax"):
        response = await client.post(
            "/api/v1/inboxes", json={"kind": kind, "name": "电话"}, headers=admin
        )
        assert response.status_code == 422, response.text
        problem = response.json()
        assert f"No connector is installed for {kind} inboxes" in problem["detail"]
        assert problem["errors"][0]["field"] == "kind"
    listed = (await client.get("/api/v1/inboxes", headers=admin)).json()["items"]
    assert {i["kind"] for i in listed} == {"web"}  # only the demo's widget


async def test_wechat_inbox_takes_its_secrets_and_never_shows_them(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    wechat_api: tuple[StandIn, str],
) -> None:
    state, url = wechat_api
    created = await client.post(
        "/api/v1/inboxes",
        json={"kind": "wechat", "name": "公众号", "config": _wechat_config(state, url)},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["config"] == {"appid": state.appid, "mode": "safe", "api_base": url}
    assert body["secrets_set"] == ["encoding_aes_key", "secret", "token"]
    assert "generated_secrets" not in body  # the admin typed every secret
    assert body["webhook_url"] == f"/connectors/wechat/{body['id']}"
    responses = [
        body,
        (await client.get(f"/api/v1/inboxes/{body['id']}", headers=admin)).json(),
        (await client.get("/api/v1/inboxes", headers=admin)).json(),
    ]
    for response in responses:
        strings = _secret_values(response)
        for secret in (state.secret, "kefu-token", AES_KEY):
            assert secret not in strings


async def test_patch_with_empty_secrets_keeps_them_and_null_clears_an_optional_one(
    client: httpx.AsyncClient,
    kefu: Kefu,
    admin: dict[str, str],
    wechat_api: tuple[StandIn, str],
) -> None:
    state, url = wechat_api
    config = _wechat_config(state, url, previous_encoding_aes_key=AES_KEY)
    created = (
        await client.post(
            "/api/v1/inboxes",
            json={"kind": "wechat", "name": "公众号", "config": config},
            headers=admin,
        )
    ).json()
    # The form sends every field back; secret inputs stay empty unless retyped.
    patched = await client.patch(
        f"/api/v1/inboxes/{created['id']}",
        json={
            "config": {
                "appid": state.appid,
                "mode": "compatible",
                "api_base": url,
                "secret": "",
                "token": "",
                "encoding_aes_key": "",
                "previous_encoding_aes_key": None,
            }
        },
        headers=admin,
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["config"]["mode"] == "compatible"
    assert patched.json()["secrets_set"] == ["encoding_aes_key", "secret", "token"]
    async with kefu.db.session() as session:
        row = await session.get(Inbox, uuid.UUID(created["id"]))
        assert row is not None
        assert row.secrets == {
            "secret": state.secret,
            "token": "kefu-token",
            "encoding_aes_key": AES_KEY,
        }


async def test_generated_signing_secret_is_shown_once_and_signs_webhooks(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    created = await client.post(
        "/api/v1/inboxes",
        json={"kind": "api", "name": "CRM", "config": {"webhook_url": "https://crm.example/hook"}},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    inbox = created.json()
    secret = inbox["generated_secrets"]["signing_secret"]
    assert len(secret) >= 32 and inbox["secrets_set"] == ["signing_secret"]
    assert inbox["webhook_url"] == f"/connectors/api/{inbox['id']}"
    for later in (
        (await client.get(f"/api/v1/inboxes/{inbox['id']}", headers=admin)).json(),
        (await client.get("/api/v1/inboxes", headers=admin)).json(),
        (
            await client.patch(
                f"/api/v1/inboxes/{inbox['id']}", json={"name": "CRM 2"}, headers=admin
            )
        ).json(),
    ):
        assert secret not in _secret_values(later)
        assert "generated_secrets" not in later

    async def post(signing: str, message_id: str) -> httpx.Response:
        body = f'{{"message_id": "{message_id}", "user": {{"id": "u-1"}}, "text": "你好"}}'.encode()
        return await client.post(
            inbox["webhook_url"], content=body, headers=signed_headers(signing, body)
        )

    assert (await post(secret, "m-1")).status_code == 202

    rotated = await client.post(
        f"/api/v1/inboxes/{inbox['id']}/secrets/signing_secret/rotate", headers=admin
    )
    assert rotated.status_code == 200, rotated.text
    new_secret = rotated.json()["generated_secrets"]["signing_secret"]
    assert new_secret != secret
    assert (
        "generated_secrets"
        not in (await client.get(f"/api/v1/inboxes/{inbox['id']}", headers=admin)).json()
    )
    assert (await post(secret, "m-2")).status_code == 403
    assert (await post(new_secret, "m-3")).status_code == 202


async def test_only_generated_secrets_can_be_rotated(
    client: httpx.AsyncClient, admin: dict[str, str], wechat_api: tuple[StandIn, str]
) -> None:
    state, url = wechat_api
    created = (
        await client.post(
            "/api/v1/inboxes",
            json={"kind": "wechat", "name": "公众号", "config": _wechat_config(state, url)},
            headers=admin,
        )
    ).json()
    response = await client.post(
        f"/api/v1/inboxes/{created['id']}/secrets/token/rotate", headers=admin
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "config.token"


@pytest.mark.engine_sensitive
async def test_field_errors_are_said_in_the_request_language(
    client: httpx.AsyncClient, admin: dict[str, str], wechat_api: tuple[StandIn, str]
) -> None:
    state, url = wechat_api
    config = _wechat_config(state, url, token="x" * 40, encoding_aes_key="", shoe_size="42")
    del config["appid"]
    response = await client.post(
        "/api/v1/inboxes",
        json={"kind": "wechat", "name": "公众号", "config": config},
        headers={**admin, **ZH},
    )
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["detail"] == "部分设置需要修改，请查看标出的字段。"
    errors = {e["field"]: e["message"] for e in problem["errors"]}
    assert errors == {
        "config.shoe_size": "shoe_size 不是微信公众号收件箱的设置项。",
        "config.appid": "请填写“AppID”。",
        "config.token": "“令牌（Token）”最多 32 个字符。",
    }
    english = (
        await client.post(
            "/api/v1/inboxes",
            json={"kind": "wechat", "name": "公众号", "config": config},
            headers={**admin, "Accept-Language": "en"},
        )
    ).json()
    assert {e["field"]: e["message"] for e in english["errors"]}["config.appid"] == (
        "“AppID” is required."
    )


@pytest.mark.engine_sensitive
async def test_rules_across_fields_and_references_name_their_field(
    client: httpx.AsyncClient, admin: dict[str, str], wechat_api: tuple[StandIn, str]
) -> None:
    state, url = wechat_api
    no_key = await client.post(
        "/api/v1/inboxes",
        json={
            "kind": "wechat",
            "name": "公众号",
            "config": _wechat_config(state, url, encoding_aes_key=""),
        },
        headers={**admin, **ZH},
    )
    assert no_key.status_code == 422
    assert no_key.json()["errors"] == [
        {
            "field": "config.encoding_aes_key",
            "message": "兼容模式和安全模式需要填写 EncodingAESKey。",
        }
    ]
    web = await client.post(
        "/api/v1/inboxes",
        json={
            "kind": "web",
            "name": "官网",
            "config": {
                "calendar_id": "00000000-0000-0000-0000-000000000001",
                "color": "blue",
                "bot_enabled": True,
            },
        },
        headers=admin,
    )
    assert web.status_code == 422
    errors = {e["field"]: e["message"] for e in web.json()["errors"]}
    assert errors == {
        "config.bot_enabled": "bot_enabled is not a setting of Website chat widget inboxes.",
        "config.color": "The colour must look like #1f6feb.",
    }
    # The calendar is checked once the fields themselves are right.
    web = await client.post(
        "/api/v1/inboxes",
        json={
            "kind": "web",
            "name": "官网",
            "config": {"calendar_id": "00000000-0000-0000-0000-000000000001"},
        },
        headers=admin,
    )
    assert web.status_code == 422
    assert web.json()["errors"] == [
        {
            "field": "config.calendar_id",
            "message": "“Business hours”: no such calendar in this workspace.",
        }
    ]


async def test_web_inbox_settings_reach_the_widget(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    calendar = await client.post(
        "/api/v1/routing/calendars",
        json={"name": "工作日", "timezone": "Asia/Shanghai", "weekly": {}},
        headers=admin,
    )
    assert calendar.status_code == 201, calendar.text
    created = await client.post(
        "/api/v1/inboxes",
        json={
            "kind": "web",
            "name": "官网",
            "config": {
                "title": {"zh-CN": "在线客服", "en": "Chat with us"},
                "greeting": "您好！",
                "color": "#0a7d32",
                "locales": ["zh-CN"],
                "prechat_fields": [{"name": "email", "required": True}],
                "offline_mode": "chat",
                "calendar_id": calendar.json()["id"],
                "avatar_url": "",
            },
        },
        headers=admin,
    )
    assert created.status_code == 201, created.text
    inbox = created.json()
    assert inbox["generated_secrets"].keys() == {"identity_secret"}
    assert inbox["config"]["calendar_id"] == calendar.json()["id"]
    assert "avatar_url" not in inbox["config"]  # empty means "not set"
    session = await client.post("/api/v1/widget/sessions", json={"inbox": inbox["public_key"]})
    assert session.status_code == 200, session.text
    widget = session.json()["config"]
    assert widget["title"] == {"zh-CN": "在线客服", "en": "Chat with us"}
    assert (widget["greeting"], widget["brand_color"], widget["locales"]) == (
        "您好！",
        "#0a7d32",
        ["zh-CN"],
    )
    assert widget["prechat_fields"] == [{"name": "email", "required": True}]
    assert widget["offline_mode"] == "chat"


async def test_connection_test_fetches_a_token_from_wechat(
    client: httpx.AsyncClient, admin: dict[str, str], wechat_api: tuple[StandIn, str]
) -> None:
    state, url = wechat_api
    good = (
        await client.post(
            "/api/v1/inboxes",
            json={"kind": "wechat", "name": "对", "config": _wechat_config(state, url)},
            headers=admin,
        )
    ).json()
    wrong = (
        await client.post(
            "/api/v1/inboxes",
            json={
                "kind": "wechat",
                "name": "错",
                "config": _wechat_config(state, url, secret="not-the-secret"),
            },
            headers=admin,
        )
    ).json()
    ok = await client.post(f"/api/v1/inboxes/{good['id']}/test", headers=admin)
    assert ok.status_code == 200, ok.text
    assert ok.json() == {
        "ok": True,
        "message": "WeChat issued an access token: the AppID and AppSecret work.",
    }
    assert "/cgi-bin/stable_token" in state.calls
    refused = await client.post(f"/api/v1/inboxes/{wrong['id']}/test", headers={**admin, **ZH})
    assert refused.json() == {
        "ok": False,
        "message": "微信拒绝了 AppSecret（40125），请从微信公众平台重新复制。",
    }
    refused_en = await client.post(f"/api/v1/inboxes/{wrong['id']}/test", headers=admin)
    assert refused_en.json()["message"].startswith("WeChat refused the AppSecret (40125)")


async def test_connection_test_says_when_wechat_cannot_be_reached(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    state = StandIn()
    created = (
        await client.post(
            "/api/v1/inboxes",
            json={
                "kind": "wechat",
                "name": "断网",
                "config": _wechat_config(state, "http://127.0.0.1:9"),
            },
            headers=admin,
        )
    ).json()
    response = await client.post(f"/api/v1/inboxes/{created['id']}/test", headers=admin)
    assert response.json()["ok"] is False
    assert response.json()["message"].startswith(
        "Could not reach WeChat at http://127.0.0.1:9 (ConnectError)"
    )


async def test_a_channel_without_a_connection_test_says_so(
    client: httpx.AsyncClient, workspace: Demo, admin: dict[str, str]
) -> None:
    response = await client.post(f"/api/v1/inboxes/{workspace.inbox_id}/test", headers=ZH | admin)
    assert response.status_code == 422
    assert response.json()["detail"] == "网站在线客服收件箱没有可测试的连接。"


def test_app_mounts_every_connectors_routes(app: Litestar) -> None:
    paths = {route.path for route in app.routes}
    assert {
        "/connectors/api/{inbox_id:uuid}",
        "/connectors/wechat/{inbox_id:str}",
        "/connectors/email/{inbox_id:uuid}/mime",
        "/api/v1/widget/sessions",
    } <= paths


async def test_secrets_left_in_an_old_rows_config_are_not_shown(
    client: httpx.AsyncClient, kefu: Kefu, workspace: Demo, admin: dict[str, str]
) -> None:
    async with kefu.db.transaction() as session:
        row = Inbox(
            workspace_id=workspace.workspace_id,
            kind="wechat",
            name="旧公众号",
            public_key="old-row",
            config={"appid": "wx_old", "secret": "kept-in-config", "token": "tok"},
        )
        session.add(row)
        await session.flush()
        inbox_id = row.id
    shown = (await client.get(f"/api/v1/inboxes/{inbox_id}", headers=admin)).json()
    assert shown["config"] == {"appid": "wx_old"}
