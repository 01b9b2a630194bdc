"""Every error as an RFC 9457 problem document (`application/problem+json`)."""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from sqlalchemy.exc import IntegrityError

from kefu.errors import KefuError
from kefu.i18n import Text, locale_of

log = logging.getLogger("kefu")

MEDIA_TYPE = "application/problem+json"
TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Invalid request",
    429: "Too many requests",
}


def problem(
    status: int, detail: str, title: str | None = None, **extra: Any
) -> Response[dict[str, Any]]:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title or TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        **extra,
    }
    headers = {"Retry-After": str(extra["retry_after"])} if "retry_after" in extra else None
    return Response(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def rendered(text: Text | str, locale: str) -> str:
    return text.render(locale) if isinstance(text, Text) else text


def on_kefu_error(request: Request[Any, Any, Any], exc: KefuError) -> Response[dict[str, Any]]:
    locale = locale_of(request.headers.get("accept-language"))
    extra: dict[str, Any] = dict(exc.extra)
    if exc.errors:
        extra["errors"] = [
            {"field": e.field, "message": rendered(e.message, locale)} for e in exc.errors
        ]
    return problem(exc.status_code, rendered(exc.text, locale), exc.title, **extra)


def on_http_error(_: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    extra: dict[str, Any] = {}
    if isinstance(exc, ValidationException) and exc.extra:
        extra["errors"] = exc.extra
    return problem(exc.status_code, str(exc.detail), **extra)


def on_integrity_error(_: Request[Any, Any, Any], exc: IntegrityError) -> Response[dict[str, Any]]:
    log.warning("integrity error surfaced to a request: %s", exc.orig)
    return problem(409, "this change conflicts with the current state; reload and try again")


def on_unexpected(_: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    log.exception("unhandled error", exc_info=exc)
    return problem(500, "something went wrong on our side; it has been logged", "Internal error")


HANDLERS: dict[type[Exception] | int, Any] = {
    KefuError: on_kefu_error,
    HTTPException: on_http_error,
    IntegrityError: on_integrity_error,
    Exception: on_unexpected,
}
