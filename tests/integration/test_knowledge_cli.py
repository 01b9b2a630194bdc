"""`kefu knowledge import | export | reindex | search` end to end on a SQLite file, run
the way the CLI runs (its own event loop per command)."""

from __future__ import annotations

import argparse
import asyncio
import io as stdio
import json
from pathlib import Path

import pytest
import sqlalchemy as sa

import kefu.knowledge.tables  # noqa: F401  (registers the tables before the schema is created)
from kefu.app import build_kefu
from kefu.db.metadata import all_tables
from kefu.demo import seed
from kefu.knowledge import cli
from kefu.knowledge.io import SAMPLES
from kefu.settings import Settings
from tests.conftest import make_settings


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="kefu")
    cli.add_parser(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(list(argv))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    url = f"sqlite+aiosqlite:///{tmp_path}/kefu.db"
    settings = make_settings(url, media_dir=str(tmp_path / "media"))

    async def prepare() -> None:
        engine = sa.ext.asyncio.create_async_engine(url)
        async with engine.begin() as conn:
            await conn.run_sync(all_tables().create_all)
        await engine.dispose()
        kefu = build_kefu(settings)
        await seed(kefu, slug="shop", password="pw-for-tests-only")
        await kefu.db.dispose()

    asyncio.run(prepare())
    return settings


def run(settings: Settings, *argv: str) -> int:
    args = parse(*argv)
    code: int = args.fn(args, settings)
    return code


def test_import_twice_then_export_and_reimport_changes_nothing(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(settings, "knowledge", "import", str(SAMPLES), "--workspace", "shop") == 0
    first = capsys.readouterr()
    count = len(list(SAMPLES.rglob("*.md")))
    assert f"{count} created, 0 updated, 0 unchanged" in first.out
    assert f"{count}/{count}" in first.err  # the progress bar's final line

    assert run(settings, "knowledge", "import", str(SAMPLES), "--workspace", "shop") == 0
    assert f"0 created, 0 updated, {count} unchanged" in capsys.readouterr().out

    out = tmp_path / "exported"
    assert run(settings, "knowledge", "export", str(out), "--workspace", "shop") == 0
    assert len(list(out.rglob("*.md"))) == count
    assert run(settings, "knowledge", "import", str(out), "--workspace", "shop") == 0
    assert f"0 created, 0 updated, {count} unchanged" in capsys.readouterr().out

    csv = tmp_path / "kb.csv"
    assert run(settings, "knowledge", "export", str(csv), "--workspace", "shop") == 0
    assert run(settings, "knowledge", "import", str(csv), "--workspace", "shop") == 0
    assert f"0 created, 0 updated, {count} unchanged" in capsys.readouterr().out


def test_search_json_prints_ranked_hits(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    run(settings, "knowledge", "import", str(SAMPLES), "--workspace", "shop")
    capsys.readouterr()
    assert run(settings, "knowledge", "search", "发票", "--workspace", "shop", "--json") == 0
    results = json.loads(capsys.readouterr().out)
    assert results["query"] == "发票"
    titles = [h["title"] for h in results["hits"]]
    assert "怎么开发票？" in titles[:3]
    assert {"id", "title", "highlight", "snippet", "score"} <= set(results["hits"][0])


def test_reindex_counts_entries(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    run(settings, "knowledge", "import", str(SAMPLES), "--workspace", "shop")
    capsys.readouterr()
    assert run(settings, "knowledge", "reindex", "--workspace", "shop") == 0
    assert f"{len(list(SAMPLES.rglob('*.md')))} entries indexed" in capsys.readouterr().out


def test_unknown_workspace_and_bad_file_fail_with_a_message(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(settings, "knowledge", "import", str(SAMPLES), "--workspace", "nope") == 2
    assert "no workspace 'nope'" in capsys.readouterr().err
    bad = tmp_path / "bad.csv"
    bad.write_text("title,body\nx,y\n", encoding="utf-8")
    assert run(settings, "knowledge", "import", str(bad), "--workspace", "shop") == 1
    assert "CSV header lacks" in capsys.readouterr().err


def test_progress_redraws_on_a_terminal_only() -> None:
    class Tty(stdio.StringIO):
        def isatty(self) -> bool:
            return True

    tty, pipe = Tty(), stdio.StringIO()
    for stream in (tty, pipe):
        bar = cli.Progress(4, "importing", stream)
        bar(2)
        bar.finish(4)
    assert "\r" in tty.getvalue() and "2/4" in tty.getvalue()
    assert pipe.getvalue().count("\n") == 1 and "4/4" in pipe.getvalue()
