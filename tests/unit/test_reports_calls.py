"""The calls report computed from events the call state machine itself emits (the
vocabulary of kefu.calls.machine), every figure worked out by hand: a transfer's second
leg and a caller hanging up after an agent drop are not a second answer or an abandon."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from kefu.calls import machine as m
from kefu.reports import compute, views

T0 = datetime(2026, 11, 18, 6, 0, tzinfo=UTC)  # 14:00 in Shanghai


class Log:
    """Emitted events as event-log rows, each at its machine time."""

    def __init__(self) -> None:
        self.rows: list[compute.Row] = []

    def __call__(self, out: tuple[m.CallFacts, list[m.Emitted]], at: datetime) -> m.CallFacts:
        facts, emitted = out
        for e in emitted:
            self.rows.append(
                compute.Row(
                    id=uuid.uuid4(),
                    type=e.type,
                    conversation_id=None,
                    actor_kind="agent" if e.agent_id else "system",
                    actor_id=uuid.UUID(e.agent_id) if e.agent_id else None,
                    data=e.data,
                    created_at=at,
                )
            )
        return facts


def at(seconds: int) -> datetime:
    return T0 + timedelta(seconds=seconds)


def numbers(rows: list[compute.Row], sl: int = 20) -> dict[str, Any]:
    cells = compute.compute(
        rows, compute.Context(timezone="Asia/Shanghai", service_level_seconds=sl)
    )
    return views.calls(compute.merge(s for (_d, dim, _k), s in cells.items() if dim == "all"))


def test_calls_from_the_machines_own_events() -> None:
    lina, tom = str(uuid.uuid4()), str(uuid.uuid4())
    log = Log()

    def queued(call_id: str, t: int) -> m.CallFacts:
        return log(m.enter_queue(m.CallFacts(call_id=call_id, inbox_id="i"), at(t), None), at(t))

    # c1: answered by Lina after 20 s (exactly T), 100 s talk incl. 10 s hold, 30 s wrap.
    f = queued("c1", 0)
    f = log(m.ring(f, at(15), lina), at(15))
    f = log(m.connect(f, at(20), lina), at(20))
    f = log(m.hold(f, at(50)), at(50))
    f = log(m.unhold(f, at(60)), at(60))
    f = log(m.hang_up(f, at(120), "caller", "normal"), at(120))
    log(m.end_wrap_up(f, at(150)), at(150))
    # c2: answered by Tom after 25 s, blind-transferred to Lina 60 s in, who answers 5 s
    # later; the caller hangs up 40 s after that. One answer, not two.
    f = queued("c2", 100)
    f = log(m.ring(f, at(120), tom), at(120))
    f = log(m.connect(f, at(125), tom), at(125))
    f = log(m.transfer(f, at(185), "agent", lina), at(185))
    f = log(m.connect(f, at(190), lina), at(190))
    f = log(m.hang_up(f, at(230), "caller", "normal"), at(230))
    log(m.end_wrap_up(f, at(240)), at(240))
    # c3: abandoned after 8 s (inside T); c4 abandoned after 40 s while ringing (outside).
    f = queued("c3", 300)
    log(m.hang_up(f, at(308), "caller", "gone"), at(308))
    f = queued("c4", 400)
    f = log(m.ring(f, at(410), tom), at(410))
    f = log(
        m.ring_no_answer(
            f,
            at(430),
        ),
        at(430),
    )
    log(m.hang_up(f, at(440), "caller", "gone"), at(440))
    # c5: answered by Tom after 10 s, his leg drops, the caller hangs up in the queue:
    # answered once, and not an abandon.
    f = queued("c5", 500)
    f = log(m.ring(f, at(505), tom), at(505))
    f = log(m.connect(f, at(510), tom), at(510))
    f = log(m.agent_dropped(f, at(530)), at(530))
    log(m.hang_up(f, at(560), "caller", "gone"), at(560))
    # c6: times out of the queue into voicemail after 90 s, a 30 s message.
    f = queued("c6", 600)
    f = log(m.exit_queue(f, at(690)), at(690))
    log(m.voicemail_stored(f, at(720), 30), at(720))

    n = numbers(log.rows)
    assert (n["offered"], n["answered"], n["abandoned"]) == (6, 3, 2)
    assert n["abandon_rate"] == 2 / 5  # abandoned / (answered + abandoned)
    assert n["asa_s"] == (20 + 25 + 10) / 3
    # SL: c1 (20 s, = T), c2 (25 s, out), c5 (10 s): 2 of 3. SL2 adds c3 (8 s) over 3 + 2.
    assert n["service_level"] == 2 / 3
    assert n["service_level_2"] == (2 + 1) / (3 + 2)
    # AHT over completed calls: c1 talk 90 + hold 10 + wrap 30; c2 talk 60 + 40, wrap 10.
    assert (n["talk_s"], n["hold_s"], n["wrap_s"]) == (90 + 100, 10, 30 + 10)
    assert n["aht_s"] == (90 + 10 + 30 + 100 + 10) / 2
    assert (n["exited"], n["voicemails"], n["transfers"]) == (1, 1, 1)
    # With T = 25 the edge moves: c2 is inside too.
    assert numbers(log.rows, sl=25)["service_level"] == 1.0
