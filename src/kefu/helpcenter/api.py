"""`/help/<workspace>`: the public help centre, server-rendered HTML for visitors and
search engines. The language is `?lang=` when given (kept in every link), else the
browser's Accept-Language; the entries shown are those written in that language."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, Router, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, Parameter
from litestar.response import Redirect, Response

from kefu import ratelimit
from kefu.context import Kefu
from kefu.errors import NotFound
from kefu.helpcenter import pages, service
from kefu.i18n import LOCALES, locale_of

Slug = Annotated[str, Parameter(max_length=63, pattern=r"^[A-Za-z0-9_-]+$")]
Key = Annotated[str, Parameter(max_length=120, pattern=r"^[\w\-.]+$")]
Lang = Annotated[str | None, Parameter(max_length=16)]
HEADERS = {
    "Cache-Control": "public, max-age=60",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}


def _locale(request: Request[Any, Any, Any], lang: str | None) -> tuple[str, bool]:
    """The page's language and whether the visitor chose it (then links keep `?lang=`)."""
    if lang in LOCALES:
        return str(lang), True
    return locale_of(request.headers.get("accept-language")), False


def _html(body: str, status: int = 200) -> Response[str]:
    return Response(body, media_type="text/html", status_code=status, headers=HEADERS)


class PageMissing(Exception):
    """No such help centre, category or article: an HTML 404 page, not a JSON problem."""

    def __init__(self, site: service.Site | None, locale: str) -> None:
        super().__init__("not found")
        self.site = site
        self.locale = locale


def _missing(_: Request[Any, Any, Any], exc: PageMissing) -> Response[str]:
    return _html(pages.not_found_page(exc.site, exc.locale), 404)


async def _open(
    kefu: Kefu, request: Request[Any, Any, Any], workspace: str, lang: str | None
) -> tuple[service.Site, str, bool]:
    """The help centre, its language and whether the visitor chose it; 404 page if none."""
    locale, explicit = _locale(request, lang)
    try:
        return await service.site(kefu, workspace), locale, explicit
    except NotFound:
        raise PageMissing(None, locale) from None


async def _article(kefu: Kefu, site: service.Site, key: str, locale: str) -> service.Article:
    try:
        return await service.article(kefu, site.workspace_id, key)
    except NotFound:
        raise PageMissing(site, locale) from None


@get("/help/{workspace:str}", include_in_schema=False)
async def home(
    kefu: Kefu, request: Request[Any, Any, Any], workspace: Slug, lang: Lang = None
) -> Response[str]:
    site, locale, explicit = await _open(kefu, request, workspace, lang)
    items, counts = await service.articles(kefu, site.workspace_id, locale)
    return _html(pages.home_page(site, locale, explicit, items, counts, kefu.settings.public_url))


@get("/help/{workspace:str}/categories/{category:path}", include_in_schema=False)
async def category(
    kefu: Kefu,
    request: Request[Any, Any, Any],
    workspace: Slug,
    category: str,
    lang: Lang = None,
) -> Response[str]:
    site, locale, explicit = await _open(kefu, request, workspace, lang)
    path = category.strip("/")[:1000]
    items, counts = await service.articles(kefu, site.workspace_id, locale, path)
    if path not in counts:
        raise PageMissing(site, locale)
    return _html(
        pages.home_page(site, locale, explicit, items, counts, kefu.settings.public_url, path)
    )


@get(
    "/help/{workspace:str}/search",
    include_in_schema=False,
    guards=[ratelimit.per_ip("helpcenter_search_per_ip")],
)
async def search(
    kefu: Kefu,
    request: Request[Any, Any, Any],
    workspace: Slug,
    q: Annotated[str, Parameter(max_length=200)] = "",
    lang: Lang = None,
) -> Response[str]:
    site, locale, explicit = await _open(kefu, request, workspace, lang)
    query = q.replace("\x00", "").strip()
    found = await service.search(kefu, site.workspace_id, query, locale) if query else []
    html = pages.search_page(site, locale, explicit, query, found, kefu.settings.public_url)
    # Results pages are for people, not for the index.
    return Response(
        html.replace("<head>", '<head>\n<meta name="robots" content="noindex">', 1),
        media_type="text/html",
        headers=HEADERS,
    )


@get("/help/{workspace:str}/articles/{key:str}", include_in_schema=False)
async def article(
    kefu: Kefu,
    request: Request[Any, Any, Any],
    workspace: Slug,
    key: Key,
    lang: Lang = None,
    thanks: bool = False,
) -> Response[str]:
    site, locale, explicit = await _open(kefu, request, workspace, lang)
    found = await _article(kefu, site, key, locale)
    return _html(
        pages.article_page(site, locale, explicit, found, kefu.settings.public_url, thanks)
    )


class FeedbackForm(msgspec.Struct, kw_only=True):
    helpful: Annotated[str, msgspec.Meta(pattern="^(yes|no)$")]
    comment: Annotated[str, msgspec.Meta(max_length=2000)] = ""


@post(
    "/help/{workspace:str}/articles/{key:str}/feedback",
    include_in_schema=False,
    guards=[ratelimit.per_ip("article_feedback_per_ip")],
)
async def feedback(
    kefu: Kefu,
    request: Request[Any, Any, Any],
    workspace: Slug,
    key: Key,
    data: Annotated[FeedbackForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
    lang: Lang = None,
) -> Redirect:
    """A plain form post (works without JavaScript); back to the article with thanks."""
    site, locale, explicit = await _open(kefu, request, workspace, lang)
    found = await _article(kefu, site, key, locale)
    comment = data.comment.replace("\x00", "").strip()
    await service.feedback(kefu, site.workspace_id, found.id, data.helpful == "yes", comment)
    target = pages.link(pages.article_path(site, found), locale, explicit, thanks="true")
    return Redirect(target, status_code=303)


ROUTES = [
    Router(
        path="/",
        route_handlers=[home, category, search, article, feedback],
        exception_handlers={PageMissing: _missing},
        include_in_schema=False,
    )
]
