"""Scheduled reports: a sweep sends each due schedule's summary, one mail per recipient in
their own language, through the workspace's e-mail inbox (the e-mail channel's SMTP
sender): HTML with the period's chart as an inline PNG, the numbers as a table, and the
series attached as XLSX when the schedule asks.

A due schedule is claimed first (its next send time moved on, committed) and sent after,
so two sweepers never send it twice and a slow mail server holds no row lock; a crash
between the two loses that one mail, which `last_error` / `last_sent_at` show."""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
import uuid
from collections.abc import Sequence
from datetime import date, datetime
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from typing import Any, Protocol, runtime_checkable

import msgspec
import sqlalchemy as sa

from kefu.channel_state.inboxes import active_inbox
from kefu.connectors.base import DeliveryError, InboxView
from kefu.context import Kefu
from kefu.db.tables import User, Workspace
from kefu.i18n import Text
from kefu.model import ChannelKind, utcnow
from kefu.reports import chart, export, history, rollup
from kefu.reports.periods import GroupBy
from kefu.reports.schedule import Frequency, next_run, period_of
from kefu.reports.tables import ReportSchedule

log = logging.getLogger(__name__)
BATCH = 20

# The headline numbers a mail shows per report, and the series its chart draws.
KPIS: dict[str, list[tuple[str, Text]]] = {
    "conversations": [
        ("new", Text("New conversations", "新建会话")),
        ("resolved", Text("Resolved", "已解决")),
        ("reopen_rate", Text("Reopen rate", "重开率")),
        ("first_response_p50_s", Text("First response p50", "首次响应 p50")),
        (
            "first_response_bh_p50_s",
            Text("First response p50 (business hours)", "首次响应 p50（工作时间）"),
        ),
        ("reply_p50_s", Text("Reply time p50", "回复时长 p50")),
        ("handle_p50_s", Text("Handle time p50", "处理时长 p50")),
        ("resolution_p50_s", Text("Resolution p50", "解决时长 p50")),
    ],
    "agents": [
        ("handled", Text("Handled", "接待量")),
        ("online_s", Text("Online", "在线时长")),
        ("ready_s", Text("Ready", "就绪")),
        ("not_ready_s", Text("Not ready", "未就绪")),
        ("concurrency", Text("Concurrency (avg)", "平均并发")),
    ],
    "csat": [
        ("responses", Text("Ratings", "评价数")),
        ("average", Text("Average score", "平均分")),
        ("satisfied_rate", Text("Satisfied (4–5)", "满意率（4–5 分）")),
        ("response_rate", Text("Response rate", "参评率")),
    ],
    "bot": [
        ("started", Text("Started in bot", "进入机器人")),
        ("deflected", Text("Solved by bot", "机器人解决")),
        ("deflection_rate", Text("Deflection rate", "拦截率")),
    ],
    "tickets": [
        ("created", Text("Tickets created", "新建工单")),
        ("resolved", Text("Tickets resolved", "已解决工单")),
        ("backlog", Text("Backlog", "积压")),
        ("sla_resolution_rate", Text("Resolution SLA met", "解决 SLA 达成率")),
    ],
    "calls": [
        ("offered", Text("Calls offered", "呼入")),
        ("answered", Text("Answered", "接起")),
        ("abandon_rate", Text("Abandon rate", "放弃率")),
        ("asa_s", Text("ASA", "平均应答速度")),
        (
            "service_level",
            Text("SL (answered in T / answered)", "服务水平 SL（T 秒内接起 / 接起）"),
        ),
        (
            "service_level_2",
            Text(
                "SL2 ((answered in T + abandoned in T) / (answered + abandoned))",
                "服务水平 SL2（(T 秒内接起 + T 秒内放弃) / (接起 + 放弃)）",
            ),
        ),
        ("aht_s", Text("AHT", "平均处理时长")),
    ],
}
CHART: dict[str, list[tuple[str, Text]]] = {
    "conversations": [("new", Text("New", "新建")), ("resolved", Text("Resolved", "已解决"))],
    "agents": [("handled", Text("Handled", "接待量")), ("resolved", Text("Resolved", "已解决"))],
    "csat": [("responses", Text("Ratings", "评价数"))],
    "bot": [("started", Text("Started", "进入")), ("deflected", Text("Solved", "解决"))],
    "tickets": [("created", Text("Created", "新建")), ("resolved", Text("Resolved", "已解决"))],
    "calls": [("offered", Text("Offered", "呼入")), ("answered", Text("Answered", "接起"))],
}
TITLES = {
    "conversations": Text("Conversations", "会话"),
    "agents": Text("Agents", "坐席"),
    "csat": Text("Satisfaction", "满意度"),
    "bot": Text("Bot", "机器人"),
    "tickets": Text("Tickets", "工单"),
    "calls": Text("Calls", "电话"),
}
KINDS = {
    Frequency.daily: Text("Daily report", "日报"),
    Frequency.weekly: Text("Weekly report", "周报"),
    Frequency.monthly: Text("Monthly report", "月报"),
}


@runtime_checkable
class MailSender(Protocol):
    """What the e-mail connector offers for mail that belongs to no conversation."""

    async def send_mail(self, inbox: InboxView, message: EmailMessage) -> None: ...


class Job(msgspec.Struct, frozen=True, kw_only=True):
    """A claimed send: everything needed after the claim's transaction has committed."""

    schedule_id: uuid.UUID
    workspace_id: uuid.UUID
    name: str
    frequency: Frequency
    metrics: list[str]
    recipient_ids: list[str]
    inbox_id: uuid.UUID
    attach_xlsx: bool
    start: date
    end: date
    label: str


def show(name: str, value: Any, lang: str) -> str:
    if value is None:
        return "–"
    if not isinstance(value, (int, float)):
        return str(value)
    if name.endswith("_s"):
        s = round(value)
        h, m = divmod(s // 60, 60)
        return f"{h}:{m:02d}:{s % 60:02d}" if h else f"{m}:{s % 60:02d}"
    if name.endswith("rate") or name.startswith("service_level"):
        return f"{value * 100:.1f}%"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


async def gather(
    kefu: Kefu, workspace_id: uuid.UUID, metrics: Sequence[str], job: Job
) -> dict[str, dict[str, Any]]:
    """Each report of the period: per hour for a daily report, per day otherwise."""
    group_by = GroupBy.hour if job.start == job.end else GroupBy.day
    out: dict[str, dict[str, Any]] = {}
    async with kefu.db.transaction() as session:
        for metric in metrics:
            out[metric] = await history.report(
                session, workspace_id, metric, job.start, job.end, group_by
            )
    return out


def compose(job: Job, reports: dict[str, dict[str, Any]], lang: str) -> EmailMessage:
    """The mail (no From / To yet): HTML, a plain-text part, the chart inline by cid."""
    zh = lang.startswith("zh")

    def say(t: Text) -> str:
        return t.zh if zh else t.en

    kind = say(KINDS[job.frequency])
    subject = f"{kind} {job.label} · {job.name}"
    first = job.metrics[0]
    lines = [f"{kind} {job.label}", f"{job.start.isoformat()} – {job.end.isoformat()}", ""]
    parts = [
        f'<html><body style="font-family:sans-serif;color:#0f172a">'
        f'<h1 style="font-size:20px">{html.escape(kind)} {html.escape(job.label)}</h1>'
        f'<p style="color:#64748b">{html.escape(job.name)} · {job.start.isoformat()} – '
        f"{job.end.isoformat()}</p>"
    ]
    legend = " ".join(
        f'<span style="color:rgb{chart.COLOURS[i]}">■</span> {html.escape(say(label))}'
        for i, (_n, label) in enumerate(CHART[first])
    )
    parts.append(
        f'<h2 style="font-size:16px">{html.escape(say(TITLES[first]))}</h2>'
        f'<img src="cid:chart" alt="{html.escape(say(TITLES[first]))}" width="640" height="240">'
        f"<p>{legend}</p>"
    )
    series = reports[first]["series"]
    if series:
        span = f"{series[0]['period']} → {series[-1]['period']}"
        said = (
            f"每根柱为一{'小时' if job.start == job.end else '天'}，从左到右："
            if zh
            else (f"One bar group per {'hour' if job.start == job.end else 'day'}, left to right: ")
        )
        parts.append(f'<p style="color:#64748b;font-size:12px">{html.escape(said + span)}</p>')
    for metric in job.metrics:
        totals = reports[metric]["totals"]
        title = say(TITLES[metric])
        lines.append(title)
        rows = []
        for name, label in KPIS[metric]:
            value = show(name, totals.get(name), lang)
            lines.append(f"  {say(label)}: {value}")
            rows.append(
                f'<tr><td style="padding:2px 12px 2px 0">{html.escape(say(label))}</td>'
                f'<td style="text-align:right"><b>{html.escape(value)}</b></td></tr>'
            )
        lines.append("")
        parts.append(
            f'<h2 style="font-size:16px">{html.escape(title)}</h2><table>{"".join(rows)}</table>'
        )
    parts.append("</body></html>")
    message = EmailMessage()
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="kefu.reports")
    message.set_content("\n".join(lines))
    message.add_alternative("".join(parts), subtype="html")
    png = chart.bar_chart([[float(r.get(n) or 0) for r in series] for n, _l in CHART[first]])
    html_part = message.get_body(preferencelist=("html",))
    assert isinstance(html_part, EmailMessage)
    html_part.add_related(png, maintype="image", subtype="png", cid="<chart>", filename="chart.png")
    if job.attach_xlsx:
        book = export.to_xlsx_book({m: reports[m]["series"] for m in job.metrics})
        message.add_attachment(
            book,
            maintype="application",
            subtype="vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            filename=f"report-{job.label}.xlsx",
        )
    return message


async def send(kefu: Kefu, job: Job) -> tuple[int, str | None]:
    """Build and send one job's mails; (mails sent, why not or None)."""
    sender = kefu.connectors.find(ChannelKind.email)
    inbox = await active_inbox(kefu, job.inbox_id, ChannelKind.email)
    if (
        not isinstance(sender, MailSender)
        or inbox is None
        or inbox.workspace_id != job.workspace_id
    ):
        return 0, "the e-mail inbox is gone or disabled"
    async with kefu.db.session() as session:
        people = (
            await session.execute(
                sa.select(User.name, User.email, User.locale).where(
                    User.workspace_id == job.workspace_id,
                    User.id.in_([uuid.UUID(r) for r in job.recipient_ids]),
                    User.active.is_(True),
                )
            )
        ).all()
    reports = await gather(kefu, job.workspace_id, job.metrics, job)
    sent, errors = 0, []
    for name, address, locale in people:
        message = compose(job, reports, locale or "zh-CN")
        message["To"] = formataddr((name, address))
        try:
            await sender.send_mail(inbox, message)
            sent += 1
        except DeliveryError as exc:
            errors.append(f"{address}: {exc}")
    return sent, ("; ".join(errors)[:500] or None)


def job_of(row: ReportSchedule, run_at: datetime, tz: str) -> Job:
    frequency = Frequency(row.frequency)
    start, end, label = period_of(run_at, frequency, tz)
    return Job(
        schedule_id=row.id,
        workspace_id=row.workspace_id,
        name=row.name,
        frequency=frequency,
        metrics=[m for m in row.metrics if m in KPIS] or ["conversations"],
        recipient_ids=[str(r) for r in row.recipient_ids],
        inbox_id=row.inbox_id,
        attach_xlsx=row.attach_xlsx,
        start=start,
        end=end,
        label=label,
    )


def following(row: ReportSchedule, after: datetime, tz: str) -> datetime:
    return next_run(
        after,
        Frequency(row.frequency),
        row.hour,
        tz,
        weekday=row.weekday,
        day_of_month=row.day_of_month,
    )


async def timezone_of(session: Any, workspace_id: uuid.UUID) -> str:
    settings = await session.scalar(
        sa.select(Workspace.settings).where(Workspace.id == workspace_id)
    )
    return rollup.workspace_timezone(settings)


async def record(kefu: Kefu, job: Job, sent: int, error: str | None) -> None:
    async with kefu.db.transaction() as session:
        row = await session.get(ReportSchedule, job.schedule_id)
        if row is None:
            return
        if sent:
            row.last_sent_at = utcnow()
            row.last_period = job.label
        row.last_error = error


async def sweep_once(kefu: Kefu, now: datetime | None = None) -> int:
    """Claim the due schedules (SKIP LOCKED on PostgreSQL), then send them; answers how
    many mails went out. A schedule missed for a while sends its due period once and
    moves on to the next send time after now."""
    now = now or utcnow()
    jobs: list[Job] = []
    async with kefu.db.transaction() as session:
        query = (
            sa.select(ReportSchedule)
            .where(ReportSchedule.enabled.is_(True), ReportSchedule.next_run_at <= now)
            .order_by(ReportSchedule.next_run_at)
            .limit(BATCH)
        )
        if not kefu.db.is_sqlite:
            query = query.with_for_update(skip_locked=True)
        for row in (await session.scalars(query)).all():
            tz = await timezone_of(session, row.workspace_id)
            due = (
                row.next_run_at
                if row.next_run_at.tzinfo
                else row.next_run_at.replace(tzinfo=now.tzinfo)
            )
            jobs.append(job_of(row, due, tz))
            row.next_run_at = following(row, now, tz)
    total = 0
    for job in jobs:
        try:
            sent, error = await send(kefu, job)
        except Exception as exc:  # one bad schedule must not stop the others
            log.exception("scheduled report %s failed", job.schedule_id)
            sent, error = 0, f"failed: {type(exc).__name__}"
        await record(kefu, job, sent, error)
        total += sent
    return total


async def run_schedule_sweep(kefu: Kefu, stop: asyncio.Event, every: float) -> None:
    while not stop.is_set():
        try:
            await sweep_once(kefu)
        except Exception:  # a bad pass must not end the loop
            log.exception("scheduled report sweep failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every)
