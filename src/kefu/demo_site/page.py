"""`GET /`: the demo shop. `?inbox=KEY` shows the widget of another web inbox (tests use
their own workspaces); `?entry=NAME` sets the entry point the widget reports."""

from __future__ import annotations

import re
from functools import cache
from html import escape
from pathlib import Path

from litestar import get
from litestar.response import Response

from kefu.demo import DEMO_WIDGET_KEY

_KEY = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_PAGE = Path(__file__).parent / "shop.html"


@cache
def _template() -> str:
    return _PAGE.read_text(encoding="utf-8")


@get("/", include_in_schema=False)
async def demo_shop(inbox: str | None = None, entry: str | None = None) -> Response[str]:
    key = inbox if inbox and _KEY.match(inbox) else DEMO_WIDGET_KEY
    entry_point = entry if entry and _KEY.match(entry) else "shop-home"
    html = _template().replace("{{inbox}}", escape(key)).replace("{{entry}}", escape(entry_point))
    return Response(
        html,
        media_type="text/html",
        headers={"Cache-Control": "no-store"},
    )


ROUTES = [demo_shop]
