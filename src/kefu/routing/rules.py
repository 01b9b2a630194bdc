"""Routing rules: who should serve a conversation.

Rules are evaluated in priority order (higher first; ties by name, then id, so the order
is stable); the first rule whose conditions hold wins, otherwise the fallback target (the
inbox's default group) applies. Evaluation is pure: the caller passes the facts, the
calendars and `now`, and gets back the decision with a reason for every rule that did not
match, which is what `POST /api/v1/routing/explain` shows an admin.
"""

from __future__ import annotations

import enum
import fnmatch
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any, Literal

import msgspec

from kefu.i18n import Text
from kefu.model import Int32
from kefu.routing.checks import Problem, sentences
from kefu.routing.hours import Calendar, CalendarError, is_open


class TargetKind(enum.StrEnum):
    group = "group"
    agent = "agent"
    bot = "bot"
    # Out of hours or no one to serve: take a message, a human follows up later.
    leave_message = "leave_message"


class Op(enum.StrEnum):
    equals = "equals"
    not_equals = "not_equals"
    in_ = "in"
    not_in = "not_in"
    contains = "contains"
    prefix = "prefix"
    glob = "glob"
    regex = "regex"
    range = "range"
    exists = "exists"
    in_hours = "in_hours"
    out_of_hours = "out_of_hours"


class Range(msgspec.Struct, frozen=True, omit_defaults=True):
    """Inclusive at both ends, like an age band "18-25"; either end may be open."""

    min: float | None = None
    max: float | None = None


Scalar = str | int | float | bool
Value = str | int | float | bool | list[str | int | float] | Range | None


class Condition(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """`field` is one of FIELDS, or `contact.attributes.<name>` /
    `conversation.attributes.<name>` for custom attributes; `time` takes a calendar id as
    value with op in_hours / out_of_hours."""

    field: str
    op: Op
    value: Value = None


class Target(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    kind: TargetKind
    group_id: uuid.UUID | None = None
    # For kind=agent: the agent; when they cannot take it now, the conversation queues in
    # `group_id` (or the inbox's default group).
    agent_id: uuid.UUID | None = None


class Rule(msgspec.Struct, kw_only=True, omit_defaults=True):
    id: uuid.UUID
    name: str
    target: Target
    priority: int = 0
    enabled: bool = True
    match: Literal["all", "any"] = "all"
    # No conditions: a catch-all rule.
    conditions: list[Condition] = msgspec.field(default_factory=list)
    # Raise the conversation's queue priority when this rule matches (e.g. VIP rules).
    set_priority: int | None = None


class ContactProfile(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    region: str | None = None
    gender: str | None = None
    age: Int32 | None = None
    vip_level: Int32 = 0
    tags: list[str] = msgspec.field(default_factory=list)
    language: str | None = None
    verified: bool = False
    attributes: dict[str, Any] = msgspec.field(default_factory=dict)


class RoutingFacts(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Everything rules may look at, gathered from the conversation, inbox and contact."""

    channel: str
    inbox_id: uuid.UUID | None = None
    entry_point: str | None = None
    page_url: str | None = None
    referrer: str | None = None
    language: str | None = None
    contact: ContactProfile = msgspec.field(default_factory=ContactProfile)
    attributes: dict[str, Any] = msgspec.field(default_factory=dict)


FIELDS: dict[str, frozenset[Op]] = {}
_TEXT_OPS = frozenset(
    {Op.equals, Op.not_equals, Op.in_, Op.not_in, Op.contains, Op.prefix, Op.glob, Op.regex}
)
_EXISTS = frozenset({Op.exists})
_NUMBER_OPS = frozenset({Op.equals, Op.not_equals, Op.in_, Op.not_in, Op.range})
_ANY_OPS = _TEXT_OPS | _NUMBER_OPS | _EXISTS
for _name in ("channel", "inbox", "contact.gender", "contact.region", "contact.language"):
    FIELDS[_name] = frozenset({Op.equals, Op.not_equals, Op.in_, Op.not_in}) | _EXISTS
for _name in ("page_url", "entry_point", "referrer", "language"):
    FIELDS[_name] = _TEXT_OPS | _EXISTS
for _name in ("contact.age", "contact.vip_level"):
    FIELDS[_name] = _NUMBER_OPS | _EXISTS
FIELDS["contact.tags"] = frozenset({Op.contains, Op.in_, Op.not_in}) | _EXISTS
FIELDS["contact.verified"] = frozenset({Op.equals})
FIELDS["time"] = frozenset({Op.in_hours, Op.out_of_hours})
_ATTRIBUTE_PREFIXES = ("contact.attributes.", "conversation.attributes.")


class Reason(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Why one condition did or did not hold; `code` keys the translated sentence."""

    code: str
    field: str = ""
    op: str = ""
    expected: Any = None
    actual: Any = None


class RuleCheck(msgspec.Struct, frozen=True, kw_only=True):
    rule_id: uuid.UUID
    rule_name: str
    matched: bool
    reasons: list[Reason]


class Decision(msgspec.Struct, frozen=True, kw_only=True):
    target: Target
    rule_id: uuid.UUID | None
    rule_name: str | None
    # Queue priority the matching rule asked for (None: keep the conversation's own).
    priority: int | None
    # Every rule looked at, in order, up to and including the one that matched.
    checks: list[RuleCheck]


class RuleError(ValueError):
    pass


def _ops_for(field: str) -> frozenset[Op] | None:
    if field in FIELDS:
        return FIELDS[field]
    if field.startswith(_ATTRIBUTE_PREFIXES) and field.rsplit(".", 1)[-1]:
        return _ANY_OPS
    return None


def rule_problems(rule: Rule, calendar_ids: Iterable[uuid.UUID] = ()) -> list[Problem]:
    """Every problem an admin has to fix before the rule is saved, each on its field
    (empty when valid)."""
    problems: list[Problem] = []
    known_calendars = set(calendar_ids)
    if not rule.name.strip():
        problems.append(Problem("name", Text("a rule needs a name", "规则需要填写名称")))
    if rule.target.kind is TargetKind.group and rule.target.group_id is None:
        problems.append(
            Problem(
                "target.group_id",
                Text("target kind 'group' needs group_id", "目标为技能组时，请选择一个技能组"),
            )
        )
    if rule.target.kind is TargetKind.agent and rule.target.agent_id is None:
        problems.append(
            Problem(
                "target.agent_id",
                Text("target kind 'agent' needs agent_id", "目标为指定客服时，请选择一位客服"),
            )
        )
    for index, cond in enumerate(rule.conditions):
        where = Text(
            f"condition {index + 1} ({cond.field} {cond.op.value})",
            f"条件 {index + 1}（{cond.field} {cond.op.value}）",
        )
        path = f"conditions[{index}]"
        ops = _ops_for(cond.field)
        if ops is None:
            said = Text(f"unknown field {cond.field!r}", f"未知的条件字段 {cond.field!r}")
            problems.append(Problem(f"{path}.field", said, where))
            continue
        if cond.op not in ops:
            allowed = ", ".join(sorted(op.value for op in ops))
            said = Text(
                f"operator not allowed for this field; use {allowed}",
                f"此字段不能使用该运算符，请改用：{allowed}",
            )
            problems.append(Problem(f"{path}.op", said, where))
            continue
        problems.extend(
            Problem(f"{path}.value", said, where) for said in _value_problems(cond, known_calendars)
        )
    return problems


def validate_rule(rule: Rule, calendar_ids: Iterable[uuid.UUID] = ()) -> list[str]:
    """`rule_problems` as English sentences (empty when valid)."""
    return sentences(rule_problems(rule, calendar_ids))


def _value_problems(cond: Condition, calendars: set[uuid.UUID]) -> list[Text]:
    value = cond.value
    if cond.op in (Op.in_, Op.not_in):
        if isinstance(value, list) and value:
            return []
        return [Text("value must be a non-empty list", "请至少填写一个值")]
    if cond.op is Op.range:
        if not isinstance(value, Range) or (value.min is None and value.max is None):
            return [
                Text(
                    'value must be {"min": ..., "max": ...} with at least one end',
                    "请至少填写范围的最小值或最大值",
                )
            ]
        if value.min is not None and value.max is not None and value.min > value.max:
            return [Text("range min is larger than max", "范围的最小值大于最大值，请调换")]
        return []
    if cond.op is Op.exists:
        if isinstance(value, bool):
            return []
        return [Text("value must be true or false", "值只能是“是”或“否”")]
    if cond.op in (Op.in_hours, Op.out_of_hours):
        try:
            calendar_id = uuid.UUID(str(value))
        except ValueError:
            return [Text("value must be a calendar id", "请选择一个营业时间日历")]
        if calendar_id in calendars:
            return []
        return [
            Text(
                f"no calendar {calendar_id}",
                f"日历 {calendar_id} 不存在，请选择一个现有的日历",
            )
        ]
    if cond.op is Op.regex:
        if not isinstance(value, str):
            return [Text("value must be a regular expression string", "请填写一个正则表达式")]
        if len(value) > 500:
            return [
                Text(
                    "regular expression longer than 500 characters", "正则表达式不能超过 500 个字符"
                )
            ]
        try:
            re.compile(value)
        except re.error as exc:
            # Python's own words stay in brackets; the Chinese says where to look.
            near = f"第 {exc.pos + 1} 个字符附近" if exc.pos is not None else ""
            return [
                Text(
                    f"invalid regular expression: {exc}",
                    f"正则表达式无效：请检查{near}的括号是否成对、特殊字符是否转义（{exc.msg}）",
                )
            ]
        return []
    if cond.op in (Op.contains, Op.prefix, Op.glob) and cond.field != "contact.tags":
        if isinstance(value, str) and value:
            return []
        return [Text("value must be a non-empty string", "请填写要匹配的文字")]
    if value is None or isinstance(value, list | Range):
        return [
            Text(
                "value must be a single string, number or boolean",
                "请填写一个值（文字、数字或是/否）",
            )
        ]
    return []


def _actual(field: str, facts: RoutingFacts) -> Any:
    contact = facts.contact
    match field:
        case "channel":
            return facts.channel
        case "inbox":
            return str(facts.inbox_id) if facts.inbox_id else None
        case "page_url":
            return facts.page_url
        case "entry_point":
            return facts.entry_point
        case "referrer":
            return facts.referrer
        case "language":
            return facts.language or contact.language
        case "contact.region":
            return contact.region
        case "contact.gender":
            return contact.gender
        case "contact.age":
            return contact.age
        case "contact.vip_level":
            return contact.vip_level
        case "contact.tags":
            return list(contact.tags)
        case "contact.language":
            return contact.language
        case "contact.verified":
            return contact.verified
    if field.startswith("contact.attributes."):
        return contact.attributes.get(field.removeprefix("contact.attributes."))
    if field.startswith("conversation.attributes."):
        return facts.attributes.get(field.removeprefix("conversation.attributes."))
    raise RuleError(f"unknown field {field!r}")


def _norm(value: Any) -> Any:
    """Text compares case-insensitively ("CN" = "cn"); numbers compare as numbers."""
    if isinstance(value, str):
        return value.strip().casefold()
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return float(value)
    return value


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


@lru_cache(maxsize=512)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def check_condition(
    cond: Condition, facts: RoutingFacts, now: datetime, calendars: Mapping[uuid.UUID, Calendar]
) -> Reason | None:
    """None when the condition holds, else the reason it does not."""
    fail = Reason(code="mismatch", field=cond.field, op=cond.op.value, expected=cond.value)
    if cond.field == "time":
        try:
            calendar = calendars[uuid.UUID(str(cond.value))]
        except (KeyError, ValueError):
            return msgspec.structs.replace(fail, code="unknown_calendar")
        try:
            open_now = is_open(calendar, now)
        except CalendarError:
            return msgspec.structs.replace(fail, code="unknown_calendar")
        want_open = cond.op is Op.in_hours
        if open_now == want_open:
            return None
        return msgspec.structs.replace(fail, code="closed" if want_open else "open")

    actual = _actual(cond.field, facts)
    missing = actual is None or actual == "" or actual == []
    if cond.op is Op.exists:
        return (
            None
            if (not missing) == bool(cond.value)
            else msgspec.structs.replace(
                fail, code="missing" if cond.value else "present", actual=actual
            )
        )
    if missing:
        # A negative test on an absent value holds: a visitor without a region is
        # certainly "not in [north]".
        if cond.op in (Op.not_equals, Op.not_in):
            return None
        return msgspec.structs.replace(fail, code="missing")
    fail = msgspec.structs.replace(fail, actual=actual)
    if _holds(cond, actual):
        return None
    return fail


def _holds(cond: Condition, actual: Any) -> bool:
    value = cond.value
    actual_items = [_norm(a) for a in _as_list(actual)]
    match cond.op:
        case Op.equals:
            if _is_num(actual):
                return _number(value) == float(actual)
            return _norm(value) in actual_items
        case Op.not_equals:
            if _is_num(actual):
                return _number(value) != float(actual)
            return _norm(value) not in actual_items
        case Op.in_ | Op.not_in:
            if _is_num(actual):
                hit = float(actual) in {_number(v) for v in _as_list(value)}
            else:
                hit = any(a in {_norm(v) for v in _as_list(value)} for a in actual_items)
            return hit if cond.op is Op.in_ else not hit
        case Op.contains:
            if isinstance(actual, list):
                return _norm(value) in actual_items
            return str(_norm(value)) in str(_norm(actual))
        case Op.prefix:
            return isinstance(actual, str) and actual.startswith(str(value))
        case Op.glob:
            return isinstance(actual, str) and fnmatch.fnmatchcase(actual, str(value))
        case Op.regex:
            return isinstance(actual, str) and _regex(str(value)).search(actual) is not None
        case Op.range:
            number = _number(actual)
            if number is None or not isinstance(value, Range):
                return False
            low_ok = value.min is None or number >= value.min
            high_ok = value.max is None or number <= value.max
            return low_ok and high_ok
    return False


def _is_num(actual: Any) -> bool:
    return isinstance(actual, int | float) and not isinstance(actual, bool)


def ordered(rules: Iterable[Rule]) -> list[Rule]:
    return sorted(rules, key=lambda r: (-r.priority, r.name, str(r.id)))


def check_rule(
    rule: Rule, facts: RoutingFacts, now: datetime, calendars: Mapping[uuid.UUID, Calendar]
) -> RuleCheck:
    if not rule.enabled:
        return RuleCheck(
            rule_id=rule.id, rule_name=rule.name, matched=False, reasons=[Reason(code="disabled")]
        )
    failures = [
        reason
        for cond in rule.conditions
        if (reason := check_condition(cond, facts, now, calendars)) is not None
    ]
    if rule.match == "all" or not rule.conditions:
        matched = not failures
    else:
        matched = len(failures) < len(rule.conditions)
    return RuleCheck(
        rule_id=rule.id,
        rule_name=rule.name,
        matched=matched,
        reasons=[] if matched else failures,
    )


def evaluate(
    rules: Sequence[Rule],
    facts: RoutingFacts,
    now: datetime,
    calendars: Mapping[uuid.UUID, Calendar],
    fallback: Target,
    *,
    skip_kinds: frozenset[TargetKind] = frozenset(),
) -> Decision:
    """First matching rule wins; `skip_kinds` ignores rules aiming at e.g. the bot when the
    bot itself hands the conversation over to a human."""
    checks: list[RuleCheck] = []
    for rule in ordered(rules):
        if rule.target.kind in skip_kinds:
            continue
        check = check_rule(rule, facts, now, calendars)
        checks.append(check)
        if check.matched:
            return Decision(
                target=rule.target,
                rule_id=rule.id,
                rule_name=rule.name,
                priority=rule.set_priority,
                checks=checks,
            )
    return Decision(target=fallback, rule_id=None, rule_name=None, priority=None, checks=checks)
