"""The Meilisearch backend (`KEFU_MEILI_URL`), for deployments with many processes.

Spoken over Meilisearch's documented HTTP API with httpx (async, already a dependency;
the official client is synchronous). One index per workspace, so tenants never share an
index and a reindex can build a fresh one and swap it in atomically (`/swap-indexes`).

Chinese and English entries live in one index; each text field is suffixed by its
language family (`title_zh`, `title_en`, ...) and `localizedAttributes` tells Meilisearch
to segment `*_zh` as Mandarin (`cmn`) and `*_en` as English, so 退款 is one word to it.
"""

from __future__ import annotations

import asyncio
import html
import uuid
from collections.abc import Sequence
from typing import Any

import httpx

from kefu.knowledge.search import text as tx
from kefu.knowledge.search.base import SearchDocument, SearchFilters, SearchHit
from kefu.knowledge.search.synonyms import DEFAULT_GROUPS, meilisearch_synonyms

LANGS = {"zh": "cmn", "en": "eng"}
OTHER = "other"
ALL = (*LANGS, OTHER)
# Private-use markers survive Meilisearch's highlighting untouched; we escape the text
# and only then turn them into <mark>, so an answer containing "<script>" stays text.
_PRE, _POST = "\ue000", "\ue001"


class MeilisearchError(RuntimeError):
    """Meilisearch refused a request or a task failed; the message carries its reason."""


def lang_of(locale: str) -> str:
    family = locale.split("-")[0].lower()
    return family if family in LANGS else OTHER


def index_settings(synonym_groups: Sequence[Sequence[str]] = DEFAULT_GROUPS) -> dict[str, Any]:
    langs = [*LANGS, OTHER]
    return {
        # Order is rank: the question outweighs its paraphrases, which outweigh the body.
        "searchableAttributes": [
            *(f"title_{lang}" for lang in langs),
            *(f"similar_{lang}" for lang in langs),
            *(f"body_{lang}" for lang in langs),
        ],
        "filterableAttributes": ["locale", "status", "visibility", "categories", "tags", "kind"],
        "displayedAttributes": ["*"],
        "localizedAttributes": [
            {"attributePatterns": [f"*_{lang}"], "locales": [code]} for lang, code in LANGS.items()
        ],
        "synonyms": meilisearch_synonyms(synonym_groups),
        "typoTolerance": {"enabled": True, "minWordSizeForTypos": {"oneTypo": 4, "twoTypos": 8}},
    }


def to_meili(doc: SearchDocument) -> dict[str, Any]:
    lang = lang_of(doc.locale)
    return {
        "id": doc.id,
        "kind": doc.kind,
        "locale": doc.locale,
        "status": doc.status,
        "visibility": doc.visibility,
        "categories": list(doc.categories),
        "tags": list(doc.tags),
        f"title_{lang}": doc.title,
        f"similar_{lang}": list(doc.similar),
        f"body_{lang}": doc.body,
    }


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def filter_expression(filters: SearchFilters | None) -> str | None:
    """Meilisearch's filter syntax: `attr = "v" AND attr IN ["a", "b"]`."""
    if filters is None:
        return None
    parts: list[str] = []
    if filters.locale is not None:
        parts.append(f"locale = {_quote(filters.locale)}")
    if filters.status is not None:
        parts.append(f"status IN [{', '.join(_quote(s) for s in filters.status)}]")
    if filters.visibility is not None:
        parts.append(f"visibility = {_quote(filters.visibility)}")
    if filters.category is not None:
        parts.append(f"categories = {_quote(filters.category)}")
    if filters.kind is not None:
        parts.append(f"kind = {_quote(filters.kind)}")
    parts.extend(f"tags = {_quote(tag)}" for tag in filters.tags)
    return " AND ".join(parts) or None


def _marked(value: str) -> str:
    return html.escape(value).replace(_PRE, "<mark>").replace(_POST, "</mark>")


def _field(hit: dict[str, Any], name: str) -> Any:
    for lang in (*LANGS, OTHER):
        if f"{name}_{lang}" in hit:
            return hit[f"{name}_{lang}"]
    return None


class MeilisearchIndex:
    """The `Index` backed by a Meilisearch server."""

    def __init__(
        self,
        url: str,
        api_key: str = "",
        *,
        prefix: str = "kefu_knowledge_",
        synonyms: Sequence[Sequence[str]] = DEFAULT_GROUPS,
        wait: bool = True,
        task_timeout: float = 30.0,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = client or httpx.AsyncClient(base_url=url, headers=headers, timeout=10.0)
        self._prefix = prefix
        self._settings = index_settings(synonyms)
        # Waiting for each write's task makes "saved" mean "searchable"; a bulk import
        # may turn it off and wait once at the end.
        self._wait = wait
        self._task_timeout = task_timeout
        self._ready: set[str] = set()

    def uid(self, workspace_id: uuid.UUID) -> str:
        return f"{self._prefix}{workspace_id.hex}"

    async def _request(self, method: str, path: str, body: Any = None) -> Any:
        response = await self._client.request(method, path, json=body)
        if response.status_code >= 400:
            try:
                detail = response.json()
                reason = f"{detail.get('code')}: {detail.get('message')}"
            except ValueError:
                reason = response.text[:200]
            raise MeilisearchError(
                f"Meilisearch {method} {path} -> {response.status_code} {reason}"
            )
        return response.json() if response.content else None

    async def _task(self, enqueued: Any, *, wait: bool | None = None) -> None:
        if not (self._wait if wait is None else wait):
            return
        task_uid = enqueued["taskUid"]
        delay = 0.01
        deadline = asyncio.get_running_loop().time() + self._task_timeout
        while True:
            task = await self._request("GET", f"/tasks/{task_uid}")
            status = task.get("status")
            if status == "succeeded":
                return
            if status in ("failed", "canceled"):
                error = task.get("error") or {}
                raise MeilisearchError(
                    f"Meilisearch task {task_uid} ({task.get('type')}) {status}: "
                    f"{error.get('code')}: {error.get('message')}"
                )
            if asyncio.get_running_loop().time() > deadline:
                raise MeilisearchError(
                    f"Meilisearch task {task_uid} still {status} after {self._task_timeout}s"
                )
            await asyncio.sleep(delay)  # polling a queue: the documented way to await a task
            delay = min(delay * 2, 0.5)

    async def _ensure(self, uid: str) -> None:
        if uid in self._ready:
            return
        response = await self._client.get(f"/indexes/{uid}")
        if response.status_code == 404:
            await self._task(
                await self._request("POST", "/indexes", {"uid": uid, "primaryKey": "id"}), wait=True
            )
        elif response.status_code >= 400:
            raise MeilisearchError(f"Meilisearch GET /indexes/{uid} -> {response.status_code}")
        await self._task(
            await self._request("PATCH", f"/indexes/{uid}/settings", self._settings), wait=True
        )
        self._ready.add(uid)

    async def upsert(self, workspace_id: uuid.UUID, docs: Sequence[SearchDocument]) -> None:
        if not docs:
            return
        uid = self.uid(workspace_id)
        await self._ensure(uid)
        # POST is "add or replace": each document is replaced whole. (PUT would merge
        # fields, leaving title_zh behind when an entry's locale changes to en.)
        await self._task(
            await self._request("POST", f"/indexes/{uid}/documents", [to_meili(d) for d in docs])
        )

    async def delete(self, workspace_id: uuid.UUID, ids: Sequence[str]) -> None:
        if not ids:
            return
        uid = self.uid(workspace_id)
        await self._ensure(uid)
        await self._task(
            await self._request("POST", f"/indexes/{uid}/documents/delete-batch", list(ids))
        )

    async def replace_all(self, workspace_id: uuid.UUID, docs: Sequence[SearchDocument]) -> None:
        """Build a fresh index beside the live one and swap them, so searches never see a
        half-built index; then drop the old one."""
        uid = self.uid(workspace_id)
        fresh = f"{uid}_rebuild"
        await self._ensure(uid)
        existing = await self._client.get(f"/indexes/{fresh}")
        if existing.status_code == 200:
            await self._task(await self._request("DELETE", f"/indexes/{fresh}"), wait=True)
        self._ready.discard(fresh)
        await self._ensure(fresh)
        for start in range(0, len(docs), 1000):
            batch = [to_meili(d) for d in docs[start : start + 1000]]
            await self._task(
                await self._request("POST", f"/indexes/{fresh}/documents", batch), wait=True
            )
        await self._task(
            await self._request("POST", "/swap-indexes", [{"indexes": [uid, fresh]}]), wait=True
        )
        await self._task(await self._request("DELETE", f"/indexes/{fresh}"), wait=True)
        self._ready.discard(fresh)

    async def search(
        self,
        workspace_id: uuid.UUID,
        query: str,
        filters: SearchFilters | None = None,
        limit: int = 10,
    ) -> list[SearchHit]:
        uid = self.uid(workspace_id)
        body: dict[str, Any] = {
            "q": query,
            "limit": limit,
            "showRankingScore": True,
            "attributesToHighlight": [f"{f}_{lang}" for f in ("title", "similar") for lang in ALL],
            "attributesToCrop": [f"body_{lang}" for lang in ALL],
            "cropLength": 40,
            "cropMarker": "…",
            "highlightPreTag": _PRE,
            "highlightPostTag": _POST,
        }
        expression = filter_expression(filters)
        if expression:
            body["filter"] = expression
        if any(tx.is_cjk_term(ch) for ch in query):
            body["locales"] = ["cmn"]
        elif filters is not None and filters.locale and lang_of(filters.locale) in LANGS:
            body["locales"] = [LANGS[lang_of(filters.locale)]]
        response = await self._client.post(f"/indexes/{uid}/search", json=body)
        if response.status_code == 404:
            return []  # nothing indexed for this workspace yet
        if response.status_code >= 400:
            raise MeilisearchError(
                f"Meilisearch search -> {response.status_code} {response.text[:200]}"
            )
        return [self._hit(h) for h in response.json().get("hits", [])]

    @staticmethod
    def _hit(hit: dict[str, Any]) -> SearchHit:
        formatted: dict[str, Any] = hit.get("_formatted") or {}
        title = str(_field(hit, "title") or "")
        similar_marked = _field(formatted, "similar") or []
        matched = next((s for s in similar_marked if _PRE in s), None)
        title_marked = str(_field(formatted, "title") or title)
        return SearchHit(
            id=str(hit["id"]),
            kind=str(hit.get("kind", "faq")),
            title=title,
            highlight=_marked(title_marked),
            snippet=_marked(str(_field(formatted, "body") or "")),
            score=round(float(hit.get("_rankingScore", 0.0)), 4),
            locale=str(hit.get("locale", "")),
            matched_question=(
                matched.replace(_PRE, "").replace(_POST, "")
                if matched is not None and _PRE not in title_marked
                else None
            ),
        )

    async def close(self) -> None:
        await self._client.aclose()
