"""Reading and writing the knowledge base as files: a folder of Markdown files with front
matter (one entry per file) or a CSV with the header `question,similar,answer,locale,category`.

Each entry carries a stable `key` (front matter `key:`, else the file name without `.md`;
for CSV a `key` column, else a slug of locale + question), so importing the same files
again updates entries in place instead of duplicating them.
"""

from __future__ import annotations

import csv
import hashlib
import importlib
import io
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import msgspec

from kefu.knowledge.schemas import EntryIn, EntryStatus

# PyYAML ships with Litestar but without type stubs; reach it untyped, in one place.
_yaml: Any = importlib.import_module("yaml")

CSV_HEADER = ("question", "similar", "answer", "locale", "category")
_FRONT = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*\r?\n?(.*)\Z", re.S)


class ImportError_(ValueError):
    """A file that cannot be read as an entry; the message names the file and the fix."""


def parse_markdown(text: str, *, fallback_key: str, default_status: EntryStatus) -> EntryIn:
    match = _FRONT.match(text.lstrip("\ufeff"))
    if not match:
        raise ImportError_(f"{fallback_key}.md: no front matter (a '---' block at the top)")
    try:
        meta = _yaml.safe_load(match.group(1)) or {}
    except Exception as exc:  # yaml's own error types are untyped here
        raise ImportError_(f"{fallback_key}.md: front matter is not valid YAML: {exc}") from exc
    if not isinstance(meta, dict):
        raise ImportError_(f"{fallback_key}.md: front matter must be a mapping")
    raw: dict[str, Any] = {str(k): v for k, v in meta.items()}
    if "question" in raw:
        raw.setdefault("title", raw.pop("question"))
    if "type" in raw:
        raw.setdefault("kind", raw.pop("type"))
    raw.setdefault("key", fallback_key)
    raw.setdefault("status", default_status.value)
    raw["body"] = match.group(2).strip()
    if isinstance(raw.get("tags"), str):
        raw["tags"] = [t.strip() for t in raw["tags"].split(",") if t.strip()]
    return _convert(raw, f"{fallback_key}.md")


def _convert(raw: dict[str, Any], where: str) -> EntryIn:
    try:
        return msgspec.convert(raw, EntryIn, strict=False)
    except (msgspec.ValidationError, ValueError) as exc:
        raise ImportError_(f"{where}: {exc}") from exc


def to_markdown(entry: EntryIn) -> str:
    meta: dict[str, Any] = {"key": entry.key, "type": entry.kind.value}
    meta["question" if entry.kind == "faq" else "title"] = entry.title
    if entry.similar:
        meta["similar"] = list(entry.similar)
    meta["locale"] = entry.locale
    if entry.category:
        meta["category"] = entry.category
    if entry.tags:
        meta["tags"] = list(entry.tags)
    meta["status"] = entry.status.value
    meta["visibility"] = entry.visibility.value
    if entry.channels:
        meta["channels"] = dict(entry.channels)
    front = _yaml.safe_dump(meta, allow_unicode=True, sort_keys=False)
    return f"---\n{front}---\n\n{entry.body.strip()}\n"


def read_folder(
    path: Path, *, default_status: EntryStatus = EntryStatus.published
) -> Iterator[EntryIn]:
    """Every `*.md` below `path`, in a stable order."""
    for file in sorted(path.rglob("*.md")):
        if file.name.lower() == "readme.md":
            continue
        yield parse_markdown(
            file.read_text(encoding="utf-8"), fallback_key=file.stem, default_status=default_status
        )


def csv_key(locale: str, question: str) -> str:
    """A CSV row without a `key` column is known by its locale and question."""
    digest = hashlib.sha1(f"{locale}\n{question.strip()}".encode(), usedforsecurity=False)
    return f"csv-{digest.hexdigest()[:16]}"


def read_csv(
    text: str, *, default_status: EntryStatus = EntryStatus.published
) -> Iterator[EntryIn]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [h for h in CSV_HEADER if h not in (reader.fieldnames or ())]
    if missing:
        raise ImportError_(
            f"CSV header lacks {missing}; expected {','.join(CSV_HEADER)} (optional: key, tags,"
            " status, visibility)"
        )
    for line, row in enumerate(reader, start=2):
        question = (row.get("question") or "").strip()
        locale = (row.get("locale") or "").strip() or "zh-CN"
        raw: dict[str, Any] = {
            "title": question,
            "similar": [s.strip() for s in (row.get("similar") or "").split("|") if s.strip()],
            "body": (row.get("answer") or "").strip(),
            "locale": locale,
            "category": (row.get("category") or "").strip() or None,
            "key": (row.get("key") or "").strip() or csv_key(locale, question),
            "status": (row.get("status") or "").strip() or default_status.value,
        }
        if row.get("tags"):
            raw["tags"] = [t.strip() for t in (row["tags"] or "").split("|") if t.strip()]
        if row.get("visibility"):
            raw["visibility"] = (row["visibility"] or "").strip()
        yield _convert(raw, f"CSV line {line}")


def write_csv(entries: Iterable[EntryIn]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*CSV_HEADER, "key", "tags", "status", "visibility"])
    for e in entries:
        writer.writerow(
            [
                e.title,
                "|".join(e.similar),
                e.body,
                e.locale,
                e.category or "",
                e.key or "",
                "|".join(e.tags),
                e.status.value,
                e.visibility.value,
            ]
        )
    return out.getvalue()


def read_path(path: Path, *, default_status: EntryStatus = EntryStatus.published) -> list[EntryIn]:
    """A folder of Markdown files, one Markdown file, or a .csv file."""
    if path.is_dir():
        return list(read_folder(path, default_status=default_status))
    if path.suffix.lower() == ".csv":
        return list(read_csv(path.read_text(encoding="utf-8"), default_status=default_status))
    if path.suffix.lower() == ".md":
        return [
            parse_markdown(
                path.read_text(encoding="utf-8"),
                fallback_key=path.stem,
                default_status=default_status,
            )
        ]
    raise ImportError_(f"{path}: expected a folder of .md files, a .md file or a .csv file")


def write_folder(path: Path, entries: Iterable[EntryIn]) -> int:
    """One file per entry, grouped by locale, named by key: the layout `read_folder` reads."""
    count = 0
    for entry in entries:
        folder = path / entry.locale
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{entry.key}.md").write_text(to_markdown(entry), encoding="utf-8")
        count += 1
    return count


SAMPLES = Path(__file__).parent / "samples"
