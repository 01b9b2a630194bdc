"""The end-to-end benchmark's load generator, run in its own process so that the server
measured shares nothing with it but the machine. It reads one JSON case on the command
line, drives it and prints one JSON result on stdout.

Webhooks go over a minimal keep-alive HTTP/1.1 client (asyncio streams: a few µs of
client CPU a request, against a millisecond or more for httpx), signed as the API
channel expects. Widget messages go over visitor websockets. Agent sockets count each
message's arrival; latency is from the moment a message was due (closed loop: sent;
open loop: its slot in the schedule, so a backlog shows as latency) to its arrival on
the agent socket.

Connections are spread over source addresses 127.0.x.y, so that per-IP limits of the
public endpoints see many customers, as in production, rather than one flooding IP."""

from __future__ import annotations

import asyncio
import json
import re
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import websockets

from kefu.connectors.signing import signed_headers

BODY = "您好，我想问一下订单 20261122-0042 的物流，什么时候能到？Thanks!"
TAG = re.compile(r"#E(\d+)#")


def source_address(n: int, block: int) -> str:
    return f"127.0.{block}.{1 + n % 250}"


class Http:
    """One keep-alive HTTP/1.1 connection."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, url: str, local: str) -> Http:
        host, port = url.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port), local_addr=(local, 0))
        return cls(reader, writer)

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        head = f"POST {path} HTTP/1.1\r\nHost: bench\r\nContent-Length: {len(body)}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.writer.write(head.encode() + b"\r\n" + body)
        raw = await self.reader.readuntil(b"\r\n\r\n")
        lines = raw.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.lower() == "content-length":
                length = int(value)
        payload = await self.reader.readexactly(length) if length else b""
        return status, payload

    def close(self) -> None:
        self.writer.close()


@dataclass
class Tally:
    due: dict[int, float] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    response_ms: list[float] = field(default_factory=list)
    ok: int = 0
    server_errors: int = 0
    other: int = 0
    failures: list[str] = field(default_factory=list)
    arrivals: int = 0

    def fail(self, what: str) -> None:
        self.other += 1
        if len(self.failures) < 5:
            self.failures.append(what)


async def agent_sockets(case: dict[str, Any], tally: Tally) -> list[Any]:
    headers = {"Authorization": f"Bearer {case['agent_token']}"} if case.get("agent_token") else {}
    url = case["targets"][0].replace("http://", "ws://") + "/ws/agent"
    sockets = []
    for _ in range(case.get("agents", 1)):
        socket = await websockets.connect(url, additional_headers=headers, max_queue=None)
        await socket.recv()  # hello
        sockets.append(socket)

    async def listen(socket: Any) -> None:
        async for raw in socket:
            found = TAG.search(raw)
            if found is None or '"type":"message"' not in raw:
                continue
            n = int(found.group(1))
            due = tally.due.get(n)
            if due is not None:
                tally.latencies.append((time.perf_counter() - due) * 1000)
                tally.arrivals += 1

    for socket in sockets:
        asyncio.get_running_loop().create_task(listen(socket))
    return sockets


class Webhooks:
    def __init__(self, case: dict[str, Any]) -> None:
        self.case = case
        self.targets: list[str] = case["targets"]
        self.idle: list[list[Http]] = [[] for _ in self.targets]
        self.opened = 0

    def message(self, n: int, customer: str) -> tuple[str, bytes, dict[str, str]]:
        body = json.dumps(
            {
                "message_id": f"{self.case['tag']}-{n}",
                "user": {"id": customer, "name": f"Customer {customer}"},
                "text": f"{BODY} #E{n}#",
            },
            ensure_ascii=False,
        ).encode()
        return (
            f"/connectors/api/{self.case['inbox_id']}",
            body,
            signed_headers(self.case["secret"], body),
        )

    async def send(self, n: int, customer: str, tally: Tally | None) -> None:
        t = n % len(self.targets)
        pool = self.idle[t]
        path, body, headers = self.message(n, customer)
        started = time.perf_counter()
        while True:
            reused = bool(pool)
            if reused:
                conn = pool.pop()
            else:
                self.opened += 1
                conn = await Http.open(self.targets[t], source_address(self.opened, 2))
            try:
                status, payload = await asyncio.wait_for(conn.post(path, body, headers), 60)
                break
            except (OSError, asyncio.IncompleteReadError, TimeoutError) as exc:
                conn.close()
                # The server closes a keep-alive connection idle for a few seconds: a
                # request on one that closed before answering anything goes again.
                if reused and isinstance(exc, (asyncio.IncompleteReadError, OSError)):
                    continue
                if tally is not None:
                    tally.fail(type(exc).__name__)
                return
        pool.append(conn)
        if tally is None:
            return
        tally.response_ms.append((time.perf_counter() - started) * 1000)
        if 200 <= status < 300:
            tally.ok += 1
        elif status >= 500:
            tally.server_errors += 1
        else:
            tally.fail(f"{status} {payload[:200]!r}")


class Widgets:
    """One visitor socket per customer; a send is acknowledged by an `ack` frame."""

    def __init__(self, case: dict[str, Any]) -> None:
        self.case = case
        self.sockets: dict[str, Any] = {}
        self.acks: dict[str, asyncio.Future[bool]] = {}

    async def open(self, customers: list[str]) -> None:
        base = self.case["targets"][0]
        url = base.replace("http://", "ws://") + "/ws/visitor?token="
        sem = asyncio.Semaphore(64)

        async def one(i: int, customer: str) -> None:
            async with sem:
                host = source_address(i, 3)
                token = customer
                if self.case.get("widget_key"):  # kefu: a visitor session first
                    http = await Http.open(base, host)
                    session = json.dumps({"inbox": self.case["widget_key"]}).encode()
                    status, answer = await http.post(
                        "/api/v1/widget/sessions", session, {"Content-Type": "application/json"}
                    )
                    http.close()
                    if status != 200:
                        raise RuntimeError(f"widget session: {status} {answer[:300]!r}")
                    token = json.loads(answer)["token"]
                socket = await websockets.connect(
                    url + token, max_queue=None, open_timeout=60, local_addr=(host, 0)
                )
            self.sockets[customer] = socket
            asyncio.get_running_loop().create_task(self._listen(socket))

        await asyncio.gather(*(one(i, c) for i, c in enumerate(customers)))

    async def _listen(self, socket: Any) -> None:
        async for raw in socket:
            if '"type":"ack"' in raw or '"type":"error"' in raw:
                frame = json.loads(raw)
                future = self.acks.pop(frame.get("client_id") or "", None)
                if future is not None and not future.done():
                    future.set_result(frame["type"] == "ack")

    async def send(self, n: int, customer: str, tally: Tally | None) -> None:
        client_id = f"{self.case['tag']}-{n}"
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self.acks[client_id] = future
        started = time.perf_counter()
        frame = {"type": "send", "client_id": client_id, "body": f"{BODY} #E{n}#"}
        await self.sockets[customer].send(json.dumps(frame, ensure_ascii=False))
        try:
            accepted = await asyncio.wait_for(future, 60)
        except TimeoutError:
            if tally is not None:
                tally.fail("no ack")
            return
        if tally is None:
            return
        tally.response_ms.append((time.perf_counter() - started) * 1000)
        if accepted:
            tally.ok += 1
        else:
            tally.server_errors += 1


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


async def run(case: dict[str, Any]) -> dict[str, Any]:
    customers = [f"{case['tag_customers']}-{i}" for i in range(case.get("customers", 1000))]
    path: Webhooks | Widgets
    if case["path"] == "webhook":
        path = Webhooks(case)
    else:
        path = Widgets(case)
        await path.open(customers)
    first_contact = case.get("first_contact", False)
    if case.get("warm", True):
        # Returning customers: each has written once before the measured part. First
        # contact: as many other new customers first, so that both servers are measured
        # warm (connections open, statements prepared), not at their first requests.
        sem = asyncio.Semaphore(64)

        async def warm(i: int, customer: str) -> None:
            async with sem:
                who = f"{case['tag']}-warm-{i}" if first_contact else customer
                await path.send(10_000_000 + i, who, None)

        # (First contact: a few hundred suffice to open the pool; each is slow to store.)
        warming = customers[:128] if first_contact else customers
        await asyncio.gather(*(warm(i, c) for i, c in enumerate(warming)))
    tally = Tally()
    sockets = await agent_sockets(case, tally)
    seconds = float(case["seconds"])

    def customer_of(n: int) -> str:
        if first_contact:
            return f"{case['tag']}-new-{n}"
        return customers[n % len(customers)]

    started = time.perf_counter()
    sent = 0
    if case["mode"] == "closed":
        counter = iter(range(10**9))
        deadline = started + seconds

        async def worker() -> None:
            nonlocal sent
            for n in counter:
                if time.perf_counter() >= deadline:
                    return
                tally.due[n] = time.perf_counter()
                sent += 1
                await path.send(n, customer_of(n), tally)

        await asyncio.gather(*(worker() for _ in range(case.get("concurrency", 64))))
    else:
        rate = float(case["rate"])
        total = int(rate * seconds)
        tasks = set()
        for n in range(total):
            due = started + n / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tally.due[n] = due
            sent += 1
            task = asyncio.get_running_loop().create_task(path.send(n, customer_of(n), tally))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        if tasks:
            await asyncio.wait(tasks)
    elapsed = time.perf_counter() - started
    # Let the last doorbells arrive.
    expected = tally.ok * len(sockets)
    wait_until = time.perf_counter() + 5
    while tally.arrivals < expected and time.perf_counter() < wait_until:
        await asyncio.sleep(0.02)
    for socket in sockets:
        await socket.close()
    return {
        "sent": sent,
        "ok": tally.ok,
        "server_errors": tally.server_errors,
        "other": tally.other,
        "failures": tally.failures,
        "elapsed": elapsed,
        "rate": tally.ok / elapsed,
        "arrivals": tally.arrivals,
        "expected_arrivals": expected,
        "p50": statistics.median(tally.latencies) if tally.latencies else float("nan"),
        "p99": percentile(tally.latencies, 0.99),
        "response_p50": percentile(tally.response_ms, 0.5),
        "response_p99": percentile(tally.response_ms, 0.99),
    }


def main() -> None:
    case = json.loads(sys.argv[1])
    result = asyncio.run(run(case))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
