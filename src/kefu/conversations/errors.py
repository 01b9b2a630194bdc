"""Errors the core raises; the app maps each to an RFC 9457 problem response."""

from __future__ import annotations


class KefuError(Exception):
    status_code = 400
    title = "Bad request"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(KefuError):
    status_code = 404
    title = "Not found"


class Forbidden(KefuError):
    status_code = 403
    title = "Forbidden"


class Conflict(KefuError):
    status_code = 409
    title = "Conflict"


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
