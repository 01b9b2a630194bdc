"""A local stand-in for WeChat's API (api.weixin.qq.com), for tests and the demo.

It speaks the documented JSON of the endpoints kefu calls: stable and classic access
tokens, customer-service send, temporary media upload and download, including the
errors kefu must handle (40001 invalid token, 42001 expired token, 45015 reply window
expired, 45047 too many replies). Point an inbox's `api_base` at it.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

from litestar import Litestar, Request, Response, get, post
from litestar.datastructures import UploadFile

log = logging.getLogger("kefu.wechat.standin")


@dataclass
class StandIn:
    appid: str = "wx_standin"
    secret: str = "standin-secret"
    tokens_issued: list[str] = field(default_factory=list)
    valid: set[str] = field(default_factory=set)
    expired: set[str] = field(default_factory=set)
    sent: list[dict[str, Any]] = field(default_factory=list)
    uploads: dict[str, tuple[str, bytes, str]] = field(default_factory=dict)
    # Media a WeChat user "sent": media_id -> (content_type, bytes).
    user_media: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    # errcodes the next custom sends answer with, in order.
    send_errors: list[int] = field(default_factory=list)
    stable: bool = True
    # Replies WeChat still takes per openid (its 5-per-message rule); absent = unlimited.
    reply_quota: dict[str, int] = field(default_factory=dict)
    # Paths called, in order (token endpoints and API calls alike).
    calls: list[str] = field(default_factory=list)
    _seq: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    sent_event: asyncio.Event = field(default_factory=asyncio.Event)

    def _issue(self) -> str:
        token = f"ACCESS_TOKEN_{next(self._seq)}"
        self.tokens_issued.append(token)
        self.valid.add(token)
        return token

    def invalidate(self, token: str) -> None:
        """As if another party force-refreshed: WeChat answers 40001 for it."""
        self.valid.discard(token)

    def expire(self, token: str) -> None:
        """As if its 7200 s ran out: WeChat answers 42001 for it."""
        self.valid.discard(token)
        self.expired.add(token)

    def _current(self) -> str | None:
        live = [t for t in self.tokens_issued if t in self.valid]
        return live[-1] if live else None

    def _token_error(self, token: str | None) -> dict[str, Any] | None:
        if token in self.valid:
            return None
        if token in self.expired:
            return {"errcode": 42001, "errmsg": "access_token expired"}
        return {"errcode": 40001, "errmsg": "invalid credential, access_token is invalid"}


def create_standin(state: StandIn) -> Litestar:
    def credentials_ok(appid: Any, secret: Any) -> bool:
        return bool(appid == state.appid and secret == state.secret)

    @post("/cgi-bin/stable_token", status_code=200)
    async def stable_token(data: dict[str, Any]) -> Response[Any]:
        if not state.stable:
            return Response({"errmsg": "not found"}, status_code=404)
        if data.get("grant_type") != "client_credential":
            return Response({"errcode": 40002, "errmsg": "invalid grant_type"})
        if not credentials_ok(data.get("appid"), data.get("secret")):
            return Response({"errcode": 40125, "errmsg": "invalid appsecret"})
        token = state._current()
        if data.get("force_refresh") or token is None:
            for old in list(state.valid):
                state.invalidate(old)
            token = state._issue()
        return Response({"access_token": token, "expires_in": 7200})

    @get("/cgi-bin/token")
    async def classic_token(grant_type: str, appid: str, secret: str) -> Response[Any]:
        if not credentials_ok(appid, secret):
            return Response({"errcode": 40125, "errmsg": "invalid appsecret"})
        # The classic endpoint issues a new token on every call (the old one lingers).
        return Response({"access_token": state._issue(), "expires_in": 7200})

    @post("/cgi-bin/message/custom/send", status_code=200)
    async def custom_send(access_token: str, data: dict[str, Any]) -> Response[Any]:
        refused = state._token_error(access_token)
        if refused:
            return Response(refused)
        if state.send_errors:
            code = state.send_errors.pop(0)
            messages = {
                45015: "response out of time limit or subscription is canceled",
                45047: "out of response count limit",
                43004: "require subscribe",
                -1: "system error",
            }
            return Response({"errcode": code, "errmsg": messages.get(code, "error")})
        touser = str(data.get("touser", ""))
        if touser in state.reply_quota:
            if state.reply_quota[touser] <= 0:
                return Response({"errcode": 45047, "errmsg": "out of response count limit"})
            state.reply_quota[touser] -= 1
        state.sent.append(data)
        log.info("customer-service message for %s: %s", touser, data)
        state.sent_event.set()
        return Response({"errcode": 0, "errmsg": "ok"})

    @post("/cgi-bin/media/upload", status_code=200)
    async def upload(
        access_token: str, type: str, request: Request[Any, Any, Any]
    ) -> Response[Any]:
        refused = state._token_error(access_token)
        if refused:
            return Response(refused)
        form = await request.form()
        media = form.get("media")
        if not isinstance(media, UploadFile):
            return Response({"errcode": 41005, "errmsg": "media data missing"})
        media_id = f"MEDIA_{len(state.uploads) + 1}"
        state.uploads[media_id] = (type, await media.read(), media.content_type)
        return Response({"type": type, "media_id": media_id, "created_at": 1_700_000_000})

    @get("/cgi-bin/media/get")
    async def media_get(access_token: str, media_id: str) -> Response[Any]:
        refused = state._token_error(access_token)
        if refused:
            return Response(refused)
        found = state.user_media.get(media_id)
        if found is None:
            return Response(
                {"errcode": 40007, "errmsg": "invalid media_id"}, media_type="text/plain"
            )
        content_type, content = found
        return Response(
            content,
            media_type=content_type,
            headers={"Content-Disposition": f'attachment; filename="{media_id}.bin"'},
        )

    async def record(request: Request[Any, Any, Any]) -> None:
        state.calls.append(request.url.path)

    return Litestar(
        route_handlers=[stable_token, classic_token, custom_send, upload, media_get],
        before_request=record,
        openapi_config=None,
    )


@asynccontextmanager
async def serve(
    app: Any, host: str = "127.0.0.1", *, lifespan: Literal["on", "off"] = "on"
) -> AsyncIterator[str]:
    """Run an ASGI app on a free local port inside the current event loop; yields its URL."""
    import uvicorn

    server = uvicorn.Server(
        uvicorn.Config(app, host=host, port=0, log_level="warning", lifespan=lifespan)
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()  # surfaces the startup error
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        await task


def main(argv: list[str] | None = None) -> None:
    """`python -m kefu.connectors.wechat.standin --appid wx… --secret …`: a stand-in
    WeChat API for the demo; set the inbox's `api_base` to the URL it prints."""
    import argparse

    import uvicorn

    parser = argparse.ArgumentParser(description="a local stand-in for api.weixin.qq.com")
    parser.add_argument("--appid", default=StandIn.appid)
    parser.add_argument("--secret", default=StandIn.secret)
    parser.add_argument("--port", type=int, default=8081)
    args = parser.parse_args(argv)
    state = StandIn(appid=args.appid, secret=args.secret)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    print(f"stand-in WeChat API on http://127.0.0.1:{args.port} (appid {state.appid})")
    uvicorn.run(create_standin(state), host="127.0.0.1", port=args.port, log_level="info")


if __name__ == "__main__":
    main()
