"""HTTP: scheduled reports. Admins choose who (supervisors and admins of the workspace),
what (which reports, XLSX or not), when (daily / weekly / monthly at a local hour) and
through which e-mail inbox; "send now" mails the last complete period at once."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec
import sqlalchemy as sa
from litestar import Controller, delete, get, post, put
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.context import Kefu
from kefu.db.tables import Inbox, User
from kefu.errors import FieldError, Invalid, NotFound
from kefu.i18n import Text
from kefu.model import ChannelKind, Role, utcnow
from kefu.people.auth import AuthUser, require_role
from kefu.reports import mailing
from kefu.reports.schedule import Frequency
from kefu.reports.tables import ReportSchedule

Metric = Literal["conversations", "agents", "csat", "bot", "tickets", "calls"]
RECIPIENT_ROLES = (Role.supervisor, Role.admin)


class ScheduleIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    frequency: Frequency
    hour: Annotated[int, msgspec.Meta(ge=0, le=23)] = 8
    weekday: Annotated[int, msgspec.Meta(ge=0, le=6)] = 0
    day_of_month: Annotated[int, msgspec.Meta(ge=1, le=28)] = 1
    metrics: Annotated[list[Metric], msgspec.Meta(min_length=1, max_length=6)]
    recipient_ids: Annotated[list[uuid.UUID], msgspec.Meta(min_length=1, max_length=50)]
    inbox_id: uuid.UUID
    attach_xlsx: bool = True
    enabled: bool = True


class ScheduleOut(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    name: str
    frequency: Frequency
    hour: int
    weekday: int
    day_of_month: int
    metrics: list[str]
    recipient_ids: list[str]
    inbox_id: uuid.UUID
    attach_xlsx: bool
    enabled: bool
    next_run_at: datetime
    last_sent_at: datetime | None
    last_period: str | None
    last_error: str | None


class SendResult(msgspec.Struct, frozen=True, kw_only=True):
    period: str
    sent: int
    error: str | None


def _out(row: ReportSchedule) -> ScheduleOut:
    return ScheduleOut(
        id=row.id,
        name=row.name,
        frequency=Frequency(row.frequency),
        hour=row.hour,
        weekday=row.weekday,
        day_of_month=row.day_of_month,
        metrics=list(row.metrics),
        recipient_ids=[str(r) for r in row.recipient_ids],
        inbox_id=row.inbox_id,
        attach_xlsx=row.attach_xlsx,
        enabled=row.enabled,
        next_run_at=row.next_run_at,
        last_sent_at=row.last_sent_at,
        last_period=row.last_period,
        last_error=row.last_error,
    )


def _refuse(field: str, said: Text) -> Invalid:
    return Invalid(
        Text(en=f"{field}: {said.en}", zh=f"{field}：{said.zh}"), errors=[FieldError(field, said)]
    )


async def _check(session: AsyncSession, workspace_id: uuid.UUID, data: ScheduleIn) -> None:
    inbox = await session.scalar(
        sa.select(Inbox.kind).where(Inbox.id == data.inbox_id, Inbox.workspace_id == workspace_id)
    )
    if inbox != ChannelKind.email:
        said = Text(en="not an e-mail inbox of this workspace", zh="不是本工作区的邮件接入")
        raise _refuse("inbox_id", said)
    wanted = set(data.recipient_ids)
    found = set(
        (
            await session.scalars(
                sa.select(User.id).where(
                    User.workspace_id == workspace_id,
                    User.id.in_(wanted),
                    User.active.is_(True),
                    User.role.in_([str(r) for r in RECIPIENT_ROLES]),
                )
            )
        ).all()
    )
    if found != wanted:
        said = Text(
            en="recipients must be active supervisors or admins of this workspace",
            zh="收件人必须是本工作区在职的主管或管理员",
        )
        raise _refuse("recipient_ids", said)


def _apply(row: ReportSchedule, data: ScheduleIn, tz: str) -> None:
    row.name = data.name
    row.frequency = data.frequency
    row.hour = data.hour
    row.weekday = data.weekday
    row.day_of_month = data.day_of_month
    row.metrics = list(dict.fromkeys(data.metrics))
    row.recipient_ids = [str(r) for r in dict.fromkeys(data.recipient_ids)]
    row.inbox_id = data.inbox_id
    row.attach_xlsx = data.attach_xlsx
    row.enabled = data.enabled
    row.next_run_at = mailing.following(row, utcnow(), tz)


async def _load(
    session: AsyncSession, workspace_id: uuid.UUID, schedule_id: uuid.UUID
) -> ReportSchedule:
    row = await session.scalar(
        sa.select(ReportSchedule).where(
            ReportSchedule.id == schedule_id, ReportSchedule.workspace_id == workspace_id
        )
    )
    if row is None:
        raise NotFound(Text(en="No such scheduled report.", zh="没有这个定时报表。"))
    return row


class ReportSchedulesController(Controller):
    path = "/api/v1/reports/schedules"
    tags = ("reports",)
    guards = (require_role(Role.admin),)

    @get("/")
    async def list_schedules(self, kefu: Kefu, user: AuthUser) -> list[ScheduleOut]:
        async with kefu.db.session() as session:
            rows = await session.scalars(
                sa.select(ReportSchedule)
                .where(ReportSchedule.workspace_id == user.workspace_id)
                .order_by(ReportSchedule.created_at)
            )
            return [_out(r) for r in rows.all()]

    @post("/")
    async def create(self, kefu: Kefu, user: AuthUser, data: ScheduleIn) -> ScheduleOut:
        async with kefu.db.transaction() as session:
            await _check(session, user.workspace_id, data)
            tz = await mailing.timezone_of(session, user.workspace_id)
            row = ReportSchedule(workspace_id=user.workspace_id)
            _apply(row, data, tz)
            session.add(row)
            await session.flush()
            return _out(row)

    @put("/{schedule_id:uuid}")
    async def update(
        self, kefu: Kefu, user: AuthUser, schedule_id: uuid.UUID, data: ScheduleIn
    ) -> ScheduleOut:
        async with kefu.db.transaction() as session:
            row = await _load(session, user.workspace_id, schedule_id)
            await _check(session, user.workspace_id, data)
            _apply(row, data, await mailing.timezone_of(session, user.workspace_id))
            await session.flush()
            return _out(row)

    @delete("/{schedule_id:uuid}")
    async def remove(self, kefu: Kefu, user: AuthUser, schedule_id: uuid.UUID) -> None:
        async with kefu.db.transaction() as session:
            await session.delete(await _load(session, user.workspace_id, schedule_id))

    @post("/{schedule_id:uuid}/send")
    async def send_now(self, kefu: Kefu, user: AuthUser, schedule_id: uuid.UUID) -> SendResult:
        """The last complete period, mailed now; the regular schedule is unchanged."""
        async with kefu.db.session() as session:
            row = await _load(session, user.workspace_id, schedule_id)
            tz = await mailing.timezone_of(session, user.workspace_id)
            job = mailing.job_of(row, utcnow(), tz)
        sent, error = await mailing.send(kefu, job)
        await mailing.record(kefu, job, sent, error)
        return SendResult(period=job.label, sent=sent, error=error)


ROUTES = [ReportSchedulesController]
