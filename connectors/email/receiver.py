"""The optional built-in SMTP receiver (aiosmtpd), off by default
(`KEFU_EMAIL_SMTP_RECEIVER`): a mail to an e-mail inbox's address (or its +token form)
is taken in like the raw-MIME endpoint; mail to any other address is refused."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from kefu.channel_state.inboxes import ChannelInbox
from kefu.connectors.email import intake
from kefu.connectors.media import MediaStore
from kefu.context import Kefu
from kefu.mail import store

log = logging.getLogger("kefu.email")


def _base(address: str) -> str:
    local, _, domain = address.lower().partition("@")
    return local.split("+", 1)[0] + "@" + domain


class Handler:
    def __init__(self, kefu: Kefu, media: MediaStore) -> None:
        self.kefu = kefu
        self.media = media

    async def _inboxes(self) -> dict[str, ChannelInbox]:
        return {
            str(i.config.get("address", "")).lower(): i
            for i in await store.email_inboxes(self.kefu)
        }

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if _base(address) not in await self._inboxes():
            return "550 5.1.1 no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        if len(raw) > self.kefu.settings.email_max_bytes:
            return "552 5.3.4 message too big"
        inboxes = await self._inboxes()
        for rcpt in dict.fromkeys(_base(r) for r in envelope.rcpt_tos):
            inbox = inboxes.get(rcpt)
            if inbox is not None:
                try:
                    await intake.take(self.kefu, inbox, raw, source="smtp", media=self.media)
                except Exception:
                    log.exception("SMTP receiver could not store a mail for %s", rcpt)
                    return "451 4.3.0 try again later"
        return "250 OK stored"


async def run(kefu: Kefu, media: MediaStore, stop: asyncio.Event) -> None:
    from aiosmtpd.controller import Controller

    settings = kefu.settings
    # aiosmtpd's Controller runs its own loop in a thread; our handler must run on the
    # app's loop (its database engine lives there).
    controller = Controller(
        _OnLoop(Handler(kefu, media), asyncio.get_running_loop()),
        hostname=settings.email_smtp_host,
        port=settings.email_smtp_port,
        data_size_limit=settings.email_max_bytes,
    )
    await asyncio.to_thread(controller.start)
    try:
        await stop.wait()
    finally:
        await asyncio.to_thread(controller.stop)


class _OnLoop:
    """Run each hook on the app's event loop and wait for it from aiosmtpd's."""

    def __init__(self, handler: Handler, loop: asyncio.AbstractEventLoop) -> None:
        self.handler = handler
        self.loop = loop

    async def handle_RCPT(self, *args: Any) -> str:
        future = asyncio.run_coroutine_threadsafe(self.handler.handle_RCPT(*args), self.loop)
        return await asyncio.wrap_future(future)

    async def handle_DATA(self, *args: Any) -> str:
        future = asyncio.run_coroutine_threadsafe(self.handler.handle_DATA(*args), self.loop)
        return await asyncio.wrap_future(future)
