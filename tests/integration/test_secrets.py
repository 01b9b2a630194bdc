"""Inbox secrets: declared by each connector (never recognised by name), sealed at rest
with a key from KEFU_SECRET_KEY, never returned, and not sendable to a new address
without being entered again (issue 12, item 3)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from kefu import secretbox
from kefu.context import Kefu
from kefu.demo import Demo
from kefu.settings import Settings
from tests.conftest import login_headers, login_of

ZH = {"Accept-Language": "zh-CN"}
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
APP_SECRET = "wechat-app-secret-0123456789"
SIGNING = "signing-secret-0123456789abcdef"


@pytest.fixture
async def admin(client: httpx.AsyncClient, workspace: Demo) -> dict[str, str]:
    return await login_headers(client, login_of(workspace, "admin"))


def _wechat(**changes: Any) -> dict[str, Any]:
    return {
        "appid": "wx0123456789",
        "mode": "plain",
        "api_base": "https://api.weixin.qq.com",
        "secret": APP_SECRET,
        "token": "kefu-token",
        **changes,
    }


async def _create(client: httpx.AsyncClient, admin: dict[str, str], kind: str, config: Any) -> Any:
    response = await client.post(
        "/api/v1/inboxes", json={"kind": kind, "name": kind, "config": config}, headers=admin
    )
    assert response.status_code == 201, response.text
    return response.json()


async def _raw_secrets(kefu: Kefu, inbox_id: str) -> Any:
    async with kefu.db.session() as session:
        raw = await session.scalar(
            sa.text("SELECT secrets FROM inboxes WHERE id = :id"),
            {"id": uuid.UUID(inbox_id).hex if kefu.settings.is_sqlite else inbox_id},
        )
    return json.loads(raw) if isinstance(raw, str) else raw


@pytest.mark.engine_sensitive
async def test_secrets_are_sealed_in_the_database_and_never_returned(
    client: httpx.AsyncClient, kefu: Kefu, admin: dict[str, str]
) -> None:
    created = await _create(client, admin, "wechat", _wechat())
    stored = await _raw_secrets(kefu, created["id"])
    assert secretbox.is_sealed(stored)
    assert stored["kid"] == secretbox.key_id(kefu.settings.secret_key)
    assert APP_SECRET not in json.dumps(stored) and "kefu-token" not in json.dumps(stored)
    for response in (
        created,
        (await client.get(f"/api/v1/inboxes/{created['id']}", headers=admin)).json(),
        (await client.get("/api/v1/inboxes", headers=admin)).json(),
    ):
        text = json.dumps(response)
        assert APP_SECRET not in text and "kefu-token" not in text
    assert created["secrets_set"] == ["secret", "token"]
    # The server itself still reads them.
    from kefu.channel_state.inboxes import active_inbox

    view = await active_inbox(kefu, uuid.UUID(created["id"]))
    assert view is not None and view.secrets["secret"] == APP_SECRET


@pytest.mark.parametrize(
    "kind,base",
    [
        ("wechat", _wechat()),
        ("api", {"webhook_url": "https://example.com/hook"}),
        ("web", {}),
    ],
)
@pytest.mark.parametrize(
    "extra",
    [{"client_secret": "cs-1"}, {"access_token": "at-1"}, {"smtp": {"password": "pw-1"}}],
)
async def test_undeclared_secret_looking_settings_are_refused_not_stored_as_public(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    kind: str,
    base: dict[str, Any],
    extra: dict[str, Any],
) -> None:
    response = await client.post(
        "/api/v1/inboxes",
        json={"kind": kind, "name": "x", "config": {**base, **extra}},
        headers={**admin, **ZH},
    )
    assert response.status_code == 422, response.text
    fields = [e["field"] for e in response.json()["errors"]]
    assert fields == [f"config.{next(iter(extra))}"]
    listed = (await client.get("/api/v1/inboxes", headers=admin)).text
    assert "cs-1" not in listed and "at-1" not in listed and "pw-1" not in listed


def test_every_connectors_secret_fields_are_in_its_secrets_struct(kefu: Kefu) -> None:
    """What each channel sends to or proves with its provider is declared secret."""
    from kefu.connectors.config import names_of

    expected = {
        "web": {"identity_secret"},
        "api": {"signing_secret"},
        "wechat": {"secret", "token", "encoding_aes_key", "previous_encoding_aes_key"},
    }
    for kind, names in expected.items():
        connector = kefu.connectors.get(kind)
        assert names_of(connector.secrets_type) == names
        assert not names & names_of(connector.config_type)


async def test_moving_the_wechat_api_base_needs_the_secrets_again(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    created = await _create(client, admin, "wechat", _wechat())
    url = f"/api/v1/inboxes/{created['id']}"
    moved = _wechat(api_base="https://attacker.example.net", secret="", token="")
    response = await client.patch(url, json={"config": moved}, headers={**admin, **ZH})
    assert response.status_code == 422, response.text
    errors = {e["field"]: e["message"] for e in response.json()["errors"]}
    assert set(errors) == {"config.secret", "config.token"}
    assert "微信接口地址" in errors["config.secret"] and "重新填写" in errors["config.secret"]
    english = await client.patch(url, json={"config": moved}, headers=admin)
    assert "enter “AppSecret” again" in json.dumps(english.json(), ensure_ascii=False)
    # Unchanged: the address stays where it was.
    assert (await client.get(url, headers=admin)).json()["config"]["api_base"] == (
        "https://api.weixin.qq.com"
    )
    # A new path on the same host is the same place; re-entered secrets let it move.
    same_host = _wechat(api_base="https://api.weixin.qq.com/", secret="", token="")
    assert (await client.patch(url, json={"config": same_host}, headers=admin)).status_code == 200
    again = _wechat(api_base="https://proxy.example.net", secret="new-secret", token="new-tok")
    response = await client.patch(url, json={"config": again}, headers=admin)
    assert response.status_code == 200, response.text
    assert response.json()["config"]["api_base"] == "https://proxy.example.net"


async def test_moving_the_api_webhook_host_needs_the_signing_secret_again(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    created = await _create(
        client,
        admin,
        "api",
        {"webhook_url": "https://shop.example.com/kefu", "signing_secret": SIGNING},
    )
    url = f"/api/v1/inboxes/{created['id']}"
    response = await client.patch(
        url, json={"config": {"webhook_url": "http://10.0.0.8/steal"}}, headers=admin
    )
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["config.signing_secret"]
    path_only = {"webhook_url": "https://shop.example.com/kefu/v2"}
    assert (await client.patch(url, json={"config": path_only}, headers=admin)).status_code == 200


def test_a_rotated_key_still_opens_what_the_old_one_sealed() -> None:
    old_key, new_key = "old-key-" + uuid.uuid4().hex, "new-key-" + uuid.uuid4().hex
    sealed = secretbox.Keyring(old_key).seal({"secret": "s1"})
    assert "s1" not in json.dumps(sealed) and sealed["kid"] == secretbox.key_id(old_key)
    with pytest.raises(secretbox.SecretsUnreadable):
        secretbox.Keyring.of(Settings(secret_key=new_key)).open(sealed)
    rotated = secretbox.Keyring.of(
        Settings(secret_key=new_key, previous_secret_keys=f"unrelated, {old_key}")
    )
    assert rotated.open(sealed) == {"secret": "s1"}
    assert rotated.needs_reseal(sealed)
    resealed = rotated.seal(rotated.open(sealed))
    assert resealed["kid"] == secretbox.key_id(new_key) and not rotated.needs_reseal(resealed)


def test_a_tampered_sealed_value_does_not_open() -> None:
    ring = secretbox.Keyring("k-" + uuid.uuid4().hex)
    sealed = ring.seal({"secret": "s1"})
    data = sealed["data"]
    tampered = {**sealed, "data": data[:-4] + ("AAAA" if data[-4:] != "AAAA" else "BBBB")}
    with pytest.raises(secretbox.SecretsUnreadable):
        ring.open(tampered)


@pytest.mark.engine_sensitive
async def test_reseal_moves_every_inbox_to_the_current_key(
    client: httpx.AsyncClient, kefu: Kefu, admin: dict[str, str]
) -> None:
    from kefu.inboxes.reseal import reseal

    old_key = kefu.settings.secret_key
    created = await _create(client, admin, "wechat", _wechat())
    assert (await _raw_secrets(kefu, created["id"]))["kid"] == secretbox.key_id(old_key)
    new_key = "rotated-" + uuid.uuid4().hex
    secretbox.use(Settings(secret_key=new_key, previous_secret_keys=old_key))
    try:
        assert await reseal(kefu) >= 1
        stored = await _raw_secrets(kefu, created["id"])
        assert stored["kid"] == secretbox.key_id(new_key)
        assert secretbox.Keyring(new_key).open(stored)["secret"] == APP_SECRET
        assert await reseal(kefu) == 0
    finally:
        secretbox.use(kefu.settings)
