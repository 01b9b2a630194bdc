"""The one place the audit log is written: an ASGI middleware around every route.

For a route in the catalogue that answered 2xx, it writes the entry *before* the client
hears of the success (a create's response is held until its id is read from the body).
The action itself has committed by then; if the audit write fails, that is logged and
the response still goes out, since the change did happen."""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from litestar.datastructures import Headers
from litestar.enums import ScopeType
from litestar.types import ASGIApp, HTTPScope, Message, Receive, Scope, Send

from kefu.audit import catalogue, service
from kefu.audit.tables import AuditEntry
from kefu.clientip import client_ip_of

log = logging.getLogger("kefu.audit")

BODY_CAP = 64 * 1024
# Request fields whose values are recorded; of every other field only its name (so no
# password or secret ever lands in the log).
SAFE_VALUES = frozenset(
    {"role", "active", "status", "presence", "kind", "enabled", "priority", "scope"}
    | {"strategy", "name", "title", "email", "shortcut", "locale", "override_capacity"}
)


def audit_middleware(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        http = scope
        entry = catalogue.lookup(http["method"], http.get("path_template", ""))
        if entry is None:
            await app(scope, receive, send)
            return
        await _Recorder(http, entry).run(app, receive, send)

    return middleware


class _Recorder:
    def __init__(self, scope: HTTPScope, entry: catalogue.Audited) -> None:
        self.scope = scope
        self.entry = entry
        self.request_body = bytearray()
        self.response_body = bytearray()
        self.held: list[Message] = []
        self.status = 0
        self.holding = False
        # A create names its object only in the response body.
        self.id_from_response = (
            not entry.on_self and _path_object(scope) is None and scope["method"] != "GET"
        )

    async def run(self, app: ASGIApp, receive: Receive, send: Send) -> None:
        async def keep_request(  # the request's field names go into the entry
        ) -> Any:
            message = await receive()
            if message["type"] == "http.request":
                room = BODY_CAP - len(self.request_body)
                if room > 0:
                    self.request_body.extend(message.get("body", b"")[:room])
            return message

        async def record_then_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.status = message["status"]
                if not 200 <= self.status < 300:
                    await send(message)
                elif self.id_from_response:
                    self.holding = True
                    self.held.append(message)
                else:
                    await self._record(None)
                    await send(message)
                return
            if self.holding and message["type"] == "http.response.body":
                self.held.append(message)
                room = BODY_CAP - len(self.response_body)
                if room > 0:
                    self.response_body.extend(message.get("body", b"")[:room])
                if not message.get("more_body", False):
                    self.holding = False
                    await self._record(_id_in(bytes(self.response_body)))
                    for held in self.held:
                        await send(held)
                    self.held.clear()
                return
            await send(message)

        await app(self.scope, keep_request, record_then_send)

    async def _record(self, created_id: str | None) -> None:
        try:
            await service.record(self.scope["app"].state.kefu, self._entries(created_id))
        except Exception:
            log.exception("could not write the audit entry for %s", self.entry.action)

    def _entries(self, created_id: str | None) -> list[AuditEntry]:
        scope, entry = self.scope, self.entry
        user = scope.get("state", {}).get("kefu_user")
        if user is None:  # every audited route is behind a staff guard; be safe anyway
            log.warning("audited route %s answered without a signed-in user", entry.action)
            return []
        headers = Headers.from_scope(scope)
        fields, values = _fields(bytes(self.request_body), headers.get("content-type", ""))
        if entry.only_when and values.get(entry.only_when) is not True:
            return []
        if entry.on_self:
            object_id: str | None = str(user.id)
        else:
            object_id = _path_object(scope) or created_id
        params = {
            name: str(value)
            for name, value in (scope.get("path_params") or {}).items()
            if str(value) != object_id
        }
        details: dict[str, Any] = {"fields": fields, **({"values": values} if values else {})}
        if params:
            details["params"] = params
        query = scope.get("query_string", b"").decode("latin-1")
        path = scope["path"] + (f"?{query}" if query else "")
        actions = [action for name, (action, _) in entry.by_field.items() if name in fields]
        return [
            AuditEntry(
                workspace_id=user.workspace_id,
                actor_id=user.id,
                actor_name=user.name[:200],
                action=action,
                object_type=entry.object_type,
                object_id=object_id[:64] if object_id else None,
                method=scope["method"],
                path=path[:500],
                status=self.status,
                ip=client_ip_of(scope["app"].state.kefu, scope)[:64] or None,
                user_agent=(headers.get("user-agent") or "")[:500] or None,
                details=details,
            )
            for action in actions or [entry.action]
        ]


def _path_object(scope: HTTPScope) -> str | None:
    """The object a route acts on: its last `…_id` path parameter."""
    found = [v for k, v in (scope.get("path_params") or {}).items() if k.endswith("_id")]
    return str(found[-1]) if found else None


def _fields(body: bytes, content_type: str) -> tuple[list[str], dict[str, Any]]:
    if not body or "json" not in content_type:
        return [], {}
    try:
        data = msgspec.json.decode(body)
    except msgspec.DecodeError:
        return [], {}
    if not isinstance(data, dict):
        return [], {}
    values = {
        k: v
        for k, v in data.items()
        if k in SAFE_VALUES
        and (
            v is None or isinstance(v, bool | int | float) or (isinstance(v, str) and len(v) <= 200)
        )
    }
    return sorted(str(k) for k in data)[:100], values


def _id_in(body: bytes) -> str | None:
    try:
        data = msgspec.json.decode(body)
    except msgspec.DecodeError:
        return None
    found = data.get("id") if isinstance(data, dict) else None
    return str(found) if found is not None else None
