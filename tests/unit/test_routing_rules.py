from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest

from kefu.routing.hours import Calendar, Interval
from kefu.routing.rules import (
    Condition,
    ContactProfile,
    Op,
    Range,
    RoutingFacts,
    Rule,
    Target,
    TargetKind,
    check_condition,
    evaluate,
    validate_rule,
)

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai
INBOX = uuid.UUID("0192f000-0000-7000-8000-000000000001")
CAL = uuid.UUID("0192f000-0000-7000-8000-0000000000ca")
CALENDARS = {CAL: Calendar(timezone="Asia/Shanghai", weekly={"mon": [Interval("09:00", "18:00")]})}
FACTS = RoutingFacts(
    channel="web",
    inbox_id=INBOX,
    entry_point="pricing-button",
    page_url="https://shop.example.com/products/phone-x?ref=ad",
    referrer="https://www.baidu.com/s?wd=phone",
    language="zh-CN",
    contact=ContactProfile(
        region="Guangdong",
        gender="female",
        age=31,
        vip_level=3,
        tags=["wholesale", "Returning"],
        language="zh-CN",
        attributes={"plan": "enterprise", "orders": 12},
    ),
    attributes={"order_id": "A-1001"},
)


def cond(field: str, op: str, value: Any = None) -> Condition:
    return Condition(field=field, op=Op(op), value=value)


# Every field with every operator it accepts: (condition, holds for FACTS?)
CASES: list[tuple[Condition, bool]] = [
    (cond("channel", "equals", "web"), True),
    (cond("channel", "equals", "wechat"), False),
    (cond("channel", "in", ["wechat", "web"]), True),
    (cond("channel", "not_in", ["voice"]), True),
    (cond("channel", "not_equals", "web"), False),
    (cond("inbox", "equals", str(INBOX)), True),
    (cond("inbox", "equals", "0192f000-0000-7000-8000-000000000002"), False),
    (cond("page_url", "prefix", "https://shop.example.com/products/"), True),
    (cond("page_url", "prefix", "https://shop.example.com/cart"), False),
    (cond("page_url", "glob", "https://*.example.com/products/*"), True),
    (cond("page_url", "glob", "https://*.example.com/help/*"), False),
    (cond("page_url", "regex", r"/products/phone-\w+"), True),
    (cond("page_url", "regex", r"^/products"), False),
    (cond("page_url", "contains", "ref=ad"), True),
    (cond("entry_point", "equals", "Pricing-Button"), True),  # text is case-insensitive
    (cond("entry_point", "in", ["support", "pricing-button"]), True),
    (cond("entry_point", "equals", "support"), False),
    (cond("referrer", "contains", "baidu.com"), True),
    (cond("referrer", "glob", "*google*"), False),
    (cond("language", "equals", "zh-cn"), True),
    (cond("contact.region", "equals", "guangdong"), True),
    (cond("contact.region", "in", ["Beijing", "Shanghai"]), False),
    (cond("contact.gender", "equals", "female"), True),
    (cond("contact.age", "range", Range(min=25, max=34)), True),  # age band 25-34
    (cond("contact.age", "range", Range(min=18, max=24)), False),
    (cond("contact.age", "range", Range(min=31)), True),  # inclusive ends
    (cond("contact.age", "range", Range(max=31)), True),
    (cond("contact.vip_level", "range", Range(min=3)), True),
    (cond("contact.vip_level", "equals", 3), True),
    (cond("contact.vip_level", "in", [4, 5]), False),
    (cond("contact.vip_level", "not_equals", 0), True),
    (cond("contact.tags", "contains", "returning"), True),
    (cond("contact.tags", "contains", "blacklist"), False),
    (cond("contact.tags", "in", ["vip", "wholesale"]), True),
    (cond("contact.tags", "not_in", ["blacklist"]), True),
    (cond("contact.language", "equals", "en"), False),
    (cond("contact.verified", "equals", False), True),
    (cond("contact.attributes.plan", "equals", "enterprise"), True),
    (cond("contact.attributes.plan", "in", ["free", "pro"]), False),
    (cond("contact.attributes.orders", "range", Range(min=10, max=100)), True),
    (cond("contact.attributes.orders", "equals", "12"), True),
    (cond("contact.attributes.coupon", "exists", True), False),
    (cond("contact.attributes.coupon", "exists", False), True),
    (cond("contact.attributes.coupon", "equals", "x"), False),  # missing never equals
    (cond("contact.attributes.coupon", "not_equals", "x"), True),  # but is "not x"
    (cond("conversation.attributes.order_id", "prefix", "A-"), True),
    (cond("conversation.attributes.order_id", "regex", r"^B-\d+$"), False),
    (cond("time", "in_hours", str(CAL)), True),
    (cond("time", "out_of_hours", str(CAL)), False),
]


@pytest.mark.parametrize(("condition", "holds"), CASES, ids=lambda c: str(c))
def test_condition_table(condition: Condition, holds: bool) -> None:
    assert validate_rule(rule("r", [condition]), [CAL]) == []
    assert (check_condition(condition, FACTS, NOW, CALENDARS) is None) is holds


def test_out_of_hours_on_sunday() -> None:
    sunday = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
    reason = check_condition(cond("time", "in_hours", str(CAL)), FACTS, sunday, CALENDARS)
    assert reason is not None and reason.code == "closed"
    assert check_condition(cond("time", "out_of_hours", str(CAL)), FACTS, sunday, CALENDARS) is None


GROUP_SALES = uuid.UUID("0192f000-0000-7000-8000-00000000a001")
GROUP_VIP = uuid.UUID("0192f000-0000-7000-8000-00000000a002")
GROUP_DEFAULT = uuid.UUID("0192f000-0000-7000-8000-00000000a003")


def rule(
    name: str,
    conditions: list[Condition],
    *,
    priority: int = 0,
    target: Target | None = None,
    match: str = "all",
    enabled: bool = True,
) -> Rule:
    return Rule(
        id=uuid.uuid5(uuid.NAMESPACE_DNS, name),
        name=name,
        priority=priority,
        conditions=conditions,
        target=target or Target(kind=TargetKind.group, group_id=GROUP_SALES),
        match=match,  # type: ignore[arg-type]
        enabled=enabled,
    )


def test_first_match_in_priority_order_wins_and_earlier_misses_are_explained() -> None:
    rules = [
        rule("catch-all", [], priority=0, target=Target(kind=TargetKind.bot)),
        rule(
            "vip",
            [cond("contact.vip_level", "range", Range(min=5))],
            priority=100,
            target=Target(kind=TargetKind.group, group_id=GROUP_VIP),
        ),
        rule("wechat", [cond("channel", "equals", "wechat")], priority=50),
        rule("pricing page", [cond("page_url", "glob", "*/products/*")], priority=10),
        rule("disabled", [], priority=99, enabled=False),
    ]
    decision = evaluate(
        rules, FACTS, NOW, CALENDARS, Target(kind=TargetKind.group, group_id=GROUP_DEFAULT)
    )
    assert decision.rule_name == "pricing page"
    assert decision.target.group_id == GROUP_SALES
    assert [c.rule_name for c in decision.checks] == ["vip", "disabled", "wechat", "pricing page"]
    vip, disabled, wechat, _ = decision.checks
    assert vip.reasons[0].code == "mismatch" and vip.reasons[0].actual == 3
    assert disabled.reasons[0].code == "disabled"
    assert wechat.reasons[0].field == "channel" and wechat.reasons[0].actual == "web"


def test_no_rule_matches_falls_back_to_the_inbox_default() -> None:
    fallback = Target(kind=TargetKind.group, group_id=GROUP_DEFAULT)
    decision = evaluate(
        [rule("voice", [cond("channel", "equals", "voice")])], FACTS, NOW, CALENDARS, fallback
    )
    assert decision.target == fallback and decision.rule_id is None
    assert len(decision.checks) == 1 and not decision.checks[0].matched


def test_match_any_needs_one_condition_and_all_needs_every_one() -> None:
    conditions = [cond("channel", "equals", "voice"), cond("contact.region", "equals", "guangdong")]
    fallback = Target(kind=TargetKind.bot)
    assert evaluate([rule("a", conditions, match="any")], FACTS, NOW, CALENDARS, fallback).rule_name
    decision = evaluate([rule("a", conditions)], FACTS, NOW, CALENDARS, fallback)
    assert decision.rule_name is None
    assert [r.field for r in decision.checks[0].reasons] == ["channel"]


def test_bot_rules_are_skipped_when_the_bot_hands_over() -> None:
    rules = [
        rule("bot first", [], priority=10, target=Target(kind=TargetKind.bot)),
        rule("sales", [], priority=0),
    ]
    fallback = Target(kind=TargetKind.group, group_id=GROUP_DEFAULT)
    assert evaluate(rules, FACTS, NOW, CALENDARS, fallback).target.kind is TargetKind.bot
    handed = evaluate(
        rules, FACTS, NOW, CALENDARS, fallback, skip_kinds=frozenset({TargetKind.bot})
    )
    assert handed.rule_name == "sales"


def test_equal_priorities_are_ordered_by_name_for_a_stable_result() -> None:
    rules = [rule("b", []), rule("a", [], target=Target(kind=TargetKind.bot))]
    decision = evaluate(rules, FACTS, NOW, CALENDARS, Target(kind=TargetKind.bot))
    assert decision.rule_name == "a"


@pytest.mark.parametrize(
    ("condition", "problem"),
    [
        (cond("shoe_size", "equals", "42"), "unknown field"),
        (cond("channel", "regex", "w.*"), "operator not allowed"),
        (cond("page_url", "regex", "(unclosed"), "invalid regular expression"),
        (cond("contact.age", "range", Range()), "at least one end"),
        (cond("contact.age", "range", Range(min=40, max=20)), "min is larger"),
        (cond("channel", "in", []), "non-empty list"),
        (cond("time", "in_hours", str(uuid.uuid4())), "no calendar"),
        (cond("time", "in_hours", "tomorrow"), "calendar id"),
        (cond("page_url", "prefix", ""), "non-empty string"),
        (cond("contact.attributes.x", "exists", "yes"), "true or false"),
    ],
)
def test_validate_rule_names_each_problem(condition: Condition, problem: str) -> None:
    problems = validate_rule(rule("r", [condition]), [CAL])
    assert any(problem in p for p in problems), problems


def test_group_target_without_group_is_refused() -> None:
    bad = rule("r", [], target=Target(kind=TargetKind.group))
    assert any("needs group_id" in p for p in validate_rule(bad))


def test_rules_round_trip_through_json() -> None:
    original = rule("vip", [cond("contact.age", "range", Range(min=18, max=25))])
    decoded = msgspec.json.decode(msgspec.json.encode(original), type=Rule)
    assert decoded == original
