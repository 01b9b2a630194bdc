"""Token-bucket rate limits for the public (unauthenticated) endpoints, kept in process
memory: today the widget's visitor API. `Kefu.rate_limits` holds the rules, `Kefu.buckets`
the state.

Pure apart from the dict it mutates: the caller passes `now`. Limits are per process;
with several processes behind a balancer each enforces its own share, which is enough
to stop one browser or one IP from flooding the desk (the goal), not exact accounting.
"""

from __future__ import annotations

import math

import msgspec


class Rule(msgspec.Struct, frozen=True):
    burst: int
    per_second: float


class RateLimits(msgspec.Struct, frozen=True, kw_only=True):
    session_per_ip: Rule = Rule(burst=30, per_second=0.5)
    message_per_visitor: Rule = Rule(burst=20, per_second=1.0)
    message_per_ip: Rule = Rule(burst=120, per_second=5.0)
    upload_per_visitor: Rule = Rule(burst=6, per_second=0.2)
    leave_message_per_ip: Rule = Rule(burst=5, per_second=0.05)


class Buckets:
    """Buckets by key; `take` returns 0 when allowed or the seconds to wait."""

    def __init__(self, max_keys: int = 100_000) -> None:
        self._state: dict[str, tuple[float, float]] = {}
        self._max_keys = max_keys

    def take(self, key: str, rule: Rule, now: float) -> float:
        tokens, stamp = self._state.get(key, (float(rule.burst), now))
        tokens = min(float(rule.burst), tokens + (now - stamp) * rule.per_second)
        if tokens >= 1.0:
            self._remember(key, tokens - 1.0, now)
            return 0.0
        self._remember(key, tokens, now)
        return (1.0 - tokens) / rule.per_second if rule.per_second > 0 else math.inf

    def _remember(self, key: str, tokens: float, now: float) -> None:
        if key not in self._state and len(self._state) >= self._max_keys:
            # Forget the oldest half rather than grow without bound under a key flood.
            for stale in list(self._state)[: self._max_keys // 2]:
                del self._state[stale]
        self._state[key] = (tokens, now)
