"""The call state machine: every legal path writes the contracted call.* events with
integer-second durations; illegal transitions are refused and change nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kefu.calls import machine as m
from kefu.calls.machine import CallFacts, CallStatus, IllegalTransition

T0 = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)


def at(s: int) -> datetime:
    return T0 + timedelta(seconds=s)


def fresh() -> CallFacts:
    return CallFacts(call_id="c1", inbox_id="i1")


def test_full_call_writes_contracted_events_with_durations() -> None:
    f, ev = m.enter_queue(fresh(), at(0), "g1")
    assert [(e.type, e.data) for e in ev] == [
        ("call.enterqueue", {"call_id": "c1", "inbox_id": "i1", "group_id": "g1"})
    ]
    f, ev = m.ring(f, at(5), "a1")
    assert f.status is CallStatus.RINGING and ev == []
    f, ev = m.ring_no_answer(f, at(20))
    assert ev[0].type == "call.ringnoanswer" and ev[0].data == {"call_id": "c1", "agent_id": "a1"}
    f, _ = m.ring(f, at(21), "a2")
    f, ev = m.connect(f, at(30), "a2")
    assert ev[0].data == {"call_id": "c1", "agent_id": "a2", "wait_s": 30}
    f, _ = m.hold(f, at(40))
    f, _ = m.unhold(f, at(50))
    f, ev = m.hang_up(f, at(90), "caller", "caller_hangup")
    assert ev[0].type == "call.completecaller"
    assert ev[0].data == {"call_id": "c1", "agent_id": "a2", "talk_s": 50, "hold_s": 10}
    assert f.status is CallStatus.WRAP_UP and f.hangup_cause == "caller_hangup"
    f, ev = m.end_wrap_up(f, at(120))
    assert f.status is CallStatus.ENDED
    assert ev[0].type == "call.wrapup" and ev[0].data == {
        "call_id": "c1",
        "agent_id": "a2",
        "wrap_s": 30,
    }


def test_agent_hangs_up_while_held_counts_open_hold() -> None:
    f, _ = m.enter_queue(fresh(), at(0), None)
    f, _ = m.ring(f, at(0), "a1")
    f, _ = m.connect(f, at(10), "a1")
    f, _ = m.hold(f, at(20))
    f, ev = m.hang_up(f, at(35), "agent", "agent_hangup")
    assert ev[0].type == "call.completeagent"
    assert ev[0].data["talk_s"] == 10 and ev[0].data["hold_s"] == 15


@pytest.mark.parametrize("status", [CallStatus.IVR, CallStatus.QUEUED, CallStatus.RINGING])
def test_caller_hangup_while_waiting_is_abandon(status: CallStatus) -> None:
    f = CallFacts(
        call_id="c1",
        inbox_id="i1",
        status=status,
        queued_at=None if status is CallStatus.IVR else at(0),
    )
    f, ev = m.hang_up(f, at(12), "caller", "caller_hangup")
    assert f.status is CallStatus.ABANDONED
    assert ev[0].type == "call.abandon"
    assert ev[0].data == {"call_id": "c1", "wait_s": 0 if status is CallStatus.IVR else 12}


def test_max_wait_and_key_exit_to_voicemail_then_stored() -> None:
    f, _ = m.enter_queue(fresh(), at(0), "g1")
    g, ev = m.exit_queue(f, at(300))
    assert (
        g.status is CallStatus.VOICEMAIL
        and ev[0].type == "call.exitwithtimeout"
        and ev[0].data["wait_s"] == 300
    )
    g, ev = m.exit_queue(f, at(40), key="1")
    assert ev[0].data == {"call_id": "c1", "key": "1", "wait_s": 40}
    g, ev = m.voicemail_stored(g, at(70), 25)
    assert ev[0].type == "call.voicemail" and ev[0].data == {"call_id": "c1", "duration_s": 25}


def test_agent_drop_requeues_and_keeps_talk_and_wait() -> None:
    f, _ = m.enter_queue(fresh(), at(0), "g1")
    f, _ = m.ring(f, at(0), "a1")
    f, _ = m.connect(f, at(10), "a1")
    f, ev = m.agent_dropped(f, at(40))
    assert f.status is CallStatus.QUEUED and f.agent_id is None and f.talk_s == 30 and ev == []
    f, _ = m.ring(f, at(41), "a2")
    f, ev = m.connect(f, at(45), "a2")
    assert ev[0].data["wait_s"] == 15  # 10 before the first answer + 5 after the drop
    f, ev = m.hang_up(f, at(55), "agent", "agent_hangup")
    assert ev[0].data["talk_s"] == 40


@pytest.mark.parametrize(
    ("to_kind", "status"),
    [("agent", CallStatus.RINGING), ("group", CallStatus.QUEUED), ("external", CallStatus.ENDED)],
)
def test_transfer_targets(to_kind: str, status: CallStatus) -> None:
    f, _ = m.enter_queue(fresh(), at(0), "g1")
    f, _ = m.ring(f, at(0), "a1")
    f, _ = m.connect(f, at(1), "a1")
    f, ev = m.transfer(f, at(9), to_kind, "x", attended=to_kind == "agent")
    assert f.status is status
    assert ev[0].type == ("call.attendedtransfer" if to_kind == "agent" else "call.transfer")
    assert ev[0].data == {"call_id": "c1", "from_agent_id": "a1", "to_kind": to_kind, "to": "x"}


def test_only_the_rung_agent_can_connect() -> None:
    f, _ = m.enter_queue(fresh(), at(0), None)
    f, _ = m.ring(f, at(0), "a1")
    with pytest.raises(IllegalTransition):
        m.connect(f, at(1), "a2")


def test_miss_and_direct_voicemail() -> None:
    f, ev = m.miss(fresh(), at(3), "no_agents")
    assert (
        f.status is CallStatus.MISSED
        and ev[0].type == "call.missed"
        and f.hangup_cause == "no_agents"
    )
    f, ev = m.to_voicemail(fresh(), at(0))
    assert f.status is CallStatus.VOICEMAIL and ev == []


ILLEGAL = [
    (CallStatus.IVR, lambda f: m.ring(f, at(0), "a")),
    (CallStatus.IVR, lambda f: m.connect(f, at(0), "a")),
    (CallStatus.QUEUED, lambda f: m.enter_queue(f, at(0), None)),
    (CallStatus.QUEUED, lambda f: m.hold(f, at(0))),
    (CallStatus.CONNECTED, lambda f: m.unhold(f, at(0))),
    (CallStatus.CONNECTED, lambda f: m.ring(f, at(0), "a")),
    (CallStatus.HELD, lambda f: m.hold(f, at(0))),
    (CallStatus.WRAP_UP, lambda f: m.hang_up(f, at(0), "agent", "x")),
    (CallStatus.ENDED, lambda f: m.end_wrap_up(f, at(0))),
    (CallStatus.ENDED, lambda f: m.hang_up(f, at(0), "caller", "x")),
    (CallStatus.ABANDONED, lambda f: m.enter_queue(f, at(0), None)),
    (CallStatus.MISSED, lambda f: m.voicemail_stored(f, at(0), 3)),
    (CallStatus.VOICEMAIL, lambda f: m.connect(f, at(0), "a")),
    (CallStatus.QUEUED, lambda f: m.hang_up(f, at(0), "agent", "x")),
]


@pytest.mark.parametrize(("status", "act"), ILLEGAL)
def test_illegal_transitions_refused_and_nothing_changes(status: CallStatus, act) -> None:  # type: ignore[no-untyped-def]
    f = CallFacts(call_id="c1", inbox_id="i1", status=status)
    before = CallFacts(call_id="c1", inbox_id="i1", status=status)
    with pytest.raises(IllegalTransition):
        act(f)
    assert f == before
