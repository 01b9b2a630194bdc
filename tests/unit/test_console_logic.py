"""The console's TypeScript logic (softphone rules, IVR tree editing) under node's test
runner, and the IVR editor's wire form decoded by the server's own IvrTree: what the
editor PATCHes as `config.ivr` is exactly what kefu.ivr.menu accepts."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import msgspec
import pytest

from kefu.ivr import engine
from kefu.ivr.menu import IvrTree, OffHoursMenu, Play, Route, Submenu

CONSOLE = Path(__file__).resolve().parents[2] / "widgets" / "console"
UNIT = CONSOLE / "scripts" / "unit.mjs"


def _node(*args: str) -> subprocess.CompletedProcess[str]:
    if shutil.which("node") is None or not (CONSOLE / "node_modules" / "esbuild").exists():
        pytest.fail("node and the console's node_modules are needed: run `make frontend`")
    return subprocess.run(
        ["node", str(UNIT), *args], cwd=CONSOLE, capture_output=True, text=True, timeout=120
    )


def test_console_logic_tests_pass_under_node() -> None:
    run = _node()
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "# fail 0" in run.stdout
    assert "# pass 0" not in run.stdout


def test_the_ivr_editors_trees_decode_as_the_servers_ivr_tree() -> None:
    group = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"
    run = _node("--run", str(CONSOLE / "tests" / "ivr_sample.ts"), group)
    assert run.returncode == 0, run.stderr
    plain, full, voicemail = (msgspec.convert(t, IvrTree) for t in json.loads(run.stdout))
    assert plain.off_hours is None and set(plain.menu.options) == {"0"}
    sales = full.menu.options["1"]
    assert isinstance(sales, Submenu)
    route = sales.menu.options["1"]
    assert isinstance(route, Route) and str(route.group_id) == group
    assert route.entry == "sales-new"
    played = sales.menu.options["2"]
    assert isinstance(played, Play) and played.then == "hangup"
    assert played.answer.audio_url == "/media/ivr/renew.mp3"
    assert isinstance(full.off_hours, OffHoursMenu)
    # And the engine walks it: 1 then 1 queues for the group with the path taken.
    step = engine.start(full, open_now=True, locale="zh-CN")
    step = engine.press(full, step.state, "1")
    step = engine.press(full, step.state, "1")
    assert isinstance(step.outcome, engine.Routed)
    assert step.outcome.path == ("1", "1") and step.outcome.entry == "sales-new"
    assert voicemail.off_hours is not None and not isinstance(voicemail.off_hours, OffHoursMenu)
