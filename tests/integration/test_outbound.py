"""SSRF: every server-side request goes through `kefu.outbound`, which refuses what is not
the public internet unless KEFU_OUTBOUND_ALLOW lists it. These tests run with the default
(refusing) setting, except where a test allows one address on purpose to stand up a
server to talk to."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from litestar import Litestar, Response, get, post

from kefu.connectors.api.channel import ApiConnector
from kefu.connectors.base import DeliveryError
from kefu.model import ChannelKind, Identity, Outbound
from kefu.outbound import OutboundClient, OutboundRefused, public
from kefu.settings import Settings
from tests.servers import serve

SECRET_PAGE = "root:x:0:0 internal-only metadata token=abc123"


@dataclass
class Seen:
    paths: list[str] = field(default_factory=list)


def receiver(seen: Seen, redirect_to: str = "") -> Litestar:
    @post("/hook", status_code=200)
    async def hook() -> str:
        seen.paths.append("/hook")
        return "ok"

    @post("/refuse")
    async def refuse() -> Response[str]:
        seen.paths.append("/refuse")
        return Response(SECRET_PAGE, status_code=400, media_type="text/plain")

    @post("/moved")
    async def moved() -> Response[str]:
        seen.paths.append("/moved")
        return Response(SECRET_PAGE, status_code=302, headers={"Location": redirect_to})

    @get("/big")
    async def big() -> bytes:
        return b"x" * 5000

    @get("/target")
    async def target() -> str:
        seen.paths.append("/target")
        return "reached"

    return Litestar([hook, refuse, moved, big, target])


@pytest.fixture
async def local() -> AsyncIterator[tuple[Seen, str]]:
    seen = Seen()
    async with serve(receiver(seen, redirect_to="http://127.0.0.2:9/target")) as url:
        yield seen, url


def default_client(**changes: Any) -> OutboundClient:
    settings = Settings(**changes)
    assert changes or settings.outbound_allow == ""  # the default refuses
    return OutboundClient(settings)


@dataclass(frozen=True)
class FakeInbox:
    config: dict[str, Any]
    secrets: dict[str, Any] = field(default_factory=lambda: {"signing_secret": "s" * 32})
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    kind: str = "api"


def reply() -> Outbound:
    return Outbound(
        message_id=uuid.uuid4(),
        conversation_id=uuid.uuid4(),
        inbox_id=uuid.uuid4(),
        workspace_id=uuid.uuid4(),
        channel=ChannelKind.api,
        recipient=Identity("external", "u1"),
        body="hello",
    )


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/hook",
        "http://10.0.0.5/hook",
        "http://192.168.1.1/",
        "http://172.16.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:9/",
        "http://[::ffff:127.0.0.1]:9/",
        "http://[::ffff:169.254.169.254]/",
        "http://[fe80::1]/",
        "http://[fc00::1]/",
        "http://0.0.0.0:9/",
        "http://100.64.0.1/",
        "http://224.0.0.1/",
        "http://localhost:9/",
    ],
)
async def test_the_default_client_refuses_what_is_not_public(url: str) -> None:
    client = default_client()
    with pytest.raises(OutboundRefused) as refused:
        await client.post(url, content=b"{}")
    assert "not a public address" in refused.value.reason.en
    assert "不是公网地址" in refused.value.reason.zh or "非公网地址" in refused.value.reason.zh


async def test_a_name_resolving_to_loopback_is_refused_after_resolution() -> None:
    async def resolver(host: str, port: int) -> list[str]:
        return ["127.0.0.1"]

    client = OutboundClient(Settings(), resolver=resolver)
    with pytest.raises(OutboundRefused) as refused:
        await client.get("http://innocent.example.com/")
    assert "resolves to 127.0.0.1" in refused.value.reason.en


async def test_a_name_with_one_private_record_among_public_ones_is_refused() -> None:
    async def resolver(host: str, port: int) -> list[str]:
        return ["93.184.216.34", "10.1.2.3"]

    client = OutboundClient(Settings(), resolver=resolver)
    with pytest.raises(OutboundRefused):
        await client.get("http://mixed.example.com/")


async def test_the_connection_goes_to_the_checked_address_not_a_second_lookup() -> None:
    """DNS rebinding: the name is resolved once, checked, and the request is sent to that
    address with the name kept in Host (and SNI for https)."""
    lookups: list[str] = []
    sent: list[httpx.Request] = []

    async def resolver(host: str, port: int) -> list[str]:
        lookups.append(host)
        # A rebinding server would answer 127.0.0.1 the second time.
        return ["93.184.216.34"] if len(lookups) == 1 else ["127.0.0.1"]

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, text="ok")

    client = OutboundClient(Settings(), resolver=resolver, transport=httpx.MockTransport(handler))
    response = await client.get("https://rebind.example.com/path?q=1")
    assert response.status_code == 200
    assert lookups == ["rebind.example.com"]
    assert sent[0].url.host == "93.184.216.34"
    assert sent[0].url.path == "/path" and sent[0].url.params["q"] == "1"
    assert sent[0].headers["host"] == "rebind.example.com"
    assert sent[0].extensions["sni_hostname"] == "rebind.example.com"


async def test_the_allow_list_admits_listed_networks_and_hosts_only() -> None:
    async def resolver(host: str, port: int) -> list[str]:
        return {"proxy.internal": ["10.9.9.9"], "other.internal": ["10.8.8.8"]}[host]

    client = OutboundClient(
        Settings(outbound_allow="10.1.0.0/16, proxy.internal"), resolver=resolver
    )
    assert await client.address_for(httpx.URL("http://10.1.2.3/")) == "10.1.2.3"
    assert await client.address_for(httpx.URL("http://proxy.internal/")) == "10.9.9.9"
    with pytest.raises(OutboundRefused):
        await client.address_for(httpx.URL("http://10.2.0.1/"))
    with pytest.raises(OutboundRefused):
        await client.address_for(httpx.URL("http://other.internal/"))


def test_public_judges_mapped_addresses_as_ipv4() -> None:
    import ipaddress

    assert public(ipaddress.ip_address("93.184.216.34"))
    assert public(ipaddress.ip_address("2606:4700::1111"))
    assert not public(ipaddress.ip_address("::ffff:10.0.0.1"))
    assert not public(ipaddress.ip_address("::"))
    assert not public(ipaddress.ip_address("ff02::1"))


async def test_a_redirect_to_a_refused_host_is_not_followed(local: tuple[Seen, str]) -> None:
    seen, url = local
    client = default_client(outbound_allow="127.0.0.1/32")
    response = await client.post(f"{url}/moved", content=b"{}")
    assert response.status_code == 302  # handed back, not followed to 127.0.0.2
    assert seen.paths == ["/moved"]


async def test_an_answer_over_the_size_cap_is_not_read(local: tuple[Seen, str]) -> None:
    _, url = local
    client = default_client(outbound_allow="127.0.0.1/32", outbound_max_bytes=1000)
    with pytest.raises(OutboundRefused) as refused:
        await client.get(f"{url}/big")
    assert "more than 1000 bytes" in refused.value.reason.en


async def test_api_replies_to_an_internal_webhook_fail_without_sending() -> None:
    connector = ApiConnector(default_client())
    for url in ("http://127.0.0.1:9/hook", "http://169.254.169.254/", "http://[::1]:9/"):
        with pytest.raises(DeliveryError) as failed:
            await connector.send(FakeInbox(config={"webhook_url": url}), reply())
        assert not failed.value.retryable
        assert "not a public address" in failed.value.reason
        assert "不是公网地址" in failed.value.reason


async def test_api_reply_failures_never_echo_the_receivers_body(local: tuple[Seen, str]) -> None:
    seen, url = local
    connector = ApiConnector(default_client(outbound_allow="127.0.0.1/32"))
    for path, status in (("/refuse", "400"), ("/moved", "302")):
        with pytest.raises(DeliveryError) as failed:
            await connector.send(FakeInbox(config={"webhook_url": f"{url}{path}"}), reply())
        reason = failed.value.reason
        assert status in reason
        assert SECRET_PAGE not in reason and "internal-only" not in reason
        assert " / " in reason  # English / Chinese
    assert "/target" not in seen.paths


async def test_api_replies_to_an_allowed_receiver_are_delivered(local: tuple[Seen, str]) -> None:
    seen, url = local
    connector = ApiConnector(default_client(outbound_allow="127.0.0.1/32"))
    await connector.send(FakeInbox(config={"webhook_url": f"{url}/hook"}), reply())
    assert seen.paths == ["/hook"]


async def test_the_wechat_api_base_is_refused_when_internal(tmp_path: Any) -> None:
    """An admin pointing api_base at an internal address gets a refusal from "test
    connection" naming the host; no request leaves the server."""
    from kefu.app import build_kefu
    from kefu.connectors.wechat.connector import WeChatConnector

    kefu = build_kefu(
        Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/x.db", secret_key="test-" + "k" * 32)
    )
    connector = kefu.connectors.get(ChannelKind.wechat)
    assert isinstance(connector, WeChatConnector)
    inbox = FakeInbox(
        config={"appid": "wx1", "api_base": "http://169.254.169.254"},
        secrets={"secret": "s", "token": "ttt"},
        kind="wechat",
    )
    checked = await connector.test_connection(inbox)
    assert not checked.ok
    assert "169.254.169.254" in checked.message.en and "not a public address" in checked.message.en
    await kefu.db.dispose()
