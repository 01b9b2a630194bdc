"""Files channels keep for staff: what a WeChat user sent, a mail's attachments, its
original and its sanitised HTML, stored by `FileMediaStore` under
`media_dir/<channel>/<inbox id>/...` and linked as `/media/<that path>`.

Only signed-in staff of the inbox's workspace read them. Every file is served so that a
browser never runs it as a page of ours: `nosniff`, a sandboxing CSP, and a download
rather than a page for anything that is not an image, a sound or a video.
"""

from __future__ import annotations

import mimetypes
import uuid

from litestar import Controller, get
from litestar.exceptions import NotFoundException
from litestar.response import File

from kefu.channel_state.inboxes import cached_inbox
from kefu.connectors.wechat.media import URL_PREFIX, FileMediaStore
from kefu.context import Kefu
from kefu.people.auth import STAFF, AuthUser, require_role

# voice: call recordings and voicemails LiveKit's egress wrote (connectors/voice).
CHANNELS = frozenset({"email", "wechat", "voice"})
INLINE = ("image/", "audio/", "video/")


class MediaController(Controller):
    path = "/media"
    guards = (require_role(*STAFF),)
    include_in_schema = False

    @get("/{key:path}")
    async def media(self, kefu: Kefu, user: AuthUser, key: str) -> File:
        missing = NotFoundException("no such file")
        channel, _, rest = key.lstrip("/").partition("/")
        inbox_part = rest.partition("/")[0]
        try:
            inbox_id = uuid.UUID(inbox_part)
        except ValueError:
            raise missing from None
        inbox = await cached_inbox(kefu, inbox_id) if channel in CHANNELS else None
        # Another workspace's file is as absent as one that never existed.
        if inbox is None or inbox.workspace_id != user.workspace_id:
            raise missing
        path = FileMediaStore(kefu.settings.media_dir).locate(URL_PREFIX + key.lstrip("/"))
        if path is None:
            raise missing
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return File(
            path=path,
            media_type=content_type,
            content_disposition_type="inline" if content_type.startswith(INLINE) else "attachment",
            headers={
                "X-Content-Type-Options": "nosniff",
                "Content-Security-Policy": "default-src 'none'; sandbox",
                "Cache-Control": "private, max-age=86400",
            },
        )


MEDIA_ROUTES = [MediaController]
