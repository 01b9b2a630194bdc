"""`kefu voice sip-setup --inbox ID`: make a voice inbox's phone number reach kefu, by
creating (or finding) its LiveKit inbound trunk and dispatch rule. Run it where `kefu
serve` runs, with the same settings; it is safe to run again."""

from __future__ import annotations

import argparse
import asyncio
import sys
import uuid
from typing import Any

from kefu.settings import Settings


async def sip_setup(settings: Settings, inbox_id: uuid.UUID) -> tuple[str, str]:
    """(trunk id, dispatch rule id) for the inbox; LookupError when there is no such
    voice inbox, MediaUnavailable when LiveKit cannot do it."""
    from kefu.channel_state.inboxes import read_inbox
    from kefu.connectors.voice.connector import VoiceConnector
    from kefu.outbound import OutboundClient

    inbox = await read_inbox(settings.database_url, inbox_id)
    if inbox is None or inbox.kind != "voice":
        raise LookupError(inbox_id)
    connector = VoiceConnector(OutboundClient(settings))
    try:
        return await connector.ensure_sip_line(inbox)
    finally:
        await connector.aclose()


def cmd_sip_setup(args: argparse.Namespace) -> int:
    from kefu.calls.media import MediaUnavailable
    from kefu.channel_state.inboxes import DatabaseUnreadable
    from kefu.settings import load

    try:
        trunk, rule = asyncio.run(sip_setup(load(), args.inbox))
    except LookupError:
        print(f"no voice inbox {args.inbox} / 没有语音收件箱 {args.inbox}", file=sys.stderr)
        return 2
    except (MediaUnavailable, DatabaseUnreadable) as exc:
        print(getattr(exc, "reason", str(exc)), file=sys.stderr)
        return 1
    print(f"inbound trunk {trunk}, dispatch rule {rule} / 呼入中继 {trunk}，分配规则 {rule}")
    return 0


def add_parser(subparsers: Any) -> None:
    voice = subparsers.add_parser("voice", help="voice inboxes on LiveKit")
    commands = voice.add_subparsers(dest="voice_command", required=True)
    setup = commands.add_parser(
        "sip-setup", help="create the inbound trunk and dispatch rule for an inbox's number"
    )
    setup.add_argument("--inbox", required=True, type=uuid.UUID, help="the voice inbox id")
    setup.set_defaults(fn=cmd_sip_setup)
