"""The knowledge HTTP API: roles, CRUD and versions, search, suggestions, insertions,
feedback, unanswered, widget self-service, and problem+json on bad input."""

from __future__ import annotations

import uuid

import httpx
import pytest
from litestar import Litestar

import kefu.knowledge.tables  # noqa: F401  (registers the tables before the schema is created)
from kefu.context import Kefu
from kefu.conversations.service import ingest
from kefu.demo import Demo
from kefu.knowledge import entries, io, unanswered
from kefu.knowledge.api import ROUTES
from kefu.model import Identity, Inbound
from tests.conftest import login_headers, login_of


@pytest.fixture
def app(app: Litestar) -> Litestar:
    # Until the lead registers the routers in create_app, add them to the test app here.
    registered = {route.path for route in app.routes}
    if "/api/v1/knowledge" not in registered:
        for controller in ROUTES:
            app.register(controller)
    return app


@pytest.fixture
async def manager(client: httpx.AsyncClient, workspace: Demo) -> dict[str, str]:
    return await login_headers(client, login_of(workspace, "knowledge"))


@pytest.fixture
async def agent(client: httpx.AsyncClient, workspace: Demo) -> dict[str, str]:
    agent_login = next(lg for lg in workspace.logins if lg.role == "agent")
    return await login_headers(client, agent_login.email)


FAQ = {
    "title": "怎么开发票？",
    "similar": ["发票在哪里开"],
    "body": "在订单详情页点击 **申请发票**。",
    "channels": {"wechat": "订单详情页申请发票"},
    "category": "订单/发票",
    "tags": ["发票"],
    "status": "published",
}


async def test_manager_creates_edits_restores_and_agent_searches(
    client: httpx.AsyncClient, manager: dict[str, str], agent: dict[str, str]
) -> None:
    created = await client.post("/api/v1/knowledge", json=FAQ, headers=manager)
    assert created.status_code == 201, created.text
    entry = created.json()
    assert entry["version"] == 1 and entry["category"] == "订单/发票"

    edited = await client.patch(
        f"/api/v1/knowledge/{entry['id']}",
        json={"body": "在「我的发票」中申请。", "version": 1},
        headers=manager,
    )
    assert edited.status_code == 200 and edited.json()["version"] == 2
    stale = await client.patch(
        f"/api/v1/knowledge/{entry['id']}", json={"body": "x", "version": 1}, headers=manager
    )
    assert stale.status_code == 409
    assert stale.headers["content-type"].startswith("application/problem+json")

    versions = (
        await client.get(f"/api/v1/knowledge/{entry['id']}/versions", headers=manager)
    ).json()
    assert [v["version"] for v in versions] == [2, 1] and versions[0]["changed_fields"] == ["body"]
    restored = await client.post(
        f"/api/v1/knowledge/{entry['id']}/versions/1/restore", headers=manager
    )
    assert restored.json()["body"] == FAQ["body"] and restored.json()["version"] == 3

    found = await client.get("/api/v1/knowledge/search", params={"q": "发票"}, headers=agent)
    assert found.status_code == 200
    hit = found.json()["hits"][0]
    assert hit["id"] == entry["id"] and "<mark>发票</mark>" in hit["highlight"]
    assert 0 < hit["score"] <= 1


async def test_agents_cannot_edit_and_do_not_see_drafts(
    client: httpx.AsyncClient, manager: dict[str, str], agent: dict[str, str]
) -> None:
    assert (await client.post("/api/v1/knowledge", json=FAQ, headers=agent)).status_code == 403
    draft = (
        await client.post("/api/v1/knowledge", json={**FAQ, "status": "draft"}, headers=manager)
    ).json()
    assert (await client.get(f"/api/v1/knowledge/{draft['id']}", headers=agent)).status_code == 403
    listed = (await client.get("/api/v1/knowledge", headers=agent)).json()
    assert listed["total"] == 0
    found = await client.get("/api/v1/knowledge/search", params={"q": "发票"}, headers=agent)
    assert found.json()["hits"] == []
    assert (await client.get("/api/v1/knowledge")).status_code == 401


@pytest.mark.parametrize(
    "body",
    [
        {"title": ""},
        {"title": "x", "status": "live"},
        {"title": "x", "channels": {"fax": "x"}},
        {"title": "x", "key": "has spaces"},
        {"title": "x", "unknown": 1},
        {"title": "x", "locale": "not a locale!"},
    ],
)
async def test_bad_input_is_a_problem_and_writes_nothing(
    client: httpx.AsyncClient, manager: dict[str, str], body: dict[str, object]
) -> None:
    response = await client.post("/api/v1/knowledge", json=body, headers=manager)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert (await client.get("/api/v1/knowledge", headers=manager)).json()["total"] == 0


async def test_unknown_entry_is_404(client: httpx.AsyncClient, manager: dict[str, str]) -> None:
    response = await client.get(f"/api/v1/knowledge/{uuid.uuid4()}", headers=manager)
    assert response.status_code == 404
    assert response.json()["status"] == 404


async def test_suggestions_insertions_and_feedback(
    kefu: Kefu,
    client: httpx.AsyncClient,
    workspace: Demo,
    manager: dict[str, str],
    agent: dict[str, str],
) -> None:
    await entries.import_entries(kefu, workspace.workspace_id, io.read_folder(io.SAMPLES))
    result = await ingest(
        kefu,
        Inbound(
            inbox_id=workspace.inbox_id,
            identity=Identity("web_visitor", "s1"),
            client_message_id="m1",
            body="我的快递到哪里了？",
        ),
    )
    cid = result.conversation_id
    response = await client.get(f"/api/v1/conversations/{cid}/suggestions", headers=agent)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["query"] == "我的快递到哪里了？"
    top = body["suggestions"][0]
    assert top["hit"]["title"] == "怎么查询物流信息？" and "查看物流" in top["answer"]

    entry_id = top["hit"]["id"]
    counted = await client.post(
        f"/api/v1/knowledge/{entry_id}/insertions",
        json={"conversation_id": str(cid)},
        headers=agent,
    )
    assert counted.json() == {"count": 1}
    feedback = await client.post(
        f"/api/v1/knowledge/{entry_id}/feedback", json={"helpful": False}, headers=agent
    )
    assert feedback.status_code == 204
    entry = (await client.get(f"/api/v1/knowledge/{entry_id}", headers=manager)).json()
    assert (entry["insertions"], entry["not_helpful"]) == (1, 1)

    typed = await client.get(
        f"/api/v1/conversations/{cid}/suggestions", params={"q": "发票"}, headers=agent
    )
    assert typed.json()["query"] == "发票" and typed.json()["suggestions"]
    other = await client.get(f"/api/v1/conversations/{uuid.uuid4()}/suggestions", headers=agent)
    assert other.status_code == 404


async def test_unanswered_list_and_resolve(
    kefu: Kefu, client: httpx.AsyncClient, workspace: Demo, manager: dict[str, str]
) -> None:
    for _ in range(2):
        await unanswered.record_unanswered(
            kefu, workspace.workspace_id, "能寄到火星吗？", locale="zh-CN", conversation_id=None
        )
    listed = (await client.get("/api/v1/knowledge/unanswered", headers=manager)).json()
    assert [(u["question"], u["count"]) for u in listed] == [("能寄到火星吗？", 2)]
    resolved = await client.post(
        "/api/v1/knowledge/unanswered/resolve",
        json={"question": "能寄到火星吗", "ignore": True},
        headers=manager,
    )
    assert resolved.status_code == 204
    assert (await client.get("/api/v1/knowledge/unanswered", headers=manager)).json() == []


async def test_export_csv_and_json_import_round_trip(
    kefu: Kefu, client: httpx.AsyncClient, workspace: Demo, manager: dict[str, str]
) -> None:
    await entries.import_entries(kefu, workspace.workspace_id, io.read_folder(io.SAMPLES))
    exported = await client.get("/api/v1/knowledge/export", headers=manager)
    again = await client.post("/api/v1/knowledge/import", json=exported.json(), headers=manager)
    assert again.json()["created"] == 0 and again.json()["updated"] == 0
    csv = await client.get("/api/v1/knowledge/export", params={"format": "csv"}, headers=manager)
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.startswith("question,similar,answer,locale,category")
    assert (await client.post("/api/v1/knowledge/reindex", headers=manager)).json()["count"] > 40


async def test_widget_self_service_sees_published_public_only(
    kefu: Kefu, client: httpx.AsyncClient, workspace: Demo
) -> None:
    await entries.import_entries(kefu, workspace.workspace_id, io.read_folder(io.SAMPLES))
    key = workspace.widget_key
    found = await client.get(
        "/api/v1/widget/knowledge/search", params={"key": key, "q": "退款审批权限"}
    )
    assert found.status_code == 200
    assert all(h["title"] != "客服可以直接批准多少金额的退款？" for h in found.json()["hits"])
    hits = (
        await client.get(
            "/api/v1/widget/knowledge/search", params={"key": key, "q": "发票", "locale": "zh-CN"}
        )
    ).json()["hits"]
    assert hits and all(h["locale"] == "zh-CN" for h in hits)
    entry = await client.get(f"/api/v1/widget/knowledge/{hits[0]['id']}", params={"key": key})
    assert entry.status_code == 200 and "insertions" not in entry.json()
    voted = await client.post(
        f"/api/v1/widget/knowledge/{hits[0]['id']}/feedback",
        params={"key": key},
        json={"helpful": True},
    )
    assert voted.status_code == 204
    unknown = await client.get("/api/v1/widget/knowledge/search", params={"key": "nope", "q": "x"})
    assert unknown.status_code == 404


async def test_categories_rename_and_bad_names(
    client: httpx.AsyncClient, manager: dict[str, str], agent: dict[str, str]
) -> None:
    await client.post("/api/v1/knowledge", json=FAQ, headers=manager)
    tree = (await client.get("/api/v1/knowledge/categories", headers=agent)).json()
    assert [c["path"] for c in tree] == ["订单", "订单/发票"]
    leaf = tree[1]["id"]
    bad = await client.patch(
        f"/api/v1/knowledge/categories/{leaf}", json={"name": "a/b"}, headers=manager
    )
    assert bad.status_code == 400
    assert bad.headers["content-type"].startswith("application/problem+json")
    forbidden = await client.patch(
        f"/api/v1/knowledge/categories/{leaf}", json={"name": "开票"}, headers=agent
    )
    assert forbidden.status_code == 403
    renamed = await client.patch(
        f"/api/v1/knowledge/categories/{leaf}", json={"name": "开票"}, headers=manager
    )
    assert renamed.json()["path"] == "订单/开票"
    sorted_ = await client.get("/api/v1/knowledge", params={"sort": "nope"}, headers=manager)
    assert sorted_.status_code == 400


async def test_a_bad_import_writes_nothing(
    client: httpx.AsyncClient, manager: dict[str, str]
) -> None:
    one_bad = [{"title": "好的", "key": "a"}, {"title": "", "key": "b"}]
    response = await client.post("/api/v1/knowledge/import", json=one_bad, headers=manager)
    assert response.status_code == 400
    twice = [{"title": "甲", "key": "same"}, {"title": "乙", "key": "same"}]
    response = await client.post("/api/v1/knowledge/import", json=twice, headers=manager)
    assert response.status_code == 422 and "same" in response.json()["detail"]
    assert (await client.get("/api/v1/knowledge", headers=manager)).json()["total"] == 0
