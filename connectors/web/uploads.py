"""Visitor uploads: the type is decided by the file's first bytes, never by its name or
the browser's claim, and only types in `settings.upload_types` are kept.

Files are stored under `media_dir/web/` by a random key; the key (with the extension of
the sniffed type) is the only name the server ever uses, so a visitor's file name cannot
reach the file system.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path

EXTENSIONS = {
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/gif": "gif",
    "image/webp": "webp",
    "application/pdf": "pdf",
    "text/plain": "txt",
}
TYPES_BY_EXTENSION = {ext: kind for kind, ext in EXTENSIONS.items()}
_KEY = re.compile(r"^[A-Za-z0-9_-]{20,64}\.(png|jpg|gif|webp|pdf|txt)$")


def sniff(head: bytes) -> str | None:
    """The content type that the bytes are, or None when we do not recognise them."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if _is_text(head):
        return "text/plain"
    return None


def _is_text(data: bytes) -> bool:
    if not data or b"\x00" in data:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of the sample is still text.
        if exc.start < len(data) - 3:
            return False
    return True


def clean_name(name: str | None, content_type: str) -> str:
    """A display name: no path, no control characters, the sniffed type's extension."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if ch.isprintable()).strip()[:120] or "file"
    ext = EXTENSIONS[content_type]
    _, dot, given_ext = base.rpartition(".")
    if dot and given_ext.lower() in ("jpeg",) and ext == "jpg":
        return base
    if not dot or given_ext.lower() != ext:
        return f"{base}.{ext}"
    return base


def store(media_dir: str, data: bytes, content_type: str) -> str:
    """Write the bytes under a new random key; returns the key."""
    key = f"{secrets.token_urlsafe(24)}.{EXTENSIONS[content_type]}"
    folder = Path(media_dir) / "web"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / key).write_bytes(data)
    return key


def locate(media_dir: str, key: str) -> tuple[Path, str] | None:
    """The stored file for a key and its content type, or None for an unknown key."""
    if not _KEY.match(key):
        return None
    path = Path(media_dir) / "web" / key
    if not path.is_file():
        return None
    return path, TYPES_BY_EXTENSION[key.rsplit(".", 1)[1]]
