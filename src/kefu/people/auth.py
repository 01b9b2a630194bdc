"""Login, sessions and guards. A login makes one `AuthSession`; its secret travels as a
bearer token (API clients) or as the `kefu_session` cookie (the console). Cookie
requests that change state must echo the `kefu_csrf` cookie in `X-CSRF-Token`
(double-submit), which a cross-site form cannot do."""

from __future__ import annotations

import functools
import hashlib
import hmac
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

from kefu.context import Kefu
from kefu.db.tables import AuthSession, User, Workspace
from kefu.model import Role, utcnow

SESSION_COOKIE = "kefu_session"
CSRF_COOKIE = "kefu_csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}

_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verifying against a real hash when the e-mail is unknown keeps the timing the same.
    Made on first use, not at import: argon2 is slow on purpose, and every `kefu` command
    that imports this module would pay for it."""
    return _hasher.hash("kefu-timing-equaliser")


class AuthUser(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    workspace_id: uuid.UUID
    role: Role
    name: str
    email: str
    session_id: uuid.UUID

    def can(self, *roles: Role) -> bool:
        return self.role in roles


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class LoginFailed(Exception):
    pass


class Login(msgspec.Struct, frozen=True):
    token: str
    csrf_token: str
    user: AuthUser


async def login(kefu: Kefu, email: str, password: str, workspace: str | None = None) -> Login:
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
            raise LoginFailed("this e-mail belongs to several workspaces; give the workspace too")
        user = users[0] if users else None
        if (
            not verify_password(user.password_hash if user else _dummy_hash(), password)
            or user is None
        ):
            raise LoginFailed("wrong e-mail or password")
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
        return Login(token=token, csrf_token=csrf, user=_auth_user(user, row.id))


async def logout(kefu: Kefu, user: AuthUser) -> None:
    async with kefu.db.transaction() as session:
        await session.execute(sa.delete(AuthSession).where(AuthSession.id == user.session_id))


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
        if not sent or not hmac.compare_digest(sent, row.csrf_token):
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
