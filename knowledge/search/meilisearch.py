"""The Meilisearch backend (`KEFU_MEILI_URL`), for deployments with many processes.

Spoken through meilisearch-python-sdk's `AsyncClient` (the maintained async client; the
official one is synchronous). One index per workspace, so tenants never share an index and
a reindex can build a fresh one and swap it in atomically (`swap_indexes`).

Chinese and English entries live in one index; each text field is suffixed by its
language family (`title_zh`, `title_en`, ...) and `localizedAttributes` tells Meilisearch
to segment `*_zh` as Mandarin (`cmn`) and `*_en` as English, so 退款 is one word to it.
"""

from __future__ import annotations

import html
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from meilisearch_python_sdk import AsyncClient
from meilisearch_python_sdk.errors import MeilisearchApiError
from meilisearch_python_sdk.errors import MeilisearchError as ClientError
from meilisearch_python_sdk.models.settings import (
    LocalizedAttributes,
    MeilisearchSettings,
    MinWordSizeForTypos,
    TypoTolerance,
)
from meilisearch_python_sdk.models.task import TaskInfo

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


def index_settings(synonym_groups: Sequence[Sequence[str]] = DEFAULT_GROUPS) -> MeilisearchSettings:
    langs = [*LANGS, OTHER]
    return MeilisearchSettings(
        # Order is rank: the question outweighs its paraphrases, which outweigh the body.
        searchable_attributes=[
            *(f"title_{lang}" for lang in langs),
            *(f"similar_{lang}" for lang in langs),
            *(f"body_{lang}" for lang in langs),
        ],
        filterable_attributes=["locale", "status", "visibility", "categories", "tags", "kind"],
        displayed_attributes=["*"],
        localized_attributes=[
            LocalizedAttributes(attribute_patterns=[f"*_{lang}"], locales=[code])
            for lang, code in LANGS.items()
        ],
        synonyms=meilisearch_synonyms(synonym_groups),
        typo_tolerance=TypoTolerance(
            enabled=True, min_word_size_for_typos=MinWordSizeForTypos(one_typo=4, two_typos=8)
        ),
    )


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


@contextmanager
def _reasons(what: str) -> Iterator[None]:
    """The client's errors as ours, saying what was attempted and Meilisearch's reason."""
    try:
        yield
    except MeilisearchApiError as exc:
        reason = exc.message.removeprefix("Error message: ")
        raise MeilisearchError(
            f"Meilisearch {what} -> {exc.status_code} {exc.code}: {reason}"
        ) from exc
    except ClientError as exc:
        raise MeilisearchError(f"Meilisearch {what}: {exc.message}") from exc


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
    ) -> None:
        self._client = AsyncClient(url, api_key or None, timeout=10)
        self._prefix = prefix
        self._settings = index_settings(synonyms)
        # Waiting for each write's task makes "saved" mean "searchable"; a bulk import
        # may turn it off and wait once at the end.
        self._wait = wait
        self._task_timeout_ms = int(task_timeout * 1000)
        self._ready: set[str] = set()

    def uid(self, workspace_id: uuid.UUID) -> str:
        return f"{self._prefix}{workspace_id.hex}"

    async def _done(self, task: TaskInfo, *, wait: bool | None = None) -> None:
        """Wait for a task (polling the task queue is Meilisearch's documented way) and
        raise its error if it failed."""
        if not (self._wait if wait is None else wait):
            return
        with _reasons(f"task {task.task_uid} ({task.task_type})"):
            result = await self._client.wait_for_task(
                task.task_uid, timeout_in_ms=self._task_timeout_ms, interval_in_ms=20
            )
        if result.status != "succeeded":
            error = result.error or {}
            raise MeilisearchError(
                f"Meilisearch task {task.task_uid} ({result.task_type}) {result.status}: "
                f"{error.get('code')}: {error.get('message')}"
            )

    async def _exists(self, uid: str) -> bool:
        with _reasons(f"get index {uid}"):
            try:
                await self._client.get_index(uid)
            except MeilisearchApiError as exc:
                if exc.code != "index_not_found":
                    raise
                return False
        return True

    async def _ensure(self, uid: str) -> None:
        if uid in self._ready:
            return
        if not await self._exists(uid):
            with _reasons(f"create index {uid}"):
                # Waits for the creation task, then reads the index back: a creation that
                # lost a race with another process still finds the index.
                await self._client.create_index(
                    uid, primary_key="id", timeout_in_ms=self._task_timeout_ms
                )
        with _reasons(f"update settings of {uid}"):
            task = await self._client.index(uid).update_settings(self._settings)
        await self._done(task, wait=True)
        self._ready.add(uid)

    async def _drop(self, uid: str) -> None:
        self._ready.discard(uid)
        if not await self._exists(uid):
            return
        with _reasons(f"delete index {uid}"):
            task = await self._client.index(uid).delete()
        await self._done(task, wait=True)

    async def upsert(self, workspace_id: uuid.UUID, docs: Sequence[SearchDocument]) -> None:
        if not docs:
            return
        uid = self.uid(workspace_id)
        await self._ensure(uid)
        # add_documents is "add or replace": each document is replaced whole (updating
        # would merge fields, leaving title_zh behind when an entry's locale changes to en).
        with _reasons(f"add documents to {uid}"):
            task = await self._client.index(uid).add_documents([to_meili(d) for d in docs])
        await self._done(task)

    async def delete(self, workspace_id: uuid.UUID, ids: Sequence[str]) -> None:
        if not ids:
            return
        uid = self.uid(workspace_id)
        await self._ensure(uid)
        with _reasons(f"delete documents from {uid}"):
            task = await self._client.index(uid).delete_documents(list(ids))
        await self._done(task)

    async def replace_all(self, workspace_id: uuid.UUID, docs: Sequence[SearchDocument]) -> None:
        """Build a fresh index beside the live one and swap them, so searches never see a
        half-built index; then drop the old one."""
        uid = self.uid(workspace_id)
        fresh = f"{uid}_rebuild"
        await self._ensure(uid)
        await self._drop(fresh)  # left over from a rebuild that died half-way
        await self._ensure(fresh)
        for start in range(0, len(docs), 1000):
            batch = [to_meili(d) for d in docs[start : start + 1000]]
            with _reasons(f"add documents to {fresh}"):
                task = await self._client.index(fresh).add_documents(batch)
            await self._done(task, wait=True)
        with _reasons(f"swap {uid} and {fresh}"):
            task = await self._client.swap_indexes([(uid, fresh)])
        await self._done(task, wait=True)
        await self._drop(fresh)

    async def search(
        self,
        workspace_id: uuid.UUID,
        query: str,
        filters: SearchFilters | None = None,
        limit: int = 10,
    ) -> list[SearchHit]:
        uid = self.uid(workspace_id)
        locales: list[str] | None = None
        if any(tx.is_cjk_term(ch) for ch in query):
            locales = ["cmn"]
        elif filters is not None and filters.locale and lang_of(filters.locale) in LANGS:
            locales = [LANGS[lang_of(filters.locale)]]
        with _reasons(f"search {uid}"):
            try:
                results = await self._client.index(uid).search(
                    query,
                    limit=limit,
                    filter=filter_expression(filters),
                    show_ranking_score=True,
                    attributes_to_highlight=[
                        f"{f}_{lang}" for f in ("title", "similar") for lang in ALL
                    ],
                    attributes_to_crop=[f"body_{lang}" for lang in ALL],
                    crop_length=40,
                    crop_marker="…",
                    highlight_pre_tag=_PRE,
                    highlight_post_tag=_POST,
                    locales=locales,
                )
            except MeilisearchApiError as exc:
                if exc.code == "index_not_found":
                    return []  # nothing indexed for this workspace yet
                raise
        return [self._hit(h) for h in results.hits]

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
