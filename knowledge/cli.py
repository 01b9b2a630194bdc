"""`kefu knowledge import | export | reindex | search`. The main CLI (kefu.cli) calls
`add_parser(subparsers)`; each command returns a process exit code."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import IO, Any

import msgspec

from kefu.context import Kefu
from kefu.settings import Settings, load


class Progress:
    """A one-line progress bar on stderr (redrawn in place on a terminal; on a pipe or a
    log file only the final line is written, so logs stay readable)."""

    def __init__(self, total: int, label: str, stream: IO[str] | None = None) -> None:
        self.total = max(total, 1)
        self.label = label
        self.stream = stream or sys.stderr
        self.live = bool(getattr(self.stream, "isatty", lambda: False)())
        self.started = time.monotonic()

    def line(self, done: int) -> str:
        width = 30
        filled = int(width * done / self.total)
        rate = done / max(time.monotonic() - self.started, 1e-6)
        return (
            f"{self.label} [{'#' * filled}{'.' * (width - filled)}] "
            f"{done}/{self.total} ({rate:,.0f}/s)"
        )

    def __call__(self, done: int) -> None:
        if self.live:
            self.stream.write("\r" + self.line(done))
            self.stream.flush()

    def finish(self, done: int) -> None:
        self.stream.write(("\r" if self.live else "") + self.line(done) + "\n")
        self.stream.flush()


async def _workspace_id(kefu: Kefu, slug: str) -> uuid.UUID | None:
    import sqlalchemy as sa

    from kefu.db.tables import Workspace

    async with kefu.db.session() as session:
        found: uuid.UUID | None = await session.scalar(
            sa.select(Workspace.id).where(Workspace.slug == slug)
        )
        return found


def _run(settings: Settings, slug: str, fn: Callable[[Kefu, uuid.UUID], Awaitable[int]]) -> int:
    async def go() -> int:
        from kefu.app import build_kefu

        kefu = build_kefu(settings)
        try:
            workspace_id = await _workspace_id(kefu, slug)
            if workspace_id is None:
                print(f"no workspace {slug!r} (kefu workspace create {slug} ...)", file=sys.stderr)
                return 2
            return await fn(kefu, workspace_id)
        finally:
            await kefu.drain()
            from kefu.knowledge import index

            await index.close(kefu)
            await kefu.db.dispose()

    return asyncio.run(go())


def cmd_import(args: argparse.Namespace, settings: Settings | None = None) -> int:
    from kefu.knowledge import entries as knowledge_entries
    from kefu.knowledge import io
    from kefu.knowledge.schemas import EntryStatus

    path = Path(args.path)
    if not path.exists():
        print(f"{path}: no such file or folder", file=sys.stderr)
        return 2
    try:
        entries = io.read_path(path, default_status=EntryStatus(args.status))
    except io.ImportError_ as exc:
        print(f"cannot import: {exc}", file=sys.stderr)
        return 1

    async def go(kefu: Kefu, workspace_id: uuid.UUID) -> int:
        progress = Progress(len(entries), f"importing {path.name}")
        report = await knowledge_entries.import_entries(
            kefu, workspace_id, entries, progress=progress, keep=io.absent_fields(path)
        )
        progress.finish(len(entries))
        print(f"{report.created} created, {report.updated} updated, {report.unchanged} unchanged")
        return 0

    return _run(settings or load(), args.workspace, go)


def cmd_export(args: argparse.Namespace, settings: Settings | None = None) -> int:
    from kefu.knowledge import entries as knowledge_entries
    from kefu.knowledge import io

    async def go(kefu: Kefu, workspace_id: uuid.UUID) -> int:
        entries = await knowledge_entries.export_entries(kefu, workspace_id)
        if args.format == "csv" or str(args.path).endswith(".csv"):
            text = io.write_csv(entries)
            if args.path == "-":
                sys.stdout.write(text)
            else:
                await asyncio.to_thread(Path(args.path).write_text, text, encoding="utf-8")
        else:
            await asyncio.to_thread(io.write_folder, Path(args.path), entries)
        print(f"{len(entries)} entries exported to {args.path}", file=sys.stderr)
        return 0

    return _run(settings or load(), args.workspace, go)


def cmd_reindex(args: argparse.Namespace, settings: Settings | None = None) -> int:
    from kefu.knowledge import index

    settings = settings or load()

    async def go(kefu: Kefu, workspace_id: uuid.UUID) -> int:
        started = time.monotonic()
        count = await index.reindex(kefu, workspace_id)
        took = time.monotonic() - started
        where = "Meilisearch" if settings.meili_url else "the embedded index"
        print(f"{count} entries indexed in {where} in {took:.1f}s")
        if not settings.meili_url:
            print(
                "note: the embedded index lives in each server process and is rebuilt from the "
                "database when it starts; this run checked that every entry indexes.",
                file=sys.stderr,
            )
        return 0

    return _run(settings, args.workspace, go)


def cmd_search(args: argparse.Namespace, settings: Settings | None = None) -> int:
    from kefu.knowledge import index
    from kefu.knowledge.search.base import SearchFilters

    async def go(kefu: Kefu, workspace_id: uuid.UUID) -> int:
        filters = SearchFilters(
            locale=args.locale,
            status=(args.status,) if args.status != "any" else None,
            visibility=args.visibility,
        )
        results = await index.search(kefu, workspace_id, args.query, filters, args.limit)
        if args.json:
            sys.stdout.write(msgspec.json.encode(results).decode() + "\n")
        else:
            for hit in results.hits:
                print(f"{hit.score:.3f}  {hit.title}  [{hit.locale} {hit.id}]")
            print(f"{len(results.hits)} hits in {results.took_ms} ms", file=sys.stderr)
        return 0

    return _run(settings or load(), args.workspace, go)


def add_parser(subparsers: Any) -> None:
    """Register `kefu knowledge ...` on the main CLI's subparsers."""
    knowledge = subparsers.add_parser("knowledge", help="import, export, reindex and search")
    sub = knowledge.add_subparsers(dest="action", required=True)

    imp = sub.add_parser("import", help="import a folder of Markdown files or a CSV file")
    imp.add_argument("path", help="a folder of .md files (front matter), a .md or a .csv file")
    imp.add_argument("--workspace", required=True, help="workspace slug")
    imp.add_argument(
        "--status",
        default="published",
        choices=["draft", "published", "archived"],
        help="status of entries whose file does not say (default: published)",
    )
    imp.set_defaults(fn=cmd_import)

    exp = sub.add_parser("export", help="export as a folder of Markdown files or a CSV file")
    exp.add_argument("path", help="a folder (Markdown), a .csv file, or - for CSV on stdout")
    exp.add_argument("--workspace", required=True)
    exp.add_argument("--format", choices=["md", "csv"], default="md")
    exp.set_defaults(fn=cmd_export)

    rei = sub.add_parser("reindex", help="rebuild the search index from the database")
    rei.add_argument("--workspace", required=True)
    rei.set_defaults(fn=cmd_reindex)

    sea = sub.add_parser("search", help="search like the API does")
    sea.add_argument("query")
    sea.add_argument("--workspace", required=True)
    sea.add_argument("--locale")
    sea.add_argument(
        "--status", default="published", choices=["draft", "published", "archived", "any"]
    )
    sea.add_argument("--visibility", choices=["internal", "public"])
    sea.add_argument("--limit", type=int, default=10)
    sea.add_argument("--json", action="store_true", help="print the API's JSON")
    sea.set_defaults(fn=cmd_search)
