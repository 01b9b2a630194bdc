"""HTTP: calls for staff (list, detail, softphone state, call actions, notes) and the
widget's call button (`/api/v1/widget/calls`, authenticated by the visitor token like
the rest of the widget API)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post, put
from litestar.di import Provide
from litestar.params import Parameter

from kefu.calls import service, strings
from kefu.calls.schemas import (
    CallList,
    CallView,
    ConferenceIn,
    DigitIn,
    Joined,
    NoteIn,
    PhoneStateIn,
    PhoneView,
    TransferIn,
    WidgetCall,
)
from kefu.calls.tables import AgentPhone, Call
from kefu.connectors.web.api import cors_any_origin, provide_caller
from kefu.connectors.web.service import Caller
from kefu.context import Kefu
from kefu.conversations import actions
from kefu.conversations.actions import actor_of
from kefu.db.tables import User
from kefu.errors import NotFound
from kefu.model import ChannelKind, MessageView
from kefu.people.auth import MANAGERS, STAFF, AuthUser, require_role

Status = Annotated[
    str | None,
    Parameter(
        pattern=r"^(ivr|queued|ringing|connected|held|wrap_up|ended|abandoned|voicemail|missed)$"
    ),
]
Limit = Annotated[int, Parameter(ge=1, le=500)]

# The widget inbox's config key naming the voice inbox its call button rings.
VOICE_INBOX_KEY = "voice_inbox_id"


class CallsController(Controller):
    path = "/api/v1"
    tags = ("calls",)
    guards = (require_role(*STAFF),)

    @get("/calls")
    async def list_calls(
        self,
        kefu: Kefu,
        user: AuthUser,
        conversation: uuid.UUID | None = None,
        status: Status = None,
        agent: uuid.UUID | None = None,
        limit: Limit = 100,
    ) -> CallList:
        items = await service.list_calls(
            kefu,
            user.workspace_id,
            conversation=conversation,
            status=status,
            agent=agent,
            limit=limit,
        )
        return CallList(items=items)

    @get("/calls/{call_id:uuid}")
    async def get_call(self, kefu: Kefu, user: AuthUser, call_id: uuid.UUID) -> CallView:
        return await service.get_view(kefu, user.workspace_id, call_id)

    @get("/phone/me")
    async def my_phone(self, kefu: Kefu, user: AuthUser) -> PhoneView:
        return await service.phone_of(kefu, user.id)

    @put("/phone/state")
    async def set_phone(self, kefu: Kefu, user: AuthUser, data: PhoneStateIn) -> PhoneView:
        return await service.set_phone_state(
            kefu, user.workspace_id, user.id, data.state, data.reason
        )

    @post("/calls/{call_id:uuid}/answer", status_code=200)
    async def answer(self, kefu: Kefu, user: AuthUser, call_id: uuid.UUID) -> Joined:
        return await service.answer(kefu, user.workspace_id, user.id, call_id)

    @post("/calls/{call_id:uuid}/reject", status_code=200)
    async def reject(self, kefu: Kefu, user: AuthUser, call_id: uuid.UUID) -> CallView:
        return await service.act(kefu, user.workspace_id, user.id, call_id, "reject")

    @post("/calls/{call_id:uuid}/hangup", status_code=200)
    async def hangup(self, kefu: Kefu, user: AuthUser, call_id: uuid.UUID) -> CallView:
        return await service.act(kefu, user.workspace_id, user.id, call_id, "hangup")

    @post("/calls/{call_id:uuid}/hold", status_code=200)
    async def hold(self, kefu: Kefu, user: AuthUser, call_id: uuid.UUID) -> CallView:
        return await service.act(kefu, user.workspace_id, user.id, call_id, "hold")

    @post("/calls/{call_id:uuid}/unhold", status_code=200)
    async def unhold(self, kefu: Kefu, user: AuthUser, call_id: uuid.UUID) -> CallView:
        return await service.act(kefu, user.workspace_id, user.id, call_id, "unhold")

    @post("/calls/{call_id:uuid}/transfer", status_code=200)
    async def transfer(
        self, kefu: Kefu, user: AuthUser, call_id: uuid.UUID, data: TransferIn
    ) -> CallView:
        return await service.transfer(
            kefu,
            user.workspace_id,
            user.id,
            call_id,
            agent_id=data.agent_id,
            group_id=data.group_id,
            number=data.number,
            attended=data.attended,
        )

    @post("/calls/{call_id:uuid}/transfer/complete", status_code=200)
    async def complete_transfer(self, kefu: Kefu, user: AuthUser, call_id: uuid.UUID) -> CallView:
        return await service.complete_transfer(kefu, user.workspace_id, user.id, call_id)

    @post("/calls/{call_id:uuid}/transfer/cancel", status_code=200)
    async def cancel_transfer(self, kefu: Kefu, user: AuthUser, call_id: uuid.UUID) -> CallView:
        return await service.cancel_transfer(kefu, user.workspace_id, user.id, call_id)

    @post("/calls/{call_id:uuid}/conference", status_code=200)
    async def conference(
        self, kefu: Kefu, user: AuthUser, call_id: uuid.UUID, data: ConferenceIn
    ) -> CallView:
        return await service.conference(kefu, user.workspace_id, user.id, call_id, data.number)

    @post("/calls/{call_id:uuid}/listen", status_code=200, guards=[require_role(*MANAGERS)])
    async def listen(self, kefu: Kefu, user: AuthUser, call_id: uuid.UUID) -> Joined:
        """Supervisors and admins listen in, unheard and unseen by caller and agent."""
        return await service.listen(kefu, user.workspace_id, user.id, call_id)

    @post("/calls/{call_id:uuid}/dtmf", status_code=200)
    async def dtmf(self, kefu: Kefu, user: AuthUser, call_id: uuid.UUID, data: DigitIn) -> CallView:
        view, _ = await service.press(kefu, call_id, data.digit, workspace_id=user.workspace_id)
        return view

    @post("/calls/{call_id:uuid}/wrap-up/end", status_code=200)
    async def end_wrap_up(self, kefu: Kefu, user: AuthUser, call_id: uuid.UUID) -> PhoneView:
        await service.get_view(kefu, user.workspace_id, call_id)
        return await service.end_wrap_up(kefu, user.workspace_id, user.id)

    @post("/calls/{call_id:uuid}/notes", status_code=201)
    async def note(
        self, kefu: Kefu, user: AuthUser, call_id: uuid.UUID, data: NoteIn
    ) -> MessageView:
        view = await service.get_view(kefu, user.workspace_id, call_id)
        return await actions.reply(kefu, view.conversation_id, actor_of(user), data.body, note=True)


class WidgetCallsController(Controller):
    path = "/api/v1/widget/calls"
    tags = ("widget",)
    middleware = (cors_any_origin,)
    dependencies = {"caller": Provide(provide_caller)}

    @post("/", status_code=200)
    async def start(
        self, kefu: Kefu, caller: Caller, request: Request[Any, Any, Any]
    ) -> WidgetCall:
        raw = (caller.inbox.config or {}).get(VOICE_INBOX_KEY)
        try:
            voice_inbox = uuid.UUID(str(raw)) if raw else None
        except ValueError:
            voice_inbox = None
        if voice_inbox is None:
            raise service.Unavailable(strings.VOICE_OFF, "voice_off")
        await service.require_voice_inbox(kefu, caller.inbox.workspace_id, voice_inbox)
        if not await service.anyone_signed_in(kefu, caller.inbox.workspace_id):
            raise service.Unavailable(strings.NOBODY, "nobody_available")
        started = await service.start_call(
            kefu,
            voice_inbox,
            identity=caller.identity(),
            also_known_as=caller.also_known_as(),
            contact=caller.contact_facts(),
            conversation_facts=caller.conversation_facts(),
            source="widget",
            caller_identity=f"visitor-{caller.visitor.id}-{uuid.uuid4().hex[:8]}",
            locale=caller.visitor.language or request.headers.get("accept-language"),
        )
        return WidgetCall(
            call=started.call,
            livekit_url=started.joined.livekit_url if started.joined else None,
            token=started.joined.token if started.joined else None,
            prompt=started.prompt,
        )

    @post("/{call_id:uuid}/dtmf", status_code=200)
    async def dtmf(
        self, kefu: Kefu, caller: Caller, call_id: uuid.UUID, data: DigitIn
    ) -> WidgetCall:
        await _own_call(kefu, caller, call_id)
        view, prompt = await service.press(
            kefu, call_id, data.digit, workspace_id=caller.inbox.workspace_id
        )
        return WidgetCall(call=view, prompt=prompt)

    @get("/{call_id:uuid}")
    async def get_own(self, kefu: Kefu, caller: Caller, call_id: uuid.UUID) -> WidgetCall:
        """The call window asks while the caller waits: status, place in the queue and
        the estimated wait."""
        await _own_call(kefu, caller, call_id)
        return WidgetCall(call=await service.get_view(kefu, caller.inbox.workspace_id, call_id))

    @post("/{call_id:uuid}/hangup", status_code=200)
    async def hangup(self, kefu: Kefu, caller: Caller, call_id: uuid.UUID) -> WidgetCall:
        await _own_call(kefu, caller, call_id)
        await service.caller_hung_up(kefu, call_id)
        return WidgetCall(call=await service.get_view(kefu, caller.inbox.workspace_id, call_id))


async def _own_call(kefu: Kefu, caller: Caller, call_id: uuid.UUID) -> None:
    """A visitor acts only on a call they placed from this browser's visitor."""
    if not await service.placed_by(kefu, call_id, f"visitor-{caller.visitor.id}-"):
        raise NotFound(strings.NOT_FOUND)


ROUTES = [CallsController, WidgetCallsController]
__all__ = ["ROUTES", "AgentPhone", "Call", "ChannelKind", "User", "msgspec"]
