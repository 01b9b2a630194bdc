"""Which requests the audit log records, in one table: (method, route template) -> the
action's name. A staff route that changes something is either here or in
`NOT_AUDITED` with the reason; tests/integration/test_audit.py fails for any route that
is neither, so a new admin endpoint cannot be forgotten."""

from __future__ import annotations

from dataclasses import dataclass, field

from kefu.i18n import Text


@dataclass(frozen=True, kw_only=True)
class Audited:
    action: str
    object_type: str
    label: Text
    # A request changing one of these fields is recorded under that action instead (one
    # row per action matched): an agent PATCH with `role` is a role change.
    by_field: dict[str, tuple[str, Text]] = field(default_factory=dict)
    # The object is the signed-in user (routes under /agents/me).
    on_self: bool = False
    # Recorded only when the request sets this field to true (`WHEN_SET`).
    only_when: str | None = None


def _a(
    action: str,
    object_type: str,
    en: str,
    zh: str,
    *,
    by_field: dict[str, tuple[str, Text]] | None = None,
    on_self: bool = False,
) -> Audited:
    return Audited(
        action=action,
        object_type=object_type,
        label=Text(en, zh),
        by_field=by_field or {},
        on_self=on_self,
    )


# Route templates as Litestar reports them (`scope["path_template"]`: no type suffixes).
AUDITED: dict[tuple[str, str], Audited] = {
    # Sign-in, sessions, people and roles
    ("POST", "/api/v1/auth/login"): _a("auth.login", "agent", "Signed in", "登录", on_self=True),
    ("POST", "/api/v1/auth/logout"): _a(
        "auth.logout", "agent", "Signed out", "退出登录", on_self=True
    ),
    ("PUT", "/api/v1/agents/me/password"): _a(
        "agent.password_change", "agent", "Changed own password", "修改了自己的密码", on_self=True
    ),
    ("POST", "/api/v1/agents"): _a("agent.create", "agent", "Added an agent", "添加了客服"),
    ("PATCH", "/api/v1/agents/{agent_id}"): _a(
        "agent.update",
        "agent",
        "Edited an agent",
        "编辑了客服",
        by_field={
            "role": ("agent.role_change", Text("Changed a role", "修改了角色")),
            "active": (
                "agent.active_change",
                Text("Enabled or disabled an agent", "启用或停用了客服"),
            ),
            "password": ("agent.password_reset", Text("Reset a password", "重置了密码")),
        },
    ),
    ("PUT", "/api/v1/agents/{agent_id}/presence"): _a(
        "agent.presence_set", "agent", "Set an agent's presence", "设置了客服的在线状态"
    ),
    ("DELETE", "/api/v1/agents/{agent_id}/sessions"): _a(
        "agent.sign_out_everywhere",
        "agent",
        "Signed an agent out everywhere",
        "将客服在所有设备上登出",
    ),
    ("POST", "/api/v1/groups"): _a(
        "group.create", "group", "Created a skill group", "创建了技能组"
    ),
    ("PATCH", "/api/v1/groups/{group_id}"): _a(
        "group.update", "group", "Edited a skill group", "编辑了技能组"
    ),
    ("DELETE", "/api/v1/groups/{group_id}"): _a(
        "group.delete", "group", "Deleted a skill group", "删除了技能组"
    ),
    # Inboxes
    ("POST", "/api/v1/inboxes"): _a("inbox.create", "inbox", "Created an inbox", "创建了接入渠道"),
    ("PATCH", "/api/v1/inboxes/{inbox_id}"): _a(
        "inbox.update", "inbox", "Edited an inbox", "编辑了接入渠道"
    ),
    ("POST", "/api/v1/inboxes/{inbox_id}/secrets/{name}/rotate"): _a(
        "inbox.secret_rotate", "inbox", "Rotated an inbox secret", "更换了接入渠道密钥"
    ),
    ("POST", "/api/v1/inboxes/{inbox_id}/archive"): _a(
        "inbox.archive", "inbox", "Archived an inbox", "归档了接入渠道"
    ),
    ("POST", "/api/v1/inboxes/{inbox_id}/unarchive"): _a(
        "inbox.unarchive", "inbox", "Restored an archived inbox", "恢复了已归档的接入渠道"
    ),
    ("POST", "/api/v1/visitors/{visitor_id}/block"): _a(
        "visitor.block", "visitor", "Blocked a visitor", "屏蔽了访客"
    ),
    ("POST", "/api/v1/visitors/{visitor_id}/unblock"): _a(
        "visitor.unblock", "visitor", "Unblocked a visitor", "解除屏蔽访客"
    ),
    ("DELETE", "/api/v1/inboxes/{inbox_id}"): _a(
        "inbox.delete", "inbox", "Deleted an inbox", "删除了接入渠道"
    ),
    # Routing
    ("POST", "/api/v1/routing/rules"): _a(
        "routing.rule.create", "routing_rule", "Created a routing rule", "创建了路由规则"
    ),
    ("PUT", "/api/v1/routing/rules/{rule_id}"): _a(
        "routing.rule.update", "routing_rule", "Changed a routing rule", "修改了路由规则"
    ),
    ("DELETE", "/api/v1/routing/rules/{rule_id}"): _a(
        "routing.rule.delete", "routing_rule", "Deleted a routing rule", "删除了路由规则"
    ),
    ("POST", "/api/v1/routing/calendars"): _a(
        "routing.calendar.create", "calendar", "Created business hours", "创建了工作时间"
    ),
    ("PUT", "/api/v1/routing/calendars/{calendar_id}"): _a(
        "routing.calendar.update", "calendar", "Changed business hours", "修改了工作时间"
    ),
    ("DELETE", "/api/v1/routing/calendars/{calendar_id}"): _a(
        "routing.calendar.delete", "calendar", "Deleted business hours", "删除了工作时间"
    ),
    ("PUT", "/api/v1/routing/groups/{group_id}/policy"): _a(
        "routing.group_policy.update",
        "group",
        "Changed a group's queue policy",
        "修改了技能组的排队策略",
    ),
    # Knowledge
    ("POST", "/api/v1/knowledge"): _a(
        "knowledge.create", "knowledge", "Created a knowledge entry", "创建了知识条目"
    ),
    ("PATCH", "/api/v1/knowledge/{entry_id}"): _a(
        "knowledge.update", "knowledge", "Edited a knowledge entry", "编辑了知识条目"
    ),
    ("DELETE", "/api/v1/knowledge/{entry_id}"): _a(
        "knowledge.delete", "knowledge", "Deleted a knowledge entry", "删除了知识条目"
    ),
    ("POST", "/api/v1/knowledge/{entry_id}/versions/{version}/restore"): _a(
        "knowledge.restore", "knowledge", "Restored an earlier version", "恢复了历史版本"
    ),
    ("PATCH", "/api/v1/knowledge/categories/{category_id}"): _a(
        "knowledge.category.update", "knowledge_category", "Edited a category", "编辑了知识分类"
    ),
    ("DELETE", "/api/v1/knowledge/categories/{category_id}"): _a(
        "knowledge.category.delete", "knowledge_category", "Deleted a category", "删除了知识分类"
    ),
    ("POST", "/api/v1/knowledge/import"): _a(
        "knowledge.import", "knowledge", "Imported knowledge", "导入了知识库"
    ),
    ("POST", "/api/v1/knowledge/reindex"): _a(
        "knowledge.reindex", "knowledge", "Rebuilt the search index", "重建了搜索索引"
    ),
    ("POST", "/api/v1/knowledge/unanswered/resolve"): _a(
        "knowledge.unanswered.resolve",
        "knowledge",
        "Resolved unanswered questions",
        "处理了未解答问题",
    ),
    # knowledge studio (studio)
    ("POST", "/api/v1/knowledge/unanswered/answer"): _a(
        "knowledge.unanswered.answer",
        "knowledge",
        "Answered unanswered questions with an entry",
        "用知识条目解答了未解答问题",
    ),
    ("POST", "/api/v1/knowledge/images"): _a(
        "knowledge.image.upload", "knowledge", "Uploaded an image", "上传了图片"
    ),
    # Data leaving the system
    ("GET", "/api/v1/knowledge/export"): _a(
        "knowledge.export", "knowledge", "Exported the knowledge base", "导出了知识库"
    ),
    # Customer profiles and shared answers
    ("PATCH", "/api/v1/contacts/{contact_id}"): _a(
        "contact.update", "contact", "Edited a contact", "编辑了客户资料"
    ),
    ("POST", "/api/v1/contacts/{contact_id}/merge"): _a(
        "contact.merge", "contact", "Merged contacts", "合并了客户"
    ),
    ("POST", "/api/v1/quick-replies"): _a(
        "quick_reply.create", "quick_reply", "Created a quick reply", "创建了快捷回复"
    ),
    ("PATCH", "/api/v1/quick-replies/{reply_id}"): _a(
        "quick_reply.update", "quick_reply", "Edited a quick reply", "编辑了快捷回复"
    ),
    ("DELETE", "/api/v1/quick-replies/{reply_id}"): _a(
        "quick_reply.delete", "quick_reply", "Deleted a quick reply", "删除了快捷回复"
    ),
    # tickets (issue 17)
    ("POST", "/api/v1/tickets"): _a("ticket.create", "ticket", "Created a ticket", "创建了工单"),
    ("POST", "/api/v1/conversations/{conversation_id}/ticket"): _a(
        "ticket.create_from_conversation",
        "conversation",
        "Made a ticket of a conversation",
        "将会话转为工单",
    ),
    ("PATCH", "/api/v1/tickets/{ticket_id}"): _a(
        "ticket.update", "ticket", "Edited a ticket", "编辑了工单"
    ),
    ("POST", "/api/v1/tickets/{ticket_id}/progress-link"): _a(
        "ticket.revoke_link",
        "ticket",
        "Revoked a ticket's progress links",
        "撤销了工单的进度链接",
    ),
    ("POST", "/api/v1/tickets/bulk"): _a(
        "ticket.bulk_update", "ticket", "Edited tickets in bulk", "批量编辑了工单"
    ),
    ("POST", "/api/v1/tickets/{ticket_id}/merge"): _a(
        "ticket.merge", "ticket", "Merged tickets", "合并了工单"
    ),
    ("POST", "/api/v1/tickets/{ticket_id}/split"): _a(
        "ticket.split", "ticket", "Split a ticket", "拆分了工单"
    ),
    ("POST", "/api/v1/ticket-fields"): _a(
        "ticket_field.create", "ticket_field", "Added a ticket field", "添加了工单字段"
    ),
    ("DELETE", "/api/v1/ticket-fields/{field_id}"): _a(
        "ticket_field.delete", "ticket_field", "Deleted a ticket field", "删除了工单字段"
    ),
    ("PUT", "/api/v1/sla-policies/{policy_id}"): _a(
        "sla_policy.update", "sla_policy", "Edited an SLA policy", "编辑了 SLA 策略"
    ),
    ("POST", "/api/v1/sla-policies"): _a(
        "sla_policy.create", "sla_policy", "Created an SLA policy", "创建了 SLA 策略"
    ),
    ("DELETE", "/api/v1/sla-policies/{policy_id}"): _a(
        "sla_policy.delete", "sla_policy", "Deleted an SLA policy", "删除了 SLA 策略"
    ),
    # calls (issue 18): handing a caller to someone else is recorded
    ("POST", "/api/v1/calls/{call_id}/transfer"): _a(
        "call.transfer", "call", "Transferred a call", "转接了来电"
    ),
    ("POST", "/api/v1/calls/{call_id}/transfer/complete"): _a(
        "call.transfer_complete", "call", "Completed an attended transfer", "完成了咨询转接"
    ),
    ("POST", "/api/v1/calls/{call_id}/conference"): _a(
        "call.conference", "call", "Brought a number into a call", "将外部号码加入了通话"
    ),
    ("POST", "/api/v1/calls/{call_id}/listen"): _a(
        "call.listen", "call", "Listened in on a call", "监听了通话"
    ),
    # reports
    ("PUT", "/api/v1/reports/settings"): _a(
        "reports.settings", "workspace", "Changed the report settings", "修改了报表设置"
    ),
    ("POST", "/api/v1/reports/schedules"): _a(
        "reports.schedule_create", "report_schedule", "Scheduled a report", "创建了定时报表"
    ),
    ("PUT", "/api/v1/reports/schedules/{schedule_id}"): _a(
        "reports.schedule_update", "report_schedule", "Changed a scheduled report", "修改了定时报表"
    ),
    ("DELETE", "/api/v1/reports/schedules/{schedule_id}"): _a(
        "reports.schedule_delete", "report_schedule", "Deleted a scheduled report", "删除了定时报表"
    ),
    ("POST", "/api/v1/reports/schedules/{schedule_id}/send"): _a(
        "reports.schedule_send",
        "report_schedule",
        "Sent a scheduled report now",
        "立即发送了定时报表",
    ),
}

_CONVERSATION_WORK = "conversation work: the conversation's event log records who did it"
_TICKET_WORK = "ticket work: the ticket's event log (ticket.watcher_*, ticket.linked) records it"
_CALL_WORK = "call work: the call's event log (call.*) records who did it and when"

# Staff routes that change something but are deliberately not in the audit log.
NOT_AUDITED: dict[tuple[str, str], str] = {
    ("PUT", "/api/v1/agents/me/presence"): "an agent's own presence, many times a day",
    ("POST", "/api/v1/conversations/{conversation_id}/assign"): _CONVERSATION_WORK,
    ("PATCH", "/api/v1/conversations/{conversation_id}"): _CONVERSATION_WORK,
    ("POST", "/api/v1/conversations/{conversation_id}/messages"): _CONVERSATION_WORK,
    ("POST", "/api/v1/conversations/{conversation_id}/reopen"): _CONVERSATION_WORK,
    ("POST", "/api/v1/conversations/{conversation_id}/resolve"): _CONVERSATION_WORK,
    ("POST", "/api/v1/conversations/{conversation_id}/snooze"): _CONVERSATION_WORK,
    ("POST", "/api/v1/conversations/{conversation_id}/transfer"): _CONVERSATION_WORK,
    ("POST", "/api/v1/routing/explain"): "a dry run that changes nothing",
    ("POST", "/api/v1/inboxes/{inbox_id}/test"): "a connection test that changes nothing",
    ("POST", "/api/v1/knowledge/{entry_id}/feedback"): "an agent rating an answer",
    ("POST", "/api/v1/knowledge/{entry_id}/insertions"): "a usage count as agents insert answers",
    ("POST", "/api/v1/quick-replies/{reply_id}/render"): "a preview that changes nothing",
    ("POST", "/api/v1/knowledge/import/parse"): "reads an uploaded file, saves nothing",
    ("PUT", "/api/v1/phone/state"): "an agent's own softphone state; call.agentlogin/pause log it",
    ("POST", "/api/v1/calls/{call_id}/answer"): _CALL_WORK,
    ("POST", "/api/v1/calls/{call_id}/reject"): _CALL_WORK,
    ("POST", "/api/v1/calls/{call_id}/hangup"): _CALL_WORK,
    ("POST", "/api/v1/calls/{call_id}/hold"): _CALL_WORK,
    ("POST", "/api/v1/calls/{call_id}/unhold"): _CALL_WORK,
    ("POST", "/api/v1/calls/{call_id}/transfer/cancel"): _CALL_WORK,
    ("POST", "/api/v1/calls/{call_id}/dtmf"): _CALL_WORK,
    ("POST", "/api/v1/calls/{call_id}/wrap-up/end"): _CALL_WORK,
    ("POST", "/api/v1/calls/{call_id}/notes"): _CONVERSATION_WORK,
    ("POST", "/api/v1/tickets/{ticket_id}/comments"): (
        "ticket work: the ticket's event log (ticket.comment) records who wrote it"
    ),
    ("POST", "/api/v1/tickets/{ticket_id}/watchers"): _TICKET_WORK,
    ("DELETE", "/api/v1/tickets/{ticket_id}/watchers/{user_id}"): _TICKET_WORK,
    ("POST", "/api/v1/tickets/{ticket_id}/links"): _TICKET_WORK,
    ("DELETE", "/api/v1/tickets/{ticket_id}/links/{other_id}"): _TICKET_WORK,
}

# Routes not audited in general (see NOT_AUDITED) whose exceptional form is: an admin or
# supervisor overriding an agent's capacity (conc, issue 12 item 6).
_OVERRIDE = Audited(
    action="conversation.capacity_override",
    object_type="conversation",
    label=Text("Assigned past an agent's capacity", "超出客服接待上限分配"),
    only_when="override_capacity",
)
WHEN_SET: dict[tuple[str, str], Audited] = {
    ("POST", "/api/v1/conversations/{conversation_id}/assign"): _OVERRIDE,
    ("POST", "/api/v1/conversations/{conversation_id}/transfer"): _OVERRIDE,
    ("POST", "/api/v1/conversations/{conversation_id}/messages"): _OVERRIDE,
}

# Routes under /api/v1 that change something without a staff session, by design.
PUBLIC: dict[tuple[str, str], str] = {
    ("POST", "/api/v1/auth/login"): "signing in (audited once signed in)",
}
PUBLIC_PREFIXES = ("/api/v1/widget/",)  # visitors, authenticated by their widget token

MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def is_export(method: str, path_template: str) -> bool:
    """Data leaving the system is audited even though it is a GET."""
    return method == "GET" and (path_template.endswith("/export") or "/export/" in path_template)


def lookup(method: str, path_template: str) -> Audited | None:
    key = (method, path_template)
    return AUDITED.get(key) or WHEN_SET.get(key)


def actions() -> list[tuple[str, Text]]:
    """Every action name the log can hold, with its label, for the console's filter."""
    seen: dict[str, Text] = {}
    for entry in (*AUDITED.values(), *WHEN_SET.values()):
        seen.setdefault(entry.action, entry.label)
        for action, label in entry.by_field.values():
            seen.setdefault(action, label)
    return sorted(seen.items())
