from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

import msgspec

from kefu.model import NO_NUL, Presence, Role

Email = Annotated[str, msgspec.Meta(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Password = Annotated[str, msgspec.Meta(min_length=8, max_length=200)]
Capacity = dict[str, Annotated[int, msgspec.Meta(ge=0, le=100)]]


class LoginRequest(msgspec.Struct, frozen=True):
    email: Annotated[str, msgspec.Meta(max_length=320, pattern=NO_NUL)]
    password: Annotated[str, msgspec.Meta(max_length=1024)]
    workspace: Annotated[str, msgspec.Meta(max_length=63, pattern=NO_NUL)] | None = None


class PasswordChange(msgspec.Struct, frozen=True, kw_only=True):
    current_password: Annotated[str, msgspec.Meta(max_length=1024)]
    new_password: Password


class SessionsRevoked(msgspec.Struct, frozen=True):
    revoked: int


class LoginResponse(msgspec.Struct, frozen=True):
    token: str
    csrf_token: str
    user: AgentOut


class AgentOut(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    workspace_id: uuid.UUID
    email: str
    name: str
    role: Role
    presence: Presence
    capacity: dict[str, int]
    region: str | None
    locale: str
    active: bool
    group_ids: list[uuid.UUID] = msgspec.field(default_factory=list)
    created_at: datetime


class AgentCreate(msgspec.Struct, frozen=True, kw_only=True):
    email: Email
    name: Name
    password: Password
    role: Role = Role.agent
    capacity: Capacity | None = None
    region: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    locale: Annotated[str, msgspec.Meta(max_length=16)] = "zh-CN"
    group_ids: Annotated[list[uuid.UUID], msgspec.Meta(max_length=100)] = msgspec.field(
        default_factory=list
    )


class AgentUpdate(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    name: Name | None = None
    role: Role | None = None
    capacity: Capacity | None = None
    region: str | None = None
    locale: str | None = None
    active: bool | None = None
    password: Password | None = None
    group_ids: list[uuid.UUID] | None = None


class PresenceUpdate(msgspec.Struct, frozen=True):
    presence: Presence


class GroupOut(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    name: str
    strategy: str
    settings: dict[str, Any]
    member_ids: list[uuid.UUID]


class GroupCreate(msgspec.Struct, frozen=True, kw_only=True):
    name: Name
    strategy: str = "least_busy"
    settings: dict[str, Any] = msgspec.field(default_factory=dict)
    member_ids: list[uuid.UUID] = msgspec.field(default_factory=list)


class GroupUpdate(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    name: Name | None = None
    strategy: str | None = None
    settings: dict[str, Any] | None = None
    member_ids: list[uuid.UUID] | None = None


class ItemsAgents(msgspec.Struct, frozen=True):
    items: list[AgentOut]


class ItemsGroups(msgspec.Struct, frozen=True):
    items: list[GroupOut]
