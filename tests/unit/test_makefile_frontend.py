"""`make frontend` rebuilds only what is out of date, so a second `make run` is fast.

Each test lays out a copy of the widget tree in a temporary folder with chosen file
times and asks make (dry run, `-n`) what it would do there with the project's Makefile.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

MAKEFILE = Path(__file__).resolve().parents[2] / "Makefile"
OLD, NEW = 1_700_000_000, 1_700_000_100

SOURCES = {
    "chat": [
        "package.json",
        "package-lock.json",
        "vite.config.ts",
        "src/main.ts",
        "scripts/size.mjs",
    ],
    "console": ["package.json", "package-lock.json", "index.html", "src/main.tsx"],
}
BUNDLES = {
    "chat": "src/kefu/static/chat/widget.js",
    "console": "src/kefu/static/console/index.html",
}


def _file(path: Path, mtime: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("x")
    os.utime(path, (mtime, mtime))


@pytest.fixture
def built(tmp_path: Path) -> Path:
    """A tree where `npm ci` and both builds ran after the last source change."""
    for widget, files in SOURCES.items():
        for name in files:
            _file(tmp_path / "widgets" / widget / name, OLD)
        _file(tmp_path / "widgets" / widget / "node_modules" / ".kefu-npm-ci", NEW)
        _file(tmp_path / BUNDLES[widget], NEW)
    return tmp_path


def dry_run(tree: Path) -> str:
    result = subprocess.run(
        ["make", "-f", str(MAKEFILE), "-C", str(tree), "-n", "frontend"],
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


def test_nothing_changed_runs_no_npm(built: Path) -> None:
    assert "npm" not in dry_run(built)


def test_a_changed_widget_source_rebuilds_that_widget_only(built: Path) -> None:
    os.utime(built / "widgets/chat/src/main.ts", (NEW + 10, NEW + 10))
    commands = dry_run(built)
    assert "cd widgets/chat && npm run build" in commands
    assert "widgets/console" not in commands
    assert "npm ci" not in commands


def test_a_new_console_source_file_rebuilds_the_console(built: Path) -> None:
    _file(built / "widgets/console/src/board.tsx", NEW + 10)
    commands = dry_run(built)
    assert "cd widgets/console && npm run build" in commands
    assert "widgets/chat" not in commands


def test_a_changed_shared_source_rebuilds_both_widgets(built: Path) -> None:
    _file(built / "widgets/shared/markdown.ts", NEW + 10)
    commands = dry_run(built)
    assert "cd widgets/chat && npm run build" in commands
    assert "cd widgets/console && npm run build" in commands
    assert "npm ci" not in commands


def test_a_changed_lockfile_reinstalls_and_rebuilds(built: Path) -> None:
    os.utime(built / "widgets/console/package-lock.json", (NEW + 10, NEW + 10))
    commands = dry_run(built)
    assert "cd widgets/console && npm ci" in commands
    assert "cd widgets/console && npm run build" in commands
    assert "widgets/chat" not in commands


def test_missing_node_modules_reinstalls(built: Path) -> None:
    shutil.rmtree(built / "widgets/chat/node_modules")
    commands = dry_run(built)
    assert "cd widgets/chat && npm ci" in commands
    assert "cd widgets/chat && npm run build" in commands
