"""Routing validation says each problem on the field the console shows it beside, in
English and Chinese; `admin.refuse` turns the problems into one translated Invalid."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import pytest

from kefu.errors import FieldError, Invalid
from kefu.i18n import Text
from kefu.routing.acd import GroupPolicy, policy_problems
from kefu.routing.checks import Problem, refuse
from kefu.routing.hours import Calendar, Interval, SpecialDay, calendar_problems
from kefu.routing.rules import Condition, Op, Range, Rule, Target, TargetKind, rule_problems

CAL = uuid.UUID("0192f000-0000-7000-8000-0000000000ca")
GROUP = uuid.UUID("0192f000-0000-7000-8000-0000000000a1")


def cond(field: str, op: str, value: Any = None) -> Condition:
    return Condition(field=field, op=Op(op), value=value)


def rule(conditions: list[Condition], *, name: str = "r", target: Target | None = None) -> Rule:
    return Rule(
        id=uuid.uuid4(),
        name=name,
        target=target or Target(kind=TargetKind.bot),
        conditions=conditions,
    )


def fields(problems: list[Problem]) -> list[str]:
    return [p.field for p in problems]


def has_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


@pytest.mark.parametrize(
    ("conditions", "field"),
    [
        ([cond("shoe_size", "equals", "42")], "conditions[0].field"),
        ([cond("channel", "regex", "w.*")], "conditions[0].op"),
        ([cond("channel", "equals", "web"), cond("page_url", "regex", "(")], "conditions[1].value"),
        ([cond("contact.age", "range", Range(min=40, max=20))], "conditions[0].value"),
        ([cond("time", "in_hours", str(uuid.uuid4()))], "conditions[0].value"),
    ],
)
def test_condition_problems_name_the_part_of_the_condition(
    conditions: list[Condition], field: str
) -> None:
    problems = rule_problems(rule(conditions), [CAL])
    assert fields(problems) == [field]
    problem = problems[0]
    assert has_chinese(problem.message.zh) and not has_chinese(problem.message.en)
    # The sentence read without the form still says which condition.
    number = int(field[len("conditions[")]) + 1
    assert problem.sentence().en.startswith(f"condition {number} (")
    assert problem.sentence().zh.startswith(f"条件 {number}（")


def test_rule_level_fields() -> None:
    problems = rule_problems(rule([], name=" ", target=Target(kind=TargetKind.group)))
    assert fields(problems) == ["name", "target.group_id"]
    assert problems[0].message == Text("a rule needs a name", "规则需要填写名称")
    agent = rule_problems(rule([], target=Target(kind=TargetKind.agent)))
    assert fields(agent) == ["target.agent_id"]
    assert "needs agent_id" in agent[0].message.en and has_chinese(agent[0].message.zh)


def test_calendar_problems_point_at_the_interval_and_day() -> None:
    calendar = Calendar(
        timezone="Mars/Olympus",
        weekly={"mon": [Interval("09:00", "12:00"), Interval("22:00", "06:00")]},
        special_days=[
            SpecialDay(date=date(2026, 10, 1), hours=[Interval("9:00", "18:00")]),
            SpecialDay(date=date(2026, 10, 1)),
        ],
    )
    problems = calendar_problems(calendar)
    assert fields(problems) == [
        "timezone",
        "weekly.mon[1].end",
        "special_days[0].hours[0].start",
        "special_days[1].date",
    ]
    night = problems[1]
    assert night.sentence().en == (
        "weekly mon: 22:00-06:00 ends before it starts; split a night shift at midnight"
    )
    assert "跨夜" in night.message.zh
    assert all(has_chinese(p.message.zh) for p in problems)


def test_policy_problems_are_on_policy_fields() -> None:
    bad = GroupPolicy(sticky_days=400, max_wait_seconds=0, overflow_group_id=GROUP)
    assert fields(policy_problems(bad, GROUP)) == [
        "sticky_days",
        "max_wait_seconds",
        "overflow_group_id",
        "max_wait_seconds",
    ]
    assert policy_problems(GroupPolicy(sticky_days=3), GROUP) == []


def test_refuse_joins_sentences_in_both_languages_and_keeps_fields() -> None:
    problems = rule_problems(
        rule([cond("shoe_size", "equals", "1")], name="", target=Target(kind=TargetKind.group))
    )
    with pytest.raises(Invalid) as raised:
        refuse(problems)
    text = raised.value.text
    assert isinstance(text, Text)
    assert text.en == (
        "a rule needs a name; target kind 'group' needs group_id; "
        "condition 1 (shoe_size equals): unknown field 'shoe_size'"
    )
    assert text.zh.count("；") == 2 and "条件 1" in text.zh
    assert raised.value.errors == (
        FieldError("name", problems[0].message),
        FieldError("target.group_id", problems[1].message),
        FieldError("conditions[0].field", problems[2].message),
    )
    refuse([])  # nothing to say: no error
