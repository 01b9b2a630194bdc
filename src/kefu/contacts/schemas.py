from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

import msgspec


class IdentityOut(msgspec.Struct, frozen=True):
    kind: str
    value: str


class ContactOut(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    name: str | None
    email: str | None
    phone: str | None
    region: str | None
    gender: str | None
    age: int | None
    language: str | None
    vip_level: int
    verified: bool
    tags: list[str]
    attributes: dict[str, Any]
    identities: list[IdentityOut]
    created_at: datetime
    updated_at: datetime


class ContactUpdate(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    name: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    email: Annotated[str, msgspec.Meta(max_length=320)] | None = None
    phone: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    region: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    gender: Annotated[str, msgspec.Meta(max_length=16)] | None = None
    age: Annotated[int, msgspec.Meta(ge=0, le=150)] | None = None
    language: Annotated[str, msgspec.Meta(max_length=16)] | None = None
    vip_level: Annotated[int, msgspec.Meta(ge=0, le=10)] | None = None
    tags: list[Annotated[str, msgspec.Meta(max_length=64)]] | None = None
    # Merged into the existing attributes; a key set to null is removed.
    attributes: dict[str, Any] | None = None


class MergeRequest(msgspec.Struct, frozen=True):
    other_id: uuid.UUID


class ContactPage(msgspec.Struct, frozen=True):
    items: list[ContactOut]
