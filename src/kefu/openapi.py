"""The OpenAPI document, made true to the server.

Litestar documents each route's success response and a 400 with its own validation body,
but kefu answers every error as an RFC 9457 problem (`kefu.problems`) and with more codes:
401/403 from guards, 404 for another tenant's id, 409 on conflicts, 413 and 415 for
bodies, 422 from the edge checks, 429 from the rate limits, 503 when the database is busy
(pool exhausted, deadlock after the retries), the last two with Retry-After. Those are
added to every operation here, once, when the document is first served;
tests/integration/test_openapi_conformance.py runs schemathesis against the result."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.openapi.plugins import JsonRenderPlugin

from kefu.problems import MEDIA_TYPE, TITLES

PROBLEM: dict[str, Any] = {
    "type": "object",
    "description": "An RFC 9457 problem document, in the request's language.",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
}
ERROR_CODES = (400, 401, 403, 404, 409, 413, 415, 422, 429, 503)
# When to try again: after a rate limit, or a busy database (pool exhausted, deadlock
# after the retries).
RETRY_AFTER: dict[str, Any] = {
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "schema": {"type": "integer", "minimum": 1},
    }
}
RETRYABLE = (429, 503)
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
# Responses whose body Litestar cannot see through `Response[bytes]`.
CONTENT: dict[tuple[str, str], dict[str, Any]] = {
    ("get", "/api/v1/knowledge/export"): {
        "application/json": {
            "schema": {"type": "array", "items": {"$ref": "#/components/schemas/EntryIn"}}
        },
        "text/csv": {"schema": {"type": "string"}},
    },
}


def true_to_the_server(doc: dict[str, Any]) -> dict[str, Any]:
    """Adds the problem responses to Litestar's document (in place, once)."""
    components = doc.setdefault("components", {}).setdefault("schemas", {})
    if "Problem" in components:
        return doc
    components["Problem"] = PROBLEM
    problem = {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path, item in doc.get("paths", {}).items():
        for method, operation in item.items():
            if method not in METHODS:
                continue
            responses = operation.setdefault("responses", {})
            for code in ERROR_CODES:
                responses[str(code)] = {"description": TITLES[code], "content": problem}
                if code in RETRYABLE:
                    responses[str(code)]["headers"] = RETRY_AFTER
            if (method, path) in CONTENT:
                success = next(c for c in responses if c.startswith("2"))
                responses[success]["content"] = CONTENT[(method, path)]
    return doc


class TrueJson(JsonRenderPlugin):
    """Serves /schema/openapi.json as the server really answers (see the module doc)."""

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        return super().render(request, true_to_the_server(openapi_schema))
