"""A reply committed by a server that dies before sending it is delivered by the next."""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import httpx
import pytest
import sqlalchemy as sa

from kefu.context import Kefu
from kefu.conversations.ingest import ingest
from kefu.db.tables import Message
from kefu.demo import Demo
from kefu.inboxes.schemas import InboxCreate
from kefu.inboxes.service import create_inbox
from kefu.model import ChannelKind, Identity, Inbound
from kefu.settings import Settings
from tests.conftest import PASSWORD, login_of
from tests.servers import KefuProcess, Receiver

# Engine-sensitive (what a killed process committed, claimed again with SKIP LOCKED): SQLite and PostgreSQL.
pytestmark = pytest.mark.engine_sensitive


async def test_reply_committed_before_a_sigkill_is_delivered_after_restart(
    kefu: Kefu, settings: Settings, workspace: Demo
) -> None:
    receiver = Receiver()
    try:
        inbox = await create_inbox(
            kefu,
            workspace.workspace_id,
            InboxCreate(kind=ChannelKind.api, name="CRM", config={"webhook_url": receiver.url}),
        )
        result = await ingest(
            kefu,
            Inbound(
                inbox_id=inbox.id,
                identity=Identity("external", "crm-7"),
                channel_message_id="m1",
                body="hi",
            ),
        )
        # First server: the dispatcher is off, so the reply can only be committed.
        first = await asyncio.to_thread(KefuProcess, settings, KEFU_RUN_DISPATCHER="false")
        try:
            async with httpx.AsyncClient(base_url=first.url) as http:
                token = (
                    await http.post(
                        "/api/v1/auth/login",
                        json={"email": login_of(workspace, "lina"), "password": PASSWORD},
                    )
                ).json()["token"]
                sent = await http.post(
                    f"/api/v1/conversations/{result.conversation_id}/messages",
                    json={"body": "已为您加急处理"},
                    headers={"Authorization": f"Bearer {token}"},
                )
            assert sent.status_code == 201, sent.text
            assert sent.json()["delivery_status"] == "pending"
        finally:
            first.kill()
        assert receiver.requests == []

        second = await asyncio.to_thread(KefuProcess, settings)
        try:
            deadline = time.monotonic() + 20
            status = "pending"
            while time.monotonic() < deadline and status != "sent":
                await asyncio.sleep(0.2)
                async with kefu.db.session() as session:
                    status = await session.scalar(
                        sa.select(Message.delivery_status).where(
                            Message.id == uuid.UUID(sent.json()["id"])
                        )
                    )
        finally:
            second.stop()
        assert status == "sent"
        assert len(receiver.requests) == 1
        assert json.loads(receiver.requests[0][1])["text"] == "已为您加急处理"
    finally:
        receiver.close()
