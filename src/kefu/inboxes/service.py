"""Inboxes: each configured channel endpoint. Secret config keys (API secrets, tokens,
AES keys, signing secrets) are split off on write into `Inbox.secrets`, which no API
response ever contains."""

from __future__ import annotations

import secrets
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.context import Kefu
from kefu.db.scope import one_in_workspace
from kefu.db.tables import Inbox, SkillGroup
from kefu.errors import Invalid
from kefu.inboxes.schemas import InboxCreate, InboxOut, InboxUpdate
from kefu.model import ChannelKind

# Config keys that are secrets whatever the channel.
SECRET_KEYS = frozenset(
    {
        "secret",
        "token",
        "encoding_aes_key",
        "previous_encoding_aes_key",
        "signing_secret",
        "identity_secret",
        "password",
        "api_key",
        "api_secret",
        "auth_token",
    }
)


def split_config(config: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    public = {k: v for k, v in config.items() if k not in SECRET_KEYS}
    hidden = {k: v for k, v in config.items() if k in SECRET_KEYS}
    return public, hidden


def webhook_path(inbox: Inbox) -> str | None:
    if inbox.kind == ChannelKind.wechat:
        return f"/connectors/wechat/{inbox.id}"
    if inbox.kind == ChannelKind.api:
        return f"/connectors/api/{inbox.id}"
    return None


def inbox_out(inbox: Inbox, base_url: str = "") -> InboxOut:
    path = webhook_path(inbox)
    return InboxOut(
        id=inbox.id,
        kind=ChannelKind(inbox.kind),
        name=inbox.name,
        public_key=inbox.public_key,
        config=dict(inbox.config or {}),
        secrets_set=sorted((inbox.secrets or {}).keys()),
        default_group_id=inbox.default_group_id,
        active=inbox.active,
        webhook_url=f"{base_url}{path}" if path else None,
        created_at=inbox.created_at,
    )


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
        raise Invalid(f"skill group {group_id} is not in this workspace")


def _validate(kind: ChannelKind, public: dict[str, Any], hidden: dict[str, Any]) -> None:
    if kind == ChannelKind.wechat:
        missing = [k for k in ("appid",) if not public.get(k)] + [
            k for k in ("secret", "token") if not hidden.get(k)
        ]
        mode = public.get("mode", "plain")
        if mode not in ("plain", "compatible", "safe"):
            raise Invalid("config.mode must be plain, compatible or safe")
        if mode != "plain" and not hidden.get("encoding_aes_key"):
            missing.append("encoding_aes_key")
        if missing:
            raise Invalid(f"a WeChat inbox needs config: {', '.join(missing)}")
        from kefu.connectors.wechat.crypto import check_aes_key

        for key in ("encoding_aes_key", "previous_encoding_aes_key"):
            if hidden.get(key):
                try:
                    check_aes_key(hidden[key])
                except ValueError as exc:
                    raise Invalid(f"config.{key}: {exc}") from None


async def create_inbox(kefu: Kefu, workspace_id: uuid.UUID, data: InboxCreate) -> InboxOut:
    public, hidden = split_config(data.config)
    _validate(data.kind, public, hidden)
    if data.kind == ChannelKind.api and "signing_secret" not in hidden:
        hidden["signing_secret"] = secrets.token_urlsafe(32)
    if data.kind == ChannelKind.web and "identity_secret" not in hidden:
        hidden["identity_secret"] = secrets.token_urlsafe(32)
    async with kefu.db.transaction() as session:
        await _check_group(session, workspace_id, data.default_group_id)
        inbox = Inbox(
            workspace_id=workspace_id,
            kind=data.kind,
            name=data.name,
            public_key=secrets.token_urlsafe(16),
            config=public,
            secrets=hidden,
            default_group_id=data.default_group_id,
        )
        session.add(inbox)
        await session.flush()
        return inbox_out(inbox, kefu.settings.public_url)


async def get_inbox(session: AsyncSession, workspace_id: uuid.UUID, inbox_id: uuid.UUID) -> Inbox:
    return await one_in_workspace(session, Inbox, workspace_id, inbox_id, "inbox")


async def list_inboxes(kefu: Kefu, workspace_id: uuid.UUID) -> list[InboxOut]:
    async with kefu.db.session() as session:
        rows = (
            await session.scalars(
                sa.select(Inbox)
                .where(Inbox.workspace_id == workspace_id)
                .order_by(Inbox.created_at)
            )
        ).all()
        return [inbox_out(i, kefu.settings.public_url) for i in rows]


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
            public, hidden = split_config(data.config)
            merged_hidden = {**(inbox.secrets or {}), **hidden}
            _validate(ChannelKind(inbox.kind), public, merged_hidden)
            inbox.config = public
            inbox.secrets = merged_hidden
        if "default_group_id" in data.__struct_fields__ and data.default_group_id is not None:
            await _check_group(session, workspace_id, data.default_group_id)
            inbox.default_group_id = data.default_group_id
        return inbox_out(inbox, kefu.settings.public_url)


async def delete_inbox(kefu: Kefu, workspace_id: uuid.UUID, inbox_id: uuid.UUID) -> None:
    async with kefu.db.transaction() as session:
        await session.delete(await get_inbox(session, workspace_id, inbox_id))
