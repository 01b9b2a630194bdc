"""The OpenAPI document is true to the server: schemathesis generates requests for every
operation in /schema/openapi.json and checks what comes back — no 5xx, status codes the
document lists, the content type it names, and bodies matching its response schemas.

On both databases, with a bounded budget (a few examples per operation, seeded). The
server runs in the test's event loop (uvicorn, tests/servers.py); schemathesis' blocking
client runs in a thread beside it."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from kefu.context import Kefu
from kefu.demo import Demo, showcase
from tests.conftest import login_headers, login_of

pytestmark = pytest.mark.engine_sensitive

EXAMPLES_PER_OPERATION = 2
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Would end the session the run uses, or change the password the run signs in with.
SKIP = {("POST", "/api/v1/auth/logout"), ("PUT", "/api/v1/agents/me/password")}
# Answer 503 with a `reason` by contract when the service behind them is off (issue 18:
# the widget's call button when voice is off, nobody is signed in or LiveKit is away);
# every other check still applies, and the 503 must be the documented problem.
UNAVAILABLE_BY_CONTRACT = {("POST", "/api/v1/widget/calls")}


def _examples(
    operation: Any, base_url: str, headers: dict[str, str], checks: list[Any] = CHECKS
) -> Any:
    @seed(20261202)
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def check(case: Any) -> None:
        response = case.call(base_url=base_url, headers=headers, timeout=30)
        case.validate_response(response, checks=checks)

    return check


def _run(
    doc: dict[str, Any], base_url: str, staff: dict[str, str], visitor: dict[str, str]
) -> list[str]:
    schema = schemathesis.openapi.from_dict(doc)
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in SKIP:
            continue
        headers = visitor if operation.path.startswith("/api/v1/widget/") else staff
        checks = CHECKS
        if (operation.method.upper(), operation.path) in UNAVAILABLE_BY_CONTRACT:
            checks = [c for c in CHECKS if c is not not_a_server_error]
        try:
            _examples(operation, base_url, headers, checks)()
        except Exception as exc:
            failures.append(f"{operation.method.upper()} {operation.path}: {str(exc)[:600]}")
    return failures


async def test_the_server_answers_as_its_openapi_document_says(
    kefu: Kefu, workspace: Demo, live_server: str
) -> None:
    await showcase(kefu, workspace)
    async with httpx.AsyncClient(base_url=live_server) as client:
        doc = (await client.get("/schema/openapi.json")).json()
        staff = await login_headers(client, login_of(workspace, "admin"))
        session = await client.post(
            "/api/v1/widget/sessions", json={"inbox": workspace.widget_key, "locale": "en"}
        )
        visitor = {"Authorization": f"Bearer {session.json()['token']}"}
    failures = await asyncio.to_thread(_run, doc, live_server, staff, visitor)
    assert not failures, "\n\n".join(failures)
