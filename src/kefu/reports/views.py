"""A merged state turned into the numbers one report shows (pure)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kefu.reports.compute import State, avg, percentile, percentiles, ratio

Numbers = dict[str, Any]


def _dist(state: State, name: str, prefix: str) -> Numbers:
    values = state.get(name, [])
    p50, p90 = percentiles(values, (50, 90))
    return {f"{prefix}_p50_s": p50, f"{prefix}_p90_s": p90, f"{prefix}_avg_s": avg(values)}


def conversations(state: State) -> Numbers:
    resolved = state.get("resolved", 0)
    return {
        "new": state.get("new", 0),
        "resolved": resolved,
        "reopened": state.get("reopened", 0),
        "reopen_rate": ratio(state.get("reopened", 0), resolved),
        "transfers": state.get("transfers", 0),
        "handled": state.get("handled", 0),
        "left_message": state.get("left_message", 0),
        "unanswered": state.get("unanswered", 0),
        **_dist(state, "first_response_s", "first_response"),
        **_dist(state, "first_response_bh_s", "first_response_bh"),
        **_dist(state, "resolution_s", "resolution"),
        **_dist(state, "resolution_bh_s", "resolution_bh"),
        "replies": len(state.get("reply_s", [])),
        **_dist(state, "reply_s", "reply"),
        **_dist(state, "reply_bh_s", "reply_bh"),
        **_dist(state, "handle_s", "handle"),
        **_dist(state, "handle_bh_s", "handle_bh"),
    }


def csat(state: State) -> Numbers:
    responses = state.get("csat_responses", 0)
    scores = {str(s): state.get(f"csat_{s}", 0) for s in range(1, 6)}
    total = sum(int(k) * v for k, v in scores.items())
    return {
        "responses": responses,
        "resolved": state.get("resolved", 0),
        "response_rate": ratio(responses, state.get("resolved", 0)),
        "average": ratio(total, responses),
        # Share of 4 and 5 among the answers: the usual "satisfied" figure.
        "satisfied_rate": ratio(scores["4"] + scores["5"], responses),
        "distribution": scores,
    }


def bot(state: State) -> Numbers:
    started = state.get("bot_started", 0)
    reasons = {k.split(":", 1)[1]: v for k, v in state.items() if k.startswith("handover_reason:")}
    return {
        "started": started,
        "handed_over": state.get("bot_handed_over", 0),
        "deflected": state.get("bot_deflected", 0),
        "deflection_rate": ratio(state.get("bot_deflected", 0), started),
        "handover_reasons": dict(sorted(reasons.items())),
    }


def agents(state: State) -> Numbers:
    phone_online = state.get("agent_online_s", 0)
    phone_not_ready = state.get("agent_not_ready_s", 0)
    busy = state.get("call_talk_s", 0) + state.get("call_hold_s", 0) + state.get("call_wrap_s", 0)
    online = state.get("presence_signed_in_s", 0)
    return {
        "handled": state.get("handled", 0),
        "resolved": state.get("resolved", 0),
        "transfers": state.get("transfers", 0),
        # Desk presence (agent.presence): signed in = ready (online) + not ready (busy, away).
        "online_s": online,
        "ready_s": state.get("presence_ready_s", 0),
        "not_ready_s": state.get("presence_not_ready_s", 0),
        "busy_s": state.get("presence_busy_s", 0),
        "away_s": state.get("presence_away_s", 0),
        # Conversations held at once, time-weighted: held seconds over signed-in seconds.
        "concurrency": ratio(state.get("handle_total_s", 0), online),
        **_dist(state, "handle_s", "handle"),
        **_dist(state, "handle_bh_s", "handle_bh"),
        **_dist(state, "reply_s", "reply"),
        **_dist(state, "reply_bh_s", "reply_bh"),
        # Phone queue log-in (call.agentlogin / call.pause), the base of call occupancy.
        "phone_online_s": phone_online,
        "phone_not_ready_s": phone_not_ready,
        "phone_ready_s": max(0, phone_online - phone_not_ready),
        "csat_responses": state.get("csat_responses", 0),
        "csat_average": ratio(
            sum(s * state.get(f"csat_{s}", 0) for s in range(1, 6)),
            state.get("csat_responses", 0),
        ),
        "occupancy": ratio(busy, phone_online),
        **_dist(state, "first_response_s", "first_response"),
    }


def tickets(state: State) -> Numbers:
    out: Numbers = {
        "created": state.get("tickets_created", 0),
        "resolved": state.get("tickets_resolved", 0),
        "reopened": state.get("tickets_reopened", 0),
        **_dist(state, "ticket_resolution_s", "resolution"),
    }
    for target in ("first_response", "next_response", "resolution"):
        met = state.get(f"sla_{target}_met", 0)
        breached = state.get(f"sla_{target}_breached", 0)
        out[f"sla_{target}_met"] = met
        out[f"sla_{target}_breached"] = breached
        out[f"sla_{target}_rate"] = ratio(met, met + breached)
    return out


def calls(state: State) -> Numbers:
    answered = state.get("calls_answered", 0)
    abandoned = state.get("calls_abandoned", 0)
    within = state.get("calls_answered_within", 0)
    abandoned_within = state.get("calls_abandoned_within", 0)
    completed = state.get("calls_completed", 0)
    work = state.get("call_talk_s", 0) + state.get("call_hold_s", 0) + state.get("call_wrap_s", 0)
    waits = state.get("call_wait_s", [])
    return {
        "offered": state.get("calls_offered", 0),
        "answered": answered,
        "abandoned": abandoned,
        "abandon_rate": ratio(abandoned, answered + abandoned),
        "exited": state.get("calls_exited", 0),
        "voicemails": state.get("voicemails", 0),
        "missed": state.get("calls_missed", 0),
        "transfers": state.get("call_transfers", 0),
        "asa_s": avg(waits),
        "wait_p90_s": percentile(waits, 90),
        # SL: answered within T / answered. SL2: (answered + abandoned within T) over
        # (answered + abandoned): short abandons count as served.
        "service_level": ratio(within, answered),
        "service_level_2": ratio(within + abandoned_within, answered + abandoned),
        "aht_s": ratio(work, completed),
        "talk_s": state.get("call_talk_s", 0),
        "hold_s": state.get("call_hold_s", 0),
        "wrap_s": state.get("call_wrap_s", 0),
        "occupancy": ratio(work, state.get("agent_online_s", 0)),
    }


METRICS: dict[str, Callable[[State], Numbers]] = {
    "conversations": conversations,
    "csat": csat,
    "agents": agents,
    "bot": bot,
    "tickets": tickets,
    "calls": calls,
}
