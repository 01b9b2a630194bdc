"""The embedded search backend: an in-memory BM25 index per workspace, no server needed.

Why in memory and not SQLite FTS5: FTS5 would need our own segmentation anyway (its
trigram tokenizer cannot match 退款), and an FAQ needs question-level matching: a
customer's sentence is compared with each phrasing of each question on its own, not with
one long concatenation, which is what makes a paraphrase find its entry and gives the bot a
score it can put a threshold on. Typo tolerance needs the vocabulary at hand too. Postings
are compact `array`s, so 100,000 entries fit in a few hundred MB; the index is rebuilt from
the database at startup (`kefu.knowledge.index.warm_up`) and updated on every change.

Each entry becomes several *units*: its title, each similar question, its body. A query
is scored with BM25 against every unit; an entry's score is its best question unit plus a
share of its body unit and of its other matching phrasings, normalized by what the query
would score against itself, so a score means the same across queries (the bot's threshold).
"""

from __future__ import annotations

import bisect
import heapq
import math
import threading
import uuid
from array import array
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from itertools import chain, islice

from kefu.knowledge.search import text as tx
from kefu.knowledge.search.base import SearchDocument, SearchFilters, SearchHit
from kefu.knowledge.search.synonyms import DEFAULT_GROUPS

K1 = 1.2
B = 0.75
# Chosen on the relevance set (knowledge/samples/relevance.csv); moves of one query or two.
BODY_WEIGHT = 0.4
SIBLING_WEIGHT = 0.15
SYNONYM_WEIGHT = 0.7
TYPO_WEIGHT = 0.6
PREFIX_WEIGHT = 0.5
# The best candidates are reranked by how much of their question the query covers.
CANDIDATES = 30
HEAD = 500
PRECISION_WEIGHT = 0.4
WEAK_TERM_SHARE = 0.01
WEAK_TERM_MIN_DF = 2000
SNIPPET_SCAN = 4000

_TITLE, _SIMILAR, _BODY = 0, 1, 2


class _Postings:
    """Units containing a term, ascending, with the term's frequency in each and its BM25
    saturation part tf*(k1+1)/(tf+k1*(1-b+b*len/avg)), precomputed so the query loop is one
    multiply-add per posting."""

    __slots__ = ("parts", "tfs", "units")

    def __init__(self) -> None:
        self.units = array("I")
        self.tfs = array("f")
        self.parts = array("f")


class WorkspaceIndex:
    """One workspace's index. Not async: every operation is CPU-only and short, except
    `build`, which callers run in a worker thread before swapping the result in."""

    def __init__(self, synonyms: Sequence[Sequence[str]] = DEFAULT_GROUPS) -> None:
        self.docs: list[SearchDocument | None] = []
        self.by_id: dict[str, int] = {}
        self.postings: dict[str, _Postings] = {}
        self.unit_entry = array("I")
        self.unit_field = array("B")
        self.unit_len = array("f")
        self.unit_alive = bytearray()
        self.live_units = 0
        self.dead_units = 0
        self.len_sum = [0.0, 0.0]  # questions, bodies
        self.len_count = [0, 0]
        # The average lengths the precomputed parts assume; refreshed when they drift.
        self.norm_avg = [0.0, 0.0]
        # Latin terms of length >= 4 by each of their one-deletion variants (typo lookup).
        self.deletion_index: dict[str, set[str]] = {}
        self._sorted_vocab: list[str] | None = None
        self.lock = threading.RLock()
        self.synonyms = [
            (tuple(_phrase_key(p) for p in group), tuple(group))
            for group in synonyms
            if len(group) > 1
        ]

    def __len__(self) -> int:
        return len(self.by_id)

    # -- writing ---------------------------------------------------------------------------

    def upsert(self, docs: Iterable[SearchDocument]) -> None:
        with self.lock:
            for doc in docs:
                self._remove(doc.id)
                self._add(doc, _units(doc))
            self._maybe_compact()
            self._maybe_renormalize()

    def bulk_load(self, docs: Iterable[SearchDocument]) -> None:
        """Load many documents. The precomputed parts assume average unit lengths, so the
        first thousand documents are segmented before any is inserted to estimate them;
        a final check recomputes the parts if the estimate was off by a fifth."""
        with self.lock:
            it = iter(docs)
            head = [(doc, _units(doc)) for doc in islice(it, 1000)]
            if not any(self.len_count):
                sums, counts = [0.0, 0.0], [0, 0]
                for _doc, units in head:
                    for field, terms in units:
                        cls = 1 if field == _BODY else 0
                        sums[cls] += len(terms)
                        counts[cls] += 1
                self.norm_avg = [
                    max(1.0, sums[c] / counts[c]) if counts[c] else 0.0 for c in (0, 1)
                ]
            for doc, units in chain(head, ((d, _units(d)) for d in it)):
                self._remove(doc.id)
                self._add(doc, units)
            self._maybe_compact()
            self._maybe_renormalize()

    def delete(self, ids: Iterable[str]) -> None:
        with self.lock:
            for doc_id in ids:
                self._remove(doc_id)
            self._maybe_compact()

    def _averages(self) -> list[float]:
        return [
            max(1.0, self.len_sum[c] / self.len_count[c]) if self.len_count[c] else 0.0
            for c in (0, 1)
        ]

    def _add(self, doc: SearchDocument, units: list[tuple[int, list[str]]]) -> None:
        entry = len(self.docs)
        self.docs.append(doc)
        self.by_id[doc.id] = entry
        for field, terms in units:
            self._add_unit(entry, field, terms)

    def _add_unit(self, entry: int, field: int, terms: list[str]) -> None:
        unit = len(self.unit_entry)
        length = len(terms)
        self.unit_entry.append(entry)
        self.unit_field.append(field)
        self.unit_len.append(length)
        self.unit_alive.append(1)
        self.live_units += 1
        cls = 1 if field == _BODY else 0
        self.len_sum[cls] += length
        self.len_count[cls] += 1
        if not self.norm_avg[cls]:
            self.norm_avg[cls] = float(max(length, 1))
        denominator = K1 * (1 - B + B * length / self.norm_avg[cls])
        for term, tf in Counter(terms).items():
            postings = self.postings.get(term)
            if postings is None:
                postings = self.postings[term] = _Postings()
                self._sorted_vocab = None
                if len(term) >= 4 and not tx.is_cjk_term(term):
                    for variant in tx.deletes(term):
                        self.deletion_index.setdefault(variant, set()).add(term)
            postings.units.append(unit)
            postings.tfs.append(tf)
            postings.parts.append(tf * (K1 + 1) / (tf + denominator))

    def _remove(self, doc_id: str) -> None:
        entry = self.by_id.pop(doc_id, None)
        if entry is None:
            return
        self.docs[entry] = None
        # An entry's units are contiguous and unit_entry ascends: bisect to the first one.
        unit = bisect.bisect_left(self.unit_entry, entry)
        while unit < len(self.unit_entry) and self.unit_entry[unit] == entry:
            if self.unit_alive[unit]:
                self.unit_alive[unit] = 0
                self.live_units -= 1
                self.dead_units += 1
                cls = 1 if self.unit_field[unit] == _BODY else 0
                self.len_sum[cls] -= self.unit_len[unit]
                self.len_count[cls] -= 1
            unit += 1

    def _maybe_renormalize(self) -> None:
        """Recompute the precomputed parts once the average lengths moved by a fifth (a
        small index growing, or a bulk edit); otherwise a few percent off is harmless."""
        current = self._averages()
        if all(
            not cur or (old and abs(cur - old) / old < 0.2)
            for cur, old in zip(current, self.norm_avg, strict=True)
        ):
            return
        self.norm_avg = current
        for postings in self.postings.values():
            for i, unit in enumerate(postings.units):
                cls = 1 if self.unit_field[unit] == _BODY else 0
                avg = self.norm_avg[cls] or 1.0
                tf = postings.tfs[i]
                postings.parts[i] = (
                    tf * (K1 + 1) / (tf + K1 * (1 - B + B * self.unit_len[unit] / avg))
                )

    def _maybe_compact(self) -> None:
        """Edits leave dead units behind; once they are a quarter of the index, rebuild the
        postings without them (no re-segmentation needed)."""
        if self.dead_units < 1000 or self.dead_units < self.live_units // 3:
            return
        old_to_new: dict[int, int] = {}
        entry_map: dict[int, int] = {}
        docs: list[SearchDocument | None] = []
        unit_entry, unit_field, unit_len = array("I"), array("B"), array("f")
        for unit in range(len(self.unit_entry)):
            if not self.unit_alive[unit]:
                continue
            old_entry = self.unit_entry[unit]
            if old_entry not in entry_map:
                entry_map[old_entry] = len(docs)
                docs.append(self.docs[old_entry])
            old_to_new[unit] = len(unit_entry)
            unit_entry.append(entry_map[old_entry])
            unit_field.append(self.unit_field[unit])
            unit_len.append(self.unit_len[unit])
        for term in list(self.postings):
            old = self.postings[term]
            new = _Postings()
            for unit, tf, part in zip(old.units, old.tfs, old.parts, strict=True):
                mapped = old_to_new.get(unit)
                if mapped is not None:
                    new.units.append(mapped)
                    new.tfs.append(tf)
                    new.parts.append(part)
            if new.units:
                self.postings[term] = new
            else:
                del self.postings[term]
                self._sorted_vocab = None
        self.docs = docs
        self.by_id = {d.id: i for i, d in enumerate(docs) if d is not None}
        self.unit_entry, self.unit_field, self.unit_len = unit_entry, unit_field, unit_len
        self.unit_alive = bytearray(b"\x01" * len(unit_entry))
        self.dead_units = 0

    # -- reading ---------------------------------------------------------------------------

    def _expand(self, weights: dict[str, float], query: str) -> dict[str, float]:
        """Add synonyms, typo corrections and (for the last word) prefix completions."""
        expanded = dict(weights)
        norm = tx.normalize(query)
        latin_words = (t.term for t in tx.tokens(norm) if not tx.is_cjk_term(t.term))
        words = " " + " ".join(latin_words) + " "
        for keys, group in self.synonyms:
            if any((k in norm) if not k.startswith(" ") else (k in words) for k in keys):
                for phrase in group:
                    for term, weight in _phrase_terms(phrase).items():
                        if term not in expanded:
                            expanded[term] = SYNONYM_WEIGHT * weight
        latin = [t for t in weights if not tx.is_cjk_term(t) and not t.isdigit()]
        for term in latin:
            if term in self.postings or len(term) < 4:
                continue
            candidates: set[str] = set(self.deletion_index.get(term, ()))
            for variant in tx.deletes(term):
                candidates |= self.deletion_index.get(variant, set())
                if variant in self.postings:
                    candidates.add(variant)
            for cand in candidates:
                if cand not in expanded and tx.within_one_edit(term, cand):
                    expanded[cand] = TYPO_WEIGHT * weights[term]
        if latin and not query.endswith((" ", "?", ".", "!")):
            last = latin[-1]
            if last not in self.postings and len(last) >= 3:
                vocab = self._vocab()
                i = bisect.bisect_left(vocab, last)
                for cand in vocab[i : i + 20]:
                    if not cand.startswith(last):
                        break
                    expanded.setdefault(cand, PREFIX_WEIGHT * weights[last])
        return expanded

    def _share(self, unit: int, terms: dict[str, float]) -> float:
        """Fraction of the unit's term occurrences that are query terms."""
        hit = 0.0
        for term in terms:
            postings = self.postings.get(term)
            if postings is None:
                continue
            i = bisect.bisect_left(postings.units, unit)
            if i < len(postings.units) and postings.units[i] == unit:
                hit += postings.tfs[i]
        return min(1.0, hit / max(self.unit_len[unit], 1.0))

    def _vocab(self) -> list[str]:
        if self._sorted_vocab is None:
            self._sorted_vocab = sorted(t for t in self.postings if not tx.is_cjk_term(t))
        return self._sorted_vocab

    def search(
        self, query: str, filters: SearchFilters | None = None, limit: int = 10
    ) -> list[SearchHit]:
        with self.lock:
            return self._search(query, filters, limit)

    def _search(self, query: str, filters: SearchFilters | None, limit: int) -> list[SearchHit]:
        weights = tx.query_terms(query)
        if not weights or not self.live_units:
            return []
        expanded = self._expand(weights, query)
        n = self.live_units
        unit_scores: dict[int, float] = {}
        ideal = 0.0
        weak_df = max(WEAK_TERM_MIN_DF, WEAK_TERM_SHARE * n)
        for term, weight in expanded.items():
            postings = self.postings.get(term)
            df = len(postings.units) if postings else 0
            idf = math.log(1.0 + (n - df + 0.5) / (df + 0.5))
            if term in weights:
                ideal += weight * idf
            # A weak term (a lone character, a partial synonym) found in thousands of units
            # cannot move a ranking but would cost most of the time: skip it.
            if postings is None or (weight < 0.5 and df > weak_df):
                continue
            factor = weight * idf
            get = unit_scores.get
            for unit, part in zip(postings.units, postings.parts, strict=True):
                unit_scores[unit] = get(unit, 0.0) + factor * part
        if not unit_scores or ideal <= 0:
            return []
        question: dict[int, tuple[float, int]] = {}
        question_sum: dict[int, float] = {}
        body: dict[int, float] = {}
        unit_entry = self.unit_entry
        alive, unit_field = self.unit_alive, self.unit_field
        for unit, score in unit_scores.items():
            if not alive[unit]:
                continue
            entry = unit_entry[unit]
            if unit_field[unit] == _BODY:
                body[entry] = score
                continue
            question_sum[entry] = question_sum.get(entry, 0.0) + score
            if score > question.get(entry, (0.0, 0))[0]:
                question[entry] = (score, unit)
        # BM25 ranks by how much of the query a question covers; a question that also says
        # much more ("退款后优惠券会退回吗" for the query 退款) is a worse match than one that
        # says little else. Rerank the best candidates by the share of the question's own
        # terms the query matched (cheap: postings are sorted, so a bisect finds a unit).
        ranked: list[tuple[float, int]] = []
        for entry in question.keys() | body.keys():
            q = question.get(entry, (0.0, 0))[0]
            # Other phrasings that also match are evidence too, but less than the best one.
            siblings = question_sum.get(entry, 0.0) - q
            score = q + SIBLING_WEIGHT * siblings + BODY_WEIGHT * body.get(entry, 0.0)
            ranked.append((score, entry))
        # Sorting every matching entry would cost more than scoring them: take the head,
        # and sort the rest only if filters reject the whole head.
        head = heapq.nlargest(HEAD, ranked)
        reranked: list[tuple[float, int]] = []
        for raw, entry in head[:CANDIDATES]:
            best = question.get(entry)
            share = self._share(best[1], expanded) if best else 0.0
            reranked.append((raw * (1 - PRECISION_WEIGHT + PRECISION_WEIGHT * share), entry))
        reranked.sort(reverse=True)

        def order() -> Iterator[tuple[float, int]]:
            yield from reranked
            yield from head[CANDIDATES:]
            if len(ranked) > HEAD:
                yield from sorted(ranked, reverse=True)[HEAD:]

        hits: list[SearchHit] = []
        matched = set(expanded)
        for raw, entry in order():
            doc = self.docs[entry]
            if doc is None or (filters is not None and not filters.accepts(doc)):
                continue
            best_unit = question.get(entry, (0.0, -1))[1]
            matched_question: str | None = None
            if best_unit >= 0 and unit_field[best_unit] == _SIMILAR:
                # Which similar question it was: count back to the entry's first unit.
                first = bisect.bisect_left(unit_entry, entry)
                idx = best_unit - first - 1
                if 0 <= idx < len(doc.similar):
                    matched_question = doc.similar[idx]
            hits.append(
                SearchHit(
                    id=doc.id,
                    kind=doc.kind,
                    title=doc.title,
                    highlight=tx.highlight(doc.title, matched),
                    # Segmenting a long article for its snippet would cost more than the
                    # search; the window is looked for in the first few thousand characters.
                    snippet=tx.highlight(doc.body[:SNIPPET_SCAN], matched, width=120),
                    score=round(min(1.0, raw / ideal), 4),
                    locale=doc.locale,
                    matched_question=matched_question,
                )
            )
            if len(hits) >= limit:
                break
        return hits


def _units(doc: SearchDocument) -> list[tuple[int, list[str]]]:
    """The searchable units of an entry: title, each similar question, body."""
    units = [(_TITLE, tx.terms(doc.title))]
    units += [(_SIMILAR, tx.terms(q)) for q in doc.similar]
    if doc.body:
        units.append((_BODY, tx.terms(doc.body, unigrams=False)))
    return [(field, terms) for field, terms in units if terms]


def _phrase_terms(phrase: str) -> dict[str, float]:
    """Terms a synonym adds to a query. A Chinese phrase adds itself (a jieba word or a
    bigram) and, if longer, its bigrams at half weight, never its single characters or
    sub-words on their own (钱退回 must not turn every 退回 into a refund question)."""
    norm = tx.normalize(phrase)
    if not tx.is_cjk_term(norm):
        return tx.query_terms(norm)
    terms = {norm: 1.0}
    if len(norm) > 2:
        for i in range(len(norm) - 1):
            terms.setdefault(norm[i : i + 2], 0.5)
    return terms


def _phrase_key(text: str) -> str:
    """How a synonym phrase is looked for in a query: Chinese as a substring of the
    normalized text, English as a run of whole stemmed words (so "refunds" finds "refund")."""
    norm = tx.normalize(text)
    if norm and tx.is_cjk_term(norm):
        return norm
    return " " + " ".join(t.term for t in tx.tokens(norm)) + " "


def build(
    docs: Iterable[SearchDocument], synonyms: Sequence[Sequence[str]] = DEFAULT_GROUPS
) -> WorkspaceIndex:
    index = WorkspaceIndex(synonyms)
    index.bulk_load(docs)
    return index


class EmbeddedIndex:
    """The `Index` for one process: a `WorkspaceIndex` per workspace, built on demand."""

    def __init__(self, synonyms: Sequence[Sequence[str]] = DEFAULT_GROUPS) -> None:
        self._workspaces: dict[uuid.UUID, WorkspaceIndex] = {}
        self._synonyms = synonyms

    def workspace(self, workspace_id: uuid.UUID) -> WorkspaceIndex:
        index = self._workspaces.get(workspace_id)
        if index is None:
            index = self._workspaces[workspace_id] = WorkspaceIndex(self._synonyms)
        return index

    def has(self, workspace_id: uuid.UUID) -> bool:
        return workspace_id in self._workspaces

    async def upsert(self, workspace_id: uuid.UUID, docs: Sequence[SearchDocument]) -> None:
        self.workspace(workspace_id).upsert(docs)

    async def delete(self, workspace_id: uuid.UUID, ids: Sequence[str]) -> None:
        self.workspace(workspace_id).delete(ids)

    async def replace_all(self, workspace_id: uuid.UUID, docs: Sequence[SearchDocument]) -> None:
        import anyio.to_thread

        # Segmenting thousands of entries takes seconds: do it off the event loop, then swap.
        fresh = await anyio.to_thread.run_sync(build, list(docs), self._synonyms)
        self._workspaces[workspace_id] = fresh

    async def search(
        self,
        workspace_id: uuid.UUID,
        query: str,
        filters: SearchFilters | None = None,
        limit: int = 10,
    ) -> list[SearchHit]:
        index = self._workspaces.get(workspace_id)
        if index is None:
            return []
        return index.search(query, filters, limit)

    async def close(self) -> None:
        self._workspaces.clear()
