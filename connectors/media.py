"""Where channels keep files once kefu has them: under `settings.media_dir`.

Shared by every channel that stores bytes: WeChat keeps what users send for three days
only, so its webhook downloads it right after the message is committed (and replies with
images are read back from here); e-mail stores attachments, the original and its
sanitised HTML. Staff read them through `kefu.media`.
"""

from __future__ import annotations

import asyncio
import mimetypes
import re
from pathlib import Path
from typing import Protocol

URL_PREFIX = "/media/"
_SAFE = re.compile(r"[^A-Za-z0-9._-]")


class MediaStore(Protocol):
    async def save(self, key: str, content: bytes, content_type: str) -> str:
        """Store bytes under `key` (a relative path); return the URL to show."""
        ...

    async def load(self, url: str) -> tuple[bytes, str] | None:
        """Bytes and content type of something `save` stored, or None."""
        ...


class FileMediaStore:
    def __init__(self, root: str | Path, url_prefix: str = URL_PREFIX) -> None:
        self.root = Path(root).resolve()
        self.url_prefix = url_prefix

    def _path(self, key: str) -> Path:
        parts = [_SAFE.sub("_", part) for part in key.split("/") if part not in ("", ".", "..")]
        path = self.root.joinpath(*parts).resolve()
        if not path.is_relative_to(self.root):
            raise ValueError(f"media key {key!r} escapes the media directory")
        return path

    async def save(self, key: str, content: bytes, content_type: str) -> str:
        path = self._path(key)
        if not path.suffix:
            path = path.with_suffix(mimetypes.guess_extension(content_type) or ".bin")

        def write() -> None:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(path.name + ".part")
            tmp.write_bytes(content)
            tmp.replace(path)  # readers never see half a file

        await asyncio.to_thread(write)
        return self.url_prefix + path.relative_to(self.root).as_posix()

    def locate(self, url: str) -> Path | None:
        """The stored file behind a URL `save` returned, or None (not ours, escapes the
        media directory, or gone)."""
        if not url.startswith(self.url_prefix):
            return None
        try:
            path = self._path(url.removeprefix(self.url_prefix))
        except ValueError:
            return None
        return path if path.is_file() else None

    async def load(self, url: str) -> tuple[bytes, str] | None:
        path = self.locate(url)
        if path is None:
            return None
        content = await asyncio.to_thread(path.read_bytes)
        return content, mimetypes.guess_type(path.name)[0] or "application/octet-stream"
