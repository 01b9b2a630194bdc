"""The relevance test set: paraphrased customer questions and the entry each should find,
and questions with NO right answer in the knowledge base (`expected` empty) that the bot
must not answer.

Shared by the unit tests (which hold floors) and `bench/bench_knowledge.py` (which
prints the figures for bench/RESULTS.md).
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec

from kefu.knowledge.io import SAMPLES, read_folder
from kefu.knowledge.schemas import EntryIn
from kefu.knowledge.search import text as tx
from kefu.knowledge.search.base import SearchDocument, SearchFilters, SearchHit

if TYPE_CHECKING:
    from kefu.knowledge.bot import BotConfig

RELEVANCE_CSV = SAMPLES / "relevance.csv"


class Case(msgspec.Struct, frozen=True):
    query: str
    expected: str  # "" when the knowledge base has no right answer
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
    answerable = [c for c in cases if c.expected]
    for locale in sorted({c.locale for c in answerable}):
        mine = [c for c in answerable if c.locale == locale]
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


class BotRates(msgspec.Struct, frozen=True):
    """What the bot (`bot.decide`) does with the set, per locale. `false_answer_rate` is
    the share of ALL queries answered with a wrong entry (answerable ones answered with
    another entry, and no-answer ones answered at all): the embarrassment rate."""

    locale: str
    answerable: int
    no_answer: int
    answered_right: float  # of answerable: answered at once with the right entry
    offered_right: float  # of answerable: the right entry among the offered choices
    wrong_answers: int
    false_answer_rate: float
    no_answer_answered: float  # of no-answer queries: answered anyway
    wrong: list[str]


def bot_rates(
    search: Callable[[str, SearchFilters], Sequence[SearchHit]],
    cases: Sequence[Case],
    config: BotConfig | None = None,
) -> list[BotRates]:
    """Run the bot's policy on every query, searching as the bot does (published, public
    FAQ in the query's locale)."""
    # The bot imports the index, which imports this module: import it when run.
    from kefu.knowledge.bot import BotConfig, BotState, decide

    config = config or BotConfig()
    out: list[BotRates] = []
    for locale in sorted({c.locale for c in cases}):
        mine = [c for c in cases if c.locale == locale]
        right = offered = wrong_answerable = wrong_none = 0
        wrong: list[str] = []
        filters = SearchFilters(
            locale=locale, status=("published",), visibility="public", kind="faq"
        )
        for case in mine:
            hits = list(search(case.query, filters))
            decision = decide(case.query, hits, BotState(), config)
            if decision.action == "answer":
                if decision.entry_id == case.expected:
                    right += 1
                else:
                    wrong_answerable += bool(case.expected)
                    wrong_none += not case.expected
                    top = f"{hits[0].score:.2f}" if hits else "-"
                    wrong.append(f"{case.query} -> {decision.entry_id} at {top}")
            elif decision.action == "offer" and case.expected:
                offered += case.expected in {c.id for c in decision.choices}
        answerable = sum(1 for c in mine if c.expected)
        no_answer = len(mine) - answerable
        out.append(
            BotRates(
                locale=locale,
                answerable=answerable,
                no_answer=no_answer,
                answered_right=right / answerable if answerable else 0.0,
                offered_right=offered / answerable if answerable else 0.0,
                wrong_answers=wrong_answerable + wrong_none,
                false_answer_rate=(wrong_answerable + wrong_none) / len(mine),
                no_answer_answered=wrong_none / no_answer if no_answer else 0.0,
                wrong=wrong,
            )
        )
    return out


class Calibration(msgspec.Struct, frozen=True):
    answer_threshold: float
    ambiguity_margin: float
    answered_right: int  # answerable queries answered at once with the right entry
    false_answer_rate: float  # the worst locale's


def calibrate(
    search: Callable[[str, SearchFilters], Sequence[SearchHit]],
    cases: Sequence[Case],
    thresholds: Sequence[float] = (0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8),
    margins: Sequence[float] = (0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3),
) -> list[Calibration]:
    """The bot's policy on the set for each (threshold, margin): how many questions it
    answers right and how often it answers wrongly (worst locale)."""
    from kefu.knowledge.bot import BotConfig

    hits = {
        (c.query, c.locale): list(
            search(
                c.query,
                SearchFilters(
                    locale=c.locale, status=("published",), visibility="public", kind="faq"
                ),
            )
        )
        for c in cases
    }

    def cached(query: str, filters: SearchFilters) -> list[SearchHit]:
        return hits[(query, filters.locale or "")]

    out: list[Calibration] = []
    for threshold in thresholds:
        for margin in margins:
            config = BotConfig(answer_threshold=threshold, ambiguity_margin=margin)
            rates = bot_rates(cached, cases, config)
            out.append(
                Calibration(
                    answer_threshold=threshold,
                    ambiguity_margin=margin,
                    answered_right=round(sum(r.answered_right * r.answerable for r in rates)),
                    false_answer_rate=max(r.false_answer_rate for r in rates),
                )
            )
    return out
