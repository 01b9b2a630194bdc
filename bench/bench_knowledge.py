"""Knowledge search bench: relevance (recall@1/@3 on the sample knowledge base, alone and
hidden among 10,000 generated entries) and latency (p50/p95) of the embedded backend on
10,000 and 100,000 generated entries.

    .venv/bin/python bench/bench_knowledge.py            # prints Markdown for bench/RESULTS.md
    .venv/bin/python bench/bench_knowledge.py --sizes 10000
"""

from __future__ import annotations

import argparse
import gc
import random
import resource
import sqlite3
import sys
import time
from collections.abc import Iterator

from kefu.knowledge.bot import BotConfig
from kefu.knowledge.relevance import bot_rates, calibrate, evaluate, load_cases, sample_documents
from kefu.knowledge.search import text as tx
from kefu.knowledge.search.base import SearchDocument, SearchFilters, SearchHit
from kefu.knowledge.search.embedded import WorkspaceIndex, build

PRODUCTS = [
    "羽绒服",
    "连衣裙",
    "运动鞋",
    "牛仔裤",
    "衬衫",
    "卫衣",
    "双肩包",
    "行李箱",
    "保温杯",
    "电饭煲",
    "空气炸锅",
    "吸尘器",
    "蓝牙耳机",
    "充电宝",
    "机械键盘",
    "显示器",
    "台灯",
    "床垫",
    "枕头",
    "四件套",
    "面霜",
    "洗面奶",
    "口红",
    "香水",
    "奶粉",
    "纸尿裤",
    "婴儿车",
    "猫粮",
    "狗粮",
    "咖啡豆",
    "茶叶",
    "坚果礼盒",
    "大米",
    "橄榄油",
    "电动牙刷",
    "剃须刀",
    "吹风机",
    "瑜伽垫",
    "跑步机",
    "自行车",
    "帐篷",
    "钓鱼竿",
    "乐高积木",
    "拼图",
    "钢笔",
    "笔记本",
    "打印纸",
    "路由器",
]
ISSUES = [
    "尺码怎么选",
    "怎么清洗保养",
    "保修期多久",
    "是不是正品",
    "有没有现货",
    "什么时候补货",
    "可以预售吗",
    "能不能加急发货",
    "包装有异味正常吗",
    "说明书在哪里下载",
    "安装需要收费吗",
    "颜色和图片不一样",
    "能开发票吗",
    "支持以旧换新吗",
    "赠品怎么领取",
    "可以定制刻字吗",
    "多久能送到",
    "能否指定快递",
    "坏了可以维修吗",
    "配件单独卖吗",
    "适合几岁使用",
    "有没有质检报告",
    "产地是哪里",
    "保质期多久",
    "可以退货吗",
    "价格会不会降",
    "能用优惠券吗",
    "会员有折扣吗",
    "能分期吗",
    "支持货到付款吗",
]
EN_PRODUCTS = [
    "jacket",
    "dress",
    "sneakers",
    "jeans",
    "shirt",
    "hoodie",
    "backpack",
    "suitcase",
    "mug",
    "cooker",
    "fryer",
    "vacuum",
    "earbuds",
    "powerbank",
    "keyboard",
    "monitor",
    "lamp",
    "mattress",
    "pillow",
    "cream",
    "cleanser",
    "lipstick",
    "perfume",
    "formula",
    "diapers",
    "stroller",
    "coffee",
    "tea",
    "nuts",
    "rice",
    "toothbrush",
    "razor",
    "dryer",
    "yoga-mat",
    "treadmill",
    "bicycle",
    "tent",
]
EN_ISSUES = [
    "size guide",
    "how to clean",
    "warranty length",
    "is it genuine",
    "back in stock",
    "pre-order",
    "express shipping",
    "smell from packaging",
    "manual download",
    "installation fee",
    "colour differs from photo",
    "invoice",
    "trade-in",
    "free gift",
    "engraving",
    "delivery time",
    "choose courier",
    "repair",
    "spare parts",
    "age range",
    "quality report",
    "country of origin",
    "shelf life",
    "return",
    "price drop",
    "use coupon",
    "member discount",
    "instalments",
    "cash on delivery",
]
ANSWER_BITS = [
    "请在订单详情页操作",
    "具体以商品页说明为准",
    "如有疑问请联系人工客服",
    "一般在三个工作日内处理完成",
    "我们会通过短信通知您",
    "部分地区可能有延迟",
    "活动期间规则可能调整",
    "请保留好包装和凭证",
]


def generated(count: int, seed: int = 7) -> Iterator[SearchDocument]:
    """Believable distractors: product x issue questions with a templated answer; one in
    five in English. Every id is unique; texts repeat as they do in real shops."""
    rng = random.Random(seed)
    for i in range(count):
        if i % 5 == 4:
            product, issue = rng.choice(EN_PRODUCTS), rng.choice(EN_ISSUES)
            title = f"{product} {issue} (model {rng.randint(100, 999)})"
            similar = (f"{issue} for the {product}", f"question about {product} {issue}")
            body = f"For the {product}: {issue} details are on the product page. Contact us."
            locale = "en"
        else:
            product, issue = rng.choice(PRODUCTS), rng.choice(ISSUES)
            title = f"{product}{issue}？"
            similar = (
                f"这款{product}{rng.choice(ISSUES)}",
                f"{product} 型号{rng.randint(100, 999)}",
            )
            body = "，".join(rng.sample(ANSWER_BITS, 3)) + f"。{product}相关问题。"
            locale = "zh-CN"
        yield SearchDocument(
            id=f"gen-{i}",
            kind="faq",
            title=title,
            similar=similar,
            body=body,
            locale=locale,
            categories=("商品",),
            tags=(product,),
        )


QUERIES = (
    "退款",
    "发票",
    "怎么申请退款",
    "羽绒服尺码怎么选",
    "运动鞋可以退货吗",
    "快递多久能送到",
    "蓝牙耳机坏了可以维修吗",
    "优惠券不能用",
    "会员有什么折扣",
    "refund",
    "how to clean the jacket",
    "sneakers warranty",
    "invoce",
    "where is my parcel",
)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def recall_lines(index: WorkspaceIndex, label: str) -> list[str]:
    lines = []
    for r in evaluate(lambda q, f: index.search(q, f, 3), load_cases()):
        lines.append(f"| {label} | {r.locale} | {r.cases} | {r.at1:.2f} | {r.at3:.2f} |")
    return lines


def bot_lines(index: WorkspaceIndex) -> list[str]:
    """What the bot does with the set at its default thresholds, and the calibration grid
    the defaults were read from."""
    cases = load_cases()
    config = BotConfig()
    lines = [
        "",
        f"Bot policy (`knowledge/bot.py` defaults: answer at score >= {config.answer_threshold}"
        f" and >= {config.ambiguity_margin} ahead of the second hit, else offer up to "
        f"{config.max_choices} choices). No-answer queries have no right entry in the"
        " knowledge base; the false-answer rate counts every query answered with a wrong"
        " entry (any answer to a no-answer query is wrong).",
        "",
        "| locale | answerable | no-answer | answered right | right among choices "
        "| false answers | false-answer rate |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in bot_rates(lambda q, f: index.search(q, f, 5), cases):
        lines.append(
            f"| {r.locale} | {r.answerable} | {r.no_answer} | {r.answered_right:.2f} "
            f"| {r.offered_right:.2f} | {r.wrong_answers} | {r.false_answer_rate:.3f} |"
        )
    grid = calibrate(lambda q, f: index.search(q, f, 5), cases)
    margins = sorted({g.ambiguity_margin for g in grid})
    lines += [
        "",
        "Calibration: answered right / worst-locale false-answer rate, per threshold (rows)"
        " and margin (columns).",
        "",
        "| threshold | " + " | ".join(f"m={m:.2f}" for m in margins) + " |",
        "|---|" + "---|" * len(margins),
    ]
    for threshold in sorted({g.answer_threshold for g in grid}):
        row = [g for g in grid if g.answer_threshold == threshold]
        cells = " | ".join(f"{g.answered_right} / {g.false_answer_rate:.3f}" for g in row)
        lines.append(f"| {threshold:.2f} | {cells} |")
    return lines


def latency(index: WorkspaceIndex, rounds: int) -> tuple[float, float, float]:
    samples: list[float] = []
    filters = SearchFilters(status=("published",))
    for q in QUERIES:  # warm the segmenter's cache like a running server has it
        index.search(q, filters, 10)
    for _ in range(rounds):
        for q in QUERIES:
            t0 = time.perf_counter()
            index.search(q, filters, 10)
            samples.append((time.perf_counter() - t0) * 1000)
    return percentile(samples, 50), percentile(samples, 95), max(samples)


class Fts5Index:
    """The alternative we measured against: SQLite FTS5 fed with the same segmentation
    (jieba words + bigrams + characters, space-joined), ranked by FTS5's bm25() with the
    same field weights, the query expanded with the same synonyms and typo corrections.
    It has no per-term weights and no question-level scoring."""

    def __init__(self, docs: list[SearchDocument]) -> None:
        self.db = sqlite3.connect(":memory:")
        self.db.execute(
            "CREATE VIRTUAL TABLE kb USING fts5(title, similar, body, id UNINDEXED,"
            " locale UNINDEXED, tokenize='unicode61')"
        )
        self.db.executemany(
            "INSERT INTO kb VALUES (?, ?, ?, ?, ?)",
            (
                (
                    " ".join(tx.terms(d.title)),
                    " ".join(t for q in d.similar for t in tx.terms(q)),
                    " ".join(tx.terms(d.body, unigrams=False)),
                    d.id,
                    d.locale,
                )
                for d in docs
            ),
        )
        self.expander = build([])  # synonyms and typo lookups only
        self.expander.upsert(docs[:2000])

    def search(self, query: str, filters: SearchFilters | None, limit: int) -> list[SearchHit]:
        terms = self.expander._expand(tx.query_terms(query), query)
        match = " OR ".join('"' + t.replace('"', "") + '"' for t in terms)
        if not match:
            return []
        sql = "SELECT id, locale FROM kb WHERE kb MATCH ?"
        params: list[object] = [match]
        if filters is not None and filters.locale:
            sql += " AND locale = ?"
            params.append(filters.locale)
        sql += " ORDER BY bm25(kb, 3.0, 2.5, 1.0) LIMIT ?"
        params.append(limit)
        return [
            SearchHit(id=i, kind="faq", title="", highlight="", snippet="", score=0.0, locale=loc)
            for i, loc in self.db.execute(sql, params)
        ]


def fts5_lines(samples: list[SearchDocument], sizes: list[int], rounds: int) -> list[str]:
    out = ["", "Alternative measured: SQLite FTS5 on the same segmentation (not used; see why in"]
    out.append("knowledge/README.md).")
    out += ["", "| FTS5 | locale | queries | recall@1 | recall@3 |", "|---|---|---|---|---|"]
    for r in evaluate(lambda q, f: Fts5Index(samples).search(q, f, 3), load_cases()):
        out.append(f"| samples | {r.locale} | {r.cases} | {r.at1:.2f} | {r.at3:.2f} |")
    out += ["", "| FTS5 entries | build s | p50 ms | p95 ms |", "|---|---|---|---|"]
    for size in sizes:
        t0 = time.perf_counter()
        index = Fts5Index([*samples, *generated(size)])
        built = time.perf_counter() - t0
        samples_ms: list[float] = []
        for _ in range(rounds):
            for q in QUERIES:
                t1 = time.perf_counter()
                index.search(q, None, 10)
                samples_ms.append((time.perf_counter() - t1) * 1000)
        p50, p95 = percentile(samples_ms, 50), percentile(samples_ms, 95)
        out.append(f"| {size:,} | {built:.1f} | {p50:.2f} | {p95:.2f} |")
    return out


def main(argv: list[str] | None = None) -> list[str]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--no-fts5", action="store_true", help="skip the FTS5 comparison")
    # `python -m bench` calls main() with no arguments: use the defaults, not its argv.
    args = parser.parse_args(argv if argv is not None else [])
    sizes = [int(s) for s in args.sizes.split(",") if s]
    out = [
        "## Knowledge search (embedded backend)",
        "",
        f"Relevance set: knowledge/samples/relevance.csv"
        f" ({sum(1 for c in load_cases() if c.expected)} paraphrased queries with a right"
        f" entry, {sum(1 for c in load_cases() if not c.expected)} with none).",
        "",
        "| knowledge base | locale | queries | recall@1 | recall@3 |",
        "|---|---|---|---|---|",
    ]
    samples = sample_documents()
    sample_index = build(samples)
    out += recall_lines(sample_index, f"samples ({len(samples)} entries)")
    out += recall_lines(build([*samples, *generated(10_000)]), "samples + 10,000 generated")
    out += bot_lines(sample_index)
    out += [
        "",
        "| entries | build s | p50 ms | p95 ms | max ms | peak RSS MB |",
        "|---|---|---|---|---|---|",
    ]
    for size in sizes:
        gc.collect()
        t0 = time.perf_counter()
        index = build([*samples, *generated(size)])
        built = time.perf_counter() - t0
        p50, p95, worst = latency(index, args.rounds)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        out.append(f"| {size:,} | {built:.1f} | {p50:.2f} | {p95:.2f} | {worst:.2f} | {rss:.0f} |")
        del index
    if not args.no_fts5:
        out += fts5_lines(samples, sizes, max(1, args.rounds // 4))
    out.append("")
    out.append(
        f"Latency: {len(QUERIES)} queries (zh, en, typos) x {args.rounds} rounds, top 10, "
        "one thread, Python "
        f"{sys.version_info.major}.{sys.version_info.minor}."
    )
    return out


if __name__ == "__main__":
    for line in main(sys.argv[1:]):
        print(line)
