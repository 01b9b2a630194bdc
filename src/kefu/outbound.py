"""The one HTTP client for every request the server makes on its own (API-channel reply
webhooks, WeChat API calls, media downloads).

An admin types the addresses these requests go to, so each request is a way into the
network the server sits in (SSRF). Before connecting, the host is resolved and every
address it resolves to is checked: loopback, link-local (cloud metadata at
169.254.169.254), private, shared (CGNAT), multicast, unspecified and reserved ranges are
refused, IPv4 and IPv6 alike, IPv4-mapped IPv6 judged as the IPv4 address it carries,
unless `KEFU_OUTBOUND_ALLOW` lists the host or a network containing the address. The
connection then goes to the address that was checked (the URL is rewritten to it; the
Host header and TLS SNI keep the name), so a second DNS answer cannot swap in another
address (DNS rebinding). Redirects are never followed: a 3xx is handed back as it came.
Every request has a timeout, and a response longer than `KEFU_OUTBOUND_MAX_BYTES` is cut
off with an error instead of being read into memory.

Refusals are `OutboundRefused` (an `httpx.RequestError`, so callers that already catch
`httpx.HTTPError` handle them), with a bilingual `reason` that names the host, never what
a server answered."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import httpx

from kefu.i18n import Text
from kefu.settings import Settings

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Awaitable[list[str]]]

# Ranges `is_global` lets through that are still not the public internet.
_ALSO_REFUSED: tuple[Network, ...] = (
    ipaddress.ip_network("224.0.0.0/4"),  # IPv4 multicast
    ipaddress.ip_network("ff00::/8"),  # IPv6 multicast
    ipaddress.ip_network("64:ff9b::/96"),  # NAT64: reaches IPv4 hosts through a gateway
)


class OutboundRefused(httpx.RequestError):
    """The request was not sent (or its answer not read); `reason` says why for people."""

    def __init__(self, reason: Text) -> None:
        super().__init__(reason.en)
        self.reason = reason


class Allow:
    """`KEFU_OUTBOUND_ALLOW`: comma-separated host names and CIDRs (or single addresses)
    that may be reached although they are not public, e.g. `10.1.2.0/24,wechat-proxy`."""

    def __init__(self, spec: str) -> None:
        self.hosts: set[str] = set()
        self.networks: list[Network] = []
        for item in (part.strip() for part in spec.split(",")):
            if not item:
                continue
            try:
                self.networks.append(ipaddress.ip_network(item.strip("[]"), strict=False))
            except ValueError:
                self.hosts.add(item.lower().rstrip("."))

    def host(self, name: str) -> bool:
        return name.lower().rstrip(".") in self.hosts

    def address(self, address: Address) -> bool:
        return any(address in network for network in self.networks)


def public(address: Address) -> bool:
    """Whether `address` is on the public internet (an IPv4-mapped IPv6 address is
    judged as its IPv4 address)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if not address.is_global or address.is_multicast or address.is_unspecified:
        return False
    return not any(address in network for network in _ALSO_REFUSED)


async def _system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _refused(host: str, address: str | None = None) -> OutboundRefused:
    if address is None or address == host:
        return OutboundRefused(
            Text(
                "{host} is not a public address; kefu does not send requests there "
                "unless KEFU_OUTBOUND_ALLOW lists it.",
                "{host} 不是公网地址；除非 KEFU_OUTBOUND_ALLOW 中列出，kefu 不会向其发送请求。",
            ).format(host=host)
        )
    return OutboundRefused(
        Text(
            "{host} resolves to {address}, which is not a public address; kefu does not "
            "send requests there unless KEFU_OUTBOUND_ALLOW lists it.",
            "{host} 解析为非公网地址 {address}；除非 KEFU_OUTBOUND_ALLOW 中列出，"
            "kefu 不会向其发送请求。",
        ).format(host=host, address=address)
    )


class OutboundClient:
    """One pool for the process; `transport` lets tests stand in for the network."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        resolver: Resolver | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        settings = settings or Settings()
        self.allow = Allow(settings.outbound_allow)
        self.max_bytes = settings.outbound_max_bytes
        self.timeout = httpx.Timeout(
            settings.outbound_timeout_seconds,
            connect=min(5.0, settings.outbound_timeout_seconds),
        )
        self._resolve = resolver or _system_resolver
        self._transport = transport
        self._client: httpx.AsyncClient | None = None

    @property
    def client(self) -> httpx.AsyncClient:
        # Made on first use: a client's TLS context costs ~25 ms and most processes
        # never send anything.
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=self.timeout, follow_redirects=False, transport=self._transport
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def address_for(self, url: httpx.URL) -> str:
        """The checked address to connect to for `url`'s host (raises `OutboundRefused`)."""
        if url.scheme not in ("http", "https") or not url.host:
            raise OutboundRefused(
                Text(
                    "Only http:// and https:// addresses can be reached.",
                    "只能访问 http:// 或 https:// 地址。",
                )
            )
        host = url.host
        named = self.allow.host(host)
        try:
            literal: Address | None = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        if literal is not None:
            candidates = [str(literal)]
        else:
            try:
                candidates = await self._resolve(host, url.port or _default_port(url.scheme))
            except (OSError, UnicodeError):
                raise OutboundRefused(
                    Text("{host} could not be resolved.", "无法解析域名 {host}。").format(host=host)
                ) from None
            if not candidates:
                raise OutboundRefused(
                    Text("{host} could not be resolved.", "无法解析域名 {host}。").format(host=host)
                )
        for candidate in candidates:
            address = ipaddress.ip_address(candidate.split("%", 1)[0])
            # Every address must pass: a name with one public and one private record
            # would otherwise reach the private one on some connections.
            if not (named or public(address) or self.allow.address(address)):
                raise _refused(host, str(address))
        return candidates[0].split("%", 1)[0]

    async def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        content: bytes | None = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Send one request to a checked address and read at most `max_bytes` of the
        answer. Redirects come back as they are (a 3xx), never followed."""
        target = httpx.URL(url)
        if params:
            target = target.copy_merge_params(params)
        address = await self.address_for(target)
        sent_headers = dict(headers or {})
        sent_headers["Host"] = target.netloc.decode("ascii")
        extensions: dict[str, Any] = {}
        if target.scheme == "https":
            extensions["sni_hostname"] = target.host
        request = self.client.build_request(
            method,
            target.copy_with(host=address),
            json=json,
            content=content,
            files=files,
            headers=sent_headers,
            extensions=extensions,
        )
        response = await self.client.send(request, stream=True)
        try:
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > self.max_bytes:
                raise self._too_large(target.host)
            body = bytearray()
            # Decoded bytes are counted, so a small gzip bomb is cut off as well.
            async for chunk in response.aiter_bytes():
                body.extend(chunk)
                if len(body) > self.max_bytes:
                    raise self._too_large(target.host)
        finally:
            await response.aclose()
        headers_out = httpx.Headers(response.headers)
        for name in ("content-encoding", "content-length", "transfer-encoding"):
            headers_out.pop(name, None)
        return httpx.Response(
            response.status_code,
            headers=headers_out,
            content=bytes(body),
            request=request,
        )

    async def get(self, url: str, *, params: Mapping[str, str] | None = None) -> httpx.Response:
        return await self.request("GET", url, params=params)

    async def post(
        self,
        url: str,
        *,
        json: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        return await self.request("POST", url, json=json, content=content, headers=headers)

    def _too_large(self, host: str) -> OutboundRefused:
        return OutboundRefused(
            Text(
                "{host} answered with more than {n} bytes; the answer was not read.",
                "{host} 的响应超过 {n} 字节，已停止读取。",
            ).format(host=host, n=self.max_bytes)
        )


def _default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80


def status_reason(status: int) -> Text:
    """What an agent reads about an HTTP status (never the body that came with it)."""
    if status == 429:
        return Text("the receiver is rate limiting (HTTP 429)", "接收方限流（HTTP 429）")
    if status >= 500:
        return Text(
            "the receiver had an error (HTTP {status})", "接收方出错（HTTP {status}）"
        ).format(status=status)
    if 300 <= status < 400:
        return Text(
            "the receiver answered with a redirect (HTTP {status}); redirects are not followed",
            "接收方返回重定向（HTTP {status}）；kefu 不跟随重定向",
        ).format(status=status)
    if status in (401, 403):
        return Text(
            "the receiver refused the signature or credentials (HTTP {status})",
            "接收方拒绝了签名或凭据（HTTP {status}）",
        ).format(status=status)
    return Text("the receiver refused it (HTTP {status})", "接收方拒绝（HTTP {status}）").format(
        status=status
    )


__all__: Sequence[str] = ("Allow", "OutboundClient", "OutboundRefused", "public", "status_reason")
