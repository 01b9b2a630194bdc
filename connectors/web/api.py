"""HTTP and websocket surface of the web widget.

- `GET /widget.js`: the embeddable script (built from widgets/chat).
- `/api/v1/widget/...`: the visitor API, authenticated by the signed visitor token as a
  bearer token. Any site may embed the widget, so these routes answer CORS requests from
  any origin; no cookies are involved, the token is the only credential.
- `/ws/visitor?token=...`: the visitor's realtime line (resume by seq, send, typing, read).
- `GET /api/v1/conversations/{id}/page-views`: the visitor's page trail, for agents.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
import uuid
from pathlib import Path
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, WebSocket, get, post, websocket
from litestar.datastructures import UploadFile
from litestar.di import Provide
from litestar.enums import RequestEncodingType, ScopeType
from litestar.exceptions import WebSocketDisconnect
from litestar.params import Body, Parameter
from litestar.response import File
from litestar.types import ASGIApp, ControllerRouterHandler, Message, Receive, Scope, Send

import kefu
from kefu import ratelimit
from kefu.clientip import client_ip_of
from kefu.connectors.web import service, uploads
from kefu.connectors.web.schemas import (
    AttributesRequest,
    ClientFrame,
    DurationRequest,
    IdentifyRequest,
    LeaveMessageRequest,
    LeftMessage,
    MessagesPage,
    PageIn,
    PageViewCreated,
    PageViewList,
    PrechatRequest,
    RatingRequest,
    ReadRequest,
    SendRequest,
    SendResult,
    SessionRequest,
    SessionView,
    TypingRequest,
    VisitorMessage,
)
from kefu.connectors.web.service import Caller
from kefu.context import Kefu
from kefu.errors import Invalid, KefuError, NotFound, TooLarge, UnsupportedType
from kefu.model import INT32_MAX, Attachment, MessageView, SenderKind
from kefu.people.auth import STAFF, AuthUser, require_role
from kefu.validation import check_json
from kefu.visitors import pages, reading

log = logging.getLogger("kefu")

STATIC_CHAT = Path(kefu.__file__).parent / "static" / "chat"
# The multipart body may be a little larger than the file; the file limit itself comes
# from settings and is checked in the handler.
UPLOAD_BODY_CEILING = 64 * 1024 * 1024

_CORS = [
    (b"access-control-allow-origin", b"*"),
    (b"access-control-allow-headers", b"authorization, content-type"),
    (b"access-control-allow-methods", b"GET, POST, OPTIONS"),
    (b"access-control-max-age", b"600"),
]


def cors_any_origin(app: ASGIApp) -> ASGIApp:
    """CORS for the visitor API: the widget runs on the customer's own site."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        if scope.get("method") == "OPTIONS":
            await send({"type": "http.response.start", "status": 204, "headers": _CORS})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [*message.get("headers", []), *_CORS]
                message = {
                    "type": "http.response.start",
                    "status": message["status"],
                    "headers": headers,
                }
            await send(message)

        await app(scope, receive, send_with_cors)

    return middleware


def client_ip(request: Request[Any, Any, Any]) -> str:
    return client_ip_of(request.app.state.kefu, request.scope)


async def provide_caller(request: Request[Any, Any, Any], kefu: Kefu) -> Caller:
    header = request.headers.get("authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else None
    return await service.authenticate(kefu, token)


class WidgetController(Controller):
    path = "/api/v1/widget"
    tags = ("widget",)
    middleware = (cors_any_origin,)
    dependencies = {"caller": Provide(provide_caller)}

    @post("/sessions", status_code=200)
    async def start_session(
        self, kefu: Kefu, request: Request[Any, Any, Any], data: SessionRequest
    ) -> SessionView:
        return await service.start_session(kefu, data, client_ip(request))

    @post("/identify", status_code=200)
    async def identify(self, kefu: Kefu, caller: Caller, data: IdentifyRequest) -> SessionView:
        return await service.identify(kefu, caller, data)

    @post("/prechat", status_code=204)
    async def prechat(self, kefu: Kefu, caller: Caller, data: PrechatRequest) -> None:
        await service.prechat(kefu, caller, data)

    @post("/attributes", status_code=204)
    async def attributes(self, kefu: Kefu, caller: Caller, data: AttributesRequest) -> None:
        await service.set_attributes(kefu, caller, data.attributes)

    @get("/messages")
    async def messages(
        self,
        kefu: Kefu,
        caller: Caller,
        conversation_id: uuid.UUID | None = None,
        after: Annotated[int, Parameter(ge=0, le=INT32_MAX)] = 0,
    ) -> MessagesPage:
        return await service.messages_after(kefu, caller, conversation_id, after)

    @post("/messages", status_code=200)
    async def send(
        self, kefu: Kefu, caller: Caller, request: Request[Any, Any, Any], data: SendRequest
    ) -> SendResult:
        return await service.send(
            kefu,
            caller,
            client_id=data.client_id,
            body=data.body,
            type=data.type,
            attachments=data.attachments,
            ip=client_ip(request),
        )

    @post("/uploads", status_code=201, request_max_body_size=UPLOAD_BODY_CEILING)
    async def upload(
        self,
        kefu: Kefu,
        caller: Caller,
        data: Annotated[dict[str, UploadFile], Body(media_type=RequestEncodingType.MULTI_PART)],
    ) -> Attachment:
        service.require_allowed(caller)
        await service.check_rate(
            kefu, f"upload:visitor:{caller.visitor.id}", kefu.rate_limits.upload_per_visitor
        )
        file = data.get("file")
        if not isinstance(file, UploadFile):
            raise Invalid("send the file as the multipart field `file`")
        limit = kefu.settings.max_upload_bytes
        content = await file.read(limit + 1)
        if len(content) > limit:
            raise TooLarge(f"files are limited to {limit // 1_048_576} MB")
        kind = uploads.sniff(content[:4096])
        allowed = {t.strip() for t in kefu.settings.upload_types.split(",")}
        if kind is None or kind not in allowed:
            raise UnsupportedType(
                "this kind of file is not accepted here (checked by its content, not its name)"
            )
        key = await asyncio.to_thread(uploads.store, kefu.settings.media_dir, content, kind)
        return Attachment(
            name=uploads.clean_name(file.filename, kind),
            content_type=kind,
            size=len(content),
            url=service.MEDIA_PREFIX + key,
        )

    @get("/media/{key:str}")
    async def media(self, kefu: Kefu, key: str) -> File:
        found = uploads.locate(kefu.settings.media_dir, key)
        if found is None:
            raise NotFound("no such file")
        path, content_type = found
        return File(
            path=path,
            media_type=content_type,
            content_disposition_type="inline"
            if content_type.startswith("image/")
            else "attachment",
            headers={
                "X-Content-Type-Options": "nosniff",
                "Content-Security-Policy": "default-src 'none'; sandbox",
                "Cache-Control": "private, max-age=86400",
            },
        )

    @post("/pageviews", status_code=201)
    async def page_view(self, kefu: Kefu, caller: Caller, data: PageIn) -> PageViewCreated:
        return PageViewCreated(id=await service.record_page_view(kefu, caller, data))

    @post("/pageviews/{view_id:uuid}/duration", status_code=204)
    async def page_duration(
        self, kefu: Kefu, caller: Caller, view_id: uuid.UUID, data: DurationRequest
    ) -> None:
        await service.page_left(kefu, caller, view_id, data.seconds)

    @post("/leave-message", status_code=201)
    async def leave_message(
        self,
        kefu: Kefu,
        caller: Caller,
        request: Request[Any, Any, Any],
        data: LeaveMessageRequest,
    ) -> LeftMessage:
        return await service.leave_message(kefu, caller, data, client_ip(request))

    @post("/csat", status_code=204)
    async def csat(self, kefu: Kefu, caller: Caller, data: RatingRequest) -> None:
        await service.rate(kefu, caller, data)

    @post("/typing", status_code=204)
    async def typing(self, kefu: Kefu, caller: Caller, data: TypingRequest) -> None:
        await service.typing(kefu, caller, data.typing)

    @post("/read", status_code=204)
    async def read(self, kefu: Kefu, caller: Caller, data: ReadRequest) -> None:
        await service.mark_read(kefu, caller, data.conversation_id, data.seq)


class PageViewsController(Controller):
    """The visitor's page trail beside a conversation, for agents who may see it."""

    path = "/api/v1/conversations/{conversation_id:uuid}/page-views"
    tags = ("widget",)
    guards = (require_role(*STAFF),)

    @get("/")
    async def list_page_views(
        self, kefu: Kefu, user: AuthUser, conversation_id: uuid.UUID
    ) -> PageViewList:
        return PageViewList(items=await pages.trail_for_agent(kefu, user, conversation_id))


async def _script(name: str) -> Response[bytes]:
    path = STATIC_CHAT / name
    if not path.is_file():
        return Response(
            f"console.error('kefu: {name} is not built; run make widgets');".encode(),
            media_type="text/javascript",
            status_code=503,
        )
    return Response(
        await asyncio.to_thread(path.read_bytes),
        # Litestar adds "; charset=utf-8" to text types. The charset matters: without it a
        # GBK host page would decode the script as GBK (the bundle is ASCII-only as well).
        media_type="text/javascript",
        headers={"Cache-Control": "public, max-age=300", "Access-Control-Allow-Origin": "*"},
    )


@get("/widget.js", include_in_schema=False)
async def widget_script() -> Response[bytes]:
    return await _script("widget.js")


@get("/widget-call.js", include_in_schema=False)
async def widget_call_script() -> Response[bytes]:
    """The call's media module (LiveKit), an ES module the widget imports only when a
    visitor starts a call; cross-origin pages import it, hence the CORS header."""
    return await _script("widget-call.js")


# --------------------------------------------------------------------------- websocket

_encoder = msgspec.json.Encoder()


class VisitorLine:
    """One visitor socket: follows the visitor's current conversation channel and turns
    core events into visitor frames (never notes, never the visitor's own typing)."""

    def __init__(self, kefu: Kefu, caller: Caller, socket: WebSocket[Any, Any, Any]) -> None:
        self.kefu = kefu
        self.caller = caller
        self.socket = socket
        self.conversation_id: uuid.UUID | None = None
        self._send_lock = asyncio.Lock()
        self._subscriber: Any = None
        self._pump: asyncio.Task[None] | None = None

    async def emit(self, frame: dict[str, Any]) -> None:
        async with self._send_lock:
            await self.socket.send_text(_encoder.encode(frame).decode())

    async def follow(self, conversation_id: uuid.UUID) -> None:
        """Subscribe to a conversation's channel before anything is read from the
        database for it, so nothing published in between is missed."""
        if conversation_id == self.conversation_id:
            return
        subscriber = await self.kefu.events.subscribe_conversation(conversation_id)
        old_subscriber, old_pump = self._subscriber, self._pump
        self._subscriber = subscriber
        self.conversation_id = conversation_id
        self._pump = asyncio.create_task(self._run(subscriber))
        if old_pump is not None:
            old_pump.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await old_pump
        if old_subscriber is not None:
            await self.kefu.events.unsubscribe(old_subscriber)

    async def close(self) -> None:
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._pump
        if self._subscriber is not None:
            await self.kefu.events.unsubscribe(self._subscriber)

    async def _run(self, subscriber: Any) -> None:
        async for raw in subscriber.iter_events():
            try:
                await self._forward(msgspec.json.decode(raw))
            except (WebSocketDisconnect, RuntimeError):
                return

    async def _forward(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "message":
            payload = event.get("message")
            if payload is None:
                # Too large for the doorbell: read it (notes are filtered there).
                await self._replay(int(event["seq"]) - 1, upto=int(event["seq"]))
                return
            view = msgspec.convert(payload, MessageView)
            if view.direction == "note":
                return
            await self.emit({"type": "message", "message": _visitor_view(view)})
        elif kind == "conversation":
            await self._send_conversation()
        elif kind == "typing" and event.get("sender_kind") != SenderKind.contact:
            await self.emit(
                {
                    "type": "typing",
                    "typing": bool(event.get("typing")),
                    "sender_name": event.get("sender_name"),
                }
            )

    async def _replay(self, after: int, upto: int | None = None) -> None:
        if self.conversation_id is None:
            return
        messages = await reading.messages(
            self.kefu, self.caller.visitor, self.conversation_id, after=after
        )
        for message in messages:
            if upto is not None and message.seq > upto:
                break
            await self.emit({"type": "message", "message": message})

    async def _send_conversation(self) -> None:
        if self.conversation_id is None:
            return
        view = await reading.conversation(self.kefu, self.caller.visitor, self.conversation_id)
        await self.emit({"type": "conversation", "conversation": view})

    async def resume(self, frame: ClientFrame) -> None:
        conversation_id = await reading.pick_conversation(
            self.kefu, self.caller.visitor, frame.conversation_id
        )
        if conversation_id is None:
            await self.emit({"type": "synced", "conversation": None})
            return
        await self.follow(conversation_id)
        after = frame.after if conversation_id == frame.conversation_id else 0
        await self._replay(after)
        view = await reading.conversation(self.kefu, self.caller.visitor, conversation_id)
        await self.emit({"type": "synced", "conversation": view})

    async def refuse(self, client_id: str | None, exc: KefuError) -> None:
        """A refusal frame: the widget drops the message `client_id` names from its
        outbox (4xx) and shows why in its own language, keyed by `status`."""
        frame: dict[str, Any] = {"type": "error", "status": exc.status_code, "detail": exc.detail}
        if client_id:
            frame["client_id"] = client_id
        if exc.errors:
            frame["errors"] = [{"field": e.field, "message": str(e.message)} for e in exc.errors]
        await self.emit(frame)

    async def send(self, frame: ClientFrame, ip: str) -> None:
        if not frame.client_id:
            await self.emit({"type": "error", "status": 422, "detail": "client_id is required"})
            return
        try:
            self.caller = await service.refresh(self.kefu, self.caller)
            result = await service.send(
                self.kefu,
                self.caller,
                client_id=frame.client_id,
                body=frame.body,
                type=frame.message_type,
                attachments=frame.attachments,
                ip=ip,
            )
        except KefuError as exc:
            await self.refuse(frame.client_id, exc)
            return
        except Exception:
            # Answered, not closed: a socket that closes makes the widget resend the
            # same message on every reconnect. It retries a 5xx a few times, then drops it.
            log.exception("widget message %s failed", frame.client_id)
            await self.emit(
                {"type": "error", "client_id": frame.client_id, "status": 500, "detail": ""}
            )
            return
        if result.conversation_id != self.conversation_id:
            await self.follow(result.conversation_id)
            await self._send_conversation()
        await self.emit(
            {
                "type": "ack",
                "client_id": frame.client_id,
                "conversation_id": result.conversation_id,
                "seq": result.seq,
                "duplicate": result.duplicate,
                "message": result.message,
            }
        )


_CLIENT_ID = re.compile(r'"client_id"\s*:\s*"([A-Za-z0-9_-]{1,64})"')


def _client_id_of(text: str) -> str | None:
    """The message a refused frame was about, so the widget can drop that one message
    even when the frame itself would not decode."""
    found = _CLIENT_ID.search(text)
    return found.group(1) if found else None


def _visitor_view(view: MessageView) -> VisitorMessage:
    return VisitorMessage(
        id=view.id,
        conversation_id=view.conversation_id,
        seq=view.seq,
        direction=view.direction,
        sender_kind=view.sender_kind,
        sender_name=view.sender_name,
        type=view.type,
        body=view.body,
        attachments=view.attachments,
        delivery_status=view.delivery_status,
        client_message_id=reading.widget_client_id(view.client_message_id),
        created_at=view.created_at,
    )


@websocket("/ws/visitor")
async def visitor_socket(socket: WebSocket[Any, Any, Any]) -> None:
    kefu: Kefu = socket.app.state.kefu
    try:
        caller = await service.authenticate(kefu, socket.query_params.get("token"))
    except KefuError:
        await socket.close(code=4401, reason="visitor token is not valid")
        return
    await socket.accept()
    line = VisitorLine(kefu, caller, socket)
    ip = client_ip_of(kefu, socket.scope)
    frames = ratelimit.Buckets(max_keys=1)
    decoder = msgspec.json.Decoder(ClientFrame)
    try:
        while True:
            text = await socket.receive_text()
            if frames.take("frame", kefu.rate_limits.frame_per_socket, time.monotonic()) > 0:
                refused = ratelimit.RateLimited(1 / kefu.rate_limits.frame_per_socket.per_second)
                await line.emit({"type": "error", "status": 429, "detail": refused.detail})
                continue
            try:
                check_json(text.encode("utf-8", "surrogatepass"))
                frame = decoder.decode(text)
            except KefuError as exc:
                await line.refuse(_client_id_of(text), exc)
                continue
            except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                await line.refuse(_client_id_of(text), KefuError(str(exc)))
                continue
            if frame.type == "resume":
                await line.resume(frame)
            elif frame.type == "send":
                await line.send(frame, ip)
            elif frame.type == "typing":
                with contextlib.suppress(ratelimit.RateLimited):  # a dropped typing hint
                    await service.typing(kefu, caller, frame.typing)
            elif frame.type == "read" and frame.conversation_id is not None:
                with contextlib.suppress(KefuError):
                    await service.mark_read(kefu, caller, frame.conversation_id, frame.seq)
            elif frame.type == "ping":
                await line.emit({"type": "pong"})
    except WebSocketDisconnect:
        pass
    finally:
        await line.close()


ROUTES: list[ControllerRouterHandler] = [
    WidgetController,
    PageViewsController,
    widget_script,
    widget_call_script,
    visitor_socket,
]
