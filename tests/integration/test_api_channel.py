"""The generic API channel: signed webhooks in, signed webhooks out, bad input refused
with a problem response and nothing written."""

from __future__ import annotations

import json
import time
import uuid

import httpx
import pytest
import sqlalchemy as sa

from kefu.connectors.api.channel import ApiConnector
from kefu.connectors.signing import SignatureError, sign, signed_headers, verify
from kefu.context import Kefu
from kefu.conversations.actions import Actor, reply
from kefu.conversations.outbox import dispatch_due
from kefu.db.tables import Contact, Conversation, Message
from kefu.demo import Demo
from kefu.inboxes.schemas import InboxCreate
from kefu.inboxes.service import create_inbox
from kefu.model import ChannelKind, SenderKind, utcnow
from tests.servers import Receiver

SECRET = "s3cret-for-tests"


async def _api_inbox(
    kefu: Kefu, demo: Demo, webhook_url: str = "http://127.0.0.1:9/none"
) -> uuid.UUID:
    inbox = await create_inbox(
        kefu,
        demo.workspace_id,
        InboxCreate(
            kind=ChannelKind.api,
            name="CRM",
            config={"webhook_url": webhook_url, "signing_secret": SECRET},
        ),
    )
    return inbox.id


def _payload(message_id: str = "crm-1", text: str = "订单 123 什么时候到？") -> bytes:
    return json.dumps(
        {"message_id": message_id, "user": {"id": "u-1", "name": "张三"}, "text": text}
    ).encode()


async def _rows(kefu: Kefu) -> tuple[int, int, int]:
    async with kefu.db.session() as session:
        counts = []
        for model in (Contact, Conversation, Message):
            counts.append(
                int(await session.scalar(sa.select(sa.func.count()).select_from(model)) or 0)
            )
    return counts[0], counts[1], counts[2]


def test_signature_round_trip_and_refusals() -> None:
    body = b'{"a":1}'
    now = 1_800_000_000
    headers = signed_headers(SECRET, body, now=now)
    verify(
        SECRET,
        body,
        headers["X-Kefu-Timestamp"],
        headers["X-Kefu-Signature"],
        tolerance=300,
        now=now + 10,
    )
    with pytest.raises(SignatureError, match="does not match"):
        verify(
            SECRET,
            body + b" ",
            headers["X-Kefu-Timestamp"],
            headers["X-Kefu-Signature"],
            tolerance=300,
            now=now,
        )
    with pytest.raises(SignatureError, match="replay"):
        verify(
            SECRET,
            body,
            headers["X-Kefu-Timestamp"],
            headers["X-Kefu-Signature"],
            tolerance=300,
            now=now + 301,
        )
    assert sign(SECRET, now, body) == headers["X-Kefu-Signature"]


@pytest.mark.engine_sensitive
async def test_signed_message_is_ingested_and_a_retry_is_stored_once(
    client: httpx.AsyncClient, kefu: Kefu, workspace: Demo
) -> None:
    inbox_id = await _api_inbox(kefu, workspace)
    body = _payload()
    for _ in range(3):
        response = await client.post(
            f"/connectors/api/{inbox_id}", content=body, headers=signed_headers(SECRET, body)
        )
        assert response.status_code == 202, response.text
    assert response.json()["duplicate"] is True
    assert await _rows(kefu) == (1, 1, 1)


@pytest.mark.engine_sensitive
@pytest.mark.parametrize(
    ("case", "status", "reason"),
    [
        ("bad signature", 403, "signature does not match"),
        ("replayed timestamp", 403, "replay"),
        ("no signature", 403, "required"),
        ("malformed json", 400, "not valid JSON"),
        ("missing user", 400, "user: This is required"),
        ("empty text", 400, "needs text"),
        ("unknown inbox", 404, "no API inbox"),
        ("too large", 413, ""),
    ],
)
async def test_bad_input_gets_a_problem_and_writes_nothing(
    client: httpx.AsyncClient, kefu: Kefu, workspace: Demo, case: str, status: int, reason: str
) -> None:
    inbox_id = await _api_inbox(kefu, workspace)
    body = _payload()
    headers = signed_headers(SECRET, body)
    url = f"/connectors/api/{inbox_id}"
    if case == "bad signature":
        headers = signed_headers("wrong-secret", body)
    elif case == "replayed timestamp":
        headers = signed_headers(SECRET, body, now=time.time() - 3600)
    elif case == "no signature":
        headers = {"content-type": "application/json"}
    elif case == "malformed json":
        body = b'{"message_id": "x", '
        headers = signed_headers(SECRET, body)
    elif case == "missing user":
        body = b'{"message_id": "x", "text": "hi"}'
        headers = signed_headers(SECRET, body)
    elif case == "empty text":
        body = _payload(text="   ")
        headers = signed_headers(SECRET, body)
    elif case == "unknown inbox":
        url = f"/connectors/api/{uuid.uuid4()}"
    elif case == "too large":
        body = _payload(text="x" * (kefu.settings.max_body_bytes + 10))
        headers = signed_headers(SECRET, body)
    response = await client.post(url, content=body, headers=headers)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert reason in response.json()["detail"]
    assert await _rows(kefu) == (0, 0, 0)


async def test_reply_is_posted_signed_to_the_inbox_webhook(
    client: httpx.AsyncClient, kefu: Kefu, workspace: Demo
) -> None:
    receiver = Receiver()
    try:
        kefu.connectors.register(ApiConnector(kefu.outbound))
        inbox_id = await _api_inbox(kefu, workspace, receiver.url)
        body = _payload()
        accepted = (
            await client.post(
                f"/connectors/api/{inbox_id}", content=body, headers=signed_headers(SECRET, body)
            )
        ).json()
        agent = Actor(
            workspace_id=workspace.workspace_id,
            kind=SenderKind.agent,
            user_id=workspace.logins[1].id,
            name="Li Na",
        )
        view = await reply(kefu, uuid.UUID(accepted["conversation_id"]), agent, "明天送达")
        await dispatch_due(kefu, utcnow())
        assert len(receiver.requests) == 1
        headers, raw = receiver.requests[0]
        lower = {k.lower(): v for k, v in headers.items()}
        verify(SECRET, raw, lower["x-kefu-timestamp"], lower["x-kefu-signature"], tolerance=60)
        sent = json.loads(raw)
        assert (sent["recipient"], sent["text"], sent["message_id"]) == (
            "u-1",
            "明天送达",
            str(view.id),
        )
    finally:
        receiver.close()
