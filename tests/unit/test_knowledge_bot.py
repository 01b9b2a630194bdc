"""The bot's policy, table-tested: answer when confident, offer choices when unsure, hand
over on request or after N misses, and always ask whether the answer helped."""

from __future__ import annotations

import pytest

from kefu.knowledge.bot import (
    BotConfig,
    BotState,
    Choice,
    Decision,
    config_of,
    decide,
    language_of,
    picked,
    render,
    wants_human,
)
from kefu.knowledge.search.base import SearchHit


def hit(id: str, score: float, title: str | None = None) -> SearchHit:
    return SearchHit(
        id=id,
        kind="faq",
        title=title or f"问题{id}",
        highlight="",
        snippet="",
        score=score,
        locale="zh-CN",
    )


CONFIDENT = [hit("a", 0.92), hit("b", 0.40)]
UNSURE = [hit("a", 0.60), hit("b", 0.50), hit("c", 0.45), hit("d", 0.36), hit("e", 0.2)]
NOTHING = [hit("a", 0.10)]
OFFERED = (Choice("a", "如何申请退款？"), Choice("b", "退款多久到账？"))

CASES = [
    # text, hits, state, expected action, expected entry, expected misses
    ("怎么退款", CONFIDENT, BotState(), "answer", "a", 0),
    ("退款", UNSURE, BotState(), "offer", None, 0),
    ("火星快递", NOTHING, BotState(), "clarify", None, 1),
    ("火星快递", NOTHING, BotState(misses=1), "hand_over", None, 2),
    ("火星快递", [], BotState(), "clarify", None, 1),
    ("转人工", CONFIDENT, BotState(), "hand_over", None, 0),
    ("我要找人工客服！", CONFIDENT, BotState(), "hand_over", None, 0),
    ("Can I talk to a human please", CONFIDENT, BotState(), "hand_over", None, 0),
    ("AGENT", CONFIDENT, BotState(), "hand_over", None, 0),
    ("I want to speak to an agent", CONFIDENT, BotState(), "hand_over", None, 0),
    ("agenda for delivery", NOTHING, BotState(), "clarify", None, 1),
    ("我要人工", CONFIDENT, BotState(), "hand_over", None, 0),
    ("人工！", CONFIDENT, BotState(), "hand_over", None, 0),
    # mentions are questions, not requests
    ("人工客服的工作时间是什么？", CONFIDENT, BotState(), "answer", "a", 0),
    ("what are your agents working hours", CONFIDENT, BotState(), "answer", "a", 0),
    ("let me talk to someone", NOTHING, BotState(), "hand_over", None, 0),
    ("2", UNSURE, BotState(offered=OFFERED), "answer", "b", 0),
    ("第一个", NOTHING, BotState(offered=OFFERED), "answer", "a", 0),
    ("退款多久到账", NOTHING, BotState(offered=OFFERED), "answer", "b", 0),
    ("7", NOTHING, BotState(offered=OFFERED), "clarify", None, 1),
    ("没有", NOTHING, BotState(answered="a"), "sorry", None, 1),
    ("没有。", NOTHING, BotState(answered="a", misses=1), "hand_over", None, 2),
    ("有", NOTHING, BotState(answered="a"), "thanks", None, 0),
    ("yes thanks", NOTHING, BotState(answered="a"), "thanks", None, 0),
    ("No, it didn't help", NOTHING, BotState(answered="a"), "sorry", None, 1),
    ("thanks", NOTHING, BotState(answered="a"), "thanks", None, 0),
    # a new question after an answer is a question, not a "no"
    ("没有收到退款", CONFIDENT, BotState(answered="a"), "answer", "a", 0),
    # two near-equal confident hits: the bot cannot tell, so it asks
    ("退款", [hit("a", 0.90), hit("b", 0.88)], BotState(), "offer", None, 0),
    # above the threshold but not clearly ahead of the second (even a second below the
    # threshold): "did you mean", not a guess
    ("how long does it take", [hit("a", 0.80), hit("b", 0.70)], BotState(), "offer", None, 0),
]


@pytest.mark.parametrize(("text", "hits", "state", "action", "entry", "misses"), CASES)
def test_decide(
    text: str,
    hits: list[SearchHit],
    state: BotState,
    action: str,
    entry: str | None,
    misses: int,
) -> None:
    decision = decide(text, hits, state, BotConfig(max_misses=2))
    assert (decision.action, decision.entry_id, decision.state.misses) == (action, entry, misses)


def test_offer_lists_at_most_max_choices_above_the_offer_threshold() -> None:
    decision = decide("退款", UNSURE, BotState(), BotConfig(max_choices=3, offer_threshold=0.4))
    assert [c.id for c in decision.choices] == ["a", "b", "c"]
    assert decision.state.offered == decision.choices


def test_misses_are_recorded_as_unanswered_and_feedback_is_read() -> None:
    assert decide("火星快递", NOTHING, BotState()).unanswered is True
    assert decide("怎么退款", CONFIDENT, BotState()).unanswered is False
    assert decide("没有", NOTHING, BotState(answered="a")).feedback is False
    assert decide("有用", NOTHING, BotState(answered="a")).feedback is True


def test_thresholds_come_from_the_inbox_config() -> None:
    strict = config_of({"bot": {"answer_threshold": 0.95, "max_misses": 5}})
    assert decide("怎么退款", CONFIDENT, BotState(), strict).action == "offer"
    assert decide("x", NOTHING, BotState(misses=3), strict).action == "clarify"
    assert config_of({"bot": {"answer_threshold": "not a number"}}) == BotConfig()


def test_extra_handover_words_from_config() -> None:
    assert wants_human("找小二", ["小二"]) and wants_human("call a supervisor", ["supervisor"])
    assert not wants_human("退款多久到账")


@pytest.mark.parametrize(
    ("decision", "language", "expected"),
    [
        (Decision(action="answer", entry_id="a", state=BotState()), "zh", "有帮助吗"),
        (Decision(action="answer", entry_id="a", state=BotState()), "en", "Did this help?"),
        (Decision(action="clarify", state=BotState()), "en", "Could you put it another way?"),
        (Decision(action="hand_over", reason="requested", state=BotState()), "zh", "转接人工客服"),
        (Decision(action="hand_over", reason="misses", state=BotState()), "en", "couldn't help"),
    ],
)
def test_render_speaks_the_conversation_language(
    decision: Decision, language: str, expected: str
) -> None:
    assert expected in render(decision, language, "答案")


def test_every_answer_asks_did_this_help_after_the_answer() -> None:
    text = render(Decision(action="answer", entry_id="a", state=BotState()), "zh", "在订单页申请。")
    assert text.startswith("在订单页申请。") and text.endswith("请回复「有」或「没有」。")


def test_offer_is_numbered_so_a_digit_picks() -> None:
    decision = Decision(action="offer", choices=OFFERED, state=BotState(offered=OFFERED))
    text = render(decision, "zh", None)
    assert "1. 如何申请退款？" in text and "2. 退款多久到账？" in text
    assert picked("②", OFFERED) == OFFERED[1]


@pytest.mark.parametrize(
    ("text", "conversation_language", "expected"),
    [("退款", None, "zh"), ("refund", None, "en"), ("refund", "zh-CN", "zh"), ("退款", "en", "en")],
)
def test_language(text: str, conversation_language: str | None, expected: str) -> None:
    assert language_of(text, conversation_language) == expected


def test_close_second_hit_turns_an_answer_into_did_you_mean_choices() -> None:
    hits = [hit("refund-time", 0.80, "退款多久到账？"), hit("shipping-time", 0.70, "几天发货？")]
    decision = decide("多久", hits, BotState())
    assert decision.action == "offer"
    assert [c.id for c in decision.choices] == ["refund-time", "shipping-time"]
    assert render(decision, "en").startswith("Did you mean")
