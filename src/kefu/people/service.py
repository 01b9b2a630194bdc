"""Workspaces, agents, skill groups and presence."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.context import Kefu
from kefu.db.scope import one_in_workspace
from kefu.db.tables import GroupMember, SkillGroup, User, Workspace
from kefu.errors import Conflict, FieldError, Invalid
from kefu.i18n import Text
from kefu.model import Presence, Role, utcnow
from kefu.people.auth import AuthUser, hash_password, revoke_sessions, verify_password
from kefu.people.schemas import (
    AgentCreate,
    AgentOut,
    AgentUpdate,
    GroupCreate,
    GroupOut,
    GroupUpdate,
)
from kefu.routing import presence as routing_presence

STRATEGIES = ("round_robin", "least_busy", "longest_idle")


async def create_workspace(
    kefu: Kefu, slug: str, name: str, admin_email: str, admin_password: str
) -> tuple[Workspace, User]:
    try:
        async with kefu.db.transaction() as session:
            workspace = Workspace(slug=slug, name=name)
            session.add(workspace)
            await session.flush()
            admin = User(
                workspace_id=workspace.id,
                email=admin_email.lower(),
                name="Admin",
                password_hash=hash_password(admin_password, kefu.settings),
                role=Role.admin,
            )
            session.add(admin)
            await session.flush()
            return workspace, admin
    except IntegrityError:
        raise Conflict(f"a workspace with the slug {slug!r} exists already") from None


async def agent_out(session: AsyncSession, user: User) -> AgentOut:
    groups = (
        await session.scalars(sa.select(GroupMember.group_id).where(GroupMember.user_id == user.id))
    ).all()
    return AgentOut(
        id=user.id,
        workspace_id=user.workspace_id,
        email=user.email,
        name=user.name,
        role=Role(user.role),
        presence=Presence(user.presence),
        capacity={k: int(v) for k, v in (user.capacity or {}).items()},
        region=user.region,
        locale=user.locale,
        active=user.active,
        group_ids=sorted(groups),
        created_at=user.created_at,
    )


async def get_agent(session: AsyncSession, workspace_id: uuid.UUID, user_id: uuid.UUID) -> User:
    return await one_in_workspace(session, User, workspace_id, user_id, "agent")


async def list_agents(kefu: Kefu, workspace_id: uuid.UUID) -> list[AgentOut]:
    async with kefu.db.session() as session:
        users = (
            await session.scalars(
                sa.select(User).where(User.workspace_id == workspace_id).order_by(User.name)
            )
        ).all()
        return [await agent_out(session, u) for u in users]


async def create_agent(kefu: Kefu, workspace_id: uuid.UUID, data: AgentCreate) -> AgentOut:
    try:
        async with kefu.db.transaction() as session:
            user = User(
                workspace_id=workspace_id,
                email=data.email.lower(),
                name=data.name,
                password_hash=hash_password(data.password, kefu.settings),
                role=data.role,
                capacity=dict(data.capacity) if data.capacity is not None else {"*": 5},
                region=data.region,
                locale=data.locale,
            )
            session.add(user)
            await session.flush()
            await _set_groups(session, workspace_id, user.id, data.group_ids)
            return await agent_out(session, user)
    except IntegrityError:
        raise Conflict(f"an agent with the e-mail {data.email} exists already") from None


LAST_ADMIN = Text(
    "{name} is the last active admin of this workspace; make someone else an admin first.",
    "{name} 是该工作区最后一位启用中的管理员；请先把其他人设为管理员。",
)


async def update_agent(
    kefu: Kefu,
    workspace_id: uuid.UUID,
    user_id: uuid.UUID,
    data: AgentUpdate,
    *,
    current_session: uuid.UUID | None = None,
) -> AgentOut:
    """A new password or deactivation ends the agent's sessions (all but
    `current_session`, the one making the change, when agents edit themselves)."""
    async with kefu.db.transaction() as session:
        user = await get_agent(session, workspace_id, user_id)
        losing_admin = (data.role is not None and data.role != Role.admin) or data.active is False
        if user.role == Role.admin and user.active and losing_admin:
            await _keep_an_admin(session, user)
        for name in ("name", "role", "region", "locale", "active"):
            value = getattr(data, name)
            if value is not None:
                setattr(user, name, value)
        if data.capacity is not None:
            user.capacity = dict(data.capacity)
        if data.password is not None:
            user.password_hash = hash_password(data.password, kefu.settings)
            await revoke_sessions(session, user.id, keep=current_session)
        if data.active is False:
            await revoke_sessions(session, user.id)
        if data.group_ids is not None:
            await _set_groups(session, workspace_id, user.id, data.group_ids)
        return await agent_out(session, user)


async def _keep_an_admin(session: AsyncSession, user: User) -> None:
    """Refuse to leave a workspace without an active admin. The admins' rows are locked
    (PostgreSQL) so two admins demoting each other at once cannot both succeed; SQLite
    has one writer anyway."""
    admins = (
        await session.scalars(
            sa.select(User.id)
            .where(
                User.workspace_id == user.workspace_id,
                User.role == Role.admin,
                User.active.is_(True),
            )
            .order_by(User.id)
            .with_for_update()
        )
    ).all()
    if not set(admins) - {user.id}:
        raise Conflict(LAST_ADMIN.format(name=user.name))


WRONG_CURRENT_PASSWORD = Text(
    "The current password is not right.",
    "当前密码不正确。",
)


async def change_own_password(
    kefu: Kefu, user: AuthUser, current_password: str, new_password: str
) -> None:
    """An agent's own password: the current one proves it is them; every other session
    of theirs ends (a thief's included), this one stays."""
    async with kefu.db.transaction() as session:
        row = await get_agent(session, user.workspace_id, user.id)
        if not verify_password(row.password_hash, current_password, kefu.settings):
            raise Invalid(
                WRONG_CURRENT_PASSWORD,
                errors=[FieldError("current_password", WRONG_CURRENT_PASSWORD)],
            )
        row.password_hash = hash_password(new_password, kefu.settings)
        await revoke_sessions(session, row.id, keep=user.session_id)


async def sign_out_everywhere(kefu: Kefu, workspace_id: uuid.UUID, user_id: uuid.UUID) -> int:
    async with kefu.db.transaction() as session:
        user = await get_agent(session, workspace_id, user_id)
        ended = await revoke_sessions(session, user.id)
    # Signed out everywhere is signed out: offline, like a sign-out of one's own.
    await routing_presence.go_offline(kefu, workspace_id, user_id)
    return ended


async def _set_groups(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    user_id: uuid.UUID,
    group_ids: Sequence[uuid.UUID],
) -> None:
    if group_ids:
        known = set(
            (
                await session.scalars(
                    sa.select(SkillGroup.id).where(
                        SkillGroup.workspace_id == workspace_id, SkillGroup.id.in_(group_ids)
                    )
                )
            ).all()
        )
        unknown = set(group_ids) - known
        if unknown:
            raise Invalid(f"unknown skill groups: {', '.join(map(str, sorted(unknown)))}")
    await session.execute(sa.delete(GroupMember).where(GroupMember.user_id == user_id))
    for gid in dict.fromkeys(group_ids):
        session.add(GroupMember(group_id=gid, user_id=user_id, workspace_id=workspace_id))


async def set_presence(
    kefu: Kefu, workspace_id: uuid.UUID, user_id: uuid.UUID, presence: Presence
) -> AgentOut:
    async with kefu.db.transaction() as session:
        user = await get_agent(session, workspace_id, user_id)
        routing_presence.log_presence(session, user, presence, utcnow())
        out = await agent_out(session, user)
    routing_presence.presence_changed(kefu, workspace_id, user_id, presence)
    return out


async def group_out(session: AsyncSession, group: SkillGroup) -> GroupOut:
    members = (
        await session.scalars(
            sa.select(GroupMember.user_id).where(GroupMember.group_id == group.id)
        )
    ).all()
    return GroupOut(
        id=group.id,
        name=group.name,
        strategy=group.strategy,
        settings=dict(group.settings or {}),
        member_ids=sorted(members),
    )


async def list_groups(kefu: Kefu, workspace_id: uuid.UUID) -> list[GroupOut]:
    async with kefu.db.session() as session:
        groups = (
            await session.scalars(
                sa.select(SkillGroup)
                .where(SkillGroup.workspace_id == workspace_id)
                .order_by(SkillGroup.name)
            )
        ).all()
        return [await group_out(session, g) for g in groups]


async def get_group(
    session: AsyncSession, workspace_id: uuid.UUID, group_id: uuid.UUID
) -> SkillGroup:
    return await one_in_workspace(session, SkillGroup, workspace_id, group_id, "skill group")


async def _set_members(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    group_id: uuid.UUID,
    member_ids: Sequence[uuid.UUID],
) -> None:
    if member_ids:
        known = set(
            (
                await session.scalars(
                    sa.select(User.id).where(
                        User.workspace_id == workspace_id, User.id.in_(member_ids)
                    )
                )
            ).all()
        )
        if set(member_ids) - known:
            raise Invalid("some members are not agents of this workspace")
    await session.execute(sa.delete(GroupMember).where(GroupMember.group_id == group_id))
    for uid in dict.fromkeys(member_ids):
        session.add(GroupMember(group_id=group_id, user_id=uid, workspace_id=workspace_id))


def _check_strategy(strategy: str | None) -> None:
    if strategy is not None and strategy not in STRATEGIES:
        said = Text(
            f"strategy must be one of {', '.join(STRATEGIES)}",
            f"分配策略须为以下之一：{', '.join(STRATEGIES)}",
        )
        raise Invalid(said, errors=[FieldError("strategy", said)])


async def create_group(kefu: Kefu, workspace_id: uuid.UUID, data: GroupCreate) -> GroupOut:
    _check_strategy(data.strategy)
    try:
        async with kefu.db.transaction() as session:
            group = SkillGroup(
                workspace_id=workspace_id,
                name=data.name,
                strategy=data.strategy,
                settings=data.settings,
            )
            session.add(group)
            await session.flush()
            await _set_members(session, workspace_id, group.id, data.member_ids)
            await session.flush()
            return await group_out(session, group)
    except IntegrityError:
        raise Conflict(f"a skill group named {data.name!r} exists already") from None


async def update_group(
    kefu: Kefu, workspace_id: uuid.UUID, group_id: uuid.UUID, data: GroupUpdate
) -> GroupOut:
    _check_strategy(data.strategy)
    async with kefu.db.transaction() as session:
        group = await get_group(session, workspace_id, group_id)
        if data.name is not None:
            group.name = data.name
        if data.strategy is not None:
            group.strategy = data.strategy
        if data.settings is not None:
            group.settings = data.settings
        if data.member_ids is not None:
            await _set_members(session, workspace_id, group.id, data.member_ids)
        await session.flush()
        return await group_out(session, group)


async def delete_group(kefu: Kefu, workspace_id: uuid.UUID, group_id: uuid.UUID) -> None:
    async with kefu.db.transaction() as session:
        group = await get_group(session, workspace_id, group_id)
        await session.delete(group)
