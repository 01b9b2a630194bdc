"""The `kefu` command: migrate, seed the demo, create workspaces and agents, and be a
WeChat user writing to the running server."""

from __future__ import annotations

import asyncio
import hashlib
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from kefu.app import build_kefu
from kefu.demo import seed
from kefu.inboxes.schemas import InboxCreate
from kefu.inboxes.service import create_inbox
from kefu.model import ChannelKind
from kefu.settings import Settings
from tests.servers import free_port


def kefu(tmp_path: Path, *args: str, **env_vars: str) -> subprocess.CompletedProcess[str]:
    env = {
        # Where the server is comes from each test, never from the calling shell.
        **{k: v for k, v in os.environ.items() if k not in ("KEFU_PORT", "KEFU_PUBLIC_URL")},
        "KEFU_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/cli.db",
        "KEFU_SECRET_KEY": "cli-test",
        "KEFU_DEMO_PASSWORD": "demo-pass-123",
        **env_vars,
    }
    return subprocess.run(
        [sys.executable, "-m", "kefu.cli", *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
    )


@pytest.fixture
def migrated(tmp_path: Path) -> Path:
    result = kefu(tmp_path, "db", "upgrade")
    assert result.returncode == 0, result.stderr
    return tmp_path


def test_demo_prints_the_logins_and_seeding_twice_changes_nothing(migrated: Path) -> None:
    first = kefu(migrated, "demo")
    assert first.returncode == 0, first.stderr
    assert "admin@demo.kefu" in first.stdout and "demo-pass-123" in first.stdout
    second = kefu(migrated, "demo")
    assert second.returncode == 0, second.stderr
    assert second.stdout.count("@demo.kefu") == first.stdout.count("@demo.kefu") == 5


def test_workspace_and_agent_creation(migrated: Path) -> None:
    made = kefu(
        migrated,
        "workspace",
        "create",
        "shop2",
        "--admin-email",
        "boss@shop2.cn",
        "--admin-password",
        "long-enough-1",
    )
    assert made.returncode == 0, made.stderr
    assert "workspace shop2" in made.stdout
    again = kefu(
        migrated,
        "workspace",
        "create",
        "shop2",
        "--admin-email",
        "x@y.cn",
        "--admin-password",
        "long-enough-1",
    )
    assert again.returncode != 0
    agent = kefu(
        migrated,
        "agent",
        "create",
        "--workspace",
        "shop2",
        "--email",
        "a@shop2.cn",
        "--name",
        "小李",
        "--password",
        "long-enough-2",
        "--role",
        "supervisor",
    )
    assert agent.returncode == 0, agent.stderr
    assert "(supervisor)" in agent.stdout
    missing = kefu(
        migrated,
        "agent",
        "create",
        "--workspace",
        "nope",
        "--email",
        "a@b.cn",
        "--name",
        "x",
        "--password",
        "long-enough-2",
    )
    assert missing.returncode == 2 and "no workspace" in missing.stderr


def test_downgrade_to_base_and_back(migrated: Path) -> None:
    assert kefu(migrated, "db", "downgrade", "base").returncode == 0
    assert kefu(migrated, "db", "upgrade").returncode == 0


@pytest.fixture
def wechat_inbox(migrated: Path) -> uuid.UUID:
    """A plain-mode WeChat inbox in the migrated database."""

    async def make() -> uuid.UUID:
        core = build_kefu(
            Settings(database_url=f"sqlite+aiosqlite:///{migrated}/cli.db", secret_key="cli-test")
        )
        try:
            demo = await seed(core)
            config = {"appid": "wx0123456789abcdef", "secret": "s3cret", "token": "kefu-token"}
            inbox = await create_inbox(
                core,
                demo.workspace_id,
                InboxCreate(kind=ChannelKind.wechat, name="公众号", config=config),
            )
            return inbox.id
        finally:
            await core.connectors.aclose()
            await core.db.dispose()

    return asyncio.run(make())


class Listener(ThreadingHTTPServer):
    """Stands in for kefu's webhook: records each POST (path, query, body) and answers
    `success` as kefu does."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Record)
        self.posts: list[tuple[str, dict[str, list[str]], bytes]] = []


class _Record(BaseHTTPRequestHandler):
    server: Listener

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        url = urlsplit(self.path)
        self.server.posts.append((url.path, parse_qs(url.query), body))
        self.send_response(200)
        self.send_header("content-type", "text/plain")
        self.end_headers()
        self.wfile.write(b"success")

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = Listener()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def dead_port() -> Iterator[int]:
    """A port bound but not listening: connecting to it is refused, and no other process
    can take it while the test runs."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def _simulate(migrated: Path, inbox: uuid.UUID, **env: str) -> subprocess.CompletedProcess[str]:
    return kefu(
        migrated, "simulate", "wechat", "--inbox", str(inbox), "--openid", "o123", "你好", **env
    )


def test_simulate_posts_to_the_port_in_kefu_port(
    migrated: Path, wechat_inbox: uuid.UUID, listener: Listener
) -> None:
    result = _simulate(migrated, wechat_inbox, KEFU_PORT=str(listener.server_port))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "200 success"
    [(path, query, body)] = listener.posts
    assert path == f"/connectors/wechat/{wechat_inbox}"
    # Signed as WeChat signs: sha1 of the sorted token, timestamp and nonce.
    [timestamp], [nonce], [signature] = query["timestamp"], query["nonce"], query["signature"]
    expected = hashlib.sha1("".join(sorted(["kefu-token", timestamp, nonce])).encode())
    assert (signature, query["openid"]) == (expected.hexdigest(), ["o123"])
    assert "<FromUserName><![CDATA[o123]]></FromUserName>" in body.decode()
    assert "<Content><![CDATA[你好]]></Content>" in body.decode()


def test_simulate_prefers_kefu_public_url_to_the_port(
    migrated: Path, wechat_inbox: uuid.UUID, listener: Listener, dead_port: int
) -> None:
    public = f"http://127.0.0.1:{listener.server_port}/"
    result = _simulate(migrated, wechat_inbox, KEFU_PUBLIC_URL=public, KEFU_PORT=str(dead_port))
    assert result.returncode == 0, result.stderr
    [(path, _, _)] = listener.posts
    assert path == f"/connectors/wechat/{wechat_inbox}"


def test_simulate_without_a_server_names_the_url_it_tried(
    migrated: Path, wechat_inbox: uuid.UUID, dead_port: int
) -> None:
    result = _simulate(migrated, wechat_inbox, KEFU_PORT=str(dead_port))
    assert result.returncode == 2
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("kefu simulate: no kefu server answered at ")
    assert f"http://127.0.0.1:{dead_port}/connectors/wechat/{wechat_inbox}" in line
    assert "KEFU_PORT" in line and "KEFU_PUBLIC_URL" in line


def test_simulate_names_the_database_when_the_inbox_is_not_there(migrated: Path) -> None:
    missing = uuid.uuid4()
    result = _simulate(migrated, missing)
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert f"no WeChat inbox {missing} in sqlite+aiosqlite:///{migrated}/cli.db" in line


def test_simulate_against_an_unmigrated_database_is_one_line_not_a_traceback(
    tmp_path: Path,
) -> None:
    result = _simulate(tmp_path, uuid.uuid4())
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert line.startswith("kefu simulate: cannot read the inbox from sqlite+aiosqlite:///")


def test_serve_migrate_demo_is_make_run_in_one_process(tmp_path: Path) -> None:
    """What `make run` starts: a fresh database migrated, the demo seeded and its logins
    printed, then the server answering on KEFU_PORT."""
    port = free_port()
    log = tmp_path / "serve.log"
    env = {
        **{k: v for k, v in os.environ.items() if k != "KEFU_PUBLIC_URL"},
        "KEFU_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/run.db",
        "KEFU_SECRET_KEY": "cli-test",
        "KEFU_DEMO_PASSWORD": "demo-pass-123",
        "KEFU_PORT": str(port),
    }
    with log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "kefu.cli", "serve", "--migrate", "--demo"],
            env=env,
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "no /health in 120 s:\n" + log.read_text()
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        printed = log.read_text()
        assert f"agent console / 客服工作台:                 {base}/console" in printed
        assert printed.count("@demo.kefu") == 5 and "demo-pass-123" in printed
        login = httpx.post(
            f"{base}/api/v1/auth/login",
            json={"email": "lina@demo.kefu", "password": "demo-pass-123"},
        )
        assert login.status_code == 200, login.text
    finally:
        server.terminate()
        server.wait(timeout=30)
