"""The routing HTTP API: explain, queue position, and admin management of rules,
calendars and group policies, with RFC 9457 problems for bad input."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from litestar import Litestar

from kefu.context import Kefu
from kefu.conversations.ingest import ingest
from kefu.db.tables import User
from kefu.demo import Demo
from kefu.model import ConversationFacts, Identity, Inbound
from kefu.routing.api import ROUTES
from kefu.routing.tables import RoutingRule
from tests.conftest import login_headers, login_of


@pytest.fixture
async def api(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    # Until app.py registers the routing controllers, register them here.
    if not any(route.path.startswith("/api/v1/routing") for route in app.routes):
        for controller in ROUTES:
            app.register(controller)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def admin_headers(api: httpx.AsyncClient, demo: Demo) -> dict[str, str]:
    return await login_headers(api, login_of(demo, "admin"))


ALWAYS_CLOSED = {"name": "closed", "timezone": "Asia/Shanghai", "weekly": {}}
NINE_TO_SIX = {
    "name": "office",
    "timezone": "Asia/Shanghai",
    "weekly": {d: [{"start": "09:00", "end": "18:00"}] for d in ("mon", "tue", "wed")},
    "special_days": [{"date": "2026-10-01", "name": "国庆节"}],
}


@pytest.mark.engine_sensitive
async def test_admin_builds_rules_and_explain_says_why(
    api: httpx.AsyncClient, workspace: Demo
) -> None:
    headers = await admin_headers(api, workspace)
    made = await api.post("/api/v1/routing/calendars", json=ALWAYS_CLOSED, headers=headers)
    assert made.status_code == 201, made.text
    calendar = made.json()
    assert calendar["open_now"] is False and calendar["next_open"] is None

    aftersales = str(workspace.groups["aftersales"])
    rules = [
        {
            "name": "after hours",
            "priority": 100,
            "conditions": [{"field": "time", "op": "in_hours", "value": calendar["id"]}],
            "target": {"kind": "leave_message"},
        },
        {
            "name": "orders",
            "priority": 50,
            "conditions": [
                {"field": "page_url", "op": "prefix", "value": "https://shop.example.com/orders"},
                {"field": "contact.age", "op": "range", "value": {"min": 18, "max": 30}},
            ],
            "target": {"kind": "group", "group_id": aftersales},
        },
        {
            "name": "wechat vip",
            "priority": 10,
            "match": "any",
            "conditions": [{"field": "channel", "op": "equals", "value": "web"}],
            "target": {"kind": "group", "group_id": aftersales},
            "set_priority": 5,
        },
    ]
    for rule in rules:
        response = await api.post("/api/v1/routing/rules", json=rule, headers=headers)
        assert response.status_code == 201, response.text
    listed = (await api.get("/api/v1/routing/rules", headers=headers)).json()["items"]
    assert [r["name"] for r in listed] == ["after hours", "orders", "wechat vip"]

    facts = {
        "channel": "web",
        "inbox_id": str(workspace.inbox_id),
        "page_url": "https://shop.example.com/orders/7",
        "contact": {"age": 41},
    }
    response = await api.post(
        "/api/v1/routing/explain", json={"facts": facts, "locale": "zh-CN"}, headers=headers
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["rule_name"] == "wechat vip"
    assert body["group_id"] == aftersales
    assert [c["rule_name"] for c in body["checks"]] == ["after hours", "orders", "wechat vip"]
    after_hours, orders, _ = body["checks"]
    assert after_hours["reasons"][0]["code"] == "closed"
    assert "工作时间" in after_hours["reasons"][0]["message"]
    assert [(r["field"], r["actual"]) for r in orders["reasons"]] == [("contact.age", 41)]
    # Nobody online in after-sales: it would wait, first in line.
    assert body["agent_id"] is None and body["agent_reason"] == "nobody_online"
    assert body["queue_position"] == 1
    assert body["summary"] == "匹配规则「wechat vip」"


async def test_explain_a_real_conversation_shows_the_agent_it_would_get(
    api: httpx.AsyncClient, kefu: Kefu, workspace: Demo
) -> None:
    lina = next(login.id for login in workspace.logins if login.email.startswith("lina@"))
    async with kefu.db.transaction() as session:
        await session.execute(sa.update(User).where(User.id == lina).values(presence="online"))
    result = await ingest(
        kefu,
        Inbound(
            inbox_id=workspace.inbox_id,
            identity=Identity(kind="web_visitor", value="explain-me"),
            body="hi",
            facts=ConversationFacts(page_url="https://shop.example.com/"),
        ),
    )
    headers = await admin_headers(api, workspace)
    response = await api.post(
        "/api/v1/routing/explain",
        json={"conversation_id": str(result.conversation_id)},
        headers=headers,
    )
    body = response.json()
    assert response.status_code == 200, body
    assert body["rule_id"] is None and body["checks"] == []
    assert body["summary"] == "no rule matched; the inbox's default group applies"
    assert body["group_id"] == str(workspace.groups["presales"])
    assert body["agent_id"] == str(lina) and body["agent_reason"] == "strategy"

    agent = await login_headers(api, login_of(workspace, "lina"))
    queue = await api.get(
        f"/api/v1/routing/conversations/{result.conversation_id}/queue", headers=agent
    )
    assert queue.status_code == 200 and queue.json()["status"] == "open"
    assert queue.json().get("position") is None


@pytest.mark.engine_sensitive
@pytest.mark.parametrize(
    ("rule", "detail"),
    [
        (
            {
                "name": "r",
                "target": {"kind": "bot"},
                "conditions": [{"field": "page_url", "op": "regex", "value": "(oops"}],
            },
            "invalid regular expression",
        ),
        (
            {"name": "r", "target": {"kind": "group"}},
            "needs group_id",
        ),
        (
            {"name": "r", "target": {"kind": "group", "group_id": str(uuid.uuid4())}},
            "not in this workspace",
        ),
        (
            {
                "name": "r",
                "target": {"kind": "bot"},
                "conditions": [{"field": "contact.shoe", "op": "equals", "value": 42}],
            },
            "unknown field",
        ),
        (
            {
                "name": "r",
                "target": {"kind": "bot"},
                "conditions": [{"field": "time", "op": "in_hours", "value": str(uuid.uuid4())}],
            },
            "no calendar",
        ),
    ],
)
async def test_bad_rules_are_refused_with_a_problem_and_nothing_is_stored(
    api: httpx.AsyncClient, kefu: Kefu, workspace: Demo, rule: dict[str, Any], detail: str
) -> None:
    headers = await admin_headers(api, workspace)
    response = await api.post("/api/v1/routing/rules", json=rule, headers=headers)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert detail in response.json()["detail"]
    async with kefu.db.session() as session:
        assert await session.scalar(sa.select(sa.func.count()).select_from(RoutingRule)) == 0


@pytest.mark.engine_sensitive
async def test_malformed_rule_json_is_a_4xx_problem(
    api: httpx.AsyncClient, workspace: Demo
) -> None:
    headers = await admin_headers(api, workspace)
    response = await api.post(
        "/api/v1/routing/rules",
        json={"name": "r", "target": {"kind": "teleport"}},
        headers=headers,
    )
    assert 400 <= response.status_code < 500
    assert response.json()["status"] == response.status_code


async def test_agents_cannot_manage_rules_or_explain(
    api: httpx.AsyncClient, workspace: Demo
) -> None:
    agent = await login_headers(api, login_of(workspace, "lina"))
    rule = {"name": "r", "target": {"kind": "bot"}}
    assert (await api.post("/api/v1/routing/rules", json=rule, headers=agent)).status_code == 403
    explain = {"facts": {"channel": "web"}}
    assert (
        await api.post("/api/v1/routing/explain", json=explain, headers=agent)
    ).status_code == 403
    assert (await api.get("/api/v1/routing/rules")).status_code == 401


async def test_rules_of_another_workspace_are_invisible(
    api: httpx.AsyncClient, workspace: Demo, other_workspace: Demo
) -> None:
    ours = await admin_headers(api, workspace)
    theirs = await admin_headers(api, other_workspace)
    made = await api.post(
        "/api/v1/routing/rules", json={"name": "secret", "target": {"kind": "bot"}}, headers=ours
    )
    rule_id = made.json()["id"]
    assert (await api.get(f"/api/v1/routing/rules/{rule_id}", headers=theirs)).status_code == 404
    assert (await api.get("/api/v1/routing/rules", headers=theirs)).json()["items"] == []
    gone = await api.delete(f"/api/v1/routing/rules/{rule_id}", headers=theirs)
    assert gone.status_code == 404


@pytest.mark.engine_sensitive
async def test_calendar_update_validation_and_delete_in_use(
    api: httpx.AsyncClient, workspace: Demo
) -> None:
    headers = await admin_headers(api, workspace)
    calendar = (
        await api.post("/api/v1/routing/calendars", json=NINE_TO_SIX, headers=headers)
    ).json()
    assert calendar["special_days"][0]["name"] == "国庆节"
    bad = {
        **NINE_TO_SIX,
        "timezone": "Mars/Base",
        "weekly": {"mon": [{"start": "18:00", "end": "09:00"}]},
    }
    response = await api.put(
        f"/api/v1/routing/calendars/{calendar['id']}", json=bad, headers=headers
    )
    assert response.status_code == 422
    assert "unknown time zone" in response.json()["detail"]
    assert "night shift" in response.json()["detail"]

    rule = {
        "name": "office hours",
        "conditions": [{"field": "time", "op": "in_hours", "value": calendar["id"]}],
        "target": {"kind": "bot"},
    }
    made = await api.post("/api/v1/routing/rules", json=rule, headers=headers)
    assert made.status_code == 201
    in_use = await api.delete(f"/api/v1/routing/calendars/{calendar['id']}", headers=headers)
    assert in_use.status_code == 409
    assert "office hours" in in_use.json()["detail"]
    await api.delete(f"/api/v1/routing/rules/{made.json()['id']}", headers=headers)
    done = await api.delete(f"/api/v1/routing/calendars/{calendar['id']}", headers=headers)
    assert done.status_code == 204


async def test_group_policy_round_trip_and_validation(
    api: httpx.AsyncClient, workspace: Demo
) -> None:
    headers = await admin_headers(api, workspace)
    presales = workspace.groups["presales"]
    url = f"/api/v1/routing/groups/{presales}/policy"
    policy = {
        "strategy": "round_robin",
        "sticky_days": 3,
        "region_match": True,
        "vip_first": True,
        "max_wait_seconds": 120,
        "overflow_group_id": str(workspace.groups["aftersales"]),
    }
    response = await api.put(url, json=policy, headers=headers)
    assert response.status_code == 200, response.text
    assert (await api.get(url, headers=headers)).json()["policy"] == policy

    loop = {**policy, "overflow_group_id": str(presales)}
    response = await api.put(url, json=loop, headers=headers)
    assert response.status_code == 422 and "into itself" in response.json()["detail"]
    response = await api.put(url, json={"strategy": "random"}, headers=headers)
    assert 400 <= response.status_code < 500
    assert (await api.get(url, headers=headers)).json()["policy"] == policy


async def test_another_workspaces_ids_in_routing_paths_answer_404(
    api: httpx.AsyncClient, kefu: Kefu, workspace: Demo, other_workspace: Demo
) -> None:
    theirs = await admin_headers(api, other_workspace)
    result = await ingest(
        kefu,
        Inbound(
            inbox_id=workspace.inbox_id,
            identity=Identity(kind="web_visitor", value="private"),
            body="hi",
        ),
    )
    group = workspace.groups["presales"]
    for method, path, body in [
        ("GET", f"/api/v1/routing/groups/{group}/policy", None),
        ("PUT", f"/api/v1/routing/groups/{group}/policy", {"strategy": "least_busy"}),
        ("GET", f"/api/v1/routing/conversations/{result.conversation_id}/queue", None),
        ("POST", "/api/v1/routing/explain", {"conversation_id": str(result.conversation_id)}),
    ]:
        response = await api.request(method, path, json=body, headers=theirs)
        assert response.status_code == 404, (path, response.text)


async def test_bad_condition_is_a_field_error_in_the_readers_language(
    api: httpx.AsyncClient, workspace: Demo
) -> None:
    headers = await admin_headers(api, workspace)
    rule = {
        "name": "r",
        "target": {"kind": "bot"},
        "conditions": [{"field": "page_url", "op": "regex", "value": "(oops"}],
    }
    response = await api.post(
        "/api/v1/routing/rules", json=rule, headers={**headers, "Accept-Language": "zh-CN"}
    )
    assert response.status_code == 422, response.text
    body = response.json()
    assert [e["field"] for e in body["errors"]] == ["conditions[0].value"]
    assert body["errors"][0]["message"].startswith("正则表达式无效")
    assert body["detail"].startswith("条件 1（page_url regex）：正则表达式无效")

    english = await api.post(
        "/api/v1/routing/rules", json=rule, headers={**headers, "Accept-Language": "en"}
    )
    assert english.json()["errors"][0]["message"].startswith("invalid regular expression")


async def test_calendar_and_policy_errors_name_their_fields(
    api: httpx.AsyncClient, workspace: Demo
) -> None:
    headers = {**await admin_headers(api, workspace), "Accept-Language": "zh-CN"}
    bad = {**NINE_TO_SIX, "weekly": {"mon": [{"start": "18:00", "end": "09:00"}]}}
    response = await api.post("/api/v1/routing/calendars", json=bad, headers=headers)
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["weekly.mon[0].end"]
    assert "跨夜" in response.json()["errors"][0]["message"]

    presales = workspace.groups["presales"]
    url = f"/api/v1/routing/groups/{presales}/policy"
    loop = {"strategy": "round_robin", "max_wait_seconds": 60, "overflow_group_id": str(presales)}
    response = await api.put(url, json=loop, headers=headers)
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "overflow_group_id", "message": "技能组不能溢出到自己，请选择另一个技能组"}
    ]


async def test_unknown_group_strategy_is_a_field_error(
    api: httpx.AsyncClient, workspace: Demo
) -> None:
    headers = {**await admin_headers(api, workspace), "Accept-Language": "zh-CN"}
    response = await api.post(
        "/api/v1/groups", json={"name": "新组", "strategy": "random"}, headers=headers
    )
    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert error["field"] == "strategy" and error["message"].startswith("分配策略须为")
