"""`kefu simulate wechat` parses as the README shows it."""

from __future__ import annotations

import argparse
import uuid

from kefu.connectors.wechat.simulate import add_parser, cmd_simulate_wechat, message_xml
from kefu.connectors.wechat.webhook import read_xml


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
