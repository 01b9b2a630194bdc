"""The customer's progress page, server-rendered: the ticket number, its status history
in the customer's language, the public comments and a reply box. Nothing internal: no
internal comments, no agent ids, no priority or SLA. Every value is escaped."""

from __future__ import annotations

from datetime import datetime
from html import escape
from zoneinfo import ZoneInfo

from kefu.i18n import Text
from kefu.tickets.tables import Ticket, TicketComment

SHOWN_IN = ZoneInfo("Asia/Shanghai")

W = {
    "title": Text("Ticket #{number}", "工单 #{number}"),
    "status": Text("Status", "状态"),
    "history": Text("Progress", "处理进度"),
    "comments": Text("Messages", "沟通记录"),
    "none": Text("No messages yet.", "暂无消息。"),
    "reply": Text("Add a reply", "补充说明"),
    "send": Text("Send", "发送"),
    "you": Text("You", "您"),
    "team": Text("Support team", "客服团队"),
    "opened": Text("Ticket opened", "工单已创建"),
    "rate": Text("How did we do?", "您对本次服务满意吗？"),
    "rate_send": Text("Rate", "提交评价"),
    "rated": Text(
        "Thank you for rating us {score} of 5.", "感谢您的评价：{score} 分（满分 5 分）。"
    ),
    "not_found": Text("This link is not valid.", "此链接无效。"),
}
KINDS = {
    "new": Text("New", "新建"),
    "open": Text("In progress", "处理中"),
    "pending_customer": Text("Waiting for your reply", "等待您的回复"),
    "pending_internal": Text("In progress", "处理中"),
    "on_hold": Text("On hold", "暂缓处理"),
    "resolved": Text("Resolved", "已解决"),
    "closed": Text("Closed", "已关闭"),
}
STYLE = """
body{font-family:system-ui,-apple-system,"PingFang SC","Microsoft YaHei",sans-serif;
margin:0;background:#f5f6f8;color:#1f2329}
main{max-width:680px;margin:0 auto;padding:24px 16px}
h1{font-size:1.4rem;margin:0 0 4px}.sub{color:#646a73;margin:0 0 20px}
section{background:#fff;border-radius:8px;padding:16px;margin-bottom:16px;
box-shadow:0 1px 2px rgba(0,0,0,.06)}
h2{font-size:1rem;margin:0 0 12px}.badge{display:inline-block;padding:2px 10px;
border-radius:999px;background:#e8f3ff;color:#1456f0;font-size:.9rem}
ol{margin:0;padding-left:20px}li{margin:4px 0}time{color:#8f959e;font-size:.85rem}
.c{border-top:1px solid #eff0f1;padding:10px 0}.c:first-of-type{border-top:0}
.who{font-weight:600}.body{white-space:pre-wrap;margin-top:4px}
fieldset{border:0;padding:0;margin:0}
textarea{width:100%;box-sizing:border-box;min-height:90px;padding:8px;font:inherit;
border:1px solid #d0d3d6;border-radius:6px}
button{margin-top:8px;padding:8px 20px;border:0;border-radius:6px;background:#1456f0;
color:#fff;font:inherit;cursor:pointer}
"""


def _t(key: str, locale: str) -> str:
    return escape(W[key].render(locale))


def _when(at: datetime) -> str:
    return escape(at.astimezone(SHOWN_IN).strftime("%Y-%m-%d %H:%M"))


def _layout(title: str, body: str, locale: str) -> str:
    lang = "zh-CN" if locale.startswith("zh") else "en"
    return (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        '<meta name="robots" content="noindex">'
        f"<title>{title}</title><style>{STYLE}</style></head>"
        f"<body><main>{body}</main></body></html>"
    )


def not_found(locale: str) -> str:
    text = _t("not_found", locale)
    return _layout(text, f"<section><p>{text}</p></section>", locale)


def progress_page(ticket: Ticket, comments: list[TicketComment], token: str, locale: str) -> str:
    title = escape(W["title"].format(number=ticket.number).render(locale))
    kind = KINDS.get(ticket.status_kind, KINDS["open"]).render(locale)
    history: list[str] = []
    for entry in ticket.clock_log or []:
        at = datetime.fromisoformat(entry["at"])
        if entry["kind"] == "created":
            label = W["opened"].render(locale)
        elif entry["kind"] == "status":
            label = KINDS.get(entry.get("to_kind") or "", KINDS["open"]).render(locale)
        else:
            continue
        history.append(f"<li>{escape(label)} <time>{_when(at)}</time></li>")
    shown = []
    for c in comments:
        who = _t("you", locale) if c.author_kind == "customer" else _t("team", locale)
        shown.append(
            f'<div class="c"><span class="who">{who}</span> <time>{_when(c.created_at)}</time>'
            f'<div class="body">{escape(c.body)}</div></div>'
        )
    lang = "zh-CN" if locale.startswith("zh") else "en"
    rating = ""
    if ticket.csat_score:
        thanks = W["rated"].format(score=str(ticket.csat_score)).render(locale)
        rating = f'<section><p class="rated">{escape(thanks)}</p></section>'
    elif ticket.status_kind in ("resolved", "closed"):
        stars = "".join(
            f'<label><input type="radio" name="score" value="{n}" required> {n}</label> '
            for n in range(1, 6)
        )
        rating = (
            f"<section><h2>{_t('rate', locale)}</h2>"
            f'<form method="post" action="/t/{escape(token)}/rate?lang={lang}">'
            f'<fieldset aria-label="{_t("rate", locale)}">{stars}</fieldset>'
            f'<button type="submit">{_t("rate_send", locale)}</button></form></section>'
        )
    body = (
        f'<h1>{title}</h1><p class="sub">{escape(ticket.title)}</p>'
        f"<section><h2>{_t('status', locale)}</h2>"
        f'<span class="badge" data-status="{escape(ticket.status_kind)}">'
        f"{escape(kind)}</span></section>"
        f"{rating}"
        f"<section><h2>{_t('history', locale)}</h2><ol>{''.join(history)}</ol></section>"
        f"<section><h2>{_t('comments', locale)}</h2>"
        f"{''.join(shown) or '<p>' + _t('none', locale) + '</p>'}</section>"
        f"<section><h2>{_t('reply', locale)}</h2>"
        f'<form method="post" action="/t/{escape(token)}/reply?lang={lang}">'
        f'<textarea name="body" maxlength="5000" required aria-label="{_t("reply", locale)}">'
        f'</textarea><button type="submit">{_t("send", locale)}</button></form></section>'
    )
    return _layout(title, body, locale)
