"""The words an SMS customer texts to manage their subscription, and what kefu answers.

A message that is only one of these words (any case, surrounding punctuation ignored)
is a command; the message is still stored, so the agent sees what the customer wrote."""

from __future__ import annotations

import re
import uuid
from typing import Literal

from kefu.channel_state.inboxes import ChannelInbox
from kefu.context import Kefu
from kefu.conversations.actions import Actor, reply
from kefu.conversations.optout import set_subscribed
from kefu.model import SenderKind

Command = Literal["stop", "start", "help"]

STOP = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "END", "QUIT", "CANCEL", "退订", "TD", "T"})
START = frozenset({"START", "UNSTOP", "SUBSCRIBE", "订阅"})
HELP = frozenset({"HELP", "INFO", "帮助"})

STOPPED = (
    "您已退订，将不再收到此号码的消息。回复 START 或 订阅 可重新订阅。"
    " / You are unsubscribed and will get no more messages from this number. "
    "Reply START to subscribe again."
)
STARTED = (
    "您已重新订阅。回复 TD 或 退订 可退订。 / You are subscribed again. Reply STOP to unsubscribe."
)

_EDGES = re.compile(r"^[\s\W_]+|[\s\W_]+$")


def command_of(text: str) -> Command | None:
    word = _EDGES.sub("", text).upper()
    if word in STOP:
        return "stop"
    if word in START:
        return "start"
    if word in HELP:
        return "help"
    return None


async def act_on(
    kefu: Kefu, inbox: ChannelInbox, conversation_id: uuid.UUID | None, text: str
) -> Command | None:
    """Apply a command the customer texted: opt-out and resubscribe are recorded by the
    core and confirmed once; HELP is answered from the inbox's settings."""
    command = command_of(text)
    if command is None or conversation_id is None:
        return command
    system = Actor(workspace_id=inbox.workspace_id, kind=SenderKind.system)
    if command == "help":
        answer = str(inbox.config.get("help_text") or "").strip()
        if answer:
            await reply(kefu, conversation_id, system, answer)
        return command
    if await set_subscribed(kefu, conversation_id, command == "start", text.strip()):
        await reply(kefu, conversation_id, system, STARTED if command == "start" else STOPPED)
    return command
