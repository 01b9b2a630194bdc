"""Every error as an RFC 9457 problem document (`application/problem+json`).

Litestar reports a body or query that does not fit its msgspec type as
"Validation failed for POST /api/v1/agents" with msgspec's English per field
("Expected `str` of length <= 200"). Those sentences follow msgspec's stable error
format, so they are matched here and said again in the request's language, with the
field they are about, the way the console shows form errors."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, SerializationException, ValidationException
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from kefu.db.retry import retry_reason
from kefu.errors import FieldError, KefuError
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
    503: "Service unavailable",
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


_TYPES: dict[str, Text] = {
    "str": Text("text", "文字"),
    "int": Text("a whole number", "整数"),
    "float": Text("a number", "数字"),
    "bool": Text("true or false", "是或否"),
    "array": Text("a list", "列表"),
    "object": Text("an object", "对象"),
    "null": Text("nothing", "空值"),
    "uuid": Text("an id", "ID"),
    "datetime": Text("a date and time", "日期时间"),
    "date": Text("a date", "日期"),
}


def _kind(names: str) -> Text:
    """`str | null` -> "text or nothing" / "文字或空值"."""
    parts = [_TYPES.get(n.strip(), Text(n.strip(), n.strip())) for n in names.split("|")]
    return Text(" or ".join(p.en for p in parts), "或".join(p.zh for p in parts))


def _length(m: re.Match[str]) -> Text:
    n = int(m["n"])
    items = m["type"] in ("array", "object")
    if m["op"] == "<=":
        if items:
            return Text("At most {n} items.", "最多 {n} 项。").format(n=n)
        return Text("At most {n} characters.", "最多 {n} 个字符。").format(n=n)
    if n == 1:
        return Text("This cannot be empty.", "此项不能为空。")
    if items:
        return Text("At least {n} items.", "至少 {n} 项。").format(n=n)
    return Text("At least {n} characters.", "至少 {n} 个字符。").format(n=n)


_BOUNDS = {
    ">=": Text("Must be {n} or more.", "不能小于 {n}。"),
    "<=": Text("Must be {n} or less.", "不能大于 {n}。"),
    ">": Text("Must be more than {n}.", "须大于 {n}。"),
    "<": Text("Must be less than {n}.", "须小于 {n}。"),
}


def _number(value: str) -> str:
    return value.removesuffix(".0")


_RULES: list[tuple[re.Pattern[str], Callable[[re.Match[str]], Text]]] = [
    (
        re.compile(r"^Object missing required field `(?P<name>[^`]+)`"),
        lambda m: Text("This is required.", "此项必填。"),
    ),
    (
        re.compile(r"^Object contains unknown field `(?P<name>[^`]+)`"),
        lambda m: Text("This field is not known here; leave it out.", "无法识别此字段，请去掉。"),
    ),
    (
        re.compile(r"^Expected `(?P<type>str|array|object)` of length (?P<op><=|>=) (?P<n>\d+)"),
        _length,
    ),
    (
        re.compile(r"^Expected `(?:int|float)` (?P<op>>=|<=|>|<) (?P<n>-?[\d.]+)"),
        lambda m: _BOUNDS[m["op"]].format(n=_number(m["n"])),
    ),
    (
        re.compile(r"^Expected `str` matching regex"),
        lambda m: Text("This is not in the expected format.", "格式不正确，请按提示填写。"),
    ),
    (
        re.compile(r"^Invalid enum value (?P<value>.+)$"),
        lambda m: Text(
            "{value} is not one of the choices; pick one from the list.",
            "{value} 不是可选项，请从列表中选择。",
        ).format(value=m["value"]),
    ),
    (
        re.compile(r"^Expected `(?P<want>[^`]+)`, got `(?P<got>[^`]+)`"),
        lambda m: Text(
            f"Expected {_kind(m['want']).en}, got {_kind(m['got']).en}.",
            f"应为{_kind(m['want']).zh}，收到的是{_kind(m['got']).zh}。",
        ),
    ),
    (
        re.compile(r"^Invalid UUID"),
        lambda m: Text("This must be an id (UUID).", "须为 ID（UUID）。"),
    ),
    (
        re.compile(r"^Invalid RFC3339 encoded datetime"),
        lambda m: Text(
            "This must be a date and time, e.g. 2026-01-31T09:00:00Z.",
            "须为日期时间，如 2026-01-31T09:00:00Z。",
        ),
    ),
    (
        re.compile(r"^Invalid RFC3339 encoded date"),
        lambda m: Text("This must be a date, e.g. 2026-01-31.", "须为日期，如 2026-01-31。"),
    ),
    (
        re.compile(r"^Invalid RFC3339 encoded time"),
        lambda m: Text("This must be a time, e.g. 09:30.", "须为时间，如 09:30。"),
    ),
]

# Litestar names the whole body "data" when the fault is in the object itself (a missing
# or unknown member); the member's own name is in the message.
_WHOLE_BODY = ("data", "")


def field_error(raw: Mapping[str, Any]) -> FieldError:
    """One Litestar error entry (`{"message", "key", "source"}`) as a FieldError."""
    message = str(raw.get("message", ""))
    key = str(raw.get("key") or "")
    if key.startswith("data."):
        key = key.removeprefix("data.")
    for pattern, say in _RULES:
        m = pattern.search(message)
        if m is None:
            continue
        if "name" in m.groupdict() and m["name"]:
            key = m["name"] if key in _WHOLE_BODY else f"{key}.{m['name']}"
        return FieldError(key, say(m))
    return FieldError(
        key, Text(f"This value is not valid ({message}).", f"此值无效（{message}）。")
    )


def field_errors(raw: Iterable[Any]) -> list[FieldError]:
    return [field_error(e) for e in raw if isinstance(e, Mapping)]


def summary(errors: list[FieldError]) -> Text:
    """The problem's `detail`: every field and what to do about it, for a toast."""

    def part(e: FieldError, zh: bool) -> str:
        text = e.message if isinstance(e.message, Text) else Text(e.message, e.message)
        said = text.zh if zh else text.en
        return f"{e.field}: {said}" if e.field else said

    return Text(
        "Please fix: " + " ".join(part(e, False) for e in errors),
        "请修改：" + " ".join(part(e, True) for e in errors),
    )


BAD_JSON = Text(
    "The request body is not valid JSON; check the data sent.",
    "请求内容不是有效的 JSON，请检查提交的数据。",
)


def on_kefu_error(request: Request[Any, Any, Any], exc: KefuError) -> Response[dict[str, Any]]:
    locale = locale_of(request.headers.get("accept-language"))
    extra: dict[str, Any] = dict(exc.extra)
    if exc.errors:
        extra["errors"] = [
            {"field": e.field, "message": rendered(e.message, locale)} for e in exc.errors
        ]
    return problem(exc.status_code, rendered(exc.text, locale), exc.title, **extra)


_BODY_PATH = re.compile(r"`\$\.data\.?([^`]*)`")


def _body_error(exc: HTTPException) -> list[dict[str, str]] | None:
    """A body field named like a dependency (`channels`: Litestar's channels plugin is
    one) is taken by Litestar for a server fault and answered 500; msgspec's message
    says it is the body's: `Expected ... - at `$.data.channels``."""
    cause = exc.__cause__
    if exc.status_code != 500 or not isinstance(cause, msgspec.ValidationError):
        return None
    message, _, where = str(cause).partition(" - ")
    found = _BODY_PATH.search(where)
    if found is None:
        return None
    return [{"message": message, "key": found.group(1)}]


def on_http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    locale = locale_of(request.headers.get("accept-language"))
    if (misread := _body_error(exc)) is not None:
        exc = ValidationException("Validation failed", extra=misread)
    if isinstance(exc, ValidationException) and isinstance(exc.extra, list) and exc.extra:
        errors = field_errors(exc.extra)
        return problem(
            exc.status_code,
            summary(errors).render(locale),
            errors=[{"field": e.field, "message": rendered(e.message, locale)} for e in errors],
        )
    if exc.status_code == 400 and isinstance(exc.__cause__, SerializationException):
        return problem(400, BAD_JSON.render(locale))
    return problem(exc.status_code, str(exc.detail))


def on_integrity_error(_: Request[Any, Any, Any], exc: IntegrityError) -> Response[dict[str, Any]]:
    log.warning("integrity error surfaced to a request: %s", exc.orig)
    return problem(409, "this change conflicts with the current state; reload and try again")


BUSY = Text(
    "The service is busy right now; please try again in a moment.",
    "服务繁忙，请稍后再试。",
)
# How long a client should wait after a 503 for a busy database.
BUSY_RETRY_AFTER = 2
# "too many connections" (the server's max_connections, or a role's limit).
_OVERLOADED = {"53300", "53400"}


def on_pool_timeout(request: Request[Any, Any, Any], exc: PoolTimeout) -> Response[dict[str, Any]]:
    """Every pooled connection stayed busy for db_pool_timeout: overload, not a bug."""
    log.warning("database pool exhausted: %s", exc)
    locale = locale_of(request.headers.get("accept-language"))
    return problem(503, BUSY.render(locale), retry_after=BUSY_RETRY_AFTER)


def on_database_error(request: Request[Any, Any, Any], exc: DBAPIError) -> Response[dict[str, Any]]:
    """A deadlock or serialization failure that outlasted its retries, or a server out of
    connections, is a 503 the client may retry; any other database error is a bug."""
    state = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    if retry_reason(exc) is None and state not in _OVERLOADED:
        return on_unexpected(request, exc)
    log.warning("database busy surfaced to a request: %s", exc.orig)
    locale = locale_of(request.headers.get("accept-language"))
    return problem(503, BUSY.render(locale), retry_after=BUSY_RETRY_AFTER)


def on_unexpected(_: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    log.exception("unhandled error", exc_info=exc)
    return problem(500, "something went wrong on our side; it has been logged", "Internal error")


HANDLERS: dict[type[Exception] | int, Any] = {
    KefuError: on_kefu_error,
    HTTPException: on_http_error,
    IntegrityError: on_integrity_error,
    PoolTimeout: on_pool_timeout,
    DBAPIError: on_database_error,
    Exception: on_unexpected,
}
