"""The relevance test set: paraphrased customer questions and the entry each should find.

Shared by the unit test (which holds a floor) and `bench/bench_knowledge.py` (which
prints the figures for bench/RESULTS.md).
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from pathlib import Path

import msgspec

from kefu.knowledge.io import SAMPLES, read_folder
from kefu.knowledge.schemas import EntryIn
from kefu.knowledge.search import text as tx
from kefu.knowledge.search.base import SearchDocument, SearchFilters, SearchHit

RELEVANCE_CSV = SAMPLES / "relevance.csv"


class Case(msgspec.Struct, frozen=True):
    query: str
    expected: str
    locale: str


class Recall(msgspec.Struct, frozen=True):
    locale: str
    cases: int
    at1: float
    at3: float
    misses: list[str]


def load_cases(path: Path = RELEVANCE_CSV) -> list[Case]:
    with path.open(encoding="utf-8") as fh:
        return [Case(r["query"], r["expected"], r["locale"]) for r in csv.DictReader(fh)]


def category_paths(category: str | None) -> tuple[str, ...]:
    """'售后/退款' -> ('售后', '售后/退款'): an entry is found under every ancestor."""
    if not category:
        return ()
    parts = [p.strip() for p in category.split("/") if p.strip()]
    return tuple("/".join(parts[: i + 1]) for i in range(len(parts)))


def document(doc_id: str, entry: EntryIn) -> SearchDocument:
    return SearchDocument(
        id=doc_id,
        kind=entry.kind.value,
        title=entry.title,
        similar=tuple(entry.similar),
        body=tx.plain(entry.body),
        locale=entry.locale,
        status=entry.status.value,
        visibility=entry.visibility.value,
        categories=category_paths(entry.category),
        tags=tuple(entry.tags),
    )


def sample_documents() -> list[SearchDocument]:
    return [document(e.key or e.title, e) for e in read_folder(SAMPLES)]


def evaluate(
    search: Callable[[str, SearchFilters], Sequence[SearchHit]], cases: Sequence[Case]
) -> list[Recall]:
    """Recall@1 and @3 per locale, searching published entries in the case's locale."""
    out: list[Recall] = []
    for locale in sorted({c.locale for c in cases}):
        mine = [c for c in cases if c.locale == locale]
        at1 = at3 = 0
        misses: list[str] = []
        for case in mine:
            filters = SearchFilters(locale=locale, status=("published",))
            ids = [h.id for h in search(case.query, filters)[:3]]
            at1 += bool(ids[:1] == [case.expected])
            at3 += case.expected in ids
            if case.expected not in ids:
                misses.append(f"{case.query} -> {ids} (want {case.expected})")
        out.append(Recall(locale, len(mine), at1 / len(mine), at3 / len(mine), misses))
    return out
