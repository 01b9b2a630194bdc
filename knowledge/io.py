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
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path, PurePosixPath
from typing import Any

import msgspec

from kefu.knowledge.schemas import EntryIn, EntryStatus

# PyYAML ships with Litestar but without type stubs; reach it untyped, in one place.
_yaml: Any = importlib.import_module("yaml")

CSV_HEADER = ("question", "similar", "answer", "locale", "category")
# Optional columns: written by export so a CSV round trip is lossless; a CSV without one
# leaves that field of existing entries as it is (see `csv_absent_fields`).
CSV_OPTIONAL = ("key", "kind", "tags", "status", "visibility", "web", "wechat", "email")
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
    meta: dict[str, Any] = {"key": entry.key, "type": str(entry.kind)}
    meta["question" if entry.kind == "faq" else "title"] = entry.title
    if entry.similar:
        meta["similar"] = list(entry.similar)
    meta["locale"] = entry.locale
    if entry.category:
        meta["category"] = entry.category
    if entry.tags:
        meta["tags"] = list(entry.tags)
    meta["status"] = str(entry.status)
    meta["visibility"] = str(entry.visibility)
    if entry.channels:
        meta["channels"] = dict(entry.channels)
    if entry.attachments:
        meta["attachments"] = msgspec.to_builtins(entry.attachments)
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
        for name in ("visibility", "kind"):
            if (row.get(name) or "").strip():
                raw[name] = (row[name] or "").strip()
        channels = {c: (row.get(c) or "").strip() for c in ("web", "wechat", "email")}
        raw["channels"] = {c: v for c, v in channels.items() if v}
        yield _convert(raw, f"CSV line {line}")


def csv_absent_fields(text: str) -> frozenset[str]:
    """Entry fields a CSV file does not carry, which an import must keep as they are."""
    header = next(csv.reader(io.StringIO(text.lstrip("\ufeff"))), [])
    absent = {"attachments"}
    if not {"web", "wechat", "email"} & set(header):
        absent.add("channels")
    absent.update(f for f in ("kind", "tags", "status", "visibility") if f not in header)
    return frozenset(absent)


def write_csv(entries: Iterable[EntryIn]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*CSV_HEADER, *CSV_OPTIONAL])
    for e in entries:
        writer.writerow(
            [
                e.title,
                "|".join(e.similar),
                e.body,
                e.locale,
                e.category or "",
                e.key or "",
                str(e.kind),
                "|".join(e.tags),
                str(e.status),
                str(e.visibility),
                *(e.channels.get(c, "") for c in ("web", "wechat", "email")),
            ]
        )
    return out.getvalue()


def absent_fields(path: Path) -> frozenset[str]:
    """Fields the files at `path` do not carry (only a CSV lacks some)."""
    if path.is_file() and path.suffix.lower() == ".csv":
        return csv_absent_fields(path.read_text(encoding="utf-8"))
    return frozenset()


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


# A zip of a Markdown folder, for the console's import and export. Bounded, so a small
# upload cannot unpack into something huge.
ZIP_MAX_FILES = 5_000
ZIP_MAX_BYTES = 50 * 1024 * 1024


def write_zip(entries: Iterable[EntryIn]) -> bytes:
    """The folder `write_folder` writes (locale/key.md), as a zip."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for entry in entries:
            archive.writestr(f"{entry.locale}/{entry.key}.md", to_markdown(entry))
    return out.getvalue()


def read_zip(
    data: bytes, *, default_status: EntryStatus = EntryStatus.published
) -> tuple[list[EntryIn], list[str]]:
    """Every `*.md` in the zip (any folder); returns the entries and, per bad file, why."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise ImportError_(f"not a zip file: {exc}") from exc
    with archive:
        files = [
            i
            for i in archive.infolist()
            if not i.is_dir()
            and i.filename.lower().endswith(".md")
            and PurePosixPath(i.filename).name.lower() != "readme.md"
            and not PurePosixPath(i.filename).name.startswith(".")
            and "__MACOSX" not in i.filename
        ]
        if len(files) > ZIP_MAX_FILES:
            raise ImportError_(f"the zip holds {len(files)} files; at most {ZIP_MAX_FILES}")
        if sum(i.file_size for i in files) > ZIP_MAX_BYTES:
            raise ImportError_(f"the zip unpacks to more than {ZIP_MAX_BYTES // 1_048_576} MB")
        entries: list[EntryIn] = []
        errors: list[str] = []
        for info in sorted(files, key=lambda i: i.filename):
            stem = PurePosixPath(info.filename).stem
            try:
                text = archive.read(info).decode("utf-8")
                entries.append(
                    parse_markdown(text, fallback_key=stem, default_status=default_status)
                )
            except UnicodeDecodeError:
                errors.append(f"{info.filename}: not UTF-8 text")
            except ImportError_ as exc:
                errors.append(str(exc))
    return entries, errors
