"""`kefu simulate wechat --inbox ID --openid OPENID "text"`: be a WeChat user.

Signs (and, for compatible and safe inboxes, encrypts) a real-format message with the
inbox's own token and EncodingAESKey and posts it to the local webhook, so the demo and
tests exercise the whole channel without a WeChat account.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from typing import Any
from xml.sax.saxutils import escape

import httpx

from kefu.channel_state.inboxes import read_inbox
from kefu.connectors.wechat.config import account_keys
from kefu.connectors.wechat.webhook import seal_request
from kefu.model import utcnow
from kefu.settings import Settings

EVENTS = ("subscribe", "unsubscribe", "SCAN", "CLICK", "VIEW")


def _cdata(value: str) -> str:
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def message_xml(
    openid: str,
    *,
    text: str = "",
    event: str | None = None,
    key: str = "",
    msg_id: str | None = None,
    created: int | None = None,
    to_user: str = "gh_kefu_simulator",
) -> str:
    """A message as WeChat pushes it: text by default, or an event with its key."""
    created = created or int(time.time())
    head = (
        f"<xml><ToUserName>{_cdata(to_user)}</ToUserName>"
        f"<FromUserName>{_cdata(openid)}</FromUserName><CreateTime>{created}</CreateTime>"
    )
    if event:
        key_xml = f"<EventKey>{_cdata(key)}</EventKey>" if key or event != "unsubscribe" else ""
        kind = f"<MsgType>{_cdata('event')}</MsgType><Event>{_cdata(event)}</Event>"
        return f"{head}{kind}{key_xml}</xml>"
    msg_id = msg_id or str(time.time_ns() // 1000)
    return (
        f"{head}<MsgType>{_cdata('text')}</MsgType><Content>{_cdata(text)}</Content>"
        f"<MsgId>{escape(msg_id)}</MsgId></xml>"
    )


async def simulate(
    settings: Settings,
    inbox_id: uuid.UUID,
    xml: str,
    *,
    base_url: str,
    repeat: int = 1,
    http: httpx.AsyncClient | None = None,
) -> list[httpx.Response]:
    """Post `xml` to the inbox's webhook `repeat` times, as WeChat's retries would."""
    inbox = await read_inbox(settings.database_url, inbox_id)
    if inbox is None or inbox.kind != "wechat":
        raise LookupError(f"no WeChat inbox {inbox_id}")
    keys = account_keys(inbox)
    client = http or httpx.AsyncClient(timeout=10)
    responses = []
    try:
        for _ in range(repeat):
            query, body = seal_request(keys, xml, now=utcnow())
            responses.append(
                await client.post(
                    f"{base_url.rstrip('/')}/connectors/wechat/{inbox_id}",
                    params=query,
                    content=body,
                    headers={"content-type": "text/xml"},
                )
            )
    finally:
        if http is None:
            await client.aclose()
    return responses


def cmd_simulate_wechat(args: argparse.Namespace) -> int:
    from kefu.settings import load

    settings = load()
    base_url = args.url or settings.public_url or f"http://{settings.host}:{settings.port}"
    xml = message_xml(
        args.openid, text=args.text or "", event=args.event, key=args.key, msg_id=args.msg_id
    )
    try:
        responses = asyncio.run(
            simulate(settings, args.inbox, xml, base_url=base_url, repeat=args.repeat)
        )
    except (LookupError, httpx.HTTPError) as exc:
        print(f"simulate: {exc}", file=sys.stderr)
        return 2
    for response in responses:
        print(f"{response.status_code} {response.text[:300]}")
    return 0 if all(r.status_code == 200 for r in responses) else 1


def add_parser(subparsers: Any) -> None:
    """Adds `simulate wechat` to kefu's CLI; reuses a `simulate` command another
    channel has already added."""
    simulate_parser = subparsers.choices.get("simulate")
    if simulate_parser is None:
        simulate_parser = subparsers.add_parser(
            "simulate", help="post real-format channel messages to the local server"
        )
        simulate_parser.channels = simulate_parser.add_subparsers(dest="channel", required=True)
    wechat = simulate_parser.channels.add_parser(
        "wechat", help="be a WeChat user writing to an official-account inbox"
    )
    wechat.add_argument("text", nargs="?", default="", help="the message text")
    wechat.add_argument("--inbox", required=True, type=uuid.UUID, help="the WeChat inbox id")
    wechat.add_argument("--openid", default="oSIMULATED_USER_0001", help="who is writing")
    wechat.add_argument("--event", choices=EVENTS, help="send this event instead of text")
    wechat.add_argument("--key", default="", help="EventKey: menu key, qrscene_<scene>, URL")
    wechat.add_argument("--msg-id", help="MsgId (default: a fresh one)")
    wechat.add_argument("--repeat", type=int, default=1, help="post it N times, like retries")
    wechat.add_argument("--url", help="kefu's base URL (default: KEFU_PUBLIC_URL or host:port)")
    wechat.set_defaults(fn=cmd_simulate_wechat)
