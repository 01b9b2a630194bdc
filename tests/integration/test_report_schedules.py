"""Scheduled reports: an admin schedules a weekly summary of the hand-computed fixture
(tests/integration/test_reports_history.py); the sweep mails it through the e-mail
inbox's SMTP server (an aiosmtpd sink) to each recipient in their language, as HTML with
the chart inline (PNG) and the XLSX attached; refused input answers 4xx and changes
nothing; another workspace's schedule is 404."""

from __future__ import annotations

import io
import uuid
import zipfile
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import httpx
import pytest
import sqlalchemy as sa

from kefu.context import Kefu
from kefu.db.tables import User
from kefu.demo import Demo
from kefu.inboxes.schemas import InboxCreate
from kefu.inboxes.service import create_inbox
from kefu.model import ChannelKind
from kefu.reports import mailing
from kefu.reports.schedule import Frequency, next_run, period_of
from kefu.reports.tables import ReportSchedule
from tests.conftest import login_headers, login_of
from tests.integration.test_reports_history import fixture, local, user_id
from tests.mail_servers import USER, smtp_sink

pytestmark = pytest.mark.engine_sensitive
URL = "/api/v1/reports/schedules"


def test_send_times_and_periods_in_the_workspace_zone() -> None:
    sh = "Asia/Shanghai"
    # Daily at 08:00 Shanghai: after 07:59 it is today's, after 08:00 tomorrow's.
    assert next_run(local(23, 7, 59), Frequency.daily, 8, sh) == local(23, 8, 0)
    assert next_run(local(23, 8, 0), Frequency.daily, 8, sh) == local(24, 8, 0)
    # Weekly on Monday (0): from Tue 24th, the next Monday is the 30th.
    assert next_run(local(24, 9, 0), Frequency.weekly, 8, sh, weekday=0) == local(30, 8, 0)
    # Monthly on the 1st at 06:00: 1 Dec 06:00 Shanghai is 30 Nov 22:00 UTC.
    due = next_run(local(24, 9, 0), Frequency.monthly, 6, sh, day_of_month=1)
    assert due == datetime(2026, 11, 30, 22, 0, tzinfo=UTC)
    # New York across the end of summer time (1 Nov 2026): still 08:00 local.
    ny = next_run(datetime(2026, 11, 1, 5, 0, tzinfo=UTC), Frequency.daily, 8, "America/New_York")
    assert ny == datetime(2026, 11, 1, 13, 0, tzinfo=UTC)
    # What each covers: yesterday, the last whole ISO week, last month.
    assert period_of(local(23, 8, 0), Frequency.daily, sh)[2] == "2026-11-22"
    start, end, label = period_of(local(25, 8, 0), Frequency.weekly, sh)
    assert (start.isoformat(), end.isoformat(), label) == ("2026-11-16", "2026-11-22", "2026-W47")
    start, end, label = period_of(due, Frequency.monthly, sh)
    assert (start.isoformat(), end.isoformat(), label) == ("2026-11-01", "2026-11-30", "2026-11")


async def _mail_inbox(kefu: Kefu, demo: Demo, port: int) -> uuid.UUID:
    config = {
        "address": USER,
        "display_name": "Acme 客服",
        "inbound_token": "inbound-token-for-tests-0123456789",
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "smtp_security": "none",
    }
    inbox = await create_inbox(
        kefu, demo.workspace_id, InboxCreate(kind=ChannelKind.email, name="Mail", config=config)
    )
    return inbox.id


def _html(mail: EmailMessage) -> str:
    part = mail.get_body(preferencelist=("html",))
    assert part is not None
    return str(part.get_content())


async def test_a_weekly_report_is_mailed_to_each_supervisor_in_their_language(
    client: httpx.AsyncClient,
    kefu: Kefu,
    workspace: Demo,
    other_workspace: Demo,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await fixture(kefu, workspace, monkeypatch)  # Shanghai days, Nov 16th-23rd
    admin = await login_headers(client, login_of(workspace, "admin"))
    admin_id, boss_id = user_id(workspace, "admin"), user_id(workspace, "supervisor")
    async with kefu.db.transaction() as session:
        boss = await session.get(User, boss_id)
        assert boss is not None
        boss.locale = "en"
    with smtp_sink() as (sink, port):
        inbox_id = await _mail_inbox(kefu, workspace, port)
        body = {
            "name": "周一例会",
            "frequency": "weekly",
            "weekday": 0,
            "hour": 8,
            "metrics": ["conversations", "calls", "agents"],
            "recipient_ids": [str(admin_id), str(boss_id)],
            "inbox_id": str(inbox_id),
            "attach_xlsx": True,
        }
        # Refused: an agent as recipient, a web inbox, an hour of 24, a NUL, unknown
        # metric; a supervisor may not schedule; nothing is stored.
        lina = user_id(workspace, "lina")
        for bad in (
            {**body, "recipient_ids": [str(lina)]},
            {**body, "inbox_id": str(workspace.inbox_id)},
            {**body, "hour": 24},
            {**body, "name": "a\x00b"},
            {**body, "metrics": ["nope"]},
            {**body, "recipient_ids": []},
        ):
            r = await client.post(URL, json=bad, headers=admin)
            assert r.status_code in (400, 422), (bad, r.text)
        supervisor = await login_headers(client, login_of(workspace, "supervisor"))
        assert (await client.post(URL, json=body, headers=supervisor)).status_code == 403
        assert (await client.get(URL, headers=admin)).json() == []
        created = await client.post(URL, json=body, headers=admin)
        assert created.status_code == 201, created.text
        schedule = created.json()
        # The next send is a Monday 08:00 in Shanghai.
        due = datetime.fromisoformat(schedule["next_run_at"]).astimezone(UTC)
        assert (due + timedelta(hours=8)).weekday() == 0 and (due.hour + 8) % 24 == 8
        other = await login_headers(client, login_of(other_workspace, "admin"))
        sid = schedule["id"]
        assert (await client.get(URL, headers=other)).json() == []
        assert (await client.put(f"{URL}/{sid}", json=body, headers=other)).status_code == 404
        assert (await client.post(f"{URL}/{sid}/send", headers=other)).status_code == 404

        # Due Monday 23rd 08:00: the sweep sends last week (W47) once.
        async with kefu.db.transaction() as session:
            row = await session.get(ReportSchedule, uuid.UUID(sid))
            assert row is not None
            row.next_run_at = local(23, 8, 0)
        assert await mailing.sweep_once(kefu, local(23, 8, 1)) == 2
        assert await mailing.sweep_once(kefu, local(23, 8, 2)) == 0  # claimed, moved on
        assert len(sink.mails) == 2
        by_to = {m["To"].addresses[0].addr_spec: m for m in sink.mails}
        zh = next(m for a, m in by_to.items() if a.startswith("admin@"))
        en = next(m for a, m in by_to.items() if a.startswith("supervisor@"))
        assert zh["Subject"] == "周报 2026-W47 · 周一例会"
        assert en["Subject"] == "Weekly report 2026-W47 · 周一例会"
        assert zh["From"].addresses[0].addr_spec == USER
        # W47 (16th-22nd): A, B, C new; SL 2/3 and SL2 4/5 from the calls of the 18th.
        assert "新建会话" in _html(zh) and "<b>3</b>" in _html(zh)
        assert "SL (answered in T / answered)" in _html(en) and "<b>66.7%</b>" in _html(en)
        assert "<b>80.0%</b>" in _html(en)
        assert 'src="cid:chart"' in _html(en)
        for mail in (zh, en):
            (image,) = [p for p in mail.walk() if p.get_content_type() == "image/png"]
            assert image["Content-ID"] == "<chart>"
            png = image.get_payload(decode=True)
            assert isinstance(png, bytes) and png.startswith(b"\x89PNG\r\n\x1a\n")
            (book,) = [p for p in mail.iter_attachments() if p.get_filename() != "chart.png"]
            assert book.get_filename() == "report-2026-W47.xlsx"
            data = book.get_payload(decode=True)
            assert isinstance(data, bytes)
            names = zipfile.ZipFile(io.BytesIO(data)).namelist()
            assert sum(n.startswith("xl/worksheets/sheet") for n in names) == 3
        listed = (await client.get(URL, headers=admin)).json()
        assert (listed[0]["last_period"], listed[0]["last_error"]) == ("2026-W47", None)
        assert datetime.fromisoformat(listed[0]["next_run_at"]) > local(23, 8, 2)

        # "Send now" mails the last complete week again; a refused recipient is said.
        sink.refuse = "550 5.1.1 no such mailbox"
        sent = (await client.post(f"{URL}/{sid}/send", headers=admin)).json()
        assert sent["sent"] == 0 and "550" in sent["error"]
        sink.refuse = None
        sent = (await client.post(f"{URL}/{sid}/send", headers=admin)).json()
        assert (sent["sent"], sent["error"]) == (2, None)
        assert len(sink.mails) == 4
    assert (await client.delete(f"{URL}/{sid}", headers=other)).status_code == 404
    assert (await client.delete(f"{URL}/{sid}", headers=admin)).status_code == 204
    async with kefu.db.session() as session:
        assert await session.scalar(sa.select(sa.func.count()).select_from(ReportSchedule)) == 0
