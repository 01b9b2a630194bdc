"""Login, sessions and guards. A login makes one `AuthSession`; its secret travels as a
bearer token (API clients) or as the `kefu_session` cookie (the console). Cookie
requests that change state must echo the `kefu_csrf` cookie in `X-CSRF-Token`
(double-submit), which a cross-site form cannot do."""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import uuid
from datetime import timedelta
from typing import Any

import msgspec
import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.enums import ScopeType
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.context import Kefu
from kefu.db.tables import AuthSession, User, Workspace
from kefu.errors import TooManyRequests, Unauthorized, UnsupportedType
from kefu.i18n import Text
from kefu.model import Role, utcnow
from kefu.people import throttle
from kefu.routing import presence as routing_presence
from kefu.settings import Settings

SESSION_COOKIE = "kefu_session"
CSRF_COOKIE = "kefu_csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}

_DEFAULTS = Settings()
_DEFAULT_PARAMS = (
    _DEFAULTS.argon2_time_cost,
    _DEFAULTS.argon2_memory_cost,
    _DEFAULTS.argon2_parallelism,
)
# Settings left at their defaults use this one (tests swap it for a cheap hasher).
_hasher = PasswordHasher(*_DEFAULT_PARAMS)
_configured: dict[tuple[int, int, int], PasswordHasher] = {}
# Verifying against a real hash when the e-mail is unknown keeps the timing the same;
# one per parameter set, so the decoy costs what a real check costs.
_dummy_hashes: dict[tuple[int, int, int], str] = {}


class AuthUser(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    workspace_id: uuid.UUID
    role: Role
    name: str
    email: str
    session_id: uuid.UUID

    def can(self, *roles: Role) -> bool:
        return self.role in roles


def hasher(settings: Settings | None = None) -> PasswordHasher:
    """The password hasher the settings ask for (KEFU_ARGON2_*)."""
    if settings is None:
        return _hasher
    params = (settings.argon2_time_cost, settings.argon2_memory_cost, settings.argon2_parallelism)
    if params == _DEFAULT_PARAMS:
        return _hasher
    if params not in _configured:
        _configured[params] = PasswordHasher(*params)
    return _configured[params]


def hash_password(password: str, settings: Settings | None = None) -> str:
    return hasher(settings).hash(password)


def verify_password(password_hash: str, password: str, settings: Settings | None = None) -> bool:
    try:
        return hasher(settings).verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _dummy_hash(settings: Settings) -> str:
    h = hasher(settings)
    params = (h.time_cost, h.memory_cost, h.parallelism)
    if params not in _dummy_hashes:
        _dummy_hashes[params] = h.hash("kefu-timing-equaliser")
    return _dummy_hashes[params]


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class LoginFailed(Unauthorized):
    pass


class LoginThrottled(TooManyRequests):
    """Refused before the password is even looked at; `retry_after` whole seconds."""

    def __init__(self, seconds: float) -> None:
        self.retry_after = max(1, math.ceil(seconds))
        super().__init__(
            Text(
                "Too many sign-in attempts; try again in {seconds} seconds.",
                "登录尝试次数过多，请在 {seconds} 秒后重试。",
            ).format(seconds=self.retry_after)
        )


WRONG_PASSWORD = Text("wrong e-mail or password", "邮箱或密码错误")
SEVERAL_WORKSPACES = Text(
    "this e-mail belongs to several workspaces; give the workspace too",
    "该邮箱属于多个工作区，请同时填写工作区标识",
)


class Login(msgspec.Struct, frozen=True):
    token: str
    csrf_token: str
    user: AuthUser


async def login(
    kefu: Kefu, email: str, password: str, workspace: str | None = None, client_ip: str = ""
) -> Login:
    # The throttle decides before anything costs CPU: an argon2 check is ~0.7 s.
    keys = throttle.keys_for(kefu.settings, email, client_ip)
    store = throttle.store_for(kefu)
    wait = await store.admit(keys, utcnow())
    if wait > 0:
        raise LoginThrottled(wait)
    async with kefu.db.transaction() as session:
        query = sa.select(User).where(
            sa.func.lower(User.email) == email.strip().lower(), User.active.is_(True)
        )
        if workspace:
            query = query.join(Workspace, Workspace.id == User.workspace_id).where(
                Workspace.slug == workspace
            )
        users = (await session.scalars(query)).all()
        if len(users) > 1:
            raise LoginFailed(SEVERAL_WORKSPACES)
        user = users[0] if users else None
        stored = user.password_hash if user else _dummy_hash(kefu.settings)
        if not verify_password(stored, password, kefu.settings) or user is None:
            raise LoginFailed(WRONG_PASSWORD)
        if hasher(kefu.settings).check_needs_rehash(user.password_hash):
            user.password_hash = hash_password(password, kefu.settings)
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(24)
        now = utcnow()
        row = AuthSession(
            workspace_id=user.workspace_id,
            user_id=user.id,
            token_hash=token_hash(token),
            csrf_token=csrf,
            created_at=now,
            expires_at=now + timedelta(hours=kefu.settings.session_hours),
        )
        session.add(row)
        await session.flush()
        result = Login(token=token, csrf_token=csrf, user=_auth_user(user, row.id))
    await store.succeeded(keys)
    return result


async def logout(kefu: Kefu, user: AuthUser) -> None:
    """End this session; an agent who signs out is offline (reports stop their online
    time here, the queue stops offering them work)."""
    async with kefu.db.transaction() as session:
        await session.execute(sa.delete(AuthSession).where(AuthSession.id == user.session_id))
    await routing_presence.go_offline(kefu, user.workspace_id, user.id)


async def revoke_sessions(
    session: AsyncSession, user_id: uuid.UUID, *, keep: uuid.UUID | None = None
) -> int:
    """Sign a user out everywhere (but for the session `keep`); how many were ended."""
    statement = sa.delete(AuthSession).where(AuthSession.user_id == user_id)
    if keep is not None:
        statement = statement.where(AuthSession.id != keep)
    result = await session.execute(statement)
    return int(getattr(result, "rowcount", 0) or 0)


def cookie_secure(settings: Settings) -> bool:
    """`Secure` cookies whenever the public address is https (or when asked outright)."""
    return settings.cookie_secure or settings.public_url.strip().lower().startswith("https://")


async def require_json(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard: the body must be declared JSON. A cross-site form can send `text/plain`
    without a preflight, so accepting it would let another site sign a visitor in as the
    attacker (login CSRF)."""
    media_type = connection.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        raise UnsupportedType(
            Text(
                "Send the sign-in as application/json.",
                "登录请求必须使用 application/json 格式。",
            )
        )


def _auth_user(user: User, session_id: uuid.UUID) -> AuthUser:
    return AuthUser(
        id=user.id,
        workspace_id=user.workspace_id,
        role=Role(user.role),
        name=user.name,
        email=user.email,
        session_id=session_id,
    )


def _credentials(connection: ASGIConnection[Any, Any, Any, Any]) -> tuple[str | None, bool]:
    """The secret presented, and whether it came from the cookie (then CSRF applies)."""
    header = connection.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip(), False
    cookie = connection.cookies.get(SESSION_COOKIE)
    if cookie:
        return cookie, True
    if connection.scope["type"] == ScopeType.WEBSOCKET:
        # Browsers cannot set headers on a websocket; API clients may pass ?token=.
        return connection.query_params.get("token"), False
    return None, False


async def authenticate(connection: ASGIConnection[Any, Any, Any, Any]) -> AuthUser:
    cached = connection.scope.get("state", {}).get("kefu_user")
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    token, from_cookie = _credentials(connection)
    if not token:
        raise NotAuthorizedException("sign in first: send a bearer token or the session cookie")
    kefu: Kefu = connection.app.state.kefu
    async with kefu.db.session() as session:
        found = (
            await session.execute(
                sa.select(AuthSession, User)
                .join(User, User.id == AuthSession.user_id)
                .where(AuthSession.token_hash == token_hash(token))
            )
        ).first()
    if found is None:
        raise NotAuthorizedException("this session is unknown or was signed out")
    row, user = found
    if row.expires_at <= utcnow() or not user.active:
        raise NotAuthorizedException("this session has expired; sign in again")
    method = str(connection.scope.get("method", "GET"))
    if from_cookie and connection.scope["type"] == ScopeType.HTTP and method not in SAFE_METHODS:
        sent = connection.headers.get(CSRF_HEADER, "")
        # Bytes: compare_digest refuses a str with non-ASCII with a TypeError (a 500).
        if not sent or not hmac.compare_digest(
            sent.encode("utf-8", "replace"), row.csrf_token.encode()
        ):
            raise PermissionDeniedException(
                "missing or wrong X-CSRF-Token header for a cookie session"
            )
    auth_user = _auth_user(user, row.id)
    connection.scope.setdefault("state", {})["kefu_user"] = auth_user
    return auth_user


async def require_user(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    await authenticate(connection)


def require_role(*roles: Role) -> Any:
    allowed = set(roles)

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        user = await authenticate(connection)
        if user.role not in allowed:
            names = ", ".join(sorted(allowed))
            raise PermissionDeniedException(f"this needs one of the roles: {names}")

    return guard


async def provide_user(request: Request[Any, Any, Any]) -> AuthUser:
    """Dependency: the signed-in user (the guards have already authenticated)."""
    return await authenticate(request)


STAFF = (Role.admin, Role.supervisor, Role.agent)
MANAGERS = (Role.admin, Role.supervisor)
