"""The one check every request passes before its handler decodes it.

msgspec Structs at the edges carry each field's own limits (lengths, ranges, matching
the columns). What no single field can say is checked here, once for every route and
webhook, so a new field cannot forget it:

- no NUL (PostgreSQL refuses it in text, SQLite stores it) and no lone surrogate (it
  cannot be encoded to UTF-8) in any JSON string, key, query parameter or path segment;
- JSON nested at most `MAX_DEPTH` deep: msgspec's decoder and everything that walks
  a value afterwards recurse, and 5,000 levels of `{"a": ...}` were a RecursionError.

Refusals are 400 problems naming the field, like Litestar's own validation."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, TypeVar

import msgspec
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.enums import ScopeType
from litestar.handlers.base import BaseRouteHandler

from kefu.errors import FieldError, KefuError
from kefu.i18n import Text
from kefu.problems import BAD_JSON, field_error, summary

MAX_DEPTH = 32

BAD_TEXT = Text(
    "This contains a character that cannot be stored (a NUL or an unpaired surrogate).",
    "包含无法保存的字符（NUL 或不成对的代理字符）。",
)
TOO_DEEP = Text(
    "This is nested too deeply (at most {n} levels).", "嵌套层级过深（最多 {n} 层）。"
).format(n=MAX_DEPTH)

# Code points no text column can hold: NUL, and UTF-16 surrogates standing alone.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# JSON escapes that decode to those (`\u0000`, `\ud83d` alone) and a raw NUL byte.
_SUSPECT = re.compile(rb"\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})|\x00")
# The tokens that decide nesting: strings (skipped whole) and brackets.
_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]')
_FORM = ("multipart/form-data", "application/x-www-form-urlencoded")


def storable(text: str) -> bool:
    """True when every character of `text` can be stored in a text column."""
    return _UNSTORABLE.search(text) is None


def storable_value(value: Any) -> bool:
    """True when every string in a decoded value (keys too) can be stored."""
    return all(storable(text) for _, text in _strings(value, ""))


def refuse(field: str, message: Text = BAD_TEXT) -> KefuError:
    """400, like Litestar's own body and query validation, so a NUL caught here and one
    caught by a field's pattern look the same to the client."""
    return KefuError(
        Text("Please fix: {field}: {m}", "请修改：{field}：{mz}").format(
            field=field, m=message.en, mz=message.zh
        ),
        errors=[FieldError(field, message)],
    )


def check_json(body: bytes) -> None:
    """Raise a 400 `KefuError` when a JSON body nests too deeply or holds an unstorable string.
    Cheap for ordinary bodies: the depth walk runs only when there are many brackets,
    and decoding only when an escape or byte looks like NUL or a surrogate."""
    if body.count(b"[") + body.count(b"{") > MAX_DEPTH:
        _check_depth(body)
    if _SUSPECT.search(body) is None:
        return
    try:
        value = msgspec.json.decode(body)
    except msgspec.DecodeError:
        # An unpaired surrogate escape makes msgspec refuse the whole document; the
        # handler's decoder says "not JSON" in the same way, so leave it to that.
        return
    for path, text in _strings(value, ""):
        if not storable(text):
            raise refuse(path)


def _check_depth(body: bytes) -> None:
    depth = 0
    last_key = ""
    top_key = ""
    for token in _TOKENS.finditer(body):
        t = token.group()
        if t[:1] == b'"':
            if depth == 1:
                last_key = t[1:-1].decode("utf-8", "replace")
            continue
        if t in (b"[", b"{"):
            if depth == 1:
                top_key = last_key
            depth += 1
            if depth > MAX_DEPTH:
                raise refuse(top_key, TOO_DEEP)
        else:
            depth -= 1


def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """Every string in a decoded JSON value (keys too), with its dotted path."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            here = f"{path}.{key}" if path else str(key)
            yield here, str(key)
            yield from _strings(item, here)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _strings(item, f"{path}[{i}]")


def check_params(params: Any) -> None:
    """Query or path parameters: `?q=a%00b` is refused naming `q`."""
    for key, value in params.items():
        if not storable(str(key)) or not storable(str(value)):
            raise refuse(str(key))


T = TypeVar("T")


def decode(body: bytes, type_: type[T]) -> T:
    """A JSON body a handler reads itself (a signed webhook), checked like every other:
    refused with the same 4xx problems, naming the field, as Litestar's own decoding."""
    check_json(body)
    try:
        return msgspec.json.decode(body, type=type_)
    except msgspec.ValidationError as exc:
        message, _, where = str(exc).partition(" - at `$")
        error = field_error({"message": message, "key": where.rstrip("`").lstrip(".")})
        # 400 like Litestar's own body validation, which webhook senders already see.
        raise KefuError(summary([error]), errors=[error]) from None
    except msgspec.DecodeError:
        raise KefuError(BAD_JSON) from None


async def refuse_unstorable_params(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    """App-level guard for HTTP requests: path and query parameters, checked before every
    route's own guards (a rate limit's bucket key, a session lookup) can store or query
    them."""
    if connection.scope["type"] != ScopeType.HTTP:
        return
    check_params(connection.path_params)
    for key, value in connection.query_params.multi_items():
        if not storable(key) or not storable(value):
            raise refuse(key)


async def refuse_unstorable(request: Request[Any, Any, Any]) -> None:
    """Litestar `before_request` hook: runs after routing and every guard, before the
    handler decodes its body (read here once, and cached for it)."""
    if request.method in ("GET", "HEAD", "OPTIONS", "DELETE"):
        return
    if request.headers.get("content-type", "").split(";")[0].strip().lower() in _FORM:
        return
    body = await request.body()
    # Only JSON: WeChat's XML may carry any brackets inside CDATA, and XML refuses NUL.
    if body.lstrip()[:1] in (b"{", b"[", b'"'):
        check_json(body)
