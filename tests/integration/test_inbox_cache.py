"""Inbox rows are kept per process (kefu.caching): a change made by one process must
reach another `kefu serve` within `cache_check_seconds`, and the writing process must
see its own change at once."""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import httpx
import pytest

from kefu.channel_state.inboxes import active_inbox
from kefu.connectors.signing import signed_headers
from kefu.context import Kefu
from kefu.demo import Demo
from kefu.inboxes.schemas import InboxCreate, InboxUpdate
from kefu.inboxes.service import create_inbox, rotate_secret, update_inbox
from kefu.model import ChannelKind
from kefu.settings import Settings
from tests.servers import KefuProcess

# Engine-sensitive (the counter is an upsert, read by another process): SQLite and PostgreSQL.
pytestmark = pytest.mark.engine_sensitive

SECRET = "cache-test-signing-secret"
BOUND = 0.5  # KEFU_CACHE_CHECK_SECONDS of the server process


def _hook(n: int) -> bytes:
    return json.dumps({"message_id": f"m{n}", "user": {"id": "u1"}, "text": f"hi {n}"}).encode()


async def _status_until(
    http: httpx.AsyncClient, path: str, secret: str, want: int, deadline: float
) -> tuple[int, float]:
    """Post signed webhooks until one answers `want` (or the deadline); the status seen
    last and when."""
    n = 0
    while True:
        n += 1
        body = _hook(int(time.time() * 1000) * 100 + n)
        status = (
            await http.post(path, content=body, headers=signed_headers(secret, body))
        ).status_code
        if status == want or time.monotonic() > deadline:
            return status, time.monotonic()
        await asyncio.sleep(0.02)


async def test_an_inbox_change_in_one_process_reaches_another_within_the_bound(
    kefu: Kefu, settings: Settings, workspace: Demo
) -> None:
    inbox = await create_inbox(
        kefu,
        workspace.workspace_id,
        InboxCreate(kind=ChannelKind.api, name="CRM", config={"signing_secret": SECRET}),
    )
    path = f"/connectors/api/{inbox.id}"
    other = await asyncio.to_thread(
        KefuProcess, settings, KEFU_CACHE_CHECK_SECONDS=str(BOUND), KEFU_RUN_DISPATCHER="false"
    )
    try:
        async with httpx.AsyncClient(base_url=other.url, timeout=10) as http:
            body = _hook(1)
            first = await http.post(path, content=body, headers=signed_headers(SECRET, body))
            assert first.status_code == 202  # the other process now holds the inbox

            # Disabled here: the other process refuses its webhooks within the bound.
            await update_inbox(kefu, workspace.workspace_id, inbox.id, InboxUpdate(active=False))
            changed = time.monotonic()
            status, seen = await _status_until(http, path, SECRET, 404, changed + 10)
            assert status == 404
            assert seen - changed < BOUND + 1.0

            # Enabled again, then the secret rotated: the old secret stops working there.
            await update_inbox(kefu, workspace.workspace_id, inbox.id, InboxUpdate(active=True))
            status, _ = await _status_until(http, path, SECRET, 202, time.monotonic() + 10)
            assert status == 202
            rotated = await rotate_secret(kefu, workspace.workspace_id, inbox.id, "signing_secret")
            new_secret = (rotated.generated_secrets or {})["signing_secret"]
            changed = time.monotonic()
            status, seen = await _status_until(http, path, SECRET, 403, changed + 10)
            assert status == 403
            assert seen - changed < BOUND + 1.0
            status, _ = await _status_until(http, path, new_secret, 202, time.monotonic() + 10)
            assert status == 202
    finally:
        other.stop()


async def test_the_writing_process_sees_its_own_change_at_once(kefu: Kefu, workspace: Demo) -> None:
    inbox = await create_inbox(
        kefu,
        workspace.workspace_id,
        InboxCreate(kind=ChannelKind.api, name="CRM", config={"signing_secret": SECRET}),
    )
    assert kefu.settings.cache_check_seconds >= 1.0  # the copy is trusted for a while
    assert (await active_inbox(kefu, inbox.id, ChannelKind.api)) is not None
    await update_inbox(kefu, workspace.workspace_id, inbox.id, InboxUpdate(active=False))
    assert await active_inbox(kefu, inbox.id, ChannelKind.api) is None
    await update_inbox(kefu, workspace.workspace_id, inbox.id, InboxUpdate(name="CRM 2"))
    await update_inbox(kefu, workspace.workspace_id, inbox.id, InboxUpdate(active=True))
    view = await active_inbox(kefu, inbox.id, ChannelKind.api)
    assert view is not None and view.name == "CRM 2"
    assert await active_inbox(kefu, uuid.uuid4()) is None
