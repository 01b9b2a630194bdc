"""The production shape, proven on this machine: Debian's nginx (deploy/nginx.conf) in
front of two `kefu serve` processes on PostgreSQL, fan-out through Redis or through
PostgreSQL NOTIFY. Visitors chat by websocket through nginx, two agents reply through
nginx, an API-channel sender posts webhooks through nginx; one kefu process is
SIGKILLed mid-traffic and nginx sends everything to the other.

Asserted: every acknowledged visitor message and webhook is stored exactly once; every
agent reply reaches its visitor (through the socket, or on catch-up after reconnecting
through nginx) or its API receiver exactly once; no agent is ever over capacity; the
client address kefu records is the one nginx saw, not the one the client claimed."""

from __future__ import annotations

import asyncio
import collections
import functools
import json
import time
import uuid
from collections.abc import Awaitable, Callable

import httpx
import msgspec
import pytest
import sqlalchemy as sa
import websockets

from kefu.audit.tables import AuditEntry
from kefu.connectors.signing import signed_headers
from kefu.context import Kefu
from kefu.db.tables import Conversation, Message, User
from kefu.demo import Demo
from kefu.inboxes.schemas import InboxCreate
from kefu.inboxes.service import create_inbox
from kefu.model import ChannelKind
from kefu.settings import Settings
from tests.conftest import PASSWORD, _truncate, login_of
from tests.servers import KefuProcess, NginxProcess, Receiver

pytestmark = pytest.mark.postgres

VISITORS = 6
MESSAGES = 4  # per visitor
API_USERS = 2
API_MESSAGES = 6  # per API user
REPLIES = 2  # per conversation, by its agent
CAPACITY = 3
SECRET = "soak-signing-secret-2026"
# About 20 s on a quiet two-core machine; far longer when it is shared with other suites.
DEADLINE = 150.0


class SlowStart(KefuProcess):
    # Two interpreters importing kefu at once on a shared two-core machine.
    READY_SECONDS = 90.0


@pytest.fixture
def database_url(request: pytest.FixtureRequest) -> str:
    """PostgreSQL only: the shape under test is two processes on one server."""
    url: str = request.getfixturevalue("pg_database")
    asyncio.run(_truncate(url))
    return url


class Soak:
    def __init__(self) -> None:
        self.started = time.monotonic()
        self.stop = asyncio.Event()
        self.visitor_acks = 0
        self.visitor_duplicate_acks = 0
        self.reconnects = 0
        self.catch_up_reconnects = 0
        self.visitor_conversation: dict[int, str] = {}
        self.replies_live = 0
        self.replies_on_catch_up = 0
        self.http_retries = 0
        self.webhooks_acked: dict[str, str] = {}  # channel message id -> conversation id
        self.webhook_retries = 0
        # conversation id -> how many inbound messages it will have once its sender is done
        self.expected: dict[str, int] = {}
        self.finished: set[str] = set()  # conversations whose sender is done
        self.replies: dict[str, dict[str, str]] = collections.defaultdict(
            dict
        )  # conv -> body -> id
        self.resolved: set[str] = set()
        self.max_load = 0
        self.visitor_frames: dict[str, collections.Counter[str]] = {}  # conv -> reply id -> frames
        self.visitor_seen: dict[str, dict[str, str]] = {}  # conv -> reply id -> body
        self.killed_at: float | None = None
        self.frame_kinds: dict[int, collections.Counter[str]] = {}  # visitor -> frame types

    def elapsed(self) -> float:
        return time.monotonic() - self.started


async def retrying(soak: Soak, call: Callable[[], Awaitable[httpx.Response]]) -> httpx.Response:
    """What a client does when a process dies under it: try again (through nginx, which
    now sends it to the other process). 5xx and dropped connections only."""
    for _ in range(40):
        try:
            response = await call()
        except httpx.TransportError:
            soak.http_retries += 1
            await asyncio.sleep(0.2)
            continue
        if response.status_code >= 500:
            soak.http_retries += 1
            await asyncio.sleep(0.2)
            continue
        return response
    raise AssertionError("no process answered for 8 s")


def client_from(base: str, local: str) -> httpx.AsyncClient:
    """A client connecting from its own loopback address, as a distinct client would."""
    transport = httpx.AsyncHTTPTransport(local_address=local)
    return httpx.AsyncClient(base_url=base, transport=transport, timeout=10)


async def visitor(soak: Soak, base: str, widget_key: str, n: int) -> None:
    local = f"127.1.0.{n + 1}"
    async with client_from(base, local) as http:
        made = await retrying(
            soak,
            lambda: http.post(
                "/api/v1/widget/sessions",
                json={"inbox": widget_key},
                headers={"X-Forwarded-For": "6.6.6.6"},  # ignored: nginx is the one trusted
            ),
        )
    assert made.status_code == 200, made.text
    token = made.json()["token"]
    ws_url = base.replace("http://", "ws://") + f"/ws/visitor?token={token}"
    client_ids = [f"visitor{n}-msg{i}" for i in range(MESSAGES)]
    acked: set[str] = set()
    seqs: set[int] = set()
    conversation: str | None = None
    frames: collections.Counter[str] = collections.Counter()
    seen: dict[str, str] = {}
    kinds = soak.frame_kinds.setdefault(n, collections.Counter())

    def caught_up_to() -> int:
        after = 0
        while after + 1 in seqs:
            after += 1
        return after

    while not soak.stop.is_set():
        if conversation and len(acked) == MESSAGES and len(seen) >= REPLIES:
            break
        try:
            async with websockets.connect(ws_url, local_addr=(local, 0), open_timeout=20) as ws:
                await ws.send(
                    json.dumps(
                        {"type": "resume", "conversation_id": conversation, "after": caught_up_to()}
                    )
                )
                replaying = True  # until "synced": what arrives is catch-up
                in_flight: str | None = None
                next_send = 0.0
                while not soak.stop.is_set():
                    if conversation and len(acked) == MESSAGES and len(seen) >= REPLIES:
                        break
                    if (
                        conversation in soak.resolved
                        and len(acked) == MESSAGES
                        and not replaying
                        and len(seen) < REPLIES
                    ):
                        # Resolved, yet replies missing from the live line: come back
                        # through nginx and catch up, as the widget does on reconnect.
                        soak.catch_up_reconnects += 1
                        await asyncio.sleep(0.5)
                        break
                    if (
                        in_flight is None
                        and len(acked) < MESSAGES
                        and time.monotonic() >= next_send
                    ):
                        in_flight = next(c for c in client_ids if c not in acked)
                        await ws.send(
                            json.dumps(
                                {
                                    "type": "send",
                                    "client_id": in_flight,
                                    "body": f"问题 {in_flight}",
                                }
                            )
                        )
                    try:
                        raw = await asyncio.wait_for(ws.recv(), timeout=0.3)
                    except TimeoutError:
                        continue
                    frame = json.loads(raw)
                    kinds[
                        frame["type"] + ":" + str(frame.get("message", {}).get("direction", ""))
                    ] += 1
                    if frame["type"] == "ack":
                        if frame["client_id"] not in acked:
                            soak.visitor_acks += 1
                        if frame["duplicate"]:
                            soak.visitor_duplicate_acks += 1
                        acked.add(frame["client_id"])
                        conversation = str(frame["conversation_id"])
                        soak.visitor_conversation[n] = conversation
                        seqs.add(int(frame["seq"]))
                        in_flight = None
                        next_send = time.monotonic() + 0.1
                        if len(acked) == MESSAGES:
                            soak.expected[conversation] = MESSAGES
                            soak.finished.add(conversation)
                    elif frame["type"] == "message":
                        message = frame["message"]
                        if conversation is None or str(message["conversation_id"]) == conversation:
                            seqs.add(int(message["seq"]))
                        if message["direction"] == "out" and message["sender_kind"] == "agent":
                            frames[message["id"]] += 1
                            if message["id"] not in seen:
                                if replaying:
                                    soak.replies_on_catch_up += 1
                                else:
                                    soak.replies_live += 1
                            seen[message["id"]] = message["body"]
                    elif frame["type"] == "synced":
                        replaying = False
                    elif frame["type"] == "error":
                        raise AssertionError(f"visitor {n} got {frame}")
        except (websockets.ConnectionClosed, OSError, websockets.InvalidStatus, TimeoutError):
            soak.reconnects += 1
            await asyncio.sleep(0.2)
    assert conversation is not None
    soak.visitor_frames[conversation] = frames
    soak.visitor_seen[conversation] = seen


async def webhooks(soak: Soak, base: str, inbox_id: uuid.UUID) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:

        async def one(user: int, i: int) -> None:
            message_id = f"crm-{user}-{i}"
            body = msgspec.json.encode(
                {"message_id": message_id, "user": {"id": f"u{user}"}, "text": f"工单 {i}"}
            )
            while True:
                # Signed afresh on every try, as a real sender does.
                response = await retrying(
                    soak,
                    lambda: http.post(
                        f"/connectors/api/{inbox_id}",
                        content=body,
                        headers=signed_headers(SECRET, body),
                    ),
                )
                if response.status_code == 202:
                    break
                raise AssertionError(
                    f"webhook {message_id}: {response.status_code} {response.text}"
                )
            conversation = str(response.json()["conversation_id"])
            soak.webhooks_acked[message_id] = conversation
            soak.expected[conversation] = API_MESSAGES

        for i in range(API_MESSAGES):
            await asyncio.gather(*(one(user, i) for user in range(API_USERS)))
            await asyncio.sleep(0.2)
        for conversation in set(soak.webhooks_acked.values()):
            soak.finished.add(conversation)


async def agent(soak: Soak, base: str, email: str, local: str) -> None:
    async with client_from(base, local) as http:
        login = await retrying(
            soak,
            lambda: http.post(
                "/api/v1/auth/login",
                json={"email": email, "password": PASSWORD},
                headers={"X-Forwarded-For": "6.6.6.6"},
            ),
        )
        assert login.status_code == 200, login.text
        http.headers["Authorization"] = f"Bearer {login.json()['token']}"
        http.cookies.clear()
        while not soak.stop.is_set():
            page = await retrying(
                soak,
                lambda: http.get(
                    "/api/v1/conversations", params={"assignee": "me", "status": "open"}
                ),
            )
            assert page.status_code == 200, page.text
            for item in page.json()["items"]:
                cid = str(item["id"])
                sent = soak.replies[cid]
                if len(sent) < REPLIES:
                    body = f"回复 {cid} #{len(sent) + 1} ({email.split('@')[0]})"
                    # The client message id makes a retried reply the same reply.
                    reply = await retrying(
                        soak,
                        functools.partial(
                            http.post,
                            f"/api/v1/conversations/{cid}/messages",
                            json={
                                "body": body,
                                "client_message_id": f"r{uuid.UUID(cid).hex}-{len(sent)}",
                            },
                        ),
                    )
                    assert reply.status_code == 201, reply.text
                    sent[body] = str(reply.json()["id"])
                elif cid in soak.finished and cid not in soak.resolved:
                    done = await retrying(
                        soak, functools.partial(http.post, f"/api/v1/conversations/{cid}/resolve")
                    )
                    assert done.status_code < 300, done.text
                    soak.resolved.add(cid)
            await asyncio.sleep(0.5)


async def capacity_watch(soak: Soak, kefu: Kefu) -> None:
    """The busiest agent's load per channel kind (capacity "*" is per kind; here each
    kind has one inbox), sampled every 0.1 s from the database."""
    while not soak.stop.is_set():
        async with kefu.db.session() as session:
            loads = (
                await session.execute(
                    sa.select(sa.func.count())
                    .select_from(Conversation)
                    .where(
                        Conversation.assignee_id.is_not(None),
                        Conversation.status.in_(("open", "pending")),
                    )
                    .group_by(Conversation.assignee_id, Conversation.inbox_id)
                )
            ).scalars()
            soak.max_load = max([soak.max_load, *loads])
        await asyncio.sleep(0.1)


@pytest.mark.parametrize("fanout", ["redis", "postgres"])
async def test_two_processes_behind_nginx_survive_a_sigkill(
    kefu: Kefu, settings: Settings, workspace: Demo, fanout: str
) -> None:
    receiver = Receiver()
    api = await create_inbox(
        kefu,
        workspace.workspace_id,
        InboxCreate(
            kind=ChannelKind.api,
            name="CRM",
            config={"webhook_url": receiver.url, "signing_secret": SECRET},
        ),
    )
    agents = [login_of(workspace, "lina"), login_of(workspace, "tom")]
    async with kefu.db.transaction() as session:
        await session.execute(
            sa.update(User)
            .where(User.email.in_(agents))
            .values(presence="online", capacity={"*": CAPACITY})
        )
    env = {
        "KEFU_FANOUT": fanout,
        "KEFU_TRUSTED_PROXIES": "127.0.0.2/32",
        "KEFU_QUEUE_SWEEP_SECONDS": "0.5",
    }
    if fanout == "redis":
        env["KEFU_REDIS_URL"] = "redis://127.0.0.1:6379/0"
    first, second = await asyncio.gather(
        asyncio.to_thread(SlowStart, settings, **env),
        asyncio.to_thread(SlowStart, settings, **env),
    )
    nginx = await asyncio.to_thread(
        NginxProcess, (f"127.0.0.1:{first.port}", f"127.0.0.1:{second.port}")
    )
    soak = Soak()
    try:

        async def killer() -> None:
            while soak.visitor_acks < VISITORS * MESSAGES * 0.3 and not soak.stop.is_set():
                await asyncio.sleep(0.05)
            await asyncio.to_thread(first.kill)
            soak.killed_at = soak.elapsed()

        def finished() -> bool:
            every = set(soak.expected)
            return (
                len(soak.visitor_frames) == VISITORS
                and len(soak.webhooks_acked) == API_USERS * API_MESSAGES
                and every <= soak.resolved
            )

        async def until_done() -> None:
            while not finished():
                for task in background:
                    if task.done():
                        task.result()  # an agent or the watcher failed: say why, now
                        raise AssertionError(f"{task.get_coro()} ended early")
                if soak.elapsed() > DEADLINE:
                    raise AssertionError(
                        f"not done after {DEADLINE} s: {len(soak.visitor_frames)} visitors done, "
                        f"{len(soak.webhooks_acked)} webhooks, {len(soak.resolved)} of "
                        f"{len(soak.expected)} resolved, {len(receiver.requests)} API replies, "
                        f"{soak.visitor_acks} visitor acks, {soak.reconnects} reconnects, killed "
                        f"at {soak.killed_at}; frames {soak.frame_kinds}; survivor log: {second.tail()[-600:]}"
                    )
                await asyncio.sleep(0.1)
            soak.stop.set()

        background = [
            asyncio.create_task(agent(soak, nginx.url, agents[0], "127.3.0.1")),
            asyncio.create_task(agent(soak, nginx.url, agents[1], "127.3.0.2")),
            asyncio.create_task(capacity_watch(soak, kefu)),
        ]
        kill = asyncio.create_task(killer())
        traffic = [
            *(visitor(soak, nginx.url, workspace.widget_key, n) for n in range(VISITORS)),
            webhooks(soak, nginx.url, api.id),
        ]
        try:
            await asyncio.gather(until_done(), *traffic)
        finally:
            soak.stop.set()
            await asyncio.gather(kill, *background, return_exceptions=True)
            for task in background:
                if task.done() and not task.cancelled() and task.exception():
                    raise task.exception()  # type: ignore[misc]
        # The outbox delivers API replies after the agents are done: wait for it.
        outbox_deadline = time.monotonic() + 60
        while len(receiver.requests) < API_USERS * REPLIES and time.monotonic() < outbox_deadline:
            await asyncio.sleep(0.2)
        await asyncio.sleep(0.5)  # and would anything arrive twice?
    finally:
        nginx.stop()
        second.stop()
        first.kill()
        receiver.close()

    assert soak.killed_at is not None, "the first process was never killed"

    async with kefu.db.session() as session:
        rows = (
            await session.execute(
                sa.select(
                    Message.conversation_id,
                    Message.client_message_id,
                    Message.channel_message_id,
                    Message.direction,
                    Message.body,
                )
            )
        ).all()
    inbound = [r for r in rows if r.direction == "in"]
    # Visitor messages: each acknowledged client id stored once, nothing else.
    visitor_rows = collections.Counter(r.client_message_id for r in inbound if r.client_message_id)
    assert len(visitor_rows) == VISITORS * MESSAGES
    assert set(visitor_rows.values()) == {1}
    # Webhooks: each acknowledged channel message id stored once.
    api_rows = collections.Counter(r.channel_message_id for r in inbound if r.channel_message_id)
    assert set(api_rows) == set(soak.webhooks_acked)
    assert set(api_rows.values()) == {1}
    # Replies: each stored once; each web reply seen by its visitor once, each API
    # reply posted to the receiver once.
    replies = [r for r in rows if r.direction == "out"]
    sent = {body: rid for by_body in soak.replies.values() for body, rid in by_body.items()}
    assert sorted(r.body for r in replies) == sorted(sent)
    web_replies = 0
    for conversation, seen in soak.visitor_seen.items():
        assert sorted(seen.values()) == sorted(soak.replies[conversation]), conversation
        web_replies += len(seen)
    delivered = collections.Counter(json.loads(body)["message_id"] for _, body in receiver.requests)
    api_conversations = set(soak.webhooks_acked.values())
    expected_api = {rid for c in api_conversations for rid in soak.replies[c].values()}
    assert set(delivered) == expected_api
    assert set(delivered.values()) == {1}, delivered
    assert 0 < soak.max_load <= CAPACITY
    # The address recorded for the agents' sign-ins is the one nginx saw.
    async with kefu.db.session() as session:
        ips = set(
            (
                await session.scalars(
                    sa.select(AuditEntry.ip).where(AuditEntry.action == "auth.login")
                )
            ).all()
        )
    assert ips == {"127.3.0.1", "127.3.0.2"}, ips

    print(
        f"\nsoak ({fanout} fan-out): {soak.elapsed():.1f} s, first process SIGKILLed at "
        f"{soak.killed_at:.1f} s; visitor messages acknowledged {soak.visitor_acks} "
        f"(stored {sum(visitor_rows.values())}, re-acknowledged as duplicates "
        f"{soak.visitor_duplicate_acks}); webhooks acknowledged {len(soak.webhooks_acked)} "
        f"(stored {sum(api_rows.values())}); replies {len(replies)}: {web_replies} to visitors, "
        f"{sum(delivered.values())} to the API receiver, each exactly once; visitor replies seen "
        f"live {soak.replies_live}, on catch-up {soak.replies_on_catch_up} (catch-up reconnects "
        f"{soak.catch_up_reconnects}, repeated frames {sum(sum(f.values()) - len(f) for f in soak.visitor_frames.values())}); "
        f"visitor reconnects {soak.reconnects}; HTTP retries {soak.http_retries}; max load {soak.max_load}/{CAPACITY}",
        flush=True,
    )
