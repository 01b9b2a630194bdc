"""`kefu simulate wechat` parses as the README shows it and finds the server the way
`kefu serve` is configured."""

from __future__ import annotations

import argparse
import uuid

from kefu.connectors.wechat.simulate import (
    add_parser,
    cmd_simulate_wechat,
    message_xml,
    server_url,
)
from kefu.connectors.wechat.webhook import read_xml
from kefu.settings import load


def test_simulate_wechat_command_line() -> None:
    parser = argparse.ArgumentParser(prog="kefu")
    add_parser(parser.add_subparsers(dest="command", required=True))
    inbox = uuid.uuid4()
    args = parser.parse_args(
        ["simulate", "wechat", "--inbox", str(inbox), "--openid", "oABC", "我要退货"]
    )
    assert (args.inbox, args.openid, args.text, args.repeat) == (inbox, "oABC", "我要退货", 1)
    assert args.fn is cmd_simulate_wechat


def test_simulated_xml_is_what_wechat_sends() -> None:
    fields = read_xml(message_xml("oABC", text="hi ]]> there", msg_id="7", created=1700000000))
    assert fields == {
        "ToUserName": "gh_kefu_simulator",
        "FromUserName": "oABC",
        "CreateTime": "1700000000",
        "MsgType": "text",
        "Content": "hi ]]> there",
        "MsgId": "7",
    }
    click = read_xml(message_xml("oABC", event="CLICK", key="AFTER_SALES"))
    assert (click["MsgType"], click["Event"], click["EventKey"]) == (
        "event",
        "CLICK",
        "AFTER_SALES",
    )


def test_the_server_url_follows_kefu_port_host_and_public_url() -> None:
    def url(**env: str) -> str:
        return server_url(load({"KEFU_SECRET_KEY": "x", **env}))

    assert url() == "http://127.0.0.1:8000"
    assert url(KEFU_PORT="8123") == "http://127.0.0.1:8123"
    assert url(KEFU_HOST="0.0.0.0", KEFU_PORT="9000") == "http://127.0.0.1:9000"
    assert url(KEFU_HOST="::") == "http://127.0.0.1:8000"
    assert url(KEFU_HOST="::1") == "http://[::1]:8000"
    assert url(KEFU_HOST="kefu.lan") == "http://kefu.lan:8000"
    assert url(KEFU_PUBLIC_URL="https://kefu.example.cn/", KEFU_PORT="8123") == (
        "https://kefu.example.cn"
    )
