"""The IMAP worker: one task per e-mail inbox with an IMAP server, IDLE (or poll) and
fetch by UID past the durable cursor (`kefu.mail.store`). A mail is flagged and the
cursor moved only after `intake.take` committed it (or set it aside with the reason),
so a crash in between fetches it again, and its Message-ID stores it once. A UIDVALIDITY
change starts the folder over, where every Message-ID already known is skipped."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid

from kefu.channel_state.inboxes import ChannelInbox
from kefu.connectors.config import as_struct
from kefu.connectors.email import intake
from kefu.connectors.email.config import EmailConfig
from kefu.connectors.email.imap import ImapFailure, Mailbox
from kefu.connectors.media import MediaStore
from kefu.context import Kefu
from kefu.mail import store

log = logging.getLogger("kefu.email")
IDLE_MAX_SECONDS = 25 * 60  # RFC 2177: re-issue IDLE at least every 29 minutes


def open_mailbox(inbox: ChannelInbox) -> Mailbox:
    config = as_struct(EmailConfig, inbox.config)
    return Mailbox(
        config.imap_host,
        config.imap_port,
        config.imap_security,
        config.imap_user or config.address,
        str(inbox.secrets.get("imap_password", "")),
    )


async def sync_once(
    kefu: Kefu, inbox: ChannelInbox, media: MediaStore, box: Mailbox | None = None
) -> int:
    """Take every mail past the cursor; returns how many were taken (stored or set aside)."""
    config = as_struct(EmailConfig, inbox.config)
    folder = config.imap_folder or "INBOX"
    own = box is None
    if box is None:
        box = await asyncio.to_thread(open_mailbox, inbox)
    try:
        validity = await asyncio.to_thread(box.select, folder)
        cursor = await store.cursor(kefu, inbox.id, folder)
        if cursor is None or cursor.uidvalidity != validity:
            if cursor is not None:
                log.warning("inbox %s: UIDVALIDITY of %s changed; rescanning", inbox.id, folder)
            await store.save_cursor(kefu, inbox.id, folder, validity, 0)
            last = 0
        else:
            last = cursor.last_uid
            await store.record_error(kefu, inbox.id, folder, None)
        taken = 0
        limit = kefu.settings.email_max_bytes
        for uid in await asyncio.to_thread(box.uids_after, last):
            size = await asyncio.to_thread(box.size, uid)
            if size > limit:
                await store.record_item(
                    kefu,
                    inbox.id,
                    source="imap",
                    status="failed",
                    reason=f"the mail is {size} bytes, over the {limit}-byte limit",
                    raw=None,
                    uidvalidity=validity,
                    uid=uid,
                )
            else:
                raw = await asyncio.to_thread(box.fetch, uid)
                if raw is not None:
                    await intake.take(
                        kefu,
                        inbox,
                        raw,
                        source="imap",
                        media=media,
                        uidvalidity=validity,
                        uid=uid,
                    )
            await asyncio.to_thread(box.acknowledge, uid)
            await store.save_cursor(kefu, inbox.id, folder, validity, uid)
            taken += 1
        return taken
    finally:
        if own:
            await asyncio.to_thread(box.close)


async def watch(kefu: Kefu, inbox: ChannelInbox, media: MediaStore) -> None:
    """Sync, then IDLE (or sleep the poll interval), forever; login failures are kept
    on the inbox's cursor and retried with back-off. Cancel to stop."""
    config = as_struct(EmailConfig, inbox.config)
    folder = config.imap_folder or "INBOX"
    delay = 5.0
    while True:
        box: Mailbox | None = None
        try:
            box = await asyncio.to_thread(open_mailbox, inbox)
            while True:
                await sync_once(kefu, inbox, media, box)
                delay = 5.0
                if config.imap_idle:
                    wait = min(config.poll_seconds, IDLE_MAX_SECONDS)
                    await asyncio.to_thread(box.idle, wait)
                else:
                    await asyncio.sleep(config.poll_seconds)
        except asyncio.CancelledError:
            if box is not None:
                box.abort()
            raise
        except ImapFailure as exc:
            log.warning("inbox %s: %s", inbox.id, exc)
            with contextlib.suppress(Exception):
                await store.record_error(kefu, inbox.id, folder, str(exc))
        except Exception:
            log.exception("inbox %s: IMAP worker failed; retrying", inbox.id)
        if box is not None:
            box.abort()
        await asyncio.sleep(delay)
        delay = min(delay * 2, 600.0)


def _fingerprint(inbox: ChannelInbox) -> str:
    return repr((sorted(inbox.config.items()), sorted(inbox.secrets.items())))


async def run(kefu: Kefu, media: MediaStore, stop: asyncio.Event, every: float = 30.0) -> None:
    """Keep one `watch` task per e-mail inbox with an IMAP server, restarted when its
    settings change and stopped when it goes away."""
    tasks: dict[uuid.UUID, tuple[str, asyncio.Task[None]]] = {}
    try:
        while not stop.is_set():
            try:
                inboxes = [i for i in await store.email_inboxes(kefu) if i.config.get("imap_host")]
            except Exception:
                log.exception("could not list e-mail inboxes")
                inboxes = []
            wanted = {i.id: i for i in inboxes}
            for inbox_id in list(tasks):
                fingerprint, task = tasks[inbox_id]
                inbox = wanted.get(inbox_id)
                if inbox is None or _fingerprint(inbox) != fingerprint or task.done():
                    task.cancel()
                    del tasks[inbox_id]
            for inbox_id, inbox in wanted.items():
                if inbox_id not in tasks:
                    tasks[inbox_id] = (
                        _fingerprint(inbox),
                        asyncio.create_task(watch(kefu, inbox, media)),
                    )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)
    finally:
        for _, task in tasks.values():
            task.cancel()
        for _, task in tasks.values():
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
