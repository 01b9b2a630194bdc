"""WeChat's reply window: 5 replies within 48 h of the customer's last message."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kefu.connectors.wechat import reasons
from kefu.connectors.wechat.window import replies_left, reply_window

LAST = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("last", "sent", "now", "left"),
    [
        (None, 0, LAST, 0),  # the customer never wrote
        (LAST, 0, LAST + timedelta(minutes=1), 5),
        (LAST, 3, LAST + timedelta(hours=47, minutes=59), 2),
        (LAST, 5, LAST + timedelta(hours=1), 0),
        (LAST, 9, LAST + timedelta(hours=1), 0),
        (LAST, 0, LAST + timedelta(hours=48), 0),  # the window closes at exactly 48 h
        (LAST, 0, LAST + timedelta(hours=52), 0),
    ],
)
def test_replies_left(last: datetime | None, sent: int, now: datetime, left: int) -> None:
    assert replies_left(last, sent, now) == left


def test_window_shows_when_it_closes_while_open() -> None:
    open_window = reply_window(LAST, 1, LAST + timedelta(hours=2))
    assert open_window.left == 4
    assert open_window.closes_at == LAST + timedelta(hours=48)
    assert reply_window(LAST, 5, LAST + timedelta(hours=2)).closes_at is None


def test_every_reason_reads_in_english_and_chinese() -> None:
    values = {
        "hours": 52,
        "errcode": 1,
        "errmsg": "x",
        "name": "a.png",
        "type": "file",
        "error": "E",
    }
    for key, texts in reasons.REASONS.items():
        assert set(texts) >= {"en", "zh-CN"}, key
        assert "{" not in reasons.both(key, **values), key
