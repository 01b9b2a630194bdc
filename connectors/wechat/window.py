"""WeChat's customer-service reply window, as a pure function so the console can show
"3 replies left, until 14:05 tomorrow" and the connector can refuse before WeChat does.

Today's rule (since June 2023): after each message from the customer, an account may
send 5 customer-service messages within 48 hours. WeChat answers 45015 past the time
and 45047 past the count.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import msgspec

WINDOW = timedelta(hours=48)
REPLIES_PER_MESSAGE = 5


class ReplyWindow(msgspec.Struct, frozen=True):
    left: int
    closes_at: datetime | None


def replies_left(last_inbound_at: datetime | None, sent_since: int, now: datetime) -> int:
    """How many more replies WeChat will take: 0 when the customer never wrote, wrote
    more than 48 h ago, or has already had five replies since."""
    if last_inbound_at is None or now >= last_inbound_at + WINDOW:
        return 0
    return max(0, REPLIES_PER_MESSAGE - sent_since)


def reply_window(last_inbound_at: datetime | None, sent_since: int, now: datetime) -> ReplyWindow:
    left = replies_left(last_inbound_at, sent_since, now)
    closes_at = last_inbound_at + WINDOW if last_inbound_at is not None and left else None
    return ReplyWindow(left=left, closes_at=closes_at)
