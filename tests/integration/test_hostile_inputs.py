"""No input makes a 500: hostile values for every route and every webhook, on SQLite and
PostgreSQL (PostgreSQL is the one that refuses NUL, int32 overflow and long strings).

The routes come from the app's own OpenAPI document, so a new route is covered without
editing this file. For each operation a plausible request is built from its schema (real
ids of the seeded workspace in the path, so the request reaches the database), then one
field or parameter at a time is replaced by a value drawn from the hostile
kinds (seeded, reproducible): NUL, unpaired surrogates, over-long strings, huge and
negative integers, deep nesting and wrong types. Webhooks (the API channel, WeChat) are signed, so the hostile
value gets past the signature check to the parser and the database.

The budget: each field gets a few draws (about 900 requests), seeded, so a run is
reproducible; the defects the issue lists are pinned as named tests in
test_edge_defects.py."""

from __future__ import annotations

import json
import os
import random
import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from litestar import Litestar

from kefu.app import create_app
from kefu.connectors.signing import signed_headers
from kefu.connectors.voice.standin import LiveKitStandIn
from kefu.connectors.wechat.crypto import sign
from kefu.connectors.wechat.webhook import AccountKeys, Mode
from kefu.context import Kefu
from kefu.demo import Demo, showcase
from kefu.inboxes.schemas import InboxCreate
from kefu.inboxes.service import create_inbox
from kefu.model import ChannelKind, utcnow
from tests.conftest import asgi_client, login_headers, login_of

pytestmark = pytest.mark.engine_sensitive

SECRET = "hostile-signing-secret"
DEEP = 5000
# Stands for an object nested DEEP levels, spliced in by `_encode` (json.dumps itself
# would recurse too deeply).
TOO_DEEP = "\x01too-deep\x01"


def deep(n: int = DEEP) -> Any:
    value: Any = 1
    for _ in range(n):
        value = {"a": value}
    return value


HOSTILE_TEXT = [
    "a\x00b",
    "\x00",
    "\ud800",
    "x\udfffy",
    "x" * 70_000,
    "字" * 2_001,
    "x" * 257,
]
HOSTILE_NUMBER = [2**31, 3_000_000_000, 2**63, -(2**63) - 1, 10**30, -1, -(2**31) - 1, 1.5]
HOSTILE_ANY = [
    *HOSTILE_TEXT,
    *HOSTILE_NUMBER,
    *[None, True, [], {}, [deep(60)], {"\x00": 1}, TOO_DEEP],
]
HOSTILE_QUERY = [
    "a%00b",
    "%00",
    "%ED%A0%80",
    "3000000000",
    "-1",
    "99999999999999999999",
    "x" * 5000,
]

# Routes that would end the run's own session or need what no hostile value changes.
SKIP = {("POST", "/api/v1/auth/logout")}


def _encode(value: Any) -> bytes:
    """JSON as a hostile client would send it: lone surrogates as `\\ud800` escapes."""
    text = json.dumps(value, ensure_ascii=True)
    return text.replace(json.dumps(TOO_DEEP), '{"a":' * DEEP + "1" + "}" * DEEP).encode()


class Rig:
    def __init__(self, client: httpx.AsyncClient, doc: dict[str, Any]) -> None:
        self.client = client
        self.doc = doc
        self.ids: dict[str, str] = {}
        self.staff: dict[str, str] = {}
        self.visitor: dict[str, str] = {}
        self.api_inbox = ""
        self.wechat_inbox = ""
        self.wechat_keys: AccountKeys | None = None
        self.statuses: dict[int, int] = {}
        self.failures: list[str] = []

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            schema = self.doc["components"]["schemas"][name]
        return schema

    def sample(self, schema: dict[str, Any], name: str = "", depth: int = 0) -> Any:
        """A plausible value for a schema: the request a well-behaved client sends."""
        schema = self.resolve(schema)
        for key in ("oneOf", "anyOf"):
            if key in schema:
                options = [self.resolve(s) for s in schema[key]]
                useful = [s for s in options if s.get("type") != "null"] or options
                return self.sample(useful[0], name, depth)
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            return schema["enum"][0]
        if "default" in schema and schema["default"] is not None:
            return schema["default"]
        kind = schema.get("type", "object")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null")
        if kind == "string":
            fmt = schema.get("format")
            if fmt == "uuid":
                return self.ids.get(name, str(uuid.uuid4()))
            if fmt == "date-time":
                return utcnow().isoformat()
            if fmt == "date":
                return "2026-01-05"
            if "pattern" in schema:
                for candidate in ("x", "en", "open", "json", "updated", "a@example.com"):
                    if re.search(schema["pattern"], candidate):
                        return candidate
                return "c" + uuid.uuid4().hex[:16]
            return "x" * max(1, int(schema.get("minLength", 1)))
        if kind == "integer":
            return int(schema.get("minimum", schema.get("exclusiveMinimum", 0) + 1))
        if kind == "number":
            return float(schema.get("minimum", 1))
        if kind == "boolean":
            return False
        if kind == "array":
            return []
        if kind == "object" and depth < 4:
            props = schema.get("properties", {})
            required = set(schema.get("required", []))
            return {
                key: self.sample(value, key, depth + 1)
                for key, value in props.items()
                if key in required or depth == 0
            }
        return {}

    def fields(self, value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
        """Every place in a sampled body a hostile value can go (the body itself too)."""
        yield path
        if isinstance(value, dict) and len(path) < 3:
            for key, item in value.items():
                yield from self.fields(item, (*path, key))

    async def check(self, what: str, response: httpx.Response) -> None:
        self.statuses[response.status_code] = self.statuses.get(response.status_code, 0) + 1
        if response.status_code >= 500:
            self.failures.append(f"{what} -> {response.status_code} {response.text[:300]}")

    def headers_for(self, path: str) -> dict[str, str]:
        return self.visitor if path.startswith("/api/v1/widget/") else self.staff

    def url(self, path: str, hostile: tuple[str, str] | None = None) -> str:
        def fill(m: re.Match[str]) -> str:
            name = m.group(1)
            if hostile and hostile[0] == name:
                return hostile[1]
            return self.ids.get(name, "1" if name == "version" else str(uuid.uuid4()))

        return re.sub(r"\{(\w+)\}", fill, path)


def replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    copy = dict(value)
    copy[path[0]] = replaced(value[path[0]], path[1:], new)
    return copy


@pytest.fixture
def app(kefu: Kefu) -> Litestar:
    return create_app(kefu=kefu)


@pytest.fixture
async def rig(kefu: Kefu, workspace: Demo, app: Litestar) -> Any:
    await showcase(kefu, workspace)
    api = await create_inbox(
        kefu,
        workspace.workspace_id,
        InboxCreate(
            kind=ChannelKind.api,
            name="CRM",
            config={"webhook_url": "http://127.0.0.1:9/none", "signing_secret": SECRET},
        ),
    )
    keys = AccountKeys(appid="wx-hostile", token="hostile-token", mode=Mode.plain)
    wechat = await create_inbox(
        kefu,
        workspace.workspace_id,
        InboxCreate(
            kind=ChannelKind.wechat,
            name="公众号",
            config={
                "appid": keys.appid,
                "secret": "s" * 32,
                "token": keys.token,
                "mode": "plain",
                "api_base": "http://127.0.0.1:9",
            },
        ),
    )
    await create_inbox(
        kefu,
        workspace.workspace_id,
        InboxCreate(
            kind=ChannelKind.voice,
            name="热线",
            config={
                "livekit_url": "ws://127.0.0.1:9",
                "api_key": LIVEKIT.api_key,
                "api_secret": LIVEKIT.api_secret,
            },
        ),
    )
    async with asgi_client(app) as client:
        doc = (await client.get("/schema/openapi.json")).json()
        rig = Rig(client, doc)
        rig.api_inbox, rig.wechat_inbox, rig.wechat_keys = str(api.id), str(wechat.id), keys
        rig.staff = await login_headers(client, login_of(workspace, "admin"))
        session = await client.post(
            "/api/v1/widget/sessions", json={"inbox": workspace.widget_key, "locale": "en"}
        )
        assert session.status_code == 200, session.text
        rig.visitor = {"Authorization": f"Bearer {session.json()['token']}"}
        sent = await client.post(
            "/api/v1/widget/messages",
            json={"client_id": "hostile0001", "body": "hello"},
            headers=rig.visitor,
        )
        assert sent.status_code == 200, sent.text
        await _collect_ids(rig, workspace)
        yield rig


async def _collect_ids(rig: Rig, demo: Demo) -> None:
    """Real ids for path parameters, so hostile bodies reach the rows they would change."""

    async def first(path: str, key: str = "items") -> str:
        body = (await rig.client.get(path, headers=rig.staff)).json()
        items = body if isinstance(body, list) else body.get(key, [])
        return str(items[0]["id"]) if items else str(uuid.uuid4())

    agents = (await rig.client.get("/api/v1/agents", headers=rig.staff)).json()
    agent_list = agents if isinstance(agents, list) else agents.get("items", [])
    not_admin = next(a for a in agent_list if a["role"] != "admin")
    rig.ids.update(
        inbox_id=str(demo.inbox_id),
        agent_id=str(not_admin["id"]),
        group_id=str(next(iter(demo.groups.values()))),
        conversation_id=await first("/api/v1/conversations"),
        contact_id=await first("/api/v1/contacts"),
        rule_id=await first("/api/v1/routing/rules"),
        calendar_id=await first("/api/v1/routing/calendars"),
        entry_id=await first("/api/v1/knowledge"),
        category_id=await first("/api/v1/knowledge/categories"),
        reply_id=await first("/api/v1/quick-replies"),
        conversation=await first("/api/v1/conversations"),
        key=demo.widget_key,
    )


def _operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    ops = [
        (method.upper(), path, op)
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if method in ("get", "post", "put", "patch", "delete")
        and (method.upper(), path) not in SKIP
    ]
    # Deletions last, so every other route still finds its rows.
    return sorted(ops, key=lambda o: o[0] == "DELETE")


async def _json_op(rig: Rig, draw: Any, method: str, path: str, op: dict[str, Any]) -> None:
    headers = rig.headers_for(path)
    for param in op.get("parameters", []):
        name, where = param["name"], param["in"]
        for _ in range(1 if where == "path" else 2):
            hostile = draw(HOSTILE_QUERY)
            if where == "path":
                url = rig.url(path, (name, hostile))
            elif where == "query":
                url = f"{rig.url(path)}?{name}={hostile}"
            else:
                continue
            response = await rig.client.request(method, url, headers=headers)
            await rig.check(f"{method} {path} {where} {name}={hostile[:20]!r}", response)
    content = op.get("requestBody", {}).get("content", {})
    if "application/json" not in content:
        return
    baseline = rig.sample(content["application/json"]["schema"])
    for place in rig.fields(baseline):
        for _ in range(2 if place else 4):
            hostile = draw(HOSTILE_ANY)
            body = _encode(replaced(baseline, place, hostile))
            response = await rig.client.request(
                method,
                rig.url(path),
                content=body,
                headers={**headers, "content-type": "application/json"},
            )
            await rig.check(
                f"{method} {path} {'.'.join(map(str, place))}={hostile!r:.40}", response
            )


async def _api_webhook(rig: Rig, draw: Any) -> None:
    baseline: dict[str, Any] = {
        "message_id": "m-1",
        "user": {"id": "u-1", "name": "n", "email": "e@x", "phone": "1", "language": "en"},
        "text": "hi",
        "entry_point": "home",
        "attributes": {"plan": "pro"},
        "attachments": [],
    }
    for place in rig.fields(baseline):
        for _ in range(3):
            value = replaced(baseline, place, draw(HOSTILE_ANY))
            if isinstance(value, dict):
                value["message_id"] = "m-" + uuid.uuid4().hex
            body = _encode(value)
            response = await rig.client.post(
                f"/connectors/api/{rig.api_inbox}",
                content=body,
                headers={**signed_headers(SECRET, body), "content-type": "application/json"},
            )
            await rig.check(f"API webhook {'.'.join(map(str, place))}", response)


async def _wechat_webhook(rig: Rig, draw: Any) -> None:
    assert rig.wechat_keys is not None
    for field in ("FromUserName", "Content", "MsgId", "CreateTime", "MsgType"):
        for _ in range(4):
            hostile = str(draw([*HOSTILE_TEXT, *HOSTILE_NUMBER]))
            values = {
                "FromUserName": "oHostile",
                "Content": "hi",
                "MsgId": str(uuid.uuid4().int % 10**18),
                "CreateTime": str(int(utcnow().timestamp())),
                "MsgType": "text",
                field: hostile,
            }
            xml = "<xml><ToUserName><![CDATA[gh_1]]></ToUserName>" + "".join(
                f"<{k}><![CDATA[{v}]]></{k}>" for k, v in values.items()
            )
            xml += "</xml>"
            # Plain mode signs the token, timestamp and nonce, not the body.
            timestamp, nonce = str(int(utcnow().timestamp())), "17"
            query = {
                "signature": sign(rig.wechat_keys.token, timestamp, nonce),
                "timestamp": timestamp,
                "nonce": nonce,
            }
            body = xml.encode("utf-8", "surrogatepass")
            response = await rig.client.post(
                f"/connectors/wechat/{rig.wechat_inbox}",
                params=query,
                content=body,
                headers={"content-type": "text/xml"},
            )
            await rig.check(f"WeChat webhook {field}", response)


LIVEKIT = LiveKitStandIn()


async def _livekit_webhook(rig: Rig, draw: Any) -> None:
    """LiveKit's events, signed as LiveKit signs them, with hostile values in the fields
    the connector reads (protobuf JSON: the wrong type is the parser's to refuse)."""
    baseline: dict[str, Any] = {
        "event": "participant_left",
        "id": "EV_1",
        "createdAt": "1764000000",
        "room": {"name": "call-hostile", "sid": "RM_1"},
        "participant": {"identity": "caller-1", "kind": "SIP", "attributes": {"a": "b"}},
        "egressInfo": {"egressId": "EG_1", "roomName": "call-hostile", "error": "x"},
    }
    for event in ("participant_left", "participant_joined", "egress_ended"):
        for place in rig.fields({**baseline, "event": event}):
            for _ in range(2):
                value = replaced({**baseline, "event": event}, place, draw(HOSTILE_ANY))
                if isinstance(value, dict) and place != ("id",):
                    value["id"] = "EV_" + uuid.uuid4().hex
                body = _encode(value)
                response = await rig.client.post(
                    "/connectors/livekit/webhook", content=body, headers=LIVEKIT.sign(body)
                )
                await rig.check(f"LiveKit webhook {event} {'.'.join(map(str, place))}", response)


async def test_hostile_values_on_every_route_and_webhook_never_make_a_5xx(rig: Rig) -> None:
    # One seeded stream of draws: reproducible, and every failure names its route and
    # field, so there is nothing to shrink. KEFU_HOSTILE_SEED explores other draws.
    chooser = random.Random(int(os.environ.get("KEFU_HOSTILE_SEED", "12")))

    def draw(options: list[Any]) -> Any:
        return chooser.choice(options)

    ops = _operations(rig.doc)
    assert len(ops) > 90
    for method, path, op in ops:
        await _json_op(rig, draw, method, path, op)
    await _api_webhook(rig, draw)
    await _wechat_webhook(rig, draw)
    await _livekit_webhook(rig, draw)
    print(f"hostile requests by status: {dict(sorted(rig.statuses.items()))}")
    assert not rig.failures, "\n".join(rig.failures)
