"""Sentences that explain routing decisions to admins, in zh-CN and en."""

from __future__ import annotations

from typing import Any

from kefu.routing.rules import Reason

CATALOG: dict[str, dict[str, str]] = {
    "mismatch": {
        "en": "{field} is {actual!r}, which does not satisfy {op} {expected!r}",
        "zh-CN": "{field} 的值为 {actual!r}，不满足 {op} {expected!r}",
    },
    "missing": {
        "en": "{field} is not known for this conversation ({op} {expected!r} needs a value)",
        "zh-CN": "此会话没有 {field} 的值（{op} {expected!r} 需要该值）",
    },
    "present": {
        "en": "{field} is set ({actual!r}) but the rule wants it absent",
        "zh-CN": "{field} 已有值（{actual!r}），但规则要求为空",
    },
    "closed": {
        "en": "outside the business hours of calendar {expected}",
        "zh-CN": "当前不在工作时间（日历 {expected}）",
    },
    "open": {
        "en": "inside the business hours of calendar {expected}",
        "zh-CN": "当前在工作时间内（日历 {expected}）",
    },
    "unknown_calendar": {
        "en": "calendar {expected} no longer exists",
        "zh-CN": "日历 {expected} 不存在",
    },
    "disabled": {"en": "the rule is disabled", "zh-CN": "该规则已停用"},
    # Agent choice
    "sticky": {
        "en": "the agent who served this customer recently is available",
        "zh-CN": "该客户最近的接待客服在线且有空闲",
    },
    "requested_agent": {
        "en": "the rule asks for this agent, who is available",
        "zh-CN": "规则指定了该客服，且其在线有空闲",
    },
    "region": {
        "en": "an agent of the customer's region is available",
        "zh-CN": "有与客户同地区的客服可接待",
    },
    "strategy": {
        "en": "chosen by the group's strategy ({strategy})",
        "zh-CN": "按技能组分配策略（{strategy}）选出",
    },
    "no_member": {
        "en": "the group has no agents",
        "zh-CN": "该技能组没有客服",
    },
    "nobody_online": {
        "en": "no agent of the group is online; the conversation waits in the queue",
        "zh-CN": "技能组内没有在线客服，会话进入排队",
    },
    "all_full": {
        "en": "every online agent of the group is at capacity; the conversation waits",
        "zh-CN": "技能组内在线客服均已满负荷，会话进入排队",
    },
    "fallback": {
        "en": "no rule matched; the inbox's default group applies",
        "zh-CN": "没有规则匹配，使用渠道的默认技能组",
    },
    "matched": {"en": "rule {rule!r} matched", "zh-CN": "匹配规则「{rule}」"},
}


def pick_locale(locale: str | None) -> str:
    return "zh-CN" if (locale or "").lower().startswith("zh") else "en"


def say(code: str, locale: str | None, **params: Any) -> str:
    entry = CATALOG.get(code)
    if entry is None:
        return code
    template = entry[pick_locale(locale)]
    try:
        return template.format(**params)
    except (KeyError, IndexError, ValueError):
        return template


def explain_reason(reason: Reason, locale: str | None) -> str:
    return say(
        reason.code,
        locale,
        field=reason.field,
        op=reason.op,
        expected=reason.expected,
        actual=reason.actual,
    )
