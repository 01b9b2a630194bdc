"""The one client-address rule: headers believed only from configured proxies."""

from __future__ import annotations

from typing import Any

import pytest

from kefu.clientip import client_ip


def scope(peer: str, *headers: tuple[str, str]) -> dict[str, Any]:
    return {
        "type": "http",
        "client": (peer, 50000),
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers],
    }


def test_spoofed_forwarded_for_from_an_untrusted_peer_is_ignored() -> None:
    # The default trusts nobody, loopback included: 40 made-up values, one address.
    seen = {
        client_ip(scope("127.0.0.1", ("X-Forwarded-For", f"198.51.100.{n}")), "") for n in range(40)
    }
    assert seen == {"127.0.0.1"}
    assert client_ip(scope("203.0.113.9", ("X-Real-IP", "10.0.0.1")), "10.0.0.0/8") == (
        "203.0.113.9"
    )


def test_a_trusted_proxy_is_believed_and_the_walk_stops_at_the_first_untrusted_hop() -> None:
    trusted = "127.0.0.1/32, 10.0.0.0/8"
    assert client_ip(scope("127.0.0.1", ("X-Forwarded-For", "203.0.113.9")), trusted) == (
        "203.0.113.9"
    )
    # The client wrote "1.2.3.4" itself; nginx appended the address it saw; an inner
    # proxy (trusted) appended the outer one.
    chain = scope("127.0.0.1", ("X-Forwarded-For", "1.2.3.4, 203.0.113.9, 10.1.2.3"))
    assert client_ip(chain, trusted) == "203.0.113.9"
    # Several header lines are one list, in order.
    lines = scope(
        "10.0.0.5", ("X-Forwarded-For", "1.2.3.4, 198.51.100.7"), ("X-Forwarded-For", "10.9.9.9")
    )
    assert client_ip(lines, trusted) == "198.51.100.7"
    # Without X-Forwarded-For a trusted peer's X-Real-IP counts.
    assert client_ip(scope("127.0.0.1", ("X-Real-IP", "2001:db8::1")), trusted) == "2001:db8::1"
    # Every hop trusted: the leftmost is as far as anyone vouches.
    assert client_ip(scope("127.0.0.1", ("X-Forwarded-For", "10.0.0.7")), trusted) == "10.0.0.7"


def test_garbage_and_odd_forms() -> None:
    trusted = "127.0.0.1/32"
    assert client_ip(scope("127.0.0.1", ("X-Forwarded-For", "not-an-ip")), trusted) == ("127.0.0.1")
    assert client_ip(scope("127.0.0.1", ("X-Forwarded-For", "203.0.113.9:4711")), trusted) == (
        "203.0.113.9"
    )
    assert client_ip(
        scope("::ffff:127.0.0.1", ("X-Forwarded-For", "[2001:db8::2]:80")), trusted
    ) == ("2001:db8::2")
    assert client_ip({"type": "http", "headers": []}, trusted) == ""


def test_a_bad_trusted_proxies_setting_fails_loudly() -> None:
    with pytest.raises(ValueError):
        client_ip(scope("127.0.0.1"), "127.0.0.1/33")
