"""The Meilisearch backend, through meilisearch-python-sdk's AsyncClient, against a small
local server speaking the part of Meilisearch's documented HTTP API the backend uses:
indexes (create, get, delete, swap), settings, documents (add or replace, delete-batch),
search (filter, highlight, crop, showRankingScore, locales) and tasks. The fake is not a
search engine; it checks what the client sends and answers in the documented shapes
(task objects with their timestamps, index objects, error objects with code, type and
link), because the client parses those shapes."""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import msgspec
import pytest

import kefu.knowledge.tables  # noqa: F401  (registers the tables before the schema is created)
from kefu.app import build_kefu
from kefu.context import Kefu
from kefu.demo import Demo
from kefu.knowledge import entries
from kefu.knowledge import index as knowledge_index
from kefu.knowledge.schemas import EntryIn, EntryStatus
from kefu.knowledge.search.base import SearchDocument, SearchFilters
from kefu.knowledge.search.meilisearch import (
    MeilisearchError,
    MeilisearchIndex,
    filter_expression,
)

KEY = "test-master-key"


# Meilisearch (v1.11, as in compose.yaml) rejects a search naming any other parameter.
SEARCH_PARAMETERS = {
    "q", "offset", "limit", "hitsPerPage", "page", "filter", "facets", "distinct",
    "attributesToRetrieve", "attributesToCrop", "cropLength", "cropMarker",
    "attributesToHighlight", "highlightPreTag", "highlightPostTag", "showMatchesPosition",
    "sort", "matchingStrategy", "showRankingScore", "showRankingScoreDetails",
    "rankingScoreThreshold", "attributesToSearchOn", "hybrid", "vector", "retrieveVectors",
    "locales",
}  # fmt: skip


def now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def error(code: str, message: str, type_: str = "invalid_request") -> dict[str, str]:
    """Meilisearch's error object."""
    return {
        "message": message,
        "code": code,
        "type": type_,
        "link": f"https://docs.meilisearch.com/errors#{code}",
    }


class TaskFailed(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class FakeMeili:
    def __init__(self) -> None:
        self.indexes: dict[str, dict[str, Any]] = {}
        self.tasks: dict[int, dict[str, Any]] = {}
        self.polls: dict[int, int] = {}
        # Task types made to fail, as a full disk or a bad setting would.
        self.failing: set[str] = set()
        self.requests: list[tuple[str, str, Any]] = []
        self.lock = threading.Lock()

    # Tasks report "enqueued" on the first poll and their outcome after, so the client
    # must really wait for them. Errors of asynchronous operations (deleting a missing
    # index, creating one that exists) are reported in the task, as Meilisearch does.
    def enqueue(
        self, index_uid: str | None, type_: str, apply: Callable[[], object]
    ) -> dict[str, Any]:
        uid = len(self.tasks)
        enqueued = now()
        outcome: dict[str, Any] = {"status": "succeeded", "error": None}
        try:
            if type_ in self.failing:
                raise TaskFailed("internal", "No space left on device")
            apply()
        except TaskFailed as exc:
            outcome = {
                "status": "failed",
                "error": error(exc.code, str(exc)),
            }
        self.tasks[uid] = {
            "uid": uid,
            "batchUid": uid,
            "indexUid": index_uid,
            "type": type_,
            "canceledBy": None,
            "details": {},
            "duration": "PT0.001S",
            "enqueuedAt": enqueued,
            "startedAt": enqueued,
            "finishedAt": now(),
            **outcome,
        }
        return {
            "taskUid": uid,
            "indexUid": index_uid,
            "status": "enqueued",
            "type": type_,
            "enqueuedAt": enqueued,
        }

    def task(self, uid: int) -> dict[str, Any]:
        self.polls[uid] = self.polls.get(uid, 0) + 1
        if self.polls[uid] == 1:
            return {
                **self.tasks[uid],
                "status": "enqueued",
                "error": None,
                "startedAt": None,
                "finishedAt": None,
                "duration": None,
            }
        return self.tasks[uid]

    def index(self, uid: str) -> dict[str, Any]:
        if uid not in self.indexes:
            raise TaskFailed("index_not_found", f"Index `{uid}` not found.")
        return self.indexes[uid]

    def create(self, uid: str, primary_key: str | None) -> dict[str, Any]:
        if uid in self.indexes:
            raise TaskFailed("index_already_exists", f"Index `{uid}` already exists.")
        stamp = now()
        self.indexes[uid] = {
            "primaryKey": primary_key,
            "docs": {},
            "settings": {},
            "createdAt": stamp,
            "updatedAt": stamp,
        }
        return self.indexes[uid]

    def matches(self, doc: dict[str, Any], expression: str | None) -> bool:
        if not expression:
            return True
        for clause in expression.split(" AND "):
            m = re.fullmatch(r"(\w+) (=|IN) (.+)", clause)
            assert m, f"unexpected filter clause {clause!r}"
            attr, op, raw = m.groups()
            values = json.loads(raw) if op == "IN" else [json.loads(raw)]
            have = doc.get(attr)
            have = have if isinstance(have, list) else [have]
            if not any(v in have for v in values):
                return False
        return True

    def search(self, uid: str, body: dict[str, Any]) -> dict[str, Any]:
        index = self.indexes[uid]
        settings = index["settings"]
        q = body["q"].lower()
        words = {q, *settings.get("synonyms", {}).get(q, [])}
        searchable = settings["searchableAttributes"]
        pre, post = body["highlightPreTag"], body["highlightPostTag"]
        hits = []
        for doc in index["docs"].values():
            if not self.matches(doc, body.get("filter")):
                continue
            rank = None
            for i, attr in enumerate(searchable):
                values = doc.get(attr)
                values = values if isinstance(values, list) else [values]
                if any(isinstance(v, str) and any(w in v.lower() for w in words) for v in values):
                    rank = i
                    break
            if rank is None:
                continue

            def mark(v: Any) -> Any:
                if isinstance(v, list):
                    return [mark(x) for x in v]
                if not isinstance(v, str):
                    return v
                for w in words:
                    v = re.sub(re.escape(w), lambda m: pre + m.group() + post, v, flags=re.I)
                return v

            formatted = {
                k: mark(v) if k in body["attributesToHighlight"] + body["attributesToCrop"] else v
                for k, v in doc.items()
            }
            hits.append(
                (
                    rank,
                    {**doc, "_formatted": formatted, "_rankingScore": 1 - rank / len(searchable)},
                )
            )
        hits.sort(key=lambda h: h[0])
        return {
            "hits": [h for _, h in hits[body["offset"] : body["offset"] + body["limit"]]],
            "query": body["q"],
            "processingTimeMs": 0,
            "limit": body["limit"],
            "offset": body["offset"],
            "estimatedTotalHits": len(hits),
        }


def make_handler(fake: FakeMeili) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def reply(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def handle_any(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            with fake.lock:
                fake.requests.append((method, self.path, body))
                if self.headers.get("Authorization") != f"Bearer {KEY}":
                    return self.reply(401, error("missing_authorization_header", "no key", "auth"))
                status, out = self.route(method, self.path, body)
            self.reply(status, out)

        def route(self, method: str, path: str, body: Any) -> tuple[int, Any]:
            path = path.split("?", 1)[0]
            if m := re.fullmatch(r"/tasks/(\d+)", path):
                if int(m.group(1)) not in fake.tasks:
                    return 404, error("task_not_found", f"Task `{m.group(1)}` not found.")
                return 200, fake.task(int(m.group(1)))
            if path == "/indexes" and method == "POST":
                uid = body["uid"]
                return 202, fake.enqueue(
                    uid, "indexCreation", lambda: fake.create(uid, body.get("primaryKey"))
                )
            if path == "/swap-indexes" and method == "POST":
                a, b = body[0]["indexes"]

                def swap() -> None:
                    fake.indexes[a], fake.indexes[b] = fake.index(b), fake.index(a)

                return 202, fake.enqueue(None, "indexSwap", swap)
            m = re.fullmatch(r"/indexes/([\w-]+)(/.*)?", path)
            if not m:
                return 404, error("not_found", path)
            uid, rest = m.group(1), m.group(2) or ""
            # Reads answer at once; writes are tasks (adding documents or settings to a
            # missing index creates it, deleting a missing index fails in its task).
            if rest == "" and method == "GET":
                if uid not in fake.indexes:
                    return 404, error("index_not_found", f"Index `{uid}` not found.")
                index = fake.indexes[uid]
                return 200, {
                    "uid": uid,
                    "primaryKey": index["primaryKey"],
                    "createdAt": index["createdAt"],
                    "updatedAt": index["updatedAt"],
                }
            if rest == "" and method == "DELETE":

                def drop() -> None:
                    fake.index(uid)
                    del fake.indexes[uid]

                return 202, fake.enqueue(uid, "indexDeletion", drop)

            def existing_or_new() -> dict[str, Any]:
                return fake.indexes.get(uid) or fake.create(uid, None)

            if rest == "/settings" and method == "PATCH":
                return 202, fake.enqueue(
                    uid, "settingsUpdate", lambda: existing_or_new()["settings"].update(body)
                )
            if rest == "/documents" and method == "POST":

                def add() -> None:
                    index = existing_or_new()
                    index["primaryKey"] = index["primaryKey"] or "id"
                    for d in body:
                        index["docs"][d[index["primaryKey"]]] = d

                return 202, fake.enqueue(uid, "documentAdditionOrUpdate", add)
            if rest == "/documents/delete-batch" and method == "POST":

                def delete() -> None:
                    for i in body:
                        fake.index(uid)["docs"].pop(i, None)

                return 202, fake.enqueue(uid, "documentDeletion", delete)
            if rest == "/search" and method == "POST":
                if unknown := set(body) - SEARCH_PARAMETERS:
                    return 400, error("bad_request", f"Unknown field `{sorted(unknown)[0]}`")
                if uid not in fake.indexes:
                    return 404, error("index_not_found", f"Index `{uid}` not found.")
                return 200, fake.search(uid, body)
            return 405, error("method_not_allowed", f"{method} {path}")

        def do_GET(self) -> None:
            self.handle_any("GET")

        def do_POST(self) -> None:
            self.handle_any("POST")

        def do_PATCH(self) -> None:
            self.handle_any("PATCH")

        def do_DELETE(self) -> None:
            self.handle_any("DELETE")

        def do_PUT(self) -> None:
            self.handle_any("PUT")

    return Handler


@pytest.fixture
def fake() -> Iterator[tuple[FakeMeili, str]]:
    state = FakeMeili()
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(state))
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


DOCS = [
    SearchDocument(
        id="r1",
        kind="faq",
        title="如何申请退款？",
        similar=("怎么退钱",),
        body="在订单详情页点击<申请退款>。",
        locale="zh-CN",
        categories=("售后", "售后/退款"),
        tags=("退款",),
    ),
    SearchDocument(
        id="i1",
        kind="faq",
        title="怎么开发票？",
        body="订单完成后申请电子发票。",
        locale="zh-CN",
        categories=("订单",),
        tags=("发票",),
    ),
    SearchDocument(
        id="e1",
        kind="faq",
        title="How do I request a refund?",
        body="Open the order.",
        locale="en",
        visibility="internal",
    ),
]


async def test_first_write_creates_the_index_with_chinese_settings(
    fake: tuple[FakeMeili, str],
) -> None:
    state, url = fake
    index = MeilisearchIndex(url, KEY)
    ws = uuid.uuid4()
    await index.upsert(ws, DOCS)
    uid = index.uid(ws)
    settings = state.indexes[uid]["settings"]
    assert {"attributePatterns": ["*_zh"], "locales": ["cmn"]} in settings["localizedAttributes"]
    assert settings["searchableAttributes"][0] == "title_zh"
    assert {"locale", "status", "visibility", "categories", "tags"} <= set(
        settings["filterableAttributes"]
    )
    assert "退钱" in settings["synonyms"]["退款"]
    stored = state.indexes[uid]["docs"]["r1"]
    assert stored["title_zh"] == "如何申请退款？" and stored["similar_zh"] == ["怎么退钱"]
    assert state.indexes[uid]["docs"]["e1"]["title_en"] == "How do I request a refund?"
    # every task the client started was polled until it was no longer enqueued
    assert all(state.polls.get(uid_, 0) >= 2 for uid_ in state.tasks)
    await index.close()


async def test_search_sends_filters_and_returns_escaped_highlights(
    fake: tuple[FakeMeili, str],
) -> None:
    state, url = fake
    index = MeilisearchIndex(url, KEY)
    ws = uuid.uuid4()
    await index.upsert(ws, DOCS)
    hits = await index.search(ws, "退款", SearchFilters(locale="zh-CN", status=("published",)), 5)
    sent = [b for m, p, b in state.requests if p.endswith("/search")][-1]
    assert sent["filter"] == 'locale = "zh-CN" AND status IN ["published"]'
    assert sent["locales"] == ["cmn"] and sent["showRankingScore"] is True
    assert [h.id for h in hits] == ["r1"]
    assert hits[0].highlight == "如何申请<mark>退款</mark>？"
    assert hits[0].snippet == "在订单详情页点击&lt;申请<mark>退款</mark>&gt;。"
    assert 0 < hits[0].score <= 1
    await index.close()


async def test_synonyms_and_filters_reach_the_server(fake: tuple[FakeMeili, str]) -> None:
    _state, url = fake
    index = MeilisearchIndex(url, KEY)
    ws = uuid.uuid4()
    await index.upsert(ws, DOCS)
    assert [h.id for h in await index.search(ws, "退钱")] == ["r1"]
    assert await index.search(ws, "refund", SearchFilters(visibility="public")) == []
    assert [
        h.id for h in await index.search(ws, "发票", SearchFilters(category="订单", tags=("发票",)))
    ] == ["i1"]
    await index.close()


async def test_delete_and_replace_all_swap_in_a_fresh_index(fake: tuple[FakeMeili, str]) -> None:
    state, url = fake
    index = MeilisearchIndex(url, KEY)
    ws = uuid.uuid4()
    await index.upsert(ws, DOCS)
    await index.delete(ws, ["i1"])
    assert await index.search(ws, "发票") == []
    new = SearchDocument(id="n1", kind="faq", title="发票抬头怎么改", locale="zh-CN")
    await index.replace_all(ws, [new])
    assert [h.id for h in await index.search(ws, "发票")] == ["n1"]
    assert await index.search(ws, "退款") == []
    assert set(state.indexes) == {index.uid(ws)}  # the rebuild index was dropped after the swap
    assert any(p == "/swap-indexes" for _m, p, _b in state.requests)
    await index.close()


async def test_unknown_workspace_searches_empty_and_bad_key_raises(
    fake: tuple[FakeMeili, str],
) -> None:
    _state, url = fake
    assert await MeilisearchIndex(url, KEY).search(uuid.uuid4(), "退款") == []
    with pytest.raises(MeilisearchError, match="401"):
        await MeilisearchIndex(url, "wrong").upsert(uuid.uuid4(), DOCS)


async def test_a_failed_task_raises_with_its_reason(fake: tuple[FakeMeili, str]) -> None:
    state, url = fake
    index = MeilisearchIndex(url, KEY)
    state.failing.add("documentAdditionOrUpdate")
    with pytest.raises(MeilisearchError, match="failed: internal: No space left on device"):
        await index.upsert(uuid.uuid4(), DOCS)
    await index.close()


def test_filter_expression_quotes_values() -> None:
    expr = filter_expression(SearchFilters(tags=('say "hi"',), kind="faq"))
    assert expr == 'kind = "faq" AND tags = "say \\"hi\\""'
    assert filter_expression(None) is None


async def test_the_service_uses_meilisearch_when_configured(
    fake: tuple[FakeMeili, str], kefu: Kefu, workspace: Demo
) -> None:
    state, url = fake
    meili = build_kefu(msgspec.structs.replace(kefu.settings, meili_url=url, meili_key=KEY))
    try:
        created = await entries.create_entry(
            meili,
            workspace.workspace_id,
            EntryIn(title="怎么开发票？", status=EntryStatus.published),
            None,
        )
        uid = f"kefu_knowledge_{workspace.workspace_id.hex}"
        assert str(created.id) in state.indexes[uid]["docs"]  # indexed on save, not later
        hits = (await knowledge_index.search(meili, workspace.workspace_id, "发票")).hits
        assert [h.id for h in hits] == [str(created.id)]
        await entries.delete_entry(meili, workspace.workspace_id, created.id, None)
        assert state.indexes[uid]["docs"] == {}
        assert await knowledge_index.reindex(meili, workspace.workspace_id) == 0
    finally:
        await knowledge_index.close(meili)
        await meili.db.dispose()
