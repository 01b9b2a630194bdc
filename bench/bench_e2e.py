"""End to end: a customer's message from the network to the agent's socket, measured from
outside the server, next to a plain hand-written service measured in the same run.

kefu runs as its own `kefu serve` process (PostgreSQL, then SQLite); the baseline is
`bench/plain_service.py` (Litestar, the same HMAC check, one INSERT, a forward to the
agent sockets). The load generator (`bench/e2e_load.py`) is a third process. Each case
runs kefu and the plain service alternately (kefu first, then plain first on the next
repetition) and reports the median of the repetitions:

    e2e postgres webhook closed: kefu N msgs/s, plain M msgs/s, ratio R, p50 ..., p99 ..., 5xx K

Cases: signed API-channel webhooks and widget websocket messages from 1,000 customers;
closed loop (64 in flight) and open loop at 200 and 500 msgs/s offered (latency from the
scheduled time); returning customers and first contact (a new customer every message);
one and ten agent sockets; two `kefu serve` processes on one PostgreSQL with Redis
fan-out (agent socket on the first, webhooks split across both).

Duration: KEFU_BENCH_E2E_SECONDS a run (default 4) and KEFU_BENCH_E2E_REPEATS (default
2); KEFU_BENCH_QUICK=1 means 2 s and one repetition, for iterating. KEFU_BENCH_E2E_ONLY
selects cases whose name contains it (e.g. "postgres webhook closed").
Ports: 18500-18599 (KEFU_BENCH_E2E_PORT moves the base). KEFU_BENCH_E2E_BASELINE and
KEFU_BENCH_E2E_AFTER name other checkouts to measure as "before" and "after".
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.databases import drop_database, fresh_database
from kefu.app import build_kefu
from kefu.demo import seed
from kefu.inboxes.schemas import InboxCreate
from kefu.inboxes.service import create_inbox
from kefu.settings import Settings

QUICK = os.environ.get("KEFU_BENCH_QUICK") == "1"
SECONDS = float(os.environ.get("KEFU_BENCH_E2E_SECONDS", "2" if QUICK else "4"))
REPEATS = int(os.environ.get("KEFU_BENCH_E2E_REPEATS", "1" if QUICK else "2"))
ONLY = os.environ.get("KEFU_BENCH_E2E_ONLY", "")
PORT = int(os.environ.get("KEFU_BENCH_E2E_PORT", "18500"))
SECRET = "bench-signing-secret-0123456789"
PASSWORD = "bench-pass-1"
KEFU_DB = "kefu_bench_e2e"
PLAIN_DB = "kefu_bench_e2e_plain"
WORKDIR = Path("var/bench")


class Server:
    """A server process of its own, its log in a file (an unread pipe blocks it)."""

    def __init__(self, argv: list[str], port: int, env: dict[str, str] | None = None) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        # A server left over on this port (a crashed earlier run) would answer the health
        # check and take this one's load: the figures would be of the wrong server.
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                raise RuntimeError(f"port {port} is taken already: a server left running?")
        self.log = tempfile.NamedTemporaryFile(prefix="kefu-bench-", suffix=".log", delete=False)  # noqa: SIM115
        self.proc = subprocess.Popen(
            argv, env={**os.environ, **(env or {})}, stdout=self.log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{argv} exited: {self.tail()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{argv} did not become healthy: {self.tail()}")

    def settle(self, limit: float = 30) -> None:
        """Wait until start-up work (kefu warms its Chinese segmenter in a thread) is
        done: CPU under a tenth of a core over half a second."""
        deadline = time.monotonic() + limit
        last = self.cpu_seconds()
        while time.monotonic() < deadline:
            time.sleep(0.5)
            now = self.cpu_seconds()
            if now - last < 0.05:
                return
            last = now

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def tail(self) -> str:
        return Path(self.log.name).read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# Another checkout of kefu (its root) to measure as "before", alternated with this one.
BASELINE = os.environ.get("KEFU_BENCH_E2E_BASELINE", "")
# And one to measure as "after" instead of this checkout: one commit of a series
# against its parent, each change's own figure.
AFTER = os.environ.get("KEFU_BENCH_E2E_AFTER", "")


# The load comes from one address and one inbox, far past what the public limits let one
# sender do: the bench raises them (KEFU_RATE_LIMITS) so that it measures the path, the
# limiter's store included, not its refusals.
BENCH_LIMITS = ",".join(
    f"{rule}=10000000/10000000"
    for rule in (
        "webhook_per_inbox",
        "session_per_ip",
        "message_per_ip",
        "message_per_visitor",
        "frame_per_socket",
    )
)


def kefu_server(url: str, port: int, source: str = "", **env: str) -> Server:
    extra = {"PYTHONPATH": f"{source}/src:{source}"} if source else {}
    extra["KEFU_RATE_LIMITS"] = BENCH_LIMITS
    server = Server(
        [sys.executable, "-m", "kefu.cli", "serve"],
        port,
        {
            "KEFU_DATABASE_URL": url,
            "KEFU_SECRET_KEY": "bench",
            "KEFU_HOST": "127.0.0.1",
            "KEFU_PORT": str(port),
            **extra,
            **env,
        },
    )
    server.settle()
    return server


def plain_server(url: str, port: int) -> Server:
    return Server(
        [
            sys.executable,
            "-m",
            "bench.plain_service",
            "--port",
            str(port),
            "--database",
            url,
            "--secret",
            SECRET,
        ],
        port,
    )


@dataclass
class Setup:
    inbox_id: str
    widget_key: str


async def prepare_kefu(url: str) -> Setup:
    kefu = build_kefu(Settings(database_url=url, secret_key="bench", demo_password=PASSWORD))
    try:
        demo = await seed(kefu, slug="bench", password=PASSWORD)
        inbox = await create_inbox(
            kefu,
            demo.workspace_id,
            InboxCreate(kind="api", name="Bench API", config={"signing_secret": SECRET}),
        )
    finally:
        await kefu.db.dispose()
    return Setup(inbox_id=str(inbox.id), widget_key=demo.widget_key)


def login(base: str) -> str:
    answer = httpx.post(
        f"{base}/api/v1/auth/login",
        json={"email": "admin@bench.kefu", "password": PASSWORD},
        timeout=30,
    )
    answer.raise_for_status()
    return str(answer.json()["token"])


PROFILE = os.environ.get("KEFU_BENCH_PROFILE", "")  # a directory: py-spy each kefu run


def load(case: dict[str, Any], pid: int | None = None) -> dict[str, Any]:
    spy = None
    if PROFILE and pid is not None:
        Path(PROFILE).mkdir(parents=True, exist_ok=True)
        out = Path(PROFILE) / f"{case['tag']}-{case['name'].replace(' ', '_').replace('/', '')}.txt"
        spy = subprocess.Popen(
            [str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(pid),
             "--format", "raw", "--rate", "200", "--duration", str(int(SECONDS) + 3),
             "--output", str(out), "--nonblocking"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "bench.e2e_load", json.dumps(case)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if spy is not None:
        spy.wait()
    if done.returncode != 0:
        raise RuntimeError(f"load generator failed: {done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


_runs = 0


def tag() -> str:
    global _runs
    _runs += 1
    return f"r{os.getpid()}-{_runs}"


def median(results: list[dict[str, Any]], key: str) -> float:
    return statistics.median(r[key] for r in results)


def line(name: str, kefu: list[dict[str, Any]], plain: list[dict[str, Any]]) -> str:
    k, p = median(kefu, "rate"), median(plain, "rate")
    errors = sum(r["server_errors"] for r in kefu)
    other = sum(r["other"] for r in kefu)
    lost = sum(r["expected_arrivals"] - r["arrivals"] for r in kefu)
    offered = sum(r["sent"] for r in kefu)
    text = (
        f"e2e {name}: kefu {k:,.0f} msgs/s, plain {p:,.0f} msgs/s, ratio {k / p:.2f}, "
        f"p50 {median(kefu, 'p50'):.1f} ms (plain {median(plain, 'p50'):.1f}), "
        f"p99 {median(kefu, 'p99'):.1f} ms (plain {median(plain, 'p99'):.1f}, "
        f"ratio {median(kefu, 'p99') / median(plain, 'p99'):.1f}), "
        f"accepted {sum(r['ok'] for r in kefu)}/{offered}, 5xx {errors}"
    )
    if other:
        text += f", other failures {other} ({kefu[0]['failures'][:2]})"
    if lost:
        text += f", {lost} never reached the agent socket"
    return text


def cases(db: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [
        {"name": "webhook closed", "path": "webhook", "mode": "closed"},
        {"name": "webhook closed first contact", "path": "webhook", "mode": "closed",
         "first_contact": True},
        {"name": "webhook open 200/s", "path": "webhook", "mode": "open", "rate": 200},
        {"name": "webhook open 500/s", "path": "webhook", "mode": "open", "rate": 500},
        {"name": "webhook closed ten agents", "path": "webhook", "mode": "closed", "agents": 10},
    ]  # fmt: skip
    if os.environ.get("KEFU_BENCH_E2E_WIDGET") == "1":
        # The widget websocket path (e2e_load.Widgets): not in the default set yet, its
        # runs stalled on this machine (acks not arriving; see the closing note).
        out.append({"name": "widget closed", "path": "widget", "mode": "closed"})
    if db == "sqlite":
        out = [c for c in out if "ten agents" not in c["name"]]
    return out


def measure(
    name: str,
    case: dict[str, Any],
    kefu_case: dict[str, Any],
    plain_case: dict[str, Any],
    pid: int | None = None,
    labels: tuple[str, str] = ("kefu", "plain"),
) -> str:
    kefu: list[dict[str, Any]] = []
    plain: list[dict[str, Any]] = []
    for rep in range(REPEATS):
        order = [(pid, kefu_case, kefu), (None, plain_case, plain)]
        if rep % 2:
            order.reverse()
        for spied, extra, results in order:
            results.append(load({**case, **extra, "seconds": SECONDS, "tag": tag()}, spied))
    text = line(name, kefu, plain)
    if labels != ("kefu", "plain"):
        text = text.replace("plain", labels[1]).replace("kefu", labels[0], 1)
    print(text, flush=True)
    return text


def selected(name: str) -> bool:
    return not ONLY or ONLY in name


async def database_url(db: str, name: str) -> str:
    if db == "postgres":
        return await fresh_database(name)
    path = WORKDIR / f"{name}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    url = f"sqlite+aiosqlite:///{path}"
    if name == KEFU_DB:
        import sqlalchemy as sa
        from sqlalchemy.ext.asyncio import create_async_engine

        from kefu.db.metadata import all_tables

        engine = create_async_engine(url)
        async with engine.begin() as conn:
            await conn.run_sync(all_tables().create_all)
            await conn.execute(sa.text("SELECT 1"))
        await engine.dispose()
    return url


def run_database(db: str) -> list[str]:
    todo = [c for c in cases(db) if selected(f"{db} {c['name']}")]
    if not todo:
        return []
    kefu_url = asyncio.run(database_url(db, KEFU_DB))
    plain_url = asyncio.run(database_url(db, PLAIN_DB))
    setup = asyncio.run(prepare_kefu(kefu_url))
    started: list[Server] = []
    try:
        kefu = kefu_server(kefu_url, PORT + 1, AFTER)
        started.append(kefu)
        plain = plain_server(plain_url, PORT + 2)
        started.append(plain)
        before = kefu_server(kefu_url, PORT + 5, BASELINE) if BASELINE else None
        started.extend([before] if before else [])
    except BaseException:
        for server in started:  # none is left running to answer the next run
            server.stop()
        raise
    lines = []
    try:
        token = login(kefu.url)
        for case in todo:
            # The same 1,000 customers in every case: after the first, they are returning.
            base = {**case, "tag_customers": db}
            kefu_case = {
                "targets": [kefu.url],
                "inbox_id": setup.inbox_id,
                "secret": SECRET,
                "agent_token": token,
                "widget_key": setup.widget_key,
            }
            plain_case = {"targets": [plain.url], "inbox_id": setup.inbox_id, "secret": SECRET}
            lines.append(
                measure(
                    f"{db} {case['name']}",
                    base,
                    kefu_case,
                    plain_case,
                    kefu.proc.pid,
                )
            )
            if before is not None:  # the same case against the baseline checkout
                lines.append(
                    measure(
                        f"{db} {case['name']} (this commit vs KEFU_BENCH_E2E_BASELINE)",
                        base,
                        kefu_case,
                        {**kefu_case, "targets": [before.url]},
                        labels=("after", "before"),
                    )
                )
    finally:
        kefu.stop()
        plain.stop()
        if before is not None:
            before.stop()
    return lines


def run_two_processes() -> list[str]:
    """Two `kefu serve` on one PostgreSQL with Redis fan-out against one, same run."""
    name = "postgres two processes webhook closed"
    if not selected(name):
        return []
    redis_url = os.environ.get("KEFU_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
    url = asyncio.run(database_url("postgres", KEFU_DB))
    setup = asyncio.run(prepare_kefu(url))
    env = {"KEFU_REDIS_URL": redis_url, "KEFU_FANOUT": "redis"}
    first = kefu_server(url, PORT + 3, **env)
    second = kefu_server(url, PORT + 4, **env)
    try:
        token = login(first.url)
        case = {"path": "webhook", "mode": "closed", "tag_customers": "two"}
        common = {"inbox_id": setup.inbox_id, "secret": SECRET, "agent_token": token}
        text = measure(
            name,
            case,
            {**common, "targets": [first.url, second.url]},
            {**common, "targets": [first.url]},
            labels=("two processes", "one process"),
        )
    finally:
        first.stop()
        second.stop()
    # The ratio in this line is two processes over one.
    return [text]


def main() -> list[str]:
    WORKDIR.mkdir(parents=True, exist_ok=True)
    lines = [
        f"(end to end: {SECONDS:g} s a run, {REPEATS} alternated repetitions, median; "
        "plain = bench/plain_service.py; latency = due time -> agent socket)"
    ]
    try:
        for db in ("postgres", "sqlite"):
            lines.extend(run_database(db))
        lines.extend(run_two_processes())
    finally:
        asyncio.run(drop_database(KEFU_DB))
        asyncio.run(drop_database(PLAIN_DB))
    return lines


if __name__ == "__main__":
    main()
