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
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

if TYPE_CHECKING:
    import httpx

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


class Unreachable(Exception):
    """The server did not answer at `url`: nothing listens there, or it timed out."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason


def server_url(settings: Settings) -> str:
    """Where this installation's server answers: KEFU_PUBLIC_URL when set, else
    KEFU_HOST:KEFU_PORT, with a listen-on-every-address host read as this machine."""
    if settings.public_url:
        return settings.public_url.rstrip("/")
    host = settings.host
    if host in ("", "0.0.0.0", "::"):  # noqa: S104 -- read, not bound: connect to this machine
        host = "127.0.0.1"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.port}"


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
    # Imported here so that building kefu's command line does not load them.
    import httpx

    from kefu.channel_state.inboxes import read_inbox
    from kefu.connectors.wechat.config import account_keys
    from kefu.connectors.wechat.webhook import seal_request
    from kefu.model import utcnow

    inbox = await read_inbox(settings.database_url, inbox_id)
    if inbox is None or inbox.kind != "wechat":
        raise LookupError(f"no WeChat inbox {inbox_id}")
    keys = account_keys(inbox)
    url = f"{base_url.rstrip('/')}/connectors/wechat/{inbox_id}"
    client = http or httpx.AsyncClient(timeout=10)
    responses = []
    try:
        for _ in range(repeat):
            query, body = seal_request(keys, xml, now=utcnow())
            try:
                response = await client.post(
                    url, params=query, content=body, headers={"content-type": "text/xml"}
                )
            except httpx.TransportError as exc:
                raise Unreachable(url, str(exc) or type(exc).__name__) from exc
            responses.append(response)
    finally:
        if http is None:
            await client.aclose()
    return responses


def cmd_simulate_wechat(args: argparse.Namespace) -> int:
    from kefu.channel_state.inboxes import DatabaseUnreadable, redacted
    from kefu.settings import load

    settings = load()
    base_url = args.url or server_url(settings)
    xml = message_xml(
        args.openid, text=args.text or "", event=args.event, key=args.key, msg_id=args.msg_id
    )
    try:
        responses = asyncio.run(
            simulate(settings, args.inbox, xml, base_url=base_url, repeat=args.repeat)
        )
    except Unreachable as exc:
        _fail(
            f"no kefu server answered at {exc.url} ({exc.reason}); start `kefu serve`, or "
            "point KEFU_PORT, KEFU_PUBLIC_URL or --url at it"
            f" / 无法连接 {exc.url} 上的 kefu：请先运行 kefu serve，或用 KEFU_PORT、"
            "KEFU_PUBLIC_URL、--url 指向它"
        )
        return 2
    except LookupError:
        _fail(
            f"no WeChat inbox {args.inbox} in {redacted(settings.database_url)}"
            f" / 数据库中没有微信收件箱 {args.inbox}"
        )
        return 2
    except DatabaseUnreadable as exc:
        _fail(
            f"cannot read the inbox from {exc.database} ({exc.reason}); "
            "run it where `kefu serve` runs, with the same KEFU_DATABASE_URL"
            f" / 无法从 {exc.database} 读取收件箱"
        )
        return 2
    for response in responses:
        print(f"{response.status_code} {response.text[:300]}")
    return 0 if all(r.status_code == 200 for r in responses) else 1


def _fail(line: str) -> None:
    print(f"kefu simulate: {line}", file=sys.stderr)


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
    wechat.add_argument(
        "--url", help="kefu's base URL (default: KEFU_PUBLIC_URL, else KEFU_HOST:KEFU_PORT)"
    )
    wechat.set_defaults(fn=cmd_simulate_wechat)
