"""Sessions and the sign-in request (issue 12): a password change used to leave old
sessions alive, cookies lacked `Secure` behind https, a `text/plain` body was accepted
(login CSRF), and the last admin could be demoted."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from kefu.app import create_app
from kefu.context import Kefu
from kefu.demo import Demo
from tests.conftest import PASSWORD, login_headers, login_of

NEW_PASSWORD = "a much better passphrase"


async def sign_in(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> str:
    response = await client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    client.cookies.clear()
    token: str = response.json()["token"]
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def me_status(client: httpx.AsyncClient, token: str) -> int:
    return (await client.get("/api/v1/agents/me", headers=bearer(token))).status_code


async def test_changing_ones_password_ends_every_other_session(
    client: httpx.AsyncClient, workspace: Demo
) -> None:
    email = login_of(workspace, "lina")
    laptop, phone, stolen = [await sign_in(client, email) for _ in range(3)]
    assert [await me_status(client, t) for t in (laptop, phone, stolen)] == [200, 200, 200]

    changed = await client.put(
        "/api/v1/agents/me/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=bearer(laptop),
    )
    assert changed.status_code == 204, changed.text
    assert [await me_status(client, t) for t in (laptop, phone, stolen)] == [200, 401, 401]
    await sign_in(client, email, NEW_PASSWORD)
    old = await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert old.status_code == 401


async def test_a_wrong_current_password_changes_nothing(
    client: httpx.AsyncClient, workspace: Demo
) -> None:
    email = login_of(workspace, "lina")
    laptop, phone = [await sign_in(client, email) for _ in range(2)]
    refused = await client.put(
        "/api/v1/agents/me/password",
        json={"current_password": "not-my-password", "new_password": NEW_PASSWORD},
        headers={**bearer(laptop), "Accept-Language": "zh-CN"},
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "current_password"
    assert refused.json()["detail"] == "当前密码不正确。"
    assert await me_status(client, phone) == 200


async def test_an_admin_resetting_a_password_signs_that_agent_out(
    client: httpx.AsyncClient, workspace: Demo
) -> None:
    admin = await login_headers(client, login_of(workspace, "admin"))
    lina = await sign_in(client, login_of(workspace, "lina"))
    lina_id = next(x.id for x in workspace.logins if x.email.startswith("lina@"))
    reset = await client.patch(
        f"/api/v1/agents/{lina_id}", json={"password": NEW_PASSWORD}, headers=admin
    )
    assert reset.status_code == 200, reset.text
    assert await me_status(client, lina) == 401
    assert (await client.get("/api/v1/agents/me", headers=admin)).status_code == 200


async def test_admins_own_password_change_by_patch_keeps_their_current_session(
    client: httpx.AsyncClient, workspace: Demo
) -> None:
    email = login_of(workspace, "admin")
    current, other = [await sign_in(client, email) for _ in range(2)]
    admin_id = next(x.id for x in workspace.logins if x.email.startswith("admin@"))
    reset = await client.patch(
        f"/api/v1/agents/{admin_id}", json={"password": NEW_PASSWORD}, headers=bearer(current)
    )
    assert reset.status_code == 200, reset.text
    assert [await me_status(client, t) for t in (current, other)] == [200, 401]


async def test_sign_out_everywhere(client: httpx.AsyncClient, workspace: Demo) -> None:
    admin = await login_headers(client, login_of(workspace, "admin"))
    tom_email = login_of(workspace, "tom")
    tom_id = next(x.id for x in workspace.logins if x.email.startswith("tom@"))
    tokens = [await sign_in(client, tom_email) for _ in range(2)]
    supervisor = await login_headers(client, login_of(workspace, "supervisor"))

    forbidden = await client.delete(f"/api/v1/agents/{tom_id}/sessions", headers=supervisor)
    assert forbidden.status_code == 403
    assert [await me_status(client, t) for t in tokens] == [200, 200]

    done = await client.delete(f"/api/v1/agents/{tom_id}/sessions", headers=admin)
    assert done.status_code == 200, done.text
    assert done.json() == {"revoked": 2}
    assert [await me_status(client, t) for t in tokens] == [401, 401]
    # Tom may sign in again: this ends sessions, it does not lock the account.
    await sign_in(client, tom_email)


async def test_sign_out_everywhere_stays_in_its_workspace(
    client: httpx.AsyncClient, workspace: Demo, other_workspace: Demo
) -> None:
    admin = await login_headers(client, login_of(workspace, "admin"))
    theirs = next(x.id for x in other_workspace.logins if x.email.startswith("tom@"))
    token = await sign_in(client, login_of(other_workspace, "tom"))
    response = await client.delete(f"/api/v1/agents/{theirs}/sessions", headers=admin)
    assert response.status_code == 404
    assert await me_status(client, token) == 200


async def test_deactivating_an_agent_ends_their_sessions(
    client: httpx.AsyncClient, workspace: Demo
) -> None:
    admin = await login_headers(client, login_of(workspace, "admin"))
    tom_id = next(x.id for x in workspace.logins if x.email.startswith("tom@"))
    token = await sign_in(client, login_of(workspace, "tom"))
    off = await client.patch(f"/api/v1/agents/{tom_id}", json={"active": False}, headers=admin)
    assert off.status_code == 200
    on = await client.patch(f"/api/v1/agents/{tom_id}", json={"active": True}, headers=admin)
    assert on.status_code == 200
    assert await me_status(client, token) == 401


@pytest.fixture
async def https_client(kefu: Kefu) -> AsyncIterator[httpx.AsyncClient]:
    kefu.settings.public_url = "https://kefu.example.com"
    transport = httpx.ASGITransport(app=create_app(kefu=kefu))
    async with httpx.AsyncClient(transport=transport, base_url="https://kefu.example.com") as c:
        yield c


async def test_cookies_are_secure_when_the_public_url_is_https(
    https_client: httpx.AsyncClient, workspace: Demo
) -> None:
    response = await https_client.post(
        "/api/v1/auth/login", json={"email": login_of(workspace, "lina"), "password": PASSWORD}
    )
    assert response.status_code == 200
    cookies = response.headers.get_list("set-cookie")
    assert len(cookies) == 2
    assert all("secure" in c.lower().split("; ") for c in cookies), cookies
    assert any(c.startswith("kefu_session=") and "httponly" in c.lower() for c in cookies)


async def test_cookies_are_not_secure_on_a_plain_http_address(
    client: httpx.AsyncClient, workspace: Demo
) -> None:
    response = await client.post(
        "/api/v1/auth/login", json={"email": login_of(workspace, "lina"), "password": PASSWORD}
    )
    assert response.status_code == 200
    assert not any("secure" in c.lower() for c in response.headers.get_list("set-cookie"))


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded", None],
)
async def test_sign_in_accepts_only_json(
    client: httpx.AsyncClient, workspace: Demo, content_type: str | None
) -> None:
    """A cross-site form can post text/plain without a preflight: login CSRF."""
    body = f'{{"email": "{login_of(workspace, "lina")}", "password": "{PASSWORD}"}}'
    headers = {"Content-Type": content_type} if content_type else {}
    response = await client.post("/api/v1/auth/login", content=body, headers=headers)
    assert response.status_code == 415, response.text
    assert "application/json" in response.json()["detail"]
    assert "kefu_session" not in response.headers.get("set-cookie", "")


async def test_malformed_text_plain_sign_in_is_415_not_a_parse_error(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/api/v1/auth/login", content="email=a&password=b", headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == 415


async def test_sign_in_with_json_and_a_charset_works(
    client: httpx.AsyncClient, workspace: Demo
) -> None:
    body = f'{{"email": "{login_of(workspace, "lina")}", "password": "{PASSWORD}"}}'
    response = await client.post(
        "/api/v1/auth/login",
        content=body,
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 200, response.text


async def test_a_nul_in_the_sign_in_email_is_a_4xx(
    client: httpx.AsyncClient, workspace: Demo
) -> None:
    response = await client.post(
        "/api/v1/auth/login", json={"email": "a\u0000@b.c", "password": PASSWORD}
    )
    assert response.status_code == 400


async def test_the_last_active_admin_cannot_be_demoted_or_deactivated(
    client: httpx.AsyncClient, workspace: Demo
) -> None:
    admin = await login_headers(client, login_of(workspace, "admin"))
    admin_id = next(x.id for x in workspace.logins if x.email.startswith("admin@"))
    for change in ({"role": "agent"}, {"role": "supervisor"}, {"active": False}):
        response = await client.patch(
            f"/api/v1/agents/{admin_id}",
            json=change,
            headers={**admin, "Accept-Language": "zh-CN"},
        )
        assert response.status_code == 409, (change, response.text)
        assert "最后一位启用中的管理员" in response.json()["detail"]
    english = await client.patch(
        f"/api/v1/agents/{admin_id}", json={"role": "agent"}, headers=admin
    )
    assert english.json()["detail"] == (
        "Admin 管理员 is the last active admin of this workspace; make someone else an admin first."
    )
    me = (await client.get("/api/v1/agents/me", headers=admin)).json()
    assert (me["role"], me["active"]) == ("admin", True)

    # With a second admin, the first may step down.
    tom_id = next(x.id for x in workspace.logins if x.email.startswith("tom@"))
    promoted = await client.patch(f"/api/v1/agents/{tom_id}", json={"role": "admin"}, headers=admin)
    assert promoted.status_code == 200
    stepped = await client.patch(
        f"/api/v1/agents/{admin_id}", json={"role": "agent"}, headers=admin
    )
    assert stepped.status_code == 200, stepped.text
    # ... and now Tom is the last one.
    tom = await login_headers(client, login_of(workspace, "tom"))
    last = await client.patch(f"/api/v1/agents/{tom_id}", json={"active": False}, headers=tom)
    assert last.status_code == 409


async def test_an_inactive_admin_does_not_count(client: httpx.AsyncClient, workspace: Demo) -> None:
    admin = await login_headers(client, login_of(workspace, "admin"))
    admin_id = next(x.id for x in workspace.logins if x.email.startswith("admin@"))
    made = await client.post(
        "/api/v1/agents",
        json={
            "email": f"second-{uuid.uuid4().hex[:6]}@acme.kefu",
            "name": "Second Admin",
            "password": "second admin pass",
            "role": "admin",
        },
        headers=admin,
    )
    assert made.status_code == 201, made.text
    second = made.json()["id"]
    off = await client.patch(f"/api/v1/agents/{second}", json={"active": False}, headers=admin)
    assert off.status_code == 200
    response = await client.patch(
        f"/api/v1/agents/{admin_id}", json={"role": "agent"}, headers=admin
    )
    assert response.status_code == 409
