"""Calls: the shell around the pure `calls.machine` and `ivr.engine`.

Every transition reads the call row, asks the machine for the new facts and its `call.*`
event-log entries, and writes both in one transaction; the call row's version makes
the write conditional, so of two processes acting on one call only one wins (the other
gets `Conflict`, or retries when it was a timer or a media event). Realtime events go
out after the commit. The media server is reached only through the voice connector's
`MediaGateway` (`kefu.connectors.find("voice")`), never inside a transaction that holds
locks, except the calls that must succeed before anything is written (a room for a new
call, a number dialled for an external transfer)."""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar, cast

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from kefu.calls import machine, strings, waiting
from kefu.calls.machine import CallFacts, CallStatus, Emitted, IllegalTransition
from kefu.calls.media import CallPolicy, MediaEvent, MediaGateway, MediaUnavailable
from kefu.calls.schemas import CallContact, CallView, Joined, PhoneView, Prompt
from kefu.calls.tables import WAITING_STATUSES, AgentPhone, Call
from kefu.channel_state.inboxes import ChannelInbox, active_inbox
from kefu.context import Kefu
from kefu.conversations.events import LoggedEvent, record, record_many
from kefu.conversations.ingest import ingest
from kefu.db import retry
from kefu.db.tables import Contact, Conversation, GroupMember, Inbox, SkillGroup, User
from kefu.errors import Conflict, Invalid, KefuError, NotFound
from kefu.i18n import Text
from kefu.ivr import engine
from kefu.ivr.menu import IvrTree
from kefu.model import (
    CallEvent,
    ChannelKind,
    ContactFacts,
    ConversationFacts,
    ConversationStatus,
    Identity,
    Inbound,
    MessageType,
    new_id,
    utcnow,
)
from kefu.reports.schemas import CallsNow
from kefu.routing import acd
from kefu.routing.availability import calendar_id_of, is_open
from kefu.routing.loaders import facts_of, policies_of
from kefu.routing.route import decide
from kefu.routing.rules import TargetKind

log = logging.getLogger(__name__)
T = TypeVar("T")

# A call whose agent dropped goes back in front of every other waiting call.
FRONT = 1_000_000
# How many waiting calls one distribution pass takes.
BATCH = 500
TALKING = (CallStatus.CONNECTED.value, CallStatus.HELD.value)
ON_PHONE = ("ringing", "connected", "held")
# The call queue's one order: a dropped call (FRONT) or a rule's priority first, then
# the longest wait, then id so the order is total.
CALL_QUEUE_ORDER = (sa.desc(Call.priority), Call.queued_at.asc(), Call.id.asc())


class Unavailable(KefuError):
    """Voice cannot be offered now; `reason` tells the widget what to offer instead."""

    status_code = 503
    title = "Service unavailable"

    def __init__(self, detail: Text, reason: str) -> None:
        super().__init__(detail, extra={"reason": reason})
        self.reason = reason


def agent_identity(user_id: uuid.UUID) -> str:
    return f"agent-{user_id}"


def room_of(call_id: uuid.UUID) -> str:
    return f"call-{call_id}"


# ---------------------------------------------------------------------------
# the media server, the inbox's policy and IVR


def gateway(kefu: Kefu) -> MediaGateway:
    connector = kefu.connectors.find(ChannelKind.voice)
    if connector is None or not isinstance(connector, MediaGateway):
        raise MediaUnavailable("no voice connector is installed")
    return connector


def policy_of(config: dict[str, Any]) -> CallPolicy:
    raw = {k: v for k, v in config.items() if k in CallPolicy.__struct_fields__}
    try:
        return msgspec.convert(raw, CallPolicy, strict=False)
    except msgspec.ValidationError:
        return CallPolicy()


def tree_of(config: dict[str, Any]) -> IvrTree | None:
    raw = config.get("ivr")
    if not raw:
        return None
    try:
        return msgspec.convert(raw, IvrTree)
    except (msgspec.ValidationError, ValueError):
        log.warning("a voice inbox has an IVR tree that no longer decodes; callers skip it")
        return None


async def _inbox(kefu: Kefu, inbox_id: uuid.UUID) -> ChannelInbox:
    inbox = await active_inbox(kefu, inbox_id, ChannelKind.voice)
    if inbox is None:
        raise Unavailable(strings.VOICE_OFF, "voice_off")
    return inbox


# ---------------------------------------------------------------------------
# row <-> machine facts, views, events


def facts(call: Call) -> CallFacts:
    return CallFacts(
        call_id=str(call.id),
        inbox_id=str(call.inbox_id),
        status=CallStatus(call.status),
        group_id=str(call.group_id) if call.group_id else None,
        agent_id=str(call.agent_id) if call.agent_id else None,
        ringing_agent_id=str(call.ringing_agent_id) if call.ringing_agent_id else None,
        queued_at=call.queued_at,
        answered_at=call.answered_at,
        held_since=call.held_since,
        hold_s=call.hold_s,
        hold_at_answer_s=call.hold_at_answer_s,
        wait_s=call.wait_s,
        talk_s=call.talk_s,
        wrap_started_at=call.wrap_started_at,
        hangup_cause=call.hangup_cause,
    )


def _uid(value: str | None) -> uuid.UUID | None:
    return uuid.UUID(value) if value else None


class Tx:
    """One transaction's work on calls: the session, the time, and what to publish and
    ask the media server once it has committed."""

    def __init__(self, kefu: Kefu, session: AsyncSession, now: datetime) -> None:
        self.kefu = kefu
        self.session = session
        self.now = now
        self.publish: list[tuple[str, uuid.UUID, uuid.UUID, list[uuid.UUID]]] = []
        self.after: list[Callable[[], Awaitable[None]]] = []
        self.serve: set[uuid.UUID] = set()
        self._configs: dict[uuid.UUID, dict[str, Any]] = {}

    async def config(self, inbox_id: uuid.UUID) -> dict[str, Any]:
        """An inbox's config read in this transaction (no second connection from the
        pool while this one holds locks)."""
        if inbox_id not in self._configs:
            found = await self.session.scalar(sa.select(Inbox.config).where(Inbox.id == inbox_id))
            self._configs[inbox_id] = dict(found or {})
        return self._configs[inbox_id]

    def apply(
        self,
        call: Call,
        step: tuple[CallFacts, list[Emitted]],
        *,
        actor: uuid.UUID | None = None,
        publish: bool = True,
    ) -> None:
        """Write the machine's new facts onto the row, and its event-log entries;
        `publish` False when the caller sends a more specific event (call.ringing)."""
        new, emitted = step
        before = _rung(call)
        call.status = new.status.value
        call.group_id = _uid(new.group_id)
        call.agent_id = _uid(new.agent_id)
        call.ringing_agent_id = _uid(new.ringing_agent_id)
        call.queued_at = new.queued_at
        call.answered_at = new.answered_at
        call.held_since = new.held_since
        call.hold_s = new.hold_s
        call.hold_at_answer_s = new.hold_at_answer_s
        call.wait_s = new.wait_s
        call.talk_s = new.talk_s
        call.wrap_started_at = new.wrap_started_at
        call.hangup_cause = new.hangup_cause
        call.updated_at = self.now
        if new.status is not CallStatus.RINGING:
            call.rung = []
            call.ring_deadline_at = None
        if new.status.value in ("ended", "abandoned", "missed") and call.ended_at is None:
            call.ended_at = self.now
        for entry in emitted:
            agent = _uid(entry.agent_id) or actor
            record(
                self.session,
                LoggedEvent(
                    workspace_id=call.workspace_id,
                    conversation_id=call.conversation_id,
                    type=entry.type,
                    actor_kind="agent" if agent else "system",
                    actor_id=agent,
                    data=entry.data,
                ),
            )
        if publish:
            self.updated(call, to=before)

    def updated(self, call: Call, *, to: Iterable[uuid.UUID] = ()) -> None:
        people = set(_rung(call)) | set(to)
        if call.agent_id:
            people.add(call.agent_id)
        self.publish.append(("call.updated", call.workspace_id, call.id, sorted(people)))

    def ringing(self, call: Call, agents: Sequence[uuid.UUID]) -> None:
        self.publish.append(("call.ringing", call.workspace_id, call.id, list(agents)))

    def media(
        self, call: Call, job: Callable[[MediaGateway, ChannelInbox], Awaitable[None]]
    ) -> None:
        """Ask the media server after commit (best effort: a failure is logged)."""
        kefu = self.kefu

        async def run_job() -> None:
            inbox = await active_inbox(kefu, call.inbox_id)
            if inbox is not None:
                await job(gateway(kefu), inbox)

        self.after.append(run_job)


async def run(kefu: Kefu, work: Callable[[Tx], Awaitable[T]], *, what: str = "call") -> T:
    """`work` in one transaction, retried when the database asks (deadlock,
    serialisation); then the realtime events and the media-server follow-ups."""

    async def once() -> tuple[T, Tx, dict[uuid.UUID, CallView]]:
        async with kefu.db.transaction() as session:
            tx = Tx(kefu, session, utcnow())
            result = await work(tx)
            await session.flush()
            views = await _views(session, list({cid for _, _, cid, _ in tx.publish}))
        return result, tx, views

    result, tx, views = await retry.run(once, what=what)
    for kind, workspace_id, call_id, agents in tx.publish:
        view = views.get(call_id)
        if view is not None:
            kefu.events.publish(
                CallEvent(
                    kind=kind,
                    workspace_id=workspace_id,
                    agent_ids=agents,
                    call=msgspec.to_builtins(view),
                )
            )
    for job in tx.after:
        try:
            await job()
        except MediaUnavailable as exc:
            log.warning("media server: %s", exc.reason)
    for workspace_id in tx.serve:
        await serve(kefu, workspace_id)
    return result


async def _views(session: AsyncSession, ids: list[uuid.UUID]) -> dict[uuid.UUID, CallView]:
    if not ids:
        return {}
    query = sa.select(Call).where(Call.id.in_(ids)).execution_options(populate_existing=True)
    calls = (await session.scalars(query)).all()
    return {c.id: v for c, v in zip(calls, await views_of(session, calls), strict=True)}


async def views_of(session: AsyncSession, calls: Sequence[Call]) -> list[CallView]:
    contact_ids = {c.contact_id for c in calls if c.contact_id}
    contacts: dict[uuid.UUID, Contact] = {}
    if contact_ids:
        rows = await session.scalars(sa.select(Contact).where(Contact.id.in_(contact_ids)))
        contacts = {c.id: c for c in rows}
    standing = await waiting.standing(session, calls)
    return [
        view_of(c, contacts.get(c.contact_id) if c.contact_id else None, standing.get(c.id))
        for c in calls
    ]


def media_url(location: str | None) -> str | None:
    """Where the console plays a recording: object storage URLs and our own paths as
    they are; a bare key under kefu's media route."""
    if not location:
        return None
    if location.startswith(("http://", "https://", "/")):
        return location
    return "/api/v1/media/" + location


def view_of(
    call: Call, contact: Contact | None, standing: tuple[int, int] | None = None
) -> CallView:
    duration: int | None
    if call.voicemail_location:
        duration = call.voicemail_duration_s
    elif call.recording_location:
        duration = call.recording_duration_s
    else:
        duration = call.talk_s + call.hold_s if call.answered_at or call.talk_s else None
    return CallView(
        id=call.id,
        conversation_id=call.conversation_id,
        inbox_id=call.inbox_id,
        contact=CallContact(
            id=call.contact_id,
            name=contact.name if contact else None,
            phone=(contact.phone if contact else None) or call.caller_number,
        ),
        direction="outbound" if call.direction == "outbound" else "inbound",
        status=call.status,  # type: ignore[arg-type]
        room=call.room,
        ivr_path=[str(k) for k in call.ivr_path or []],
        group_id=call.group_id,
        agent_id=call.agent_id,
        ringing_agent_ids=_rung(call) if call.status == "ringing" else [],
        queued_at=call.queued_at,
        answered_at=call.answered_at,
        ended_at=call.ended_at,
        wait_s=call.wait_s,
        talk_s=call.talk_s,
        hold_s=call.hold_s,
        recording_url=media_url(call.recording_location),
        voicemail_url=media_url(call.voicemail_location),
        duration_s=duration,
        hangup_cause=call.hangup_cause,
        consult_agent_id=_uid((call.consult or {}).get("agent_id")),
        position=standing[0] if standing else None,
        estimated_wait_s=standing[1] if standing else None,
        created_at=call.created_at,
    )


def _rung(call: Call) -> list[uuid.UUID]:
    found = {uuid.UUID(str(a)) for a in call.rung or []}
    if call.ringing_agent_id:
        found.add(call.ringing_agent_id)
    return sorted(found)


# ---------------------------------------------------------------------------
# phones


async def _phone(
    session: AsyncSession, user_id: uuid.UUID, *, lock: bool = True
) -> AgentPhone | None:
    query = sa.select(AgentPhone).where(AgentPhone.user_id == user_id)
    if lock:
        query = query.with_for_update()
    return await session.scalar(query)


def _log_phone(tx: Tx, phone: AgentPhone, type_: str, reason: str | None = None) -> None:
    data: dict[str, Any] = {"agent_id": str(phone.user_id)}
    if reason:
        data["reason"] = reason
    record(
        tx.session,
        LoggedEvent(
            workspace_id=phone.workspace_id,
            type=type_,
            actor_kind="agent",
            actor_id=phone.user_id,
            data=data,
        ),
    )


def _set_state(tx: Tx, phone: AgentPhone, state: str, reason: str | None = None) -> None:
    """Move a phone to `state`, logging AGENTLOGIN / PAUSE / UNPAUSE / AGENTLOGOFF."""
    before = phone.state
    if before == state and (state != "not_ready" or phone.reason == reason):
        return
    if before == "offline":
        _log_phone(tx, phone, "call.agentlogin")
    if before == "not_ready":
        _log_phone(tx, phone, "call.unpause")
    if state == "not_ready":
        _log_phone(tx, phone, "call.pause", reason)
    if state == "offline":
        _log_phone(tx, phone, "call.agentlogoff")
    phone.state = state
    phone.reason = reason if state == "not_ready" else None
    phone.since = tx.now
    if state != "wrap_up":
        phone.wrap_until = None


async def set_phone_state(
    kefu: Kefu, workspace_id: uuid.UUID, user_id: uuid.UUID, state: str, reason: str | None
) -> PhoneView:
    async def work(tx: Tx) -> None:
        phone = await _phone(tx.session, user_id)
        if phone is None:
            phone = AgentPhone(
                user_id=user_id, workspace_id=workspace_id, state="offline", since=tx.now
            )
            tx.session.add(phone)
        if state == "offline" and phone.call_id is not None:
            raise Conflict(strings.BUSY_PHONE)
        if phone.state == "wrap_up":
            await _end_wrap_up(tx, phone)
        _set_state(tx, phone, state, reason)
        if state == "ready":
            tx.serve.add(workspace_id)

    await run(kefu, work, what="phone state")
    return await phone_of(kefu, user_id)


async def phone_of(kefu: Kefu, user_id: uuid.UUID) -> PhoneView:
    async with kefu.db.session() as session:
        phone = await _phone(session, user_id, lock=False)
        if phone is None:
            return PhoneView(state="offline")
        call = await session.get(Call, phone.call_id) if phone.call_id else None
        view = (await views_of(session, [call]))[0] if call is not None else None
    state = phone.state
    if call is not None and call.status in ON_PHONE:
        state = "busy"
    return PhoneView(state=state, reason=phone.reason, since=phone.since, call=view)  # type: ignore[arg-type]


async def _free(tx: Tx, call: Call, agents: Iterable[uuid.UUID]) -> None:
    """The agents' phones let go of this call (no longer offered to or held by them)."""
    ids = sorted(set(agents))
    if not ids:
        return
    phones = await tx.session.scalars(
        sa.select(AgentPhone)
        .where(AgentPhone.user_id.in_(ids), AgentPhone.call_id == call.id)
        .order_by(AgentPhone.user_id)
        .with_for_update()
    )
    for phone in phones:
        phone.call_id = None


async def _wrap_up(tx: Tx, call: Call, agent_id: uuid.UUID | None, policy: CallPolicy) -> None:
    """The agent's talk on this call is over: after-call work, then the next call."""
    if agent_id is None:
        return
    phone = await _phone(tx.session, agent_id)
    if phone is None:
        return
    if policy.wrap_up_s > 0 and phone.state == "ready":
        _set_state(tx, phone, "wrap_up")
        phone.wrap_until = tx.now + timedelta(seconds=policy.wrap_up_s)
        phone.call_id = call.id if call.status == CallStatus.WRAP_UP.value else None
        return
    phone.call_id = None
    if call.status == CallStatus.WRAP_UP.value:
        tx.apply(call, machine.end_wrap_up(facts(call), tx.now))
        call.wrap_s = 0
    tx.serve.add(call.workspace_id)


async def _end_wrap_up(tx: Tx, phone: AgentPhone) -> None:
    """Wrap-up ends (the agent says so, or `wrap_up_s` passed): the call is ended."""
    if phone.call_id is not None:
        call = await tx.session.get(Call, phone.call_id, with_for_update=True)
        if call is not None and call.status == CallStatus.WRAP_UP.value:
            started = call.wrap_started_at
            tx.apply(call, machine.end_wrap_up(facts(call), tx.now))
            call.wrap_s = max(0, int((tx.now - started).total_seconds())) if started else 0
    phone.call_id = None
    if phone.state == "wrap_up":
        _set_state(tx, phone, "ready")
    tx.serve.add(phone.workspace_id)


async def end_wrap_up(kefu: Kefu, workspace_id: uuid.UUID, user_id: uuid.UUID) -> PhoneView:
    async def work(tx: Tx) -> None:
        phone = await _phone(tx.session, user_id)
        if phone is None or phone.state != "wrap_up":
            raise Conflict(strings.NOT_NOW.format(status="wrap_up"))
        await _end_wrap_up(tx, phone)

    await run(kefu, work, what="end wrap-up")
    return await phone_of(kefu, user_id)


# ---------------------------------------------------------------------------
# starting a call


class Started(msgspec.Struct, frozen=True, kw_only=True):
    call: CallView
    joined: Joined | None
    prompt: Prompt | None


async def start_call(
    kefu: Kefu,
    inbox_id: uuid.UUID,
    *,
    identity: Identity,
    also_known_as: tuple[Identity, ...] = (),
    contact: ContactFacts | None = None,
    conversation_facts: ConversationFacts | None = None,
    source: str = "widget",
    caller_identity: str | None = None,
    caller_number: str | None = None,
    room: str | None = None,
    locale: str | None = None,
) -> Started:
    """A caller reaches a voice inbox: the widget's call button, or a SIP call the voice
    connector saw join `room` (it passes the room and the participant's identity). The
    conversation is the contact's voice conversation, opened or continued through
    `ingest` like every channel's message; the call enters the IVR, or the queue when
    the inbox has none. Widget callers get a token for the room."""
    inbox = await _inbox(kefu, inbox_id)
    try:
        media = gateway(kefu)
        call_id = new_id()
        if room is None:
            room = room_of(call_id)
            # The room first: when the media server is down, nothing is written.
            await media.create_room(inbox, room, empty_timeout_s=60)
    except MediaUnavailable:
        raise Unavailable(strings.MEDIA_DOWN, "media_unavailable") from None
    caller = caller_identity or f"caller-{call_id}"
    result = await ingest(
        kefu,
        Inbound(
            inbox_id=inbox.id,
            identity=identity,
            also_known_as=also_known_as,
            channel_message_id=f"call:{call_id}",
            type=MessageType.call,
            body=strings.CALL_MESSAGE.render(locale or "zh-CN"),
            contact=contact or ContactFacts(),
            facts=conversation_facts or ConversationFacts(),
        ),
    )
    assert result.conversation_id is not None
    conversation_id = result.conversation_id
    policy = policy_of(inbox.config)
    tree = tree_of(inbox.config)
    call_room = room

    async def work(tx: Tx) -> Prompt | None:
        call = Call(
            id=call_id,
            workspace_id=inbox.workspace_id,
            conversation_id=conversation_id,
            inbox_id=inbox.id,
            contact_id=result.contact_id,
            direction="inbound",
            source=source,
            room=call_room,
            caller_identity=caller,
            caller_number=caller_number,
            status=CallStatus.IVR.value,
            priority=0,
            ivr_path=[],
            rung=[],
            tried=[],
            created_at=tx.now,
            updated_at=tx.now,
        )
        tx.session.add(call)
        await tx.session.flush()
        said: list[engine.Say] = []
        # The caller's language; a phone caller we know nothing of hears the inbox's.
        lang = engine.pick_locale(
            locale
            or (contact.language if contact is not None else None)
            or str(inbox.config.get("locale") or "zh-CN")
        )
        if policy.record and policy.recording_notice:
            said.append(engine.Say(text=strings.RECORDING_NOTICE.render(lang)))
        if tree is None:
            await _enter_queue(tx, call, policy, group_id=None, entry=None)
        else:
            open_now = await is_open(
                tx.session, inbox.workspace_id, calendar_id_of(inbox.config), tx.now
            )
            step = engine.start(tree, open_now=open_now, locale=lang)
            said.extend(await _ivr_step(tx, call, policy, step))
        tx.updated(call)
        # A queued call is offered in this same transaction, as chat routes inside
        # ingest's: one commit from arrival to ringing.
        queued = call.status == CallStatus.QUEUED.value
        if queued and await _serve_batch(tx, call.workspace_id) < BATCH:
            tx.serve.discard(call.workspace_id)
        return _prompt(said)

    prompt = await run(kefu, work, what="start call")
    view = await get_view(kefu, inbox.workspace_id, call_id)
    joined: Joined | None = None
    if source == "widget":
        name = contact.name if contact is not None and contact.name else "caller"
        try:
            joined = Joined(
                livekit_url=media.server_url(inbox),
                token=media.token(inbox, room=call_room, identity=caller, name=name),
                room=call_room,
            )
        except MediaUnavailable:
            raise Unavailable(strings.MEDIA_DOWN, "media_unavailable") from None
    return Started(call=view, joined=joined, prompt=prompt)


def _prompt(said: Sequence[engine.Say]) -> Prompt | None:
    if not said:
        return None
    audio = next((s.audio_url for s in reversed(said) if s.audio_url), None)
    return Prompt(text=" ".join(s.text for s in said), audio_url=audio)


async def _ivr_step(tx: Tx, call: Call, policy: CallPolicy, step: engine.Step) -> list[engine.Say]:
    """Store where the caller is in the IVR and act on where the step leads."""
    said = list(step.prompts)
    call.ivr_state = msgspec.to_builtins(step.state)
    if said:
        call.prompt = " ".join(s.text for s in said)
    outcome = step.outcome
    if outcome is None:
        call.ivr_path = list(step.state.path)
        call.timer_at = tx.now + timedelta(seconds=step.timeout_s or 8)
        return said
    call.ivr_path = list(outcome.path)
    call.timer_at = None
    if isinstance(outcome, engine.Routed):
        await _enter_queue(tx, call, policy, group_id=outcome.group_id, entry=outcome.entry)
    elif isinstance(outcome, engine.ToVoicemail):
        tx.apply(call, machine.to_voicemail(facts(call), tx.now))
        said.append(engine.Say(text=strings.VOICEMAIL_PROMPT.render(step.state.locale)))
        await _start_voicemail(tx, call, policy)
    else:
        tx.apply(call, machine.miss(facts(call), tx.now, "ivr_hangup"))
        await _settle_conversation(tx, call)
        _end_media(tx, call)
    return said


async def _enter_queue(
    tx: Tx,
    call: Call,
    policy: CallPolicy,
    *,
    group_id: uuid.UUID | None,
    entry: str | None,
) -> None:
    """The routing rules decide the group (the IVR's choice is the entry) unless the IVR
    named one; then the call waits for an agent (`serve`)."""
    conversation = await tx.session.get(Conversation, call.conversation_id)
    assert conversation is not None
    call.entry = entry
    if group_id is None:
        contact = await tx.session.get(Contact, call.contact_id) if call.contact_id else None
        routing_facts = facts_of(conversation, contact)
        if entry:
            routing_facts = msgspec.structs.replace(routing_facts, entry_point=entry)
        decision = await decide(
            tx.session, call.workspace_id, call.inbox_id, routing_facts, tx.now, skip_bot=True
        )
        target = decision.target
        if target.kind is TargetKind.leave_message:
            tx.apply(call, machine.to_voicemail(facts(call), tx.now))
            await _start_voicemail(tx, call, policy)
            return
        group_id = target.group_id
        if target.kind is TargetKind.agent and target.agent_id is not None:
            call.ivr_state = {**(call.ivr_state or {}), REQUESTED: str(target.agent_id)}
        if decision.priority is not None:
            call.priority = max(call.priority, decision.priority)
    if group_id is not None:
        group_id = await tx.session.scalar(
            sa.select(SkillGroup.id).where(
                SkillGroup.id == group_id, SkillGroup.workspace_id == call.workspace_id
            )
        )
    tx.apply(call, machine.enter_queue(facts(call), tx.now, str(group_id) if group_id else None))
    call.timer_at = tx.now + timedelta(seconds=policy.max_wait_s)
    conversation.group_id = group_id
    tx.serve.add(call.workspace_id)


REQUESTED = "requested_agent"


async def _start_voicemail(tx: Tx, call: Call, policy: CallPolicy) -> None:
    """Record the caller's message, capped: the sweep stops it after the cap."""
    call.timer_at = tx.now + timedelta(seconds=policy.voicemail_max_s)
    await _settle_conversation(tx, call)
    call_id, room, participant = call.id, call.room, call.caller_identity
    kefu = tx.kefu

    async def record_voicemail(media: MediaGateway, inbox: ChannelInbox) -> None:
        egress = await media.start_recording(
            inbox, room, kind="voicemail", call_id=call_id, participant=participant
        )
        await _remember_egress(kefu, call_id, "voicemail", egress)

    tx.media(call, record_voicemail)


async def _remember_egress(kefu: Kefu, call_id: uuid.UUID, kind: str, egress: str) -> None:
    async with kefu.db.transaction() as session:
        call = await session.get(Call, call_id, with_for_update=True)
        if call is not None:
            if kind == "voicemail":
                call.voicemail_egress_id = egress
            else:
                call.recording_egress_id = egress


async def _settle_conversation(tx: Tx, call: Call) -> None:
    """A call nobody answered (voicemail, abandoned, missed) leaves its conversation
    pending for the team to follow up, unless an agent already holds it."""
    conversation = await tx.session.get(Conversation, call.conversation_id)
    if conversation is not None and conversation.status == ConversationStatus.queued:
        conversation.status = ConversationStatus.pending
        conversation.updated_at = tx.now


def _end_media(tx: Tx, call: Call) -> None:
    room = call.room

    async def delete(media: MediaGateway, inbox: ChannelInbox) -> None:
        await media.delete_room(inbox, room)

    tx.media(call, delete)


# ---------------------------------------------------------------------------
# the queue: waiting calls to ready agents, through the ACD


async def serve(kefu: Kefu, workspace_id: uuid.UUID) -> int:
    """Offer waiting calls to ready agents in queue order; answers how many rang.
    Waiting calls are claimed with SKIP LOCKED and agents' phones locked in id order,
    so two processes never offer two calls to one agent nor one call twice."""
    total = 0
    while True:
        rang = await run(kefu, lambda tx: _serve_batch(tx, workspace_id), what="serve calls")
        total += rang
        if rang < BATCH:
            return total


async def _serve_batch(tx: Tx, workspace_id: uuid.UUID) -> int:
    session = tx.session
    phones_query = (
        sa.select(AgentPhone)
        .join(User, User.id == AgentPhone.user_id)
        .where(
            AgentPhone.workspace_id == workspace_id,
            AgentPhone.state == "ready",
            AgentPhone.call_id.is_(None),
            User.active.is_(True),
        )
        .order_by(AgentPhone.user_id)
    )
    if not tx.kefu.db.is_sqlite:
        phones_query = phones_query.with_for_update(of=AgentPhone)
    phones = {p.user_id: p for p in (await session.scalars(phones_query)).all()}
    if not phones:
        return 0
    calls_query = (
        sa.select(Call)
        .where(Call.workspace_id == workspace_id, Call.status == CallStatus.QUEUED.value)
        .order_by(*CALL_QUEUE_ORDER)
        .limit(BATCH)
    )
    if not tx.kefu.db.is_sqlite:
        calls_query = calls_query.with_for_update(skip_locked=True)
    calls = (await session.scalars(calls_query)).all()
    if not calls:
        return 0
    groups: dict[uuid.UUID, set[uuid.UUID]] = {}
    for gid, uid in await session.execute(
        sa.select(GroupMember.group_id, GroupMember.user_id).where(
            GroupMember.user_id.in_(list(phones))
        )
    ):
        groups.setdefault(uid, set()).add(gid)
    contacts = {
        c.id: c
        for c in await session.scalars(
            sa.select(Contact).where(Contact.id.in_({c.contact_id for c in calls if c.contact_id}))
        )
    }
    last = {
        conv.id: (conv.assignee_id, conv.assigned_at)
        for conv in await session.scalars(
            sa.select(Conversation).where(Conversation.id.in_({c.conversation_id for c in calls}))
        )
    }
    policies = await policies_of(session, workspace_id)
    inbox_policies: dict[uuid.UUID, CallPolicy] = {}
    free = {
        uid: acd.AgentState(
            id=uid,
            presence="online",
            capacity={"voice": 1},
            load={},
            last_assigned_at=p.last_call_at,
            online_since=p.since,
            groups=frozenset(groups.get(uid, set())),
        )
        for uid, p in phones.items()
    }
    rang = 0
    ringing: list[dict[str, Any]] = []
    offered: list[dict[str, Any]] = []
    for call in calls:
        if not free:
            break
        if call.inbox_id not in inbox_policies:
            inbox_policies[call.inbox_id] = policy_of(await tx.config(call.inbox_id))
        policy = inbox_policies[call.inbox_id]
        tried = {str(a) for a in call.tried or []}
        contact = contacts.get(call.contact_id) if call.contact_id else None
        last_agent, last_at = last.get(call.conversation_id, (None, None))
        requested = (call.ivr_state or {}).get(REQUESTED)
        request = acd.Request(
            conversation_id=call.id,
            channel="voice",
            group_id=call.group_id,
            queued_at=call.queued_at or tx.now,
            priority=call.priority,
            vip_level=contact.vip_level if contact else 0,
            region=contact.region if contact else None,
            last_agent_id=last_agent,
            last_served_at=last_at,
            agent_id=uuid.UUID(requested) if requested and requested not in tried else None,
        )
        group_policy = policies.get(call.group_id, acd.GroupPolicy())
        candidates = [a for a in free.values() if str(a.id) not in tried]
        members = [a for a in candidates if call.group_id is None or call.group_id in a.groups]
        reset = False
        if not members and tried:
            # Everyone free has been tried once: start the round again.
            reset = True
            candidates = list(free.values())
            members = [a for a in candidates if call.group_id is None or call.group_id in a.groups]
        if not members and request.agent_id is None:
            continue
        if policy.ring_strategy == "all":
            chosen = [a.id for a in members]
        else:
            choice = acd.choose_agent(request, candidates, group_policy, tx.now)
            if choice.agent_id is None:
                continue
            chosen = [choice.agent_id]
        if not chosen:
            continue
        # The machine says the move is legal; the row is written below with the others.
        new, _ = machine.ring(facts(call), tx.now, str(chosen[0]))
        deadline = tx.now + timedelta(seconds=policy.ring_timeout_s)
        max_wait = (call.queued_at or tx.now) + timedelta(seconds=policy.max_wait_s)
        ringing.append(
            {
                "b_id": call.id,
                "b_version": call.version,
                "b_agent": chosen[0] if len(chosen) == 1 else None,
                "b_rung": [str(a) for a in chosen] if len(chosen) > 1 else [],
                "b_tried": [] if reset else list(call.tried or []),
                "b_deadline": deadline,
                "b_timer": min(deadline, max_wait),
            }
        )
        assert new.status is CallStatus.RINGING
        for agent_id in chosen:
            offered.append({"b_user": agent_id, "b_call": call.id})
            free.pop(agent_id, None)
        # Everyone it concerns hears call.ringing (supervisors hear every call event).
        tx.ringing(call, chosen)
        rang += 1
    await _write_rings(tx, ringing, offered)
    return rang


async def _write_rings(
    tx: Tx, ringing: list[dict[str, Any]], offered: list[dict[str, Any]]
) -> None:
    """One executemany per table instead of a flush per call: the hot path when a burst
    of calls meets a room full of free agents. The calls are locked (SKIP LOCKED) by
    this pass, and the version is bumped as the ORM would, so a concurrent answer or
    timer still sees the change."""
    if not ringing:
        return
    calls = cast(sa.Table, Call.__table__)
    phones = cast(sa.Table, AgentPhone.__table__)
    result = await tx.session.execute(
        sa.update(calls)
        .where(calls.c.id == sa.bindparam("b_id"), calls.c.version == sa.bindparam("b_version"))
        .values(
            status=CallStatus.RINGING.value,
            ringing_agent_id=sa.bindparam("b_agent"),
            rung=sa.bindparam("b_rung", type_=calls.c.rung.type),
            tried=sa.bindparam("b_tried", type_=calls.c.tried.type),
            ring_deadline_at=sa.bindparam("b_deadline", type_=calls.c.ring_deadline_at.type),
            timer_at=sa.bindparam("b_timer", type_=calls.c.timer_at.type),
            updated_at=tx.now,
            version=calls.c.version + 1,
        ),
        ringing,
        execution_options={"synchronize_session": False},
    )
    rowcount = getattr(result, "rowcount", -1)
    if rowcount not in (-1, len(ringing)):
        raise StaleDataError("a waiting call changed while it was offered")
    await tx.session.execute(
        sa.update(phones)
        .where(phones.c.user_id == sa.bindparam("b_user"))
        .values(call_id=sa.bindparam("b_call"), last_call_at=tx.now),
        offered,
        execution_options={"synchronize_session": False},
    )


# ---------------------------------------------------------------------------
# agent actions


async def _call_for(
    tx: Tx, workspace_id: uuid.UUID, call_id: uuid.UUID, *, lock: bool = False
) -> Call:
    query = sa.select(Call).where(Call.id == call_id, Call.workspace_id == workspace_id)
    if lock:
        query = query.with_for_update()
    call = await tx.session.scalar(query)
    if call is None:
        raise NotFound(strings.NOT_FOUND)
    return call


def _step(fn: Callable[[], tuple[CallFacts, list[Emitted]]]) -> tuple[CallFacts, list[Emitted]]:
    try:
        return fn()
    except IllegalTransition as exc:
        raise Conflict(strings.NOT_NOW.format(status=exc.status.value)) from None


async def _policy_outside(kefu: Kefu, call: Call) -> CallPolicy:
    inbox = await active_inbox(kefu, call.inbox_id)
    return policy_of(inbox.config if inbox else {})


async def _policy(tx: Tx, call: Call) -> CallPolicy:
    return policy_of(await tx.config(call.inbox_id))


async def answer(
    kefu: Kefu, workspace_id: uuid.UUID, user_id: uuid.UUID, call_id: uuid.UUID
) -> Joined:
    """The rung agent takes the call. Of two answers at once (two agents of a ring-all,
    or one agent's two tabs on two servers) exactly one wins: the conditional UPDATE on
    the call's version; the other is told the call was taken (409)."""

    async def work(tx: Tx) -> Call:
        call = await _call_for(tx, workspace_id, call_id)
        if call.status != CallStatus.RINGING.value:
            raise Conflict(
                strings.TAKEN if call.agent_id else strings.NOT_NOW.format(status=call.status)
            )
        rung = _rung(call)
        if user_id not in rung:
            raise Conflict(strings.NOT_YOURS)
        others = [a for a in rung if a != user_id]
        # Ring all: the machine lets whoever is rung connect.
        base = facts(call)
        if call.ringing_agent_id is None:
            base = msgspec.structs.replace(base, ringing_agent_id=None)
        tx.apply(call, _step(lambda: machine.connect(base, tx.now, str(user_id))), actor=user_id)
        call.timer_at = None
        call.tried = []
        # The race is decided here: UPDATE ... WHERE version = the one read.
        await tx.session.flush()
        await _free(tx, call, others)
        conversation = await tx.session.get(Conversation, call.conversation_id)
        if conversation is not None:
            conversation.assignee_id = user_id
            conversation.assigned_at = tx.now
            conversation.status = ConversationStatus.open
            conversation.updated_at = tx.now
        return call

    try:
        call = await run(kefu, work, what="answer")
    except StaleDataError:
        raise Conflict(strings.TAKEN) from None
    policy = await _policy_outside(kefu, call)
    inbox = await _inbox(kefu, call.inbox_id)
    try:
        media = gateway(kefu)
        joined = Joined(
            livekit_url=media.server_url(inbox),
            token=media.token(
                inbox, room=call.room, identity=agent_identity(user_id), name="agent"
            ),
            room=call.room,
        )
        if policy.record:
            egress = await media.start_recording(inbox, call.room, kind="call", call_id=call.id)
            await _remember_egress(kefu, call.id, "call", egress)
    except MediaUnavailable:
        raise Unavailable(strings.MEDIA_DOWN, "media_unavailable") from None
    return joined


async def act(
    kefu: Kefu,
    workspace_id: uuid.UUID,
    user_id: uuid.UUID,
    call_id: uuid.UUID,
    action: str,
) -> CallView:
    """reject / hangup / hold / unhold by the agent on (or rung for) the call."""

    async def work(tx: Tx) -> None:
        call = await _call_for(tx, workspace_id, call_id, lock=True)
        policy = await _policy(tx, call)
        if action == "reject":
            if call.status != CallStatus.RINGING.value or user_id not in _rung(call):
                raise Conflict(strings.NOT_YOURS)
            await _ring_no_answer(tx, call, policy, only=user_id)
            return
        if call.agent_id != user_id:
            raise Conflict(strings.NOT_YOURS)
        if action == "hold":
            tx.apply(call, _step(lambda: machine.hold(facts(call), tx.now)), actor=user_id)
        elif action == "unhold":
            tx.apply(call, _step(lambda: machine.unhold(facts(call), tx.now)), actor=user_id)
        elif action == "hangup":
            tx.apply(
                call,
                _step(lambda: machine.hang_up(facts(call), tx.now, "agent", "agent_hangup")),
                actor=user_id,
            )
            await _wrap_up(tx, call, user_id, policy)
            await _stop_recording(tx, call)
            _end_media(tx, call)
        else:
            raise Invalid(f"unknown call action {action!r}")

    await run(kefu, work, what=f"call {action}")
    return await get_view(kefu, workspace_id, call_id)


async def _ring_no_answer(
    tx: Tx, call: Call, policy: CallPolicy, *, only: uuid.UUID | None = None
) -> None:
    """RINGNOANSWER: the rung agent(s) let it ring out or rejected it; the next gets it.
    In a ring-all, one agent's rejection leaves the others ringing."""
    rung = _rung(call)
    if only is not None and len(rung) > 1:
        call.rung = [str(a) for a in rung if a != only]
        call.tried = [*(call.tried or []), str(only)]
        await _free(tx, call, [only])
        record(
            tx.session,
            LoggedEvent(
                workspace_id=call.workspace_id,
                conversation_id=call.conversation_id,
                type="call.ringnoanswer",
                actor_kind="agent",
                actor_id=only,
                data={"call_id": str(call.id), "agent_id": str(only)},
            ),
        )
        tx.updated(call, to=[only])
        return
    base = facts(call)
    if call.ringing_agent_id is None and rung:
        base = msgspec.structs.replace(base, ringing_agent_id=str(rung[0]))
    tx.apply(call, machine.ring_no_answer(base, tx.now))
    call.tried = [*(call.tried or []), *(str(a) for a in rung)]
    await _free(tx, call, rung)
    max_wait = (call.queued_at or tx.now) + timedelta(seconds=policy.max_wait_s)
    call.timer_at = max_wait
    tx.serve.add(call.workspace_id)


async def _stop_recording(tx: Tx, call: Call) -> None:
    egress = call.recording_egress_id
    if egress:

        async def stop(media: MediaGateway, inbox: ChannelInbox) -> None:
            await media.stop_recording(inbox, egress)

        tx.media(call, stop)


async def transfer(
    kefu: Kefu,
    workspace_id: uuid.UUID,
    user_id: uuid.UUID,
    call_id: uuid.UUID,
    *,
    agent_id: uuid.UUID | None,
    group_id: uuid.UUID | None,
    number: str | None,
    attended: bool,
) -> CallView:
    """Blind transfer to an agent (it rings them), a group (back in that queue) or a
    number (dialled into the room; the call leaves us). Attended: the agent is
    consulted first (`complete_transfer` / `cancel_transfer`)."""
    targets = [t for t in (agent_id, group_id, number) if t is not None]
    if len(targets) != 1:
        raise Invalid(strings.ONE_TARGET)
    if attended and agent_id is None:
        raise Invalid(strings.ATTENDED_AGENT_ONLY)
    if number is not None:
        async with kefu.db.session() as session:
            found = await session.scalar(
                sa.select(Call).where(Call.id == call_id, Call.workspace_id == workspace_id)
            )
        if found is None or found.agent_id != user_id or found.status not in TALKING:
            raise Conflict(strings.NOT_YOURS)
        inbox = await _inbox(kefu, found.inbox_id)
        try:
            await gateway(kefu).dial_out(
                inbox, found.room, number=number, identity=f"external-{number}"
            )
        except MediaUnavailable:
            raise Unavailable(strings.MEDIA_DOWN, "media_unavailable") from None

    async def work(tx: Tx) -> None:
        call = await _call_for(tx, workspace_id, call_id, lock=True)
        if call.agent_id != user_id:
            raise Conflict(strings.NOT_YOURS)
        if call.status not in TALKING:
            raise Conflict(strings.NOT_NOW.format(status=call.status))
        policy = await _policy(tx, call)
        if agent_id is not None:
            target = await _reserve(tx, workspace_id, agent_id, call)
            if attended:
                call.consult = {"agent_id": str(agent_id), "since": tx.now.isoformat()}
                if call.status == CallStatus.CONNECTED.value:
                    tx.apply(call, machine.hold(facts(call), tx.now), actor=user_id)
                tx.updated(call)
                tx.ringing(call, [target])
                return
            tx.apply(
                call,
                _step(lambda: machine.transfer(facts(call), tx.now, "agent", str(agent_id))),
                actor=user_id,
            )
            call.ring_deadline_at = tx.now + timedelta(seconds=policy.ring_timeout_s)
            call.timer_at = call.ring_deadline_at
            tx.ringing(call, [target])
        elif group_id is not None:
            exists = await tx.session.scalar(
                sa.select(SkillGroup.id).where(
                    SkillGroup.id == group_id, SkillGroup.workspace_id == workspace_id
                )
            )
            if exists is None:
                raise Invalid(strings.GROUP_UNKNOWN)
            tx.apply(
                call,
                _step(lambda: machine.transfer(facts(call), tx.now, "group", str(group_id))),
                actor=user_id,
            )
            call.timer_at = tx.now + timedelta(seconds=policy.max_wait_s)
            call.tried = [str(user_id)]
            tx.serve.add(workspace_id)
        else:
            tx.apply(
                call,
                _step(lambda: machine.transfer(facts(call), tx.now, "external", str(number))),
                actor=user_id,
            )
            call.timer_at = None
        await _release_agent(tx, call, user_id, policy)

    await run(kefu, work, what="transfer")
    return await get_view(kefu, workspace_id, call_id)


async def _reserve(tx: Tx, workspace_id: uuid.UUID, agent_id: uuid.UUID, call: Call) -> uuid.UUID:
    phone = await _phone(tx.session, agent_id)
    if (
        phone is None
        or phone.workspace_id != workspace_id
        or phone.state != "ready"
        or phone.call_id is not None
    ):
        raise Conflict(strings.AGENT_CANNOT_TAKE)
    phone.call_id = call.id
    phone.last_call_at = tx.now
    return agent_id


async def _release_agent(tx: Tx, call: Call, agent_id: uuid.UUID, policy: CallPolicy) -> None:
    """The transferring agent leaves the call: after-call work for them."""
    phone = await _phone(tx.session, agent_id)
    if phone is None:
        return
    phone.call_id = None
    if policy.wrap_up_s > 0 and phone.state == "ready":
        _set_state(tx, phone, "wrap_up")
        phone.wrap_until = tx.now + timedelta(seconds=policy.wrap_up_s)
    else:
        tx.serve.add(call.workspace_id)

    async def leave(media: MediaGateway, inbox: ChannelInbox) -> None:
        await media.remove_participant(inbox, call.room, agent_identity(agent_id))

    tx.media(call, leave)


async def complete_transfer(
    kefu: Kefu, workspace_id: uuid.UUID, user_id: uuid.UUID, call_id: uuid.UUID
) -> CallView:
    """ATTENDEDTRANSFER: the consulted agent takes the call over."""

    async def work(tx: Tx) -> None:
        call = await _call_for(tx, workspace_id, call_id, lock=True)
        if call.agent_id != user_id:
            raise Conflict(strings.NOT_YOURS)
        target = _uid((call.consult or {}).get("agent_id"))
        if target is None:
            raise Conflict(strings.NO_CONSULT)
        policy = await _policy(tx, call)
        step = _step(
            lambda: machine.transfer(facts(call), tx.now, "agent", str(target), attended=True)
        )
        tx.apply(call, step, actor=user_id)
        tx.apply(call, machine.connect(facts(call), tx.now, str(target)))
        call.consult = None
        call.timer_at = None
        await _release_agent(tx, call, user_id, policy)
        conversation = await tx.session.get(Conversation, call.conversation_id)
        if conversation is not None:
            conversation.assignee_id = target
            conversation.assigned_at = tx.now

    await run(kefu, work, what="complete transfer")
    return await get_view(kefu, workspace_id, call_id)


async def cancel_transfer(
    kefu: Kefu, workspace_id: uuid.UUID, user_id: uuid.UUID, call_id: uuid.UUID
) -> CallView:
    async def work(tx: Tx) -> None:
        call = await _call_for(tx, workspace_id, call_id, lock=True)
        if call.agent_id != user_id:
            raise Conflict(strings.NOT_YOURS)
        target = _uid((call.consult or {}).get("agent_id"))
        if target is None:
            raise Conflict(strings.NO_CONSULT)
        call.consult = None
        await _free(tx, call, [target])
        if call.status == CallStatus.HELD.value:
            tx.apply(call, machine.unhold(facts(call), tx.now), actor=user_id)
        tx.updated(call, to=[target])
        tx.serve.add(workspace_id)

    await run(kefu, work, what="cancel transfer")
    return await get_view(kefu, workspace_id, call_id)


async def conference(
    kefu: Kefu, workspace_id: uuid.UUID, user_id: uuid.UUID, call_id: uuid.UUID, number: str
) -> CallView:
    """A third party (a phone number) joins the room; the call stays with the agent."""
    view = await get_view(kefu, workspace_id, call_id)
    if view.agent_id != user_id or view.status not in TALKING:
        raise Conflict(strings.NOT_YOURS)
    inbox = await _inbox(kefu, view.inbox_id)
    try:
        await gateway(kefu).dial_out(inbox, view.room, number=number, identity=f"external-{number}")
    except MediaUnavailable:
        raise Unavailable(strings.MEDIA_DOWN, "media_unavailable") from None
    return view


def listener_identity(user_id: uuid.UUID) -> str:
    """A supervisor listening in: not `agent-`, so leaving the room never moves the call."""
    return f"listener-{user_id}"


async def listen(
    kefu: Kefu, workspace_id: uuid.UUID, user_id: uuid.UUID, call_id: uuid.UUID
) -> Joined:
    """A supervisor's way into a talking call: a token that may only subscribe (no
    microphone, no data) and is hidden from the room's other participants."""
    view = await get_view(kefu, workspace_id, call_id)
    if view.status not in TALKING:
        raise Conflict(strings.NOT_NOW.format(status=view.status))
    inbox = await _inbox(kefu, view.inbox_id)
    try:
        media = gateway(kefu)
        return Joined(
            livekit_url=media.server_url(inbox),
            token=media.token(
                inbox,
                room=view.room,
                identity=listener_identity(user_id),
                name="supervisor",
                can_publish=False,
            ),
            room=view.room,
        )
    except MediaUnavailable:
        raise Unavailable(strings.MEDIA_DOWN, "media_unavailable") from None


async def get_view(kefu: Kefu, workspace_id: uuid.UUID, call_id: uuid.UUID) -> CallView:
    async with kefu.db.session() as session:
        call = await session.scalar(
            sa.select(Call).where(Call.id == call_id, Call.workspace_id == workspace_id)
        )
        if call is None:
            raise NotFound(strings.NOT_FOUND)
        return (await views_of(session, [call]))[0]


async def list_calls(
    kefu: Kefu,
    workspace_id: uuid.UUID,
    *,
    conversation: uuid.UUID | None = None,
    status: str | None = None,
    agent: uuid.UUID | None = None,
    limit: int = 100,
) -> list[CallView]:
    query = sa.select(Call).where(Call.workspace_id == workspace_id)
    if conversation is not None:
        query = query.where(Call.conversation_id == conversation)
    if status is not None:
        query = query.where(Call.status == status)
    if agent is not None:
        query = query.where(Call.agent_id == agent)
    async with kefu.db.session() as session:
        calls = (await session.scalars(query.order_by(Call.id.desc()).limit(limit))).all()
        return await views_of(session, calls)


# ---------------------------------------------------------------------------
# the caller: keys, hang-up, and what the media server reports


async def press(
    kefu: Kefu, call_id: uuid.UUID, digit: str, *, workspace_id: uuid.UUID | None = None
) -> tuple[CallView, Prompt | None]:
    """A key from the caller (the widget's keypad, a SIP `sip_dtmf`): an IVR step, or
    in the queue a key that leaves for voicemail (`*`, EXITWITHKEY)."""

    async def work(tx: Tx) -> tuple[uuid.UUID, Prompt | None]:
        query = sa.select(Call).where(Call.id == call_id).with_for_update()
        if workspace_id is not None:
            query = query.where(Call.workspace_id == workspace_id)
        call = await tx.session.scalar(query)
        if call is None:
            raise NotFound(strings.NOT_FOUND)
        policy = await _policy(tx, call)
        if call.status == CallStatus.IVR.value:
            tree = tree_of(await tx.config(call.inbox_id))
            if tree is None or call.ivr_state is None:
                return call.workspace_id, None
            state = msgspec.convert(
                {k: v for k, v in call.ivr_state.items() if k != REQUESTED}, engine.State
            )
            said = await _ivr_step(tx, call, policy, engine.press(tree, state, digit))
            tx.updated(call)
            return call.workspace_id, _prompt(said)
        if call.status == CallStatus.QUEUED.value and digit == "*":
            ringing = _rung(call)
            tx.apply(call, machine.exit_queue(facts(call), tx.now, key=digit))
            await _free(tx, call, ringing)
            await _start_voicemail(tx, call, policy)
            return call.workspace_id, Prompt(text=strings.VOICEMAIL_PROMPT.render("zh-CN"))
        return call.workspace_id, None

    ws, prompt = await run(kefu, work, what="dtmf")
    return await get_view(kefu, ws, call_id), prompt


async def caller_hung_up(kefu: Kefu, call_id: uuid.UUID, cause: str = "caller_hangup") -> None:
    async def work(tx: Tx) -> None:
        call = await tx.session.scalar(sa.select(Call).where(Call.id == call_id).with_for_update())
        if call is None:
            return
        await _caller_left(tx, call, cause)

    await run(kefu, work, what="caller hang-up")


async def _caller_left(tx: Tx, call: Call, cause: str) -> None:
    status = call.status
    policy = await _policy(tx, call)
    if status in WAITING_STATUSES:
        ringing = _rung(call)
        tx.apply(call, machine.hang_up(facts(call), tx.now, "caller", cause))
        call.timer_at = None
        await _free(tx, call, ringing)
        await _settle_conversation(tx, call)
        _end_media(tx, call)
        if ringing:
            tx.serve.add(call.workspace_id)
    elif status in TALKING:
        agent = call.agent_id
        tx.apply(call, machine.hang_up(facts(call), tx.now, "caller", cause))
        call.timer_at = None
        consult = _uid((call.consult or {}).get("agent_id"))
        if consult is not None:
            call.consult = None
            await _free(tx, call, [consult])
        await _wrap_up(tx, call, agent, policy)
        await _stop_recording(tx, call)
        _end_media(tx, call)
    elif status == CallStatus.VOICEMAIL.value and call.voicemail_egress_id:
        egress = call.voicemail_egress_id

        async def stop(media: MediaGateway, inbox: ChannelInbox) -> None:
            await media.stop_recording(inbox, egress)

        tx.media(call, stop)


async def _agent_dropped(tx: Tx, call: Call, agent_id: uuid.UUID) -> None:
    """The agent's leg vanished mid-call: the caller goes back to the front of the
    queue (never lost); the agent's phone is paused until they say they are back."""
    if call.status not in TALKING or call.agent_id != agent_id:
        return
    policy = await _policy(tx, call)
    tx.apply(call, machine.agent_dropped(facts(call), tx.now))
    call.priority = max(call.priority, FRONT)
    call.tried = [str(agent_id)]
    call.timer_at = tx.now + timedelta(seconds=policy.max_wait_s)
    phone = await _phone(tx.session, agent_id)
    if phone is not None:
        phone.call_id = None
        _set_state(tx, phone, "not_ready", "connection_lost")
    conversation = await tx.session.get(Conversation, call.conversation_id)
    if conversation is not None:
        conversation.status = ConversationStatus.queued
        conversation.assignee_id = None
    tx.updated(call, to=[agent_id])
    tx.serve.add(call.workspace_id)


async def handle_media_event(kefu: Kefu, event: MediaEvent) -> None:
    """What the media server reported (verified and de-duplicated by the connector)."""
    if event.kind == "dtmf":
        if event.digit is None:
            return
        call_id = await _call_id_of_room(kefu, event.room)
        if call_id is not None:
            try:
                await press(kefu, call_id, event.digit)
            except (Conflict, NotFound, engine.InvalidKey):
                log.info("ignored key %r for room %s", event.digit, event.room)
        return
    if event.kind not in ("participant_left", "egress_ended", "room_finished"):
        return

    async def work(tx: Tx) -> None:
        call = await tx.session.scalar(
            sa.select(Call).where(Call.room == event.room).with_for_update()
        )
        if call is None:
            return
        if event.kind == "participant_left":
            if event.participant == call.caller_identity:
                await _caller_left(tx, call, "caller_hangup")
            elif event.participant and event.participant.startswith("agent-"):
                try:
                    agent_id = uuid.UUID(event.participant.removeprefix("agent-"))
                except ValueError:
                    return
                await _agent_dropped(tx, call, agent_id)
        elif event.kind == "room_finished":
            await _caller_left(tx, call, "room_finished")
        else:
            await _egress_ended(tx, call, event)

    await run(kefu, work, what="media event")


async def _egress_ended(tx: Tx, call: Call, event: MediaEvent) -> None:
    duration = round(event.duration_s) if event.duration_s is not None else None
    if (event.egress_id is not None and event.egress_id == call.voicemail_egress_id) or (
        call.status == CallStatus.VOICEMAIL.value and event.egress_id != call.recording_egress_id
    ):
        if event.error or not event.file_location:
            tx.apply(call, machine.miss(facts(call), tx.now, "voicemail_failed"))
            return
        call.voicemail_location = event.file_location
        call.voicemail_duration_s = duration
        call.timer_at = None
        if call.status == CallStatus.VOICEMAIL.value:
            tx.apply(call, machine.voicemail_stored(facts(call), tx.now, duration or 0))
            call.ended_at = tx.now
        return
    if event.file_location and not event.error:
        call.recording_location = event.file_location
        call.recording_duration_s = duration
        tx.updated(call)


async def _call_id_of_room(kefu: Kefu, room: str) -> uuid.UUID | None:
    async with kefu.db.session() as session:
        return await session.scalar(sa.select(Call.id).where(Call.room == room))


# ---------------------------------------------------------------------------
# the sweep: deadlines nobody requests (ring timeout, max wait, IVR silence, the
# voicemail cap, wrap-up's end)


async def sweep_once(kefu: Kefu, now: datetime | None = None, batch: int = 200) -> int:
    """One batch of due calls and phones, locked with SKIP LOCKED so two sweepers share
    the work; then waiting calls are offered again. Answers how many it acted on."""
    at = now or utcnow()
    ids: list[uuid.UUID] = []
    async with kefu.db.session() as session:
        ids = list(
            (
                await session.scalars(
                    sa.select(Call.id)
                    .where(Call.timer_at.is_not(None), Call.timer_at <= at)
                    .order_by(Call.timer_at)
                    .limit(batch)
                )
            ).all()
        )
        phone_ids = list(
            (
                await session.scalars(
                    sa.select(AgentPhone.user_id)
                    .where(AgentPhone.state == "wrap_up", AgentPhone.wrap_until <= at)
                    .limit(batch)
                )
            ).all()
        )
        waiting = set(
            (
                await session.scalars(
                    sa.select(Call.workspace_id)
                    .where(Call.status == CallStatus.QUEUED.value)
                    .distinct()
                )
            ).all()
        )
    for call_id in ids:
        try:
            await run(kefu, functools.partial(_due, call_id=call_id, at=at), what="call timer")
        except StaleDataError:
            continue
    for user_id in phone_ids:

        async def end(tx: Tx, uid: uuid.UUID = user_id) -> None:
            phone = await _phone(tx.session, uid)
            due = phone is not None and phone.wrap_until is not None and phone.wrap_until <= at
            if phone is not None and phone.state == "wrap_up" and due:
                await _end_wrap_up(tx, phone)

        await run(kefu, end, what="wrap-up end")
    for workspace_id in waiting:
        await serve(kefu, workspace_id)
    return len(ids) + len(phone_ids)


async def _due(tx: Tx, *, call_id: uuid.UUID, at: datetime) -> None:
    query = sa.select(Call).where(Call.id == call_id)
    if not tx.kefu.db.is_sqlite:
        query = query.with_for_update(skip_locked=True)
    call = await tx.session.scalar(query)
    if call is None or call.timer_at is None or call.timer_at > at:
        return
    now = at
    policy = await _policy(tx, call)
    status = call.status
    max_wait = (call.queued_at or now) + timedelta(seconds=policy.max_wait_s)
    if status == CallStatus.IVR.value:
        tree = tree_of(await tx.config(call.inbox_id))
        if tree is None or call.ivr_state is None:
            await _enter_queue(tx, call, policy, group_id=None, entry=None)
            return
        state = msgspec.convert(
            {k: v for k, v in call.ivr_state.items() if k != REQUESTED}, engine.State
        )
        await _ivr_step(tx, call, policy, engine.timeout(tree, state))
        tx.updated(call)
    elif status in (CallStatus.QUEUED.value, CallStatus.RINGING.value) and max_wait <= now:
        ringing = _rung(call)
        tx.apply(call, machine.exit_queue(facts(call), now))
        await _free(tx, call, ringing)
        if policy.on_max_wait == "callback":
            call.hangup_cause = "callback_requested"
        await _start_voicemail(tx, call, policy)
    elif status == CallStatus.RINGING.value:
        if call.ring_deadline_at is not None and call.ring_deadline_at <= now:
            await _ring_no_answer(tx, call, policy)
        else:
            call.timer_at = min(call.ring_deadline_at or max_wait, max_wait)
    elif status == CallStatus.VOICEMAIL.value:
        call.timer_at = None
        egress = call.voicemail_egress_id
        if egress:

            async def stop(media: MediaGateway, inbox: ChannelInbox) -> None:
                await media.stop_recording(inbox, egress)

            tx.media(call, stop)
        else:
            tx.apply(call, machine.miss(facts(call), now, "voicemail_failed"))
    else:
        call.timer_at = None if status != CallStatus.QUEUED.value else max_wait


async def run_call_sweep(kefu: Kefu, stop: Any, every: float) -> None:
    import asyncio
    import contextlib

    while not stop.is_set():
        try:
            await sweep_once(kefu)
        except Exception:  # a bad batch must not end the loop
            log.exception("call sweep failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every)


# ---------------------------------------------------------------------------
# the board


async def calls_now(session: AsyncSession, workspace_id: uuid.UUID, now: datetime) -> CallsNow:
    rows = (
        await session.execute(
            sa.select(Call.status, sa.func.count(), sa.func.min(Call.queued_at))
            .where(
                Call.workspace_id == workspace_id,
                Call.status.in_(("queued", "ringing", "connected", "held")),
            )
            .group_by(Call.status)
        )
    ).all()
    counts = {status: int(n) for status, n, _ in rows}
    oldest = [since for status, _, since in rows if status in ("queued", "ringing") and since]
    longest = max(0, int((now - min(oldest)).total_seconds())) if oldest else 0
    return CallsNow(
        queued=counts.get("queued", 0),
        ringing=counts.get("ringing", 0),
        talking=counts.get("connected", 0),
        held=counts.get("held", 0),
        longest_wait_s=longest,
    )


__all__ = [
    "Started",
    "Unavailable",
    "answer",
    "handle_media_event",
    "record_many",
    "start_call",
]


async def require_voice_inbox(kefu: Kefu, workspace_id: uuid.UUID, inbox_id: uuid.UUID) -> None:
    inbox = await active_inbox(kefu, inbox_id, ChannelKind.voice)
    if inbox is None or inbox.workspace_id != workspace_id:
        raise Unavailable(strings.VOICE_OFF, "voice_off")


async def anyone_signed_in(kefu: Kefu, workspace_id: uuid.UUID) -> bool:
    """Someone has the phone on (ready, or busy and coming back): a call can wait."""
    async with kefu.db.session() as session:
        found = await session.scalar(
            sa.select(AgentPhone.user_id)
            .where(AgentPhone.workspace_id == workspace_id, AgentPhone.state != "offline")
            .limit(1)
        )
    return found is not None


async def placed_by(kefu: Kefu, call_id: uuid.UUID, identity_prefix: str) -> bool:
    async with kefu.db.session() as session:
        identity = await session.scalar(sa.select(Call.caller_identity).where(Call.id == call_id))
    return identity is not None and identity.startswith(identity_prefix)


async def inbox_of_room(kefu: Kefu, room: str) -> uuid.UUID | None:
    """The voice inbox whose call has this room: the webhook verifies with its keys."""
    async with kefu.db.session() as session:
        found: uuid.UUID | None = await session.scalar(
            sa.select(Call.inbox_id).where(Call.room == room)
        )
        return found
