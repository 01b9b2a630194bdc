"""Turning Chinese and English text into search terms, and matched terms back into highlights.

Chinese has no spaces, so one segmentation alone misses paraphrases: jieba's dictionary
cuts 退货运费 into 退 / 货运费, which never meets a query for 运费. We therefore index three
views of every run of Chinese characters: jieba's search-mode words, every character
bigram and every single character (queries weight single characters low). A two-character
query such as 退款 or 发票 is then always a term of its own. English words are lowercased
and lightly stemmed, so "refunds", "refunded" and "refund" meet.
"""

from __future__ import annotations

import html
import re
import threading
import unicodedata
from collections.abc import Iterable, Iterator
from functools import lru_cache
from typing import Any

_jieba: Any = None
_jieba_lock = threading.Lock()


def _segmenter() -> Any:
    """jieba loads a 5 MB dictionary (~0.6 s); do it once, on first use, without its log lines."""
    global _jieba
    if _jieba is None:
        with _jieba_lock:
            if _jieba is None:
                import logging

                import jieba

                jieba.setLogLevel(logging.WARNING)
                jieba.initialize()
                _jieba = jieba
    return _jieba


def warm() -> None:
    """Load the segmenter now (call it in a worker thread at startup), not on the first
    search, where it would stall the event loop for most of a second."""
    _segmenter()


def _is_cjk(ch: str) -> bool:
    code = ord(ch)
    return (
        0x4E00 <= code <= 0x9FFF
        or 0x3400 <= code <= 0x4DBF
        or 0x20000 <= code <= 0x2A6DF
        or 0xF900 <= code <= 0xFAFF
    )


def is_cjk_term(term: str) -> bool:
    return bool(term) and _is_cjk(term[0])


# Words that carry no meaning on their own in a customer's question. Kept short on purpose:
# BM25's idf already discounts the frequent ones; this only stops "how do i" from matching.
EN_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "if",
        "of",
        "at",
        "by",
        "for",
        "with",
        "about",
        "to",
        "from",
        "in",
        "on",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "am",
        "do",
        "does",
        "did",
        "doing",
        "have",
        "has",
        "had",
        "i",
        "me",
        "my",
        "we",
        "our",
        "you",
        "your",
        "he",
        "she",
        "it",
        "its",
        "they",
        "them",
        "their",
        "this",
        "that",
        "these",
        "those",
        "what",
        "which",
        "who",
        "whom",
        "how",
        "why",
        "when",
        "where",
        "can",
        "could",
        "would",
        "should",
        "will",
        "shall",
        "may",
        "might",
        "must",
        "please",
        "there",
        "here",
        "so",
        "not",
        "no",
        "yes",
        "just",
        "than",
        "too",
        "very",
        "s",
        "t",
    ]
)

# Particles and question words that make up most of a Chinese question's characters.
ZH_STOPWORDS = frozenset(
    [
        "的",
        "了",
        "吗",
        "呢",
        "吧",
        "啊",
        "呀",
        "么",
        "嘛",
        "哦",
        "我",
        "你",
        "您",
        "是",
        "在",
        "有",
        "和",
        "就",
        "都",
        "也",
        "要",
        "想",
        "请问",
        "怎么",
        "怎么办",
        "怎样",
        "如何",
        "什么",
        "可以",
        "能",
        "能不能",
        "可不可以",
        "一下",
        "这个",
        "那个",
        "哪",
        "还",
        "个",
    ]
)

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def normalize(text: str) -> str:
    """NFKC folds full-width letters and digits (ＶＩＰ, １２３) into ASCII; then lowercase."""
    return unicodedata.normalize("NFKC", text).lower()


def stem(word: str) -> str:
    """A light English stemmer: plurals, -ing, -ed, -ly. Enough for FAQ questions, and it
    never turns two unrelated common words into one."""
    w = word
    if len(w) <= 3 or w.isdigit():
        return w
    if w.endswith("'s"):
        w = w[:-2]
    if w.endswith("ies") and len(w) > 4:
        return w[:-3] + "y"
    if w.endswith(("sses", "shes", "ches", "xes")):
        return w[:-2]
    if w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    for suffix in ("ing", "ed"):
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            root = w[: -len(suffix)]
            if len(root) >= 3 and root[-1] == root[-2] and root[-1] not in "lsz":
                root = root[:-1]  # shipped -> ship, cancelled -> cancel
            elif root.endswith(("at", "iz", "bl", "ur", "iv", "ang", "ac", "uc", "eiv", "id")):
                root += "e"  # updated -> update, received -> receive, charged -> charge
            return root
    if w.endswith("ly") and len(w) > 5:
        w = w[:-2]
    return w


class Token:
    """One term and where it came from in the normalized text (for highlighting)."""

    __slots__ = ("end", "start", "term")

    def __init__(self, term: str, start: int, end: int) -> None:
        self.term = term
        self.start = start
        self.end = end


def _runs(text: str) -> Iterator[tuple[bool, int, int]]:
    """Split into maximal runs of Chinese characters and of everything else."""
    start = 0
    n = len(text)
    while start < n:
        cjk = _is_cjk(text[start])
        end = start + 1
        while end < n and _is_cjk(text[end]) == cjk:
            end += 1
        yield cjk, start, end
        start = end


@lru_cache(maxsize=4096)
def _segment(run: str) -> tuple[tuple[str, int], ...]:
    jieba = _segmenter()
    # HMM off: the dictionary alone is deterministic and ~3x faster; bigrams cover new words.
    return tuple((w, s) for w, s, _e in jieba.tokenize(run, mode="search", HMM=False))


def tokens(text: str, *, stopwords: bool = False, unigrams: bool = True) -> list[Token]:
    """All index terms of `text` with their spans in `normalize(text)`. Long answers skip
    single characters (`unigrams=False`): they are a third of the postings and add little."""
    norm = normalize(text)
    out: list[Token] = []
    for cjk, start, end in _runs(norm):
        if cjk:
            run = norm[start:end]
            for word, offset in _segment(run):
                if len(word) >= 2 and not (stopwords and word in ZH_STOPWORDS):
                    out.append(Token(word, start + offset, start + offset + len(word)))
            for i in range(len(run) - 1):
                gram = run[i : i + 2]
                if not (stopwords and gram in ZH_STOPWORDS):
                    out.append(Token(gram, start + i, start + i + 2))
            for i, ch in enumerate(run if unigrams else ""):
                if not (stopwords and ch in ZH_STOPWORDS):
                    out.append(Token(ch, start + i, start + i + 1))
        else:
            for m in _WORD.finditer(norm, start, end):
                word = m.group()
                if stopwords and word in EN_STOPWORDS:
                    continue
                out.append(Token(stem(word), m.start(), m.end()))
    return out


def terms(text: str, *, unigrams: bool = True) -> list[str]:
    """Index terms of a document (stop words kept: a document's idf takes care of them)."""
    return [t.term for t in tokens(text, unigrams=unigrams)]


def query_terms(text: str) -> dict[str, float]:
    """Distinct query terms with their weight. Single Chinese characters are weak evidence
    (开 in 怎么开发票 vs 开具), so they count a quarter; stop words are dropped unless the
    query is nothing but stop words."""
    weights: dict[str, float] = {}
    found = tokens(text, stopwords=True) or tokens(text)
    for tok in found:
        w = 0.25 if len(tok.term) == 1 and is_cjk_term(tok.term) else 1.0
        weights[tok.term] = max(weights.get(tok.term, 0.0), w)
    return weights


def deletes(term: str) -> Iterator[str]:
    """The variants of `term` with one character deleted: two words within edit distance
    one share a variant (the SymSpell trick), so a typo finds its word without a scan."""
    for i in range(len(term)):
        yield term[:i] + term[i + 1 :]


def within_one_edit(a: str, b: str) -> bool:
    """Damerau-Levenshtein distance <= 1 (insert, delete, substitute, swap neighbours)."""
    if a == b:
        return True
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    if la == lb:
        diff = [i for i in range(la) if a[i] != b[i]]
        if len(diff) == 1:
            return True
        return (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and a[diff[0]] == b[diff[1]]
            and a[diff[1]] == b[diff[0]]
        )
    if la > lb:
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    return a[i:] == b[i + 1 :]


def _spans(text: str, matched: Iterable[str]) -> tuple[str, list[tuple[int, int]]]:
    """Spans of `text` (original characters) whose terms are in `matched`."""
    wanted = set(matched)
    # Build the normalized text char by char so spans map back to the original string
    # even where NFKC changes a character's length.
    origin: list[int] = []
    parts: list[str] = []
    for i, ch in enumerate(text):
        n = normalize(ch)
        parts.append(n)
        origin.extend([i] * len(n))
    origin.append(len(text))
    spans: list[tuple[int, int]] = []
    for tok in tokens(text):
        # Highlight whole words only; lone characters are too weak to mark unless asked for.
        if tok.term in wanted and (len(tok.term) > 1 or not is_cjk_term(tok.term)):
            spans.append((origin[tok.start], origin[tok.end - 1] + 1))
    spans.sort()
    merged: list[tuple[int, int]] = []
    for s, e in spans:
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    return text, merged


def highlight(
    text: str, matched: Iterable[str], *, width: int = 0, pre: str = "<mark>", post: str = "</mark>"
) -> str:
    """HTML-escaped `text` with matched terms wrapped in <mark>. With `width`, a window of
    about that many characters around the densest cluster of matches, with ellipses."""
    text, spans = _spans(text, matched)
    lo, hi = 0, len(text)
    if width and len(text) > width:
        best_start, best_count = 0, -1
        for s, _e in spans or [(0, 0)]:
            start = max(0, min(s - width // 4, len(text) - width))
            count = sum(1 for a, b in spans if a >= start and b <= start + width)
            if count > best_count:
                best_start, best_count = start, count
        lo, hi = best_start, best_start + width
    out: list[str] = ["…" if lo > 0 else ""]
    pos = lo
    for s, e in spans:
        if e <= lo or s >= hi:
            continue
        s, e = max(s, lo), min(e, hi)
        out.append(html.escape(text[pos:s]))
        out.append(pre + html.escape(text[s:e]) + post)
        pos = e
    out.append(html.escape(text[pos:hi]))
    if hi < len(text):
        out.append("…")
    return "".join(out)


def plain(markdown: str) -> str:
    """Markdown to plain text for snippets and indexing: drop markup, keep words."""
    text = re.sub(r"```.*?```", " ", markdown, flags=re.S)
    text = re.sub(r"!\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"<[^>]+>", " ", text)
    text = re.sub(r"^\s{0,3}(#{1,6}|>|[-*+]|\d+\.)\s+", "", text, flags=re.M)
    text = re.sub(r"[*_`~]{1,3}", "", text)
    return re.sub(r"\s+", " ", text).strip()
