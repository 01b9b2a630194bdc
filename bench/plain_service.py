"""The baseline the end-to-end benchmark measures kefu against: a minimal hand-written
Litestar service doing the least a webhook receiver must do. It checks the same HMAC
signature (`kefu.connectors.signing.verify`), stores one row with one INSERT (asyncpg on
PostgreSQL, aiosqlite on SQLite with kefu's pragmas) and forwards the message to the
agent sockets connected to it. The widget path: a visitor socket whose `send` frames are
stored the same way and acknowledged.

Run: `python -m bench.plain_service --port P --database URL --secret S` (URL as kefu's:
postgresql+asyncpg://... or sqlite+aiosqlite:///path)."""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from typing import Any

import msgspec
import uvicorn
from litestar import Litestar, Request, WebSocket, get, post, websocket
from litestar.exceptions import HTTPException, WebSocketDisconnect

from kefu.connectors.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, SignatureError, verify


class User(msgspec.Struct, frozen=True):
    id: str


class Hook(msgspec.Struct, frozen=True):
    message_id: str
    user: User
    text: str = ""


class Frame(msgspec.Struct, frozen=True):
    type: str
    client_id: str | None = None
    body: str = ""


_encode = msgspec.json.Encoder().encode
_decode_hook = msgspec.json.Decoder(Hook).decode
_decode_frame = msgspec.json.Decoder(Frame).decode

CREATE = (
    "CREATE TABLE IF NOT EXISTS plain_messages (id TEXT PRIMARY KEY, inbox_id TEXT NOT NULL, "
    "customer TEXT NOT NULL, channel_message_id TEXT NOT NULL, body TEXT NOT NULL, "
    "created_at DOUBLE PRECISION NOT NULL, UNIQUE (inbox_id, channel_message_id))"
)


class Store:
    async def start(self) -> None: ...
    async def insert(self, inbox: str, customer: str, key: str, body: str) -> None: ...


class PgStore(Store):
    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.pool: Any = None

    async def start(self) -> None:
        import asyncpg

        self.pool = await asyncpg.create_pool(self.dsn, min_size=4, max_size=20)
        await self.pool.execute(CREATE)

    async def insert(self, inbox: str, customer: str, key: str, body: str) -> None:
        await self.pool.execute(
            "INSERT INTO plain_messages VALUES ($1, $2, $3, $4, $5, $6)",
            str(uuid.uuid4()),
            inbox,
            customer,
            key,
            body,
            time.time(),
        )


class SqliteStore(Store):
    def __init__(self, path: str) -> None:
        self.path = path
        self.conn: Any = None
        self.lock = asyncio.Lock()

    async def start(self) -> None:
        import aiosqlite

        self.conn = await aiosqlite.connect(self.path, isolation_level=None)
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=30000"):
            await self.conn.execute(f"PRAGMA {pragma}")
        await self.conn.execute(CREATE)

    async def insert(self, inbox: str, customer: str, key: str, body: str) -> None:
        async with self.lock:  # one transaction per message, as a plain service does
            await self.conn.execute(
                "INSERT INTO plain_messages VALUES (?, ?, ?, ?, ?, ?)",
                (str(uuid.uuid4()), inbox, customer, key, body, time.time()),
            )


def build(database: str, secret: str) -> Litestar:
    if database.startswith("sqlite"):
        store: Store = SqliteStore(database.split(":///", 1)[1])
    else:
        store = PgStore(database.replace("postgresql+asyncpg://", "postgresql://"))
    agents: set[WebSocket[Any, Any, Any]] = set()

    def fan_out(inbox: str, customer: str, body: str) -> None:
        frame = _encode({"type": "message", "message": {"inbox_id": inbox, "body": body}})
        text = frame.decode()
        for agent in list(agents):
            asyncio.get_running_loop().create_task(agent.send_text(text))

    @post("/connectors/api/{inbox_id:str}", status_code=202)
    async def hook(request: Request[Any, Any, Any], inbox_id: str) -> dict[str, Any]:
        body = await request.body()
        try:
            verify(
                secret,
                body,
                request.headers.get(TIMESTAMP_HEADER),
                request.headers.get(SIGNATURE_HEADER),
                tolerance=300,
            )
        except SignatureError as exc:
            raise HTTPException(status_code=403, detail=str(exc)) from None
        payload = _decode_hook(body)
        await store.insert(inbox_id, payload.user.id, payload.message_id, payload.text)
        fan_out(inbox_id, payload.user.id, payload.text)
        return {"duplicate": False}

    @websocket("/ws/agent")
    async def agent(socket: WebSocket[Any, Any, Any]) -> None:
        await socket.accept()
        await socket.send_text('{"type":"hello"}')
        agents.add(socket)
        try:
            while True:
                await socket.receive_text()
        except WebSocketDisconnect:
            pass
        finally:
            agents.discard(socket)

    @websocket("/ws/visitor")
    async def visitor(socket: WebSocket[Any, Any, Any]) -> None:
        customer = socket.query_params.get("token", "")
        await socket.accept()
        try:
            while True:
                frame = _decode_frame(await socket.receive_text())
                if frame.type == "send" and frame.client_id:
                    await store.insert("widget", customer, frame.client_id, frame.body)
                    fan_out("widget", customer, frame.body)
                    await socket.send_text(
                        _encode({"type": "ack", "client_id": frame.client_id}).decode()
                    )
        except WebSocketDisconnect:
            pass

    @get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return Litestar([hook, agent, visitor, health], on_startup=[store.start])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--database", required=True)
    parser.add_argument("--secret", required=True)
    args = parser.parse_args()
    uvicorn.run(
        build(args.database, args.secret),
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
        ws="websockets-sansio",
    )


if __name__ == "__main__":
    main()
