"""Inboxes: each configured channel endpoint. What an inbox of a kind may hold is the
channel's business: its connector declares public settings and secrets (see
`kefu.connectors.config`), and this module asks the registry, never a channel. Secrets go
to `Inbox.secrets`, which no API response contains; generated ones are shown once."""

from __future__ import annotations

import secrets as random
import uuid
from collections.abc import Mapping
from typing import Any

import httpx
import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.connectors.base import ConnectionCheck, ConnectionTester, Connector
from kefu.connectors.config import (
    as_struct,
    check_fields,
    destinations,
    fields_of,
    generate,
    generated_names,
    labels_of,
    names_of,
    say,
)
from kefu.context import Kefu
from kefu.db.scope import one_in_workspace
from kefu.db.tables import Conversation, Inbox, SkillGroup
from kefu.errors import Conflict, FieldError, Invalid
from kefu.i18n import Text
from kefu.inboxes.schemas import InboxCreate, InboxOut, InboxUpdate
from kefu.model import ChannelKind, utcnow
from kefu.routing.tables import BusinessCalendar

# Settings of the core, not of a channel, that any inbox may carry (the knowledge bot's
# thresholds). They are kept across a PATCH that does not name them: no channel form has them.
CORE_KEYS = frozenset({"bot"})
# Old names of settings, so a refusal says what to send instead.
RENAMED = {"brand_color": "color"}

INVALID_CONFIG = Text(
    "Some settings need fixing; see the fields marked.", "部分设置需要修改，请查看标出的字段。"
)


def connector_for(kefu: Kefu, kind: str) -> Connector:
    connector = kefu.connectors.find(kind)
    if connector is None:
        reason = Text(
            "No connector is installed for {kind} inboxes, so such an inbox could not "
            "receive or send anything.",
            "未安装 {kind} 渠道的连接器，此类收件箱无法收发消息。",
        ).format(kind=kind[:32])
        raise Invalid(reason, errors=[FieldError("kind", reason)])
    return connector


def webhook_url(kefu: Kefu, inbox: Inbox) -> str | None:
    connector = kefu.connectors.find(inbox.kind)
    path = connector.webhook_path(inbox.id) if connector is not None else None
    return f"{kefu.settings.public_url.rstrip('/')}{path}" if path else None


def inbox_out(
    kefu: Kefu,
    inbox: Inbox,
    generated: Mapping[str, str] | None = None,
    conversation_count: int | None = None,
) -> InboxOut:
    connector = kefu.connectors.find(inbox.kind)
    # Rows made by hand (or before settings were declared) may hold secrets in config.
    hidden = names_of(connector.secrets_type) if connector is not None else frozenset()
    return InboxOut(
        id=inbox.id,
        kind=ChannelKind(inbox.kind),
        name=inbox.name,
        public_key=inbox.public_key,
        config={k: v for k, v in (inbox.config or {}).items() if k not in hidden},
        secrets_set=sorted(k for k, v in (inbox.secrets or {}).items() if v),
        default_group_id=inbox.default_group_id,
        active=inbox.active,
        webhook_url=webhook_url(kefu, inbox),
        created_at=inbox.created_at,
        generated_secrets=dict(generated) if generated else None,
        archived_at=inbox.archived_at,
        conversation_count=conversation_count,
    )


# --------------------------------------------------------------------------- settings


class Settled(msgspec.Struct, frozen=True):
    public: dict[str, Any]
    secrets: dict[str, Any]
    generated: dict[str, str]


def _unknown(connector: Connector, name: str) -> FieldError:
    if name in RENAMED:
        message = Text(
            "{name} is the old name of {new}; send {new}.",
            "{name} 是 {new} 的旧名称，请改用 {new}。",
        ).format(name=name, new=RENAMED[name])
    else:
        message = say(
            "{name} is not a setting of {label} inboxes.",
            "{name} 不是{label}收件箱的设置项。",
            label=connector.label,
            name=name[:64],
        )
    return FieldError(f"config.{name[:64]}", message)


def _core_settings(given: Mapping[str, Any]) -> tuple[dict[str, Any], list[FieldError]]:
    from kefu.knowledge.bot import BotConfig

    values: dict[str, Any] = {}
    errors: list[FieldError] = []
    if "bot" in given and given["bot"] is not None:
        try:
            values["bot"] = msgspec.to_builtins(msgspec.convert(given["bot"], BotConfig))
        except msgspec.ValidationError as exc:
            errors.append(
                FieldError(
                    "config.bot",
                    Text("The bot settings are not valid: {why}", "机器人设置无效：{why}").format(
                        why=str(exc)[:200]
                    ),
                )
            )
    return values, errors


def _origin(value: Any) -> tuple[str, str, int | None] | str:
    """Where an address points (scheme, host, port): a changed path is the same place."""
    text = str(value or "").strip()
    try:
        url = httpx.URL(text)
    except httpx.InvalidURL:
        return text
    if not url.host:
        return text
    return (url.scheme, url.host.lower(), url.port or (443 if url.scheme == "https" else 80))


def _secrets_to_reenter(
    connector: Connector,
    given: Mapping[str, Any],
    stored_public: Mapping[str, Any],
    kept: Mapping[str, Any],
) -> list[FieldError]:
    """A destination (an API address, a webhook host) that points somewhere else needs
    every stored secret given again in the same request: otherwise an admin account could
    send the secrets it can never read to a host of its choosing."""
    moved = [
        name
        for name in destinations(connector.config_type)
        if _origin(given.get(name)) != _origin(stored_public.get(name))
    ]
    if not moved:
        return []
    where = destinations(connector.config_type)[moved[0]]
    labels = labels_of(connector.secrets_type)
    errors = []
    for name in sorted(kept):
        if isinstance(given.get(name), str) and given[name].strip():
            continue
        errors.append(
            FieldError(
                f"config.{name}",
                say(
                    "“{where}” changed: enter “{label}” again in the same change, so it "
                    "goes only where you mean it to.",
                    "“{where}”已更改：请在同一次修改中重新填写“{label}”，确保它只发往您指定的地址。",
                    where=where,
                    label=labels.get(name, Text(name, name)),
                ),
            )
        )
    return errors


def settle(
    connector: Connector,
    given: Mapping[str, Any],
    stored_secrets: Mapping[str, Any] | None = None,
    *,
    creating: bool,
    stored_public: Mapping[str, Any] | None = None,
) -> Settled:
    """Split and check what the form sent. Public settings are exactly what was given;
    a secret that is absent or "" keeps `stored_secrets`' value, `None` clears it; when a
    destination setting changes, the stored secrets must be given again."""
    public_names = names_of(connector.config_type)
    secret_names = names_of(connector.secrets_type)
    errors = [
        _unknown(connector, name)
        for name in given
        if name not in public_names and name not in secret_names and name not in CORE_KEYS
    ]
    public = check_fields(connector.config_type, {k: given[k] for k in given if k in public_names})
    core, core_errors = _core_settings(given)
    keep = {k: v for k, v in (stored_secrets or {}).items() if v}
    if not creating:
        errors += _secrets_to_reenter(
            connector,
            given,
            stored_public or {},
            {k: v for k, v in keep.items() if k in secret_names},
        )
    never_cleared = generated_names(connector.secrets_type)
    for name in secret_names & given.keys():
        if given[name] is None and name in never_cleared and not creating:
            errors.append(
                FieldError(
                    f"config.{name}",
                    Text(
                        "A generated secret cannot be cleared; rotate it to get a new one.",
                        "自动生成的密钥不能清除；如需更换请轮换。",
                    ),
                )
            )
        elif given[name] is None:
            keep.pop(name, None)
    new = {
        k: given[k] for k in secret_names & given.keys() if isinstance(given[k], str) and given[k]
    }
    non_strings = [
        k
        for k in secret_names & given.keys()
        if given[k] is not None and not isinstance(given[k], str)
    ]
    hidden = check_fields(
        connector.secrets_type, {**keep, **new, **{k: given[k] for k in non_strings}}
    )
    made = generate(connector.secrets_type, hidden.values) if creating else {}
    errors += public.errors + core_errors + hidden.errors
    if not errors:
        errors = connector.check(
            as_struct(connector.config_type, public.values),
            as_struct(connector.secrets_type, {**hidden.values, **made}),
        )
    if errors:
        raise Invalid(INVALID_CONFIG, errors=errors)
    return Settled(
        public={**public.values, **core}, secrets={**hidden.values, **made}, generated=made
    )


async def _check_references(
    session: AsyncSession, workspace_id: uuid.UUID, connector: Connector, public: Mapping[str, Any]
) -> None:
    """Settings that name a calendar, a skill group or another inbox name one of this
    workspace (an e-mail inbox of kind e-mail, so replies can be sent from it; a voice
    inbox of kind voice, so the widget's calls have a line)."""
    tables: dict[str, Any] = {
        "calendar": BusinessCalendar,
        "group": SkillGroup,
        "email_inbox": Inbox,
        "voice_inbox": Inbox,
    }
    kinds: dict[str, Any] = {
        "email_inbox": Inbox.kind == ChannelKind.email,
        "voice_inbox": Inbox.kind == ChannelKind.voice,
    }
    missing = {
        "calendar": (
            "“{label}”: no such calendar in this workspace.",
            "“{label}”：本工作区没有该日历。",
        ),
        "group": (
            "“{label}”: no such skill group in this workspace.",
            "“{label}”：本工作区没有该技能组。",
        ),
        "email_inbox": (
            "“{label}”: no such e-mail inbox in this workspace.",
            "“{label}”：本工作区没有该邮件收件箱。",
        ),
        "voice_inbox": (
            "“{label}”: no such voice inbox in this workspace.",
            "“{label}”：本工作区没有该语音收件箱。",
        ),
    }
    errors = []
    for spec in fields_of(connector.config_type, secret=False):
        table = tables.get(spec.type)
        value = public.get(spec.name)
        if table is None or value is None:
            continue
        found = await session.scalar(
            sa.select(table.id).where(
                table.id == uuid.UUID(str(value)),
                table.workspace_id == workspace_id,
                *([kinds[spec.type]] if spec.type in kinds else []),
            )
        )
        if found is None:
            en, zh = missing[spec.type]
            label = Text(spec.label.en, spec.label.zh_cn)
            errors.append(FieldError(f"config.{spec.name}", say(en, zh, label=label)))
    if errors:
        raise Invalid(INVALID_CONFIG, errors=errors)


async def _check_group(
    session: AsyncSession, workspace_id: uuid.UUID, group_id: uuid.UUID | None
) -> None:
    if group_id is None:
        return
    found = await session.scalar(
        sa.select(SkillGroup.id).where(
            SkillGroup.id == group_id, SkillGroup.workspace_id == workspace_id
        )
    )
    if found is None:
        message = Text("This skill group is not in this workspace.", "该技能组不属于本工作区。")
        raise Invalid(message, errors=[FieldError("default_group_id", message)])


# --------------------------------------------------------------------------- inboxes


async def create_inbox(kefu: Kefu, workspace_id: uuid.UUID, data: InboxCreate) -> InboxOut:
    connector = connector_for(kefu, data.kind)
    settled = settle(connector, data.config, creating=True)
    async with kefu.db.transaction() as session:
        await _check_group(session, workspace_id, data.default_group_id)
        await _check_references(session, workspace_id, connector, settled.public)
        inbox = Inbox(
            workspace_id=workspace_id,
            kind=connector.kind,
            name=data.name,
            public_key=random.token_urlsafe(16),
            config=settled.public,
            secrets=settled.secrets,
            default_group_id=data.default_group_id,
        )
        session.add(inbox)
        await session.flush()
        return inbox_out(kefu, inbox, settled.generated)


async def get_inbox(session: AsyncSession, workspace_id: uuid.UUID, inbox_id: uuid.UUID) -> Inbox:
    return await one_in_workspace(session, Inbox, workspace_id, inbox_id, "inbox")


async def _conversation_count(session: AsyncSession, inbox_id: uuid.UUID) -> int:
    count = await session.scalar(
        sa.select(sa.func.count())
        .select_from(Conversation)
        .where(Conversation.inbox_id == inbox_id)
    )
    return int(count or 0)


async def read_inbox(kefu: Kefu, workspace_id: uuid.UUID, inbox_id: uuid.UUID) -> InboxOut:
    async with kefu.db.session() as session:
        inbox = await get_inbox(session, workspace_id, inbox_id)
        return inbox_out(
            kefu, inbox, conversation_count=await _conversation_count(session, inbox.id)
        )


async def list_inboxes(kefu: Kefu, workspace_id: uuid.UUID) -> list[InboxOut]:
    async with kefu.db.session() as session:
        rows = (
            await session.scalars(
                sa.select(Inbox)
                .where(Inbox.workspace_id == workspace_id)
                .order_by(Inbox.created_at)
            )
        ).all()
        return [inbox_out(kefu, i) for i in rows]


async def update_inbox(
    kefu: Kefu, workspace_id: uuid.UUID, inbox_id: uuid.UUID, data: InboxUpdate
) -> InboxOut:
    async with kefu.db.transaction() as session:
        inbox = await get_inbox(session, workspace_id, inbox_id)
        if data.name is not None:
            inbox.name = data.name
        if data.active is not None:
            inbox.active = data.active
        if data.config is not None:
            connector = connector_for(kefu, inbox.kind)
            settled = settle(
                connector,
                data.config,
                inbox.secrets,
                creating=False,
                stored_public=inbox.config or {},
            )
            await _check_references(session, workspace_id, connector, settled.public)
            kept = {k: v for k, v in (inbox.config or {}).items() if k in CORE_KEYS}
            inbox.config = {**kept, **settled.public}
            inbox.secrets = settled.secrets
        if data.default_group_id is not None:
            await _check_group(session, workspace_id, data.default_group_id)
            inbox.default_group_id = data.default_group_id
        return inbox_out(kefu, inbox)


async def rotate_secret(
    kefu: Kefu, workspace_id: uuid.UUID, inbox_id: uuid.UUID, name: str
) -> InboxOut:
    """A new value for a generated secret, returned this once; the old one stops
    working at once, so the integrator updates their side with the answer."""
    async with kefu.db.transaction() as session:
        inbox = await get_inbox(session, workspace_id, inbox_id)
        connector = connector_for(kefu, inbox.kind)
        if name not in generated_names(connector.secrets_type):
            message = Text(
                "{name} is not a secret kefu generates for {kind} inboxes; "
                "set it in the form instead.",
                "{name} 不是 kefu 为 {kind} 收件箱生成的密钥，请在表单中填写。",
            ).format(name=name[:64], kind=inbox.kind)
            raise Invalid(message, errors=[FieldError(f"config.{name[:64]}", message)])
        value = random.token_urlsafe(32)
        inbox.secrets = {**(inbox.secrets or {}), name: value}
        return inbox_out(kefu, inbox, {name: value})


async def test_connection(
    kefu: Kefu, workspace_id: uuid.UUID, inbox_id: uuid.UUID
) -> ConnectionCheck:
    async with kefu.db.session() as session:
        inbox = await get_inbox(session, workspace_id, inbox_id)
    connector = connector_for(kefu, inbox.kind)
    if not isinstance(connector, ConnectionTester):
        raise Invalid(
            say(
                "{label} inboxes have no connection to test.",
                "{label}收件箱没有可测试的连接。",
                label=connector.label,
            )
        )
    return await connector.test_connection(inbox)


ARCHIVE_FIRST = Text(
    "This inbox has {count} conversations; deleting it would delete them all. "
    "Archive it first, then delete it.",
    "该收件箱有 {count} 个会话，删除将一并删除这些会话。请先归档，再删除。",
)


async def delete_inbox(kefu: Kefu, workspace_id: uuid.UUID, inbox_id: uuid.UUID) -> None:
    """An inbox with conversations goes only once archived: deleting cascades to every
    conversation, so an admin (or an API client) first takes it out of service on purpose."""
    async with kefu.db.transaction() as session:
        inbox = await get_inbox(session, workspace_id, inbox_id)
        if inbox.archived_at is None:
            count = await _conversation_count(session, inbox.id)
            if count:
                raise Conflict(ARCHIVE_FIRST.format(count=count), extra={"conversations": count})
        await session.delete(inbox)


async def set_archived(
    kefu: Kefu, workspace_id: uuid.UUID, inbox_id: uuid.UUID, *, archived: bool
) -> InboxOut:
    """Archive: no new messages (webhooks get 410), out of routing, deletable. Unarchive
    puts it back in service."""
    async with kefu.db.transaction() as session:
        inbox = await get_inbox(session, workspace_id, inbox_id)
        if archived and inbox.archived_at is None:
            inbox.archived_at = utcnow()
            inbox.active = False
        elif not archived and inbox.archived_at is not None:
            inbox.archived_at = None
            inbox.active = True
        return inbox_out(
            kefu, inbox, conversation_count=await _conversation_count(session, inbox.id)
        )
