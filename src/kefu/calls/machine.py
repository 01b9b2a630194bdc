"""The call state machine, pure: no database, no LiveKit. A transition takes the call's
current facts and an action and answers the new facts plus the contracted `call.*`
event-log entries (see CONTRACTS.md), so the service can write both in one transaction.
Illegal transitions raise `IllegalTransition` and change nothing."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import msgspec


class CallStatus(enum.StrEnum):
    IVR = "ivr"
    QUEUED = "queued"
    RINGING = "ringing"
    CONNECTED = "connected"
    HELD = "held"
    WRAP_UP = "wrap_up"
    ENDED = "ended"
    ABANDONED = "abandoned"
    VOICEMAIL = "voicemail"
    MISSED = "missed"


TERMINAL = frozenset({CallStatus.ENDED, CallStatus.ABANDONED, CallStatus.MISSED})
# A voicemail call is finished once its recording is stored (`voicemail_stored`).
_WAITING = frozenset({CallStatus.IVR, CallStatus.QUEUED, CallStatus.RINGING})
_TALKING = frozenset({CallStatus.CONNECTED, CallStatus.HELD})


class IllegalTransition(Exception):
    def __init__(self, status: CallStatus, action: str) -> None:
        super().__init__(f"{action} is not allowed while the call is {status.value}")
        self.status = status
        self.action = action


class CallFacts(msgspec.Struct, kw_only=True):
    """What the machine needs to know about a call; the service maps its row to this."""

    call_id: str
    inbox_id: str
    status: CallStatus = CallStatus.IVR
    group_id: str | None = None
    agent_id: str | None = None
    ringing_agent_id: str | None = None
    queued_at: datetime | None = None
    answered_at: datetime | None = None
    held_since: datetime | None = None
    hold_s: int = 0
    hold_at_answer_s: int = 0  # hold_s when this agent leg was answered
    wait_s: int = 0
    talk_s: int = 0
    wrap_started_at: datetime | None = None
    hangup_cause: str | None = None


class Emitted(msgspec.Struct, frozen=True):
    """One event-log entry: type, data, and the agent it is about (actor) if any."""

    type: str
    data: dict[str, Any]
    agent_id: str | None = None


def _secs(start: datetime | None, now: datetime) -> int:
    return max(0, int((now - start).total_seconds())) if start else 0


def _require(facts: CallFacts, action: str, allowed: frozenset[CallStatus]) -> None:
    if facts.status not in allowed:
        raise IllegalTransition(facts.status, action)


def _copy(facts: CallFacts, **changes: Any) -> CallFacts:
    return msgspec.structs.replace(facts, **changes)


def enter_queue(
    facts: CallFacts, now: datetime, group_id: str | None
) -> tuple[CallFacts, list[Emitted]]:
    """IVR chose a queue (or there is no IVR). The wait clock starts here."""
    _require(facts, "enter_queue", frozenset({CallStatus.IVR}))
    new = _copy(facts, status=CallStatus.QUEUED, group_id=group_id, queued_at=now)
    return new, [
        Emitted(
            "call.enterqueue",
            {"call_id": facts.call_id, "inbox_id": facts.inbox_id, "group_id": group_id},
        )
    ]


def ring(facts: CallFacts, now: datetime, agent_id: str) -> tuple[CallFacts, list[Emitted]]:
    """Offer the call to one agent. No contracted event: ringing is not a queue event."""
    _require(facts, "ring", frozenset({CallStatus.QUEUED}))
    return _copy(facts, status=CallStatus.RINGING, ringing_agent_id=agent_id), []


def ring_no_answer(facts: CallFacts, now: datetime) -> tuple[CallFacts, list[Emitted]]:
    """Ring timeout or rejection: back to the queue, the next agent gets it."""
    _require(facts, "ring_no_answer", frozenset({CallStatus.RINGING}))
    agent = facts.ringing_agent_id
    new = _copy(facts, status=CallStatus.QUEUED, ringing_agent_id=None)
    return new, [Emitted("call.ringnoanswer", {"call_id": facts.call_id, "agent_id": agent}, agent)]


def connect(facts: CallFacts, now: datetime, agent_id: str) -> tuple[CallFacts, list[Emitted]]:
    """The ringing agent answered. Only the agent being rung may answer."""
    _require(facts, "connect", frozenset({CallStatus.RINGING}))
    if facts.ringing_agent_id is not None and facts.ringing_agent_id != agent_id:
        raise IllegalTransition(facts.status, "connect by an agent not being rung")
    wait = facts.wait_s + _secs(facts.queued_at, now)
    new = _copy(
        facts,
        status=CallStatus.CONNECTED,
        agent_id=agent_id,
        ringing_agent_id=None,
        answered_at=now,
        hold_at_answer_s=facts.hold_s,
        wait_s=wait,
    )
    return new, [
        Emitted(
            "call.connect",
            {"call_id": facts.call_id, "agent_id": agent_id, "wait_s": wait},
            agent_id,
        )
    ]


def hold(facts: CallFacts, now: datetime) -> tuple[CallFacts, list[Emitted]]:
    _require(facts, "hold", frozenset({CallStatus.CONNECTED}))
    return _copy(facts, status=CallStatus.HELD, held_since=now), []


def unhold(facts: CallFacts, now: datetime) -> tuple[CallFacts, list[Emitted]]:
    _require(facts, "unhold", frozenset({CallStatus.HELD}))
    held = facts.hold_s + _secs(facts.held_since, now)
    return _copy(facts, status=CallStatus.CONNECTED, held_since=None, hold_s=held), []


def _talk_totals(facts: CallFacts, now: datetime) -> tuple[int, int]:
    hold_s = facts.hold_s + (_secs(facts.held_since, now) if facts.status is CallStatus.HELD else 0)
    # Talk is time since this leg was answered minus hold during the leg, added to
    # talk from earlier legs (after a transfer or an agent drop).
    leg_hold = hold_s - facts.hold_at_answer_s
    talk_s = facts.talk_s + max(0, _secs(facts.answered_at, now) - leg_hold)
    return talk_s, hold_s


def hang_up(
    facts: CallFacts, now: datetime, by: str, cause: str
) -> tuple[CallFacts, list[Emitted]]:
    """A hang-up. While talking it completes the call (by "agent" or "caller") and
    starts wrap-up; while waiting it is the caller abandoning."""
    if by not in ("agent", "caller"):
        raise ValueError(by)
    if facts.status in _WAITING and by == "caller":
        wait = facts.wait_s + _secs(facts.queued_at, now)
        new = _copy(
            facts,
            status=CallStatus.ABANDONED,
            wait_s=wait,
            ringing_agent_id=None,
            hangup_cause=cause,
        )
        return new, [Emitted("call.abandon", {"call_id": facts.call_id, "wait_s": wait})]
    _require(facts, f"hang_up by {by}", _TALKING)
    talk_s, hold_s = _talk_totals(facts, now)
    new = _copy(
        facts,
        status=CallStatus.WRAP_UP,
        talk_s=talk_s,
        hold_s=hold_s,
        held_since=None,
        wrap_started_at=now,
        hangup_cause=cause,
    )
    data = {
        "call_id": facts.call_id,
        "agent_id": facts.agent_id,
        "talk_s": talk_s,
        "hold_s": hold_s,
    }
    return new, [Emitted(f"call.complete{by}", data, facts.agent_id)]


def end_wrap_up(facts: CallFacts, now: datetime) -> tuple[CallFacts, list[Emitted]]:
    _require(facts, "end_wrap_up", frozenset({CallStatus.WRAP_UP}))
    wrap = _secs(facts.wrap_started_at, now)
    new = _copy(facts, status=CallStatus.ENDED)
    data = {"call_id": facts.call_id, "agent_id": facts.agent_id, "wrap_s": wrap}
    return new, [Emitted("call.wrapup", data, facts.agent_id)]


def agent_dropped(facts: CallFacts, now: datetime) -> tuple[CallFacts, list[Emitted]]:
    """The agent's leg vanished mid-call (network, tab closed): the caller is not lost,
    the call goes back to the queue (the service puts it at the front). The wait clock
    restarts and adds to the wait already spent; talk so far is kept."""
    _require(facts, "agent_dropped", _TALKING)
    talk_s, hold_s = _talk_totals(facts, now)
    new = _copy(
        facts,
        status=CallStatus.QUEUED,
        agent_id=None,
        answered_at=None,
        held_since=None,
        talk_s=talk_s,
        hold_s=hold_s,
        queued_at=now,
    )
    return new, []


def transfer(
    facts: CallFacts, now: datetime, to_kind: str, to: str, *, attended: bool = False
) -> tuple[CallFacts, list[Emitted]]:
    """Blind (or, after a consult, attended) transfer. To an agent: rings that agent;
    to a group: back in the queue of that group; external: the call leaves us."""
    _require(facts, "transfer", _TALKING)
    if to_kind not in ("agent", "group", "external"):
        raise ValueError(to_kind)
    talk_s, hold_s = _talk_totals(facts, now)
    kind = "call.attendedtransfer" if attended else "call.transfer"
    data = {"call_id": facts.call_id, "from_agent_id": facts.agent_id, "to_kind": to_kind, "to": to}
    base: dict[str, Any] = {
        "talk_s": talk_s,
        "hold_s": hold_s,
        "held_since": None,
        "answered_at": None,
    }
    if to_kind == "agent":
        new = _copy(
            facts,
            status=CallStatus.RINGING,
            agent_id=None,
            ringing_agent_id=to,
            queued_at=now,
            **base,
        )
    elif to_kind == "group":
        new = _copy(
            facts, status=CallStatus.QUEUED, agent_id=None, group_id=to, queued_at=now, **base
        )
    else:
        new = _copy(facts, status=CallStatus.ENDED, hangup_cause="transferred_external", **base)
    return new, [Emitted(kind, data, facts.agent_id)]


def exit_queue(
    facts: CallFacts, now: datetime, *, key: str | None = None
) -> tuple[CallFacts, list[Emitted]]:
    """Leave the queue for voicemail: on max wait (no key) or by pressing `key`."""
    _require(facts, "exit_queue", frozenset({CallStatus.QUEUED, CallStatus.RINGING}))
    wait = facts.wait_s + _secs(facts.queued_at, now)
    new = _copy(facts, status=CallStatus.VOICEMAIL, wait_s=wait, ringing_agent_id=None)
    if key is None:
        return new, [Emitted("call.exitwithtimeout", {"call_id": facts.call_id, "wait_s": wait})]
    return new, [
        Emitted("call.exitwithkey", {"call_id": facts.call_id, "key": key, "wait_s": wait})
    ]


def to_voicemail(facts: CallFacts, now: datetime) -> tuple[CallFacts, list[Emitted]]:
    """IVR branch straight to voicemail (e.g. off hours): no queue was entered."""
    _require(facts, "to_voicemail", frozenset({CallStatus.IVR}))
    return _copy(facts, status=CallStatus.VOICEMAIL), []


def voicemail_stored(
    facts: CallFacts, now: datetime, duration_s: int
) -> tuple[CallFacts, list[Emitted]]:
    _require(facts, "voicemail_stored", frozenset({CallStatus.VOICEMAIL}))
    new = _copy(facts, hangup_cause=facts.hangup_cause or "voicemail")
    return new, [
        Emitted("call.voicemail", {"call_id": facts.call_id, "duration_s": max(0, duration_s)})
    ]


def miss(facts: CallFacts, now: datetime, cause: str) -> tuple[CallFacts, list[Emitted]]:
    """Nobody can take the call and there is no voicemail to fall back to."""
    _require(facts, "miss", _WAITING | {CallStatus.VOICEMAIL})
    new = _copy(facts, status=CallStatus.MISSED, ringing_agent_id=None, hangup_cause=cause)
    return new, [Emitted("call.missed", {"call_id": facts.call_id})]
