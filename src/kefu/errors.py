"""Errors every domain raises; `kefu.problems` maps each to an RFC 9457 problem response."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import msgspec

from kefu.i18n import Text


class FieldError(msgspec.Struct, frozen=True):
    """What is wrong with one field of a form or request body, said so a person can fix
    it. `field` is the dotted path as the client sent it (`config.appid`)."""

    field: str
    message: Text | str


class KefuError(Exception):
    """`detail` is a `Text` where a person reads it (rendered in the request's language),
    or plain English for developer-facing errors. `errors` names the fields at fault;
    `extra` adds members to the problem document (RFC 9457 §3.2), e.g. a machine-readable
    `reason` a webhook sender can switch on."""

    status_code = 400
    title = "Bad request"

    def __init__(
        self,
        detail: str | Text,
        *,
        errors: Sequence[FieldError] = (),
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(str(detail))
        self.text = detail
        self.detail = str(detail)
        self.errors = tuple(errors)
        self.extra = dict(extra or {})


class NotFound(KefuError):
    status_code = 404
    title = "Not found"


class Forbidden(KefuError):
    status_code = 403
    title = "Forbidden"


class Conflict(KefuError):
    status_code = 409
    title = "Conflict"


class Gone(KefuError):
    status_code = 410
    title = "Gone"


class Invalid(KefuError):
    status_code = 422
    title = "Invalid request"


class Unauthorized(KefuError):
    status_code = 401
    title = "Unauthorized"


class TooLarge(KefuError):
    status_code = 413
    title = "Payload too large"


class UnsupportedType(KefuError):
    status_code = 415
    title = "Unsupported media type"


class TooManyRequests(KefuError):
    status_code = 429
    title = "Too many requests"
