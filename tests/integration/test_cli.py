"""The `kefu` command: migrate, seed the demo, create workspaces and agents."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def kefu(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "KEFU_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/cli.db",
        "KEFU_SECRET_KEY": "cli-test",
        "KEFU_DEMO_PASSWORD": "demo-pass-123",
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
