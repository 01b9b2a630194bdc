"""Servers for tests: uvicorn inside the test's event loop (`LoopServer`, `serve`), real
`kefu serve` processes, and tiny HTTP receivers for tests that cross processes."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal

import httpx
import uvicorn

from kefu.settings import Settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LoopServer:
    """An ASGI app served by uvicorn on loopback inside the running event loop, so that
    it shares the loop (and the database pool) with the test.

    Started and stopped through uvicorn's startup()/shutdown steps rather than serve():
    serve() notices `should_exit` on a 0.1 s tick and its shutdown sleeps another 0.1 s
    and polls every 0.1 s, which adds ~0.2-0.3 s to every test that runs a server. Here
    the wait is for the connections to close, polled every 5 ms and bounded."""

    def __init__(
        self,
        app: Any,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        lifespan: Literal["on", "off", "auto"] = "off",
        ws: str = "auto",
    ) -> None:
        self.app = app
        self.host = host
        self.port = port
        self.lifespan = lifespan
        self.ws = ws
        self._server: uvicorn.Server | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._server is not None

    async def start(self) -> str:
        config = uvicorn.Config(
            self.app,
            host=self.host,
            port=self.port,
            log_level="warning",
            lifespan=self.lifespan,
            ws=self.ws,  # type: ignore[arg-type]
        )
        config.load()
        server = uvicorn.Server(config)
        server.lifespan = config.lifespan_class(config)
        await server.startup()
        if not server.started:
            raise RuntimeError(f"uvicorn did not start on {self.host}:{self.port}")
        self._server = server
        self.port = server.servers[0].sockets[0].getsockname()[1]
        return self.url

    async def stop(self, timeout: float = 10.0) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        for listener in server.servers:
            listener.close()
        # Idle keep-alive connections close at once; busy ones after their response;
        # websockets get a close frame.
        for connection in list(server.server_state.connections):
            connection.shutdown()
        deadline = time.monotonic() + timeout
        state = server.server_state
        while (state.connections or state.tasks) and time.monotonic() < deadline:
            await asyncio.sleep(0.005)
        for task in list(state.tasks):
            task.cancel()
        for listener in server.servers:
            await listener.wait_closed()
        await server.lifespan.shutdown()


@asynccontextmanager
async def serve(
    app: Any,
    host: str = "127.0.0.1",
    *,
    lifespan: Literal["on", "off", "auto"] = "on",
    ws: str = "auto",
) -> AsyncIterator[str]:
    """Run an ASGI app on a free loopback port inside the current event loop; yields its
    URL (the same contract as `kefu.connectors.wechat.standin.serve`, stopped faster)."""
    server = LoopServer(app, host=host, lifespan=lifespan, ws=ws)
    url = await server.start()
    try:
        yield url
    finally:
        await server.stop()


# How long a `kefu serve` process may take to answer /health: on a loaded machine (a
# shared CI runner) importing and starting kefu has taken over 30 s.
READY_SECONDS = 90


class KefuProcess:
    READY_SECONDS: float = READY_SECONDS

    def __init__(self, settings: Settings, **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        environ = {
            **os.environ,
            "KEFU_DATABASE_URL": settings.database_url,
            "KEFU_SECRET_KEY": settings.secret_key,
            "KEFU_OUTBOUND_ALLOW": settings.outbound_allow,
            "KEFU_PORT": str(self.port),
            "KEFU_HOST": "127.0.0.1",
            "KEFU_OUTBOX_BACKOFF_SECONDS": "0.1",
            "KEFU_OUTBOX_POLL_SECONDS": "0.2",
            **env,
        }
        # The log goes to a file: an unread pipe fills up and then blocks the server.
        self.log = tempfile.NamedTemporaryFile(prefix="kefu-serve-", suffix=".log", delete=False)  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "kefu.cli", "serve"],
            env=environ,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + self.READY_SECONDS
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"kefu serve exited: {self.tail()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"kefu serve did not become healthy in {self.READY_SECONDS:.0f} s")

    def tail(self) -> str:
        return Path(self.log.name).read_text(errors="replace")[-2000:]

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks, no flushing; what was committed is all that is left."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


@contextmanager
def kefu_process(settings: Settings, **env: str) -> Iterator[KefuProcess]:
    process = KefuProcess(settings, **env)
    try:
        yield process
    finally:
        process.stop()


class Receiver:
    """A loopback HTTP endpoint that records every POST and answers `status`."""

    def __init__(self, status: int = 200, body: Any = None) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.status = status
        self.body = body if body is not None else {"ok": True}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                receiver.requests.append((dict(self.headers), self.rfile.read(length)))
                payload = json.dumps(receiver.body).encode()
                self.send_response(receiver.status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


NGINX = Path("/usr/sbin/nginx")
NGINX_CONF = Path(__file__).resolve().parents[1] / "deploy" / "nginx.conf"


class NginxProcess:
    """Debian's nginx on deploy/nginx.conf, as shipped, with only the addresses
    rewritten: the listen address, the two upstream servers, and the local address it
    connects to them from (`proxy_bind`), so that kefu can trust the proxy's address
    without trusting the clients, who are on loopback too."""

    def __init__(self, upstreams: tuple[str, str], bind: str = "127.0.0.2") -> None:
        if not NGINX.exists():
            raise RuntimeError("nginx is not installed: run `make system-deps`")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.prefix = Path(tempfile.mkdtemp(prefix="kefu-nginx-"))
        self.prefix.chmod(0o755)  # workers run as nobody when the test runs as root
        (self.prefix / "tmp").mkdir(mode=0o777)
        conf = NGINX_CONF.read_text()
        for old, new in (
            ("server kefu-1:8000", f"server {upstreams[0]}"),
            ("server kefu-2:8000", f"server {upstreams[1]}"),
            ("listen 80;", f"listen 127.0.0.1:{self.port};\n        proxy_bind {bind};"),
        ):
            if old not in conf:
                raise RuntimeError(f"deploy/nginx.conf no longer contains {old!r}")
            conf = conf.replace(old, new)
        self.conf = self.prefix / "nginx.conf"
        self.conf.write_text(conf)
        self.log = self.prefix / "nginx.log"
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                [str(NGINX), "-p", str(self.prefix), "-c", str(self.conf), "-g", "daemon off;"],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited: {self.log.read_text()[-2000:]}")
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("nginx did not listen in 10 s")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
