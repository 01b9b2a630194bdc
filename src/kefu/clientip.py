"""Who is on the other end: the one place that decides a request's client address, for
the rate limits, the sign-in throttle and the audit log alike.

The socket peer is the answer unless it is one of `KEFU_TRUSTED_PROXIES` (CIDRs, comma
separated; empty by default, so nothing a client writes in a header is believed). From
a trusted peer, `X-Forwarded-For` is walked from the right, past every trusted hop, to
the first address no trusted proxy vouches for; without that header a trusted peer's
`X-Real-IP` is used. Everything left of the first untrusted hop was written by the
client and is ignored."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kefu.context import Kefu

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@lru_cache(maxsize=16)
def trusted_networks(setting: str) -> tuple[Network, ...]:
    """Parse the setting once per distinct value; a bad entry fails loudly at startup."""
    return tuple(
        ipaddress.ip_network(part.strip(), strict=False)
        for part in setting.split(",")
        if part.strip()
    )


def _address(value: str) -> Address | None:
    value = value.strip()
    if value.startswith("[") and "]" in value:  # "[2001:db8::1]:443"
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # "203.0.113.9:51234"
        value = value.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: Address, networks: Iterable[Network]) -> bool:
    return any(address.version == net.version and address in net for net in networks)


def _header_values(scope: Mapping[str, Any], name: bytes) -> list[str]:
    return [
        value.decode("latin-1") for key, value in scope.get("headers") or () if key.lower() == name
    ]


def client_ip(scope: Mapping[str, Any], trusted_proxies: str) -> str:
    """The client's address for an ASGI scope (HTTP or websocket); "" when unknown."""
    client = scope.get("client")
    peer_text = str(client[0]) if client else ""
    peer = _address(peer_text)
    if peer is None:
        return peer_text[:64]
    networks = trusted_networks(trusted_proxies)
    if not networks or not _trusted(peer, networks):
        return str(peer)
    hops = [hop for value in _header_values(scope, b"x-forwarded-for") for hop in value.split(",")]
    if not hops:
        real = _header_values(scope, b"x-real-ip")
        found = _address(real[-1]) if real else None
        return str(found or peer)
    current = peer
    for hop in reversed(hops):
        if not _trusted(current, networks):
            break
        address = _address(hop)
        if address is None:
            # A trusted proxy passed on something that is not an address: the proxy
            # itself is the last hop anyone vouches for.
            break
        current = address
    return str(current)


def client_ip_of(kefu: Kefu, scope: Mapping[str, Any]) -> str:
    """`client_ip` with the deployment's trusted proxies."""
    return client_ip(scope, kefu.settings.trusted_proxies)
