"""KEFU_RATE_LIMITS changes single rate-limit rules; the rest keep their defaults, and a
malformed value stops the start instead of leaving a default silently in force."""

from __future__ import annotations

import pytest

from kefu.ratelimit import RateLimits, Rule, parse_limits
from kefu.settings import load


def test_named_rules_change_and_the_others_keep_their_defaults() -> None:
    limits = parse_limits("webhook_per_inbox=20000/2000, message_per_ip = 240/10.5")
    assert limits.webhook_per_inbox == Rule(burst=20000, per_second=2000.0)
    assert limits.message_per_ip == Rule(burst=240, per_second=10.5)
    assert limits.session_per_ip == RateLimits().session_per_ip


def test_empty_setting_is_the_defaults() -> None:
    assert parse_limits("") == RateLimits()


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("webhook_per_inbx=1/1", "webhook_per_inbx"),
        ("webhook_per_inbox=2000", "webhook_per_inbox"),
        ("webhook_per_inbox=lots/1", "webhook_per_inbox"),
        ("webhook_per_inbox=-1/1", "webhook_per_inbox"),
        ("webhook_per_inbox=10/nan", "webhook_per_inbox"),
    ],
)
def test_a_malformed_rule_is_an_error_naming_it(text: str, named: str) -> None:
    with pytest.raises(ValueError, match=named):
        parse_limits(text)


def test_settings_refuse_a_typo_at_load() -> None:
    env = {"KEFU_SECRET_KEY": "k", "KEFU_RATE_LIMITS": "webhook_per_inbx=1/1"}
    with pytest.raises(ValueError, match="webhook_per_inbx"):
        load(env)
    good = load({**env, "KEFU_RATE_LIMITS": "webhook_per_inbox=5/1"})
    assert parse_limits(good.rate_limits).webhook_per_inbox == Rule(burst=5, per_second=1.0)
