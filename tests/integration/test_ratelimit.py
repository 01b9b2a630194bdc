"""Abuse limits on the unauthenticated endpoints: counted per client address (headers
believed only from trusted proxies), shared by every process through Redis or the
database, and refused with 429, Retry-After and a reason in the visitor's language."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import msgspec
import pytest
import sqlalchemy as sa
from redis.asyncio import Redis

from kefu.connectors.signing import signed_headers
from kefu.context import Kefu
from kefu.demo import Demo
from kefu.inboxes.schemas import InboxCreate
from kefu.inboxes.service import create_inbox
from kefu.knowledge import entries
from kefu.knowledge.schemas import EntryIn, EntryStatus
from kefu.knowledge.tables import KnowledgeEntry
from kefu.model import ChannelKind
from kefu.ratelimit import DatabaseLimiter, RateLimits, RedisLimiter, Rule
from kefu.settings import Settings
from tests.conftest import asgi_client, running_kefu

REDIS = "redis://127.0.0.1:6379/0"
SECRET = "s3cret-for-rate-limit-tests"
TIGHT = Rule(burst=3, per_second=0.001)


async def sessions(client: httpx.AsyncClient, demo: Demo, n: int, **headers: str) -> list[int]:
    return [
        (
            await client.post(
                "/api/v1/widget/sessions", json={"inbox": demo.widget_key}, headers=headers
            )
        ).status_code
        for _ in range(n)
    ]


async def test_spoofed_forwarded_for_does_not_buy_a_fresh_bucket(
    client: httpx.AsyncClient, kefu: Kefu, workspace: Demo
) -> None:
    kefu.rate_limits = RateLimits(session_per_ip=TIGHT)
    codes = []
    for n in range(40):
        codes += await sessions(client, workspace, 1, **{"X-Forwarded-For": f"198.51.100.{n}"})
    assert codes[:3] == [200, 200, 200]
    assert set(codes[3:]) == {429}, codes


async def test_a_trusted_proxy_gives_each_client_its_own_bucket(
    client: httpx.AsyncClient, kefu: Kefu, workspace: Demo
) -> None:
    kefu.settings.trusted_proxies = "127.0.0.1/32"
    kefu.rate_limits = RateLimits(session_per_ip=TIGHT)
    one = await sessions(client, workspace, 4, **{"X-Forwarded-For": "203.0.113.1"})
    other = await sessions(client, workspace, 4, **{"X-Forwarded-For": "1.1.1.1, 203.0.113.2"})
    assert one == [200, 200, 200, 429]
    assert other == [200, 200, 200, 429]


async def test_refusal_says_when_to_retry_in_the_visitors_language(
    client: httpx.AsyncClient, kefu: Kefu, workspace: Demo
) -> None:
    kefu.rate_limits = RateLimits(session_per_ip=Rule(burst=1, per_second=0.1))
    await sessions(client, workspace, 1)
    for language, words in (("zh-CN", "请求过于频繁"), ("en", "Too many requests")):
        refused = await client.post(
            "/api/v1/widget/sessions",
            json={"inbox": workspace.widget_key},
            headers={"Accept-Language": language},
        )
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["retry-after"]) <= 10
        assert words in refused.json()["detail"], refused.json()


def bearer(session: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {session['token']}"}


async def test_every_public_endpoint_is_limited(
    client: httpx.AsyncClient, kefu: Kefu, workspace: Demo
) -> None:
    kefu.rate_limits = RateLimits(
        page_view_per_visitor=TIGHT,
        typing_per_visitor=TIGHT,
        knowledge_search_per_ip=TIGHT,
        webhook_per_inbox=TIGHT,
        upload_per_visitor=TIGHT,
    )
    session = (
        await client.post("/api/v1/widget/sessions", json={"inbox": workspace.widget_key})
    ).json()
    auth = bearer(session)

    async def codes(send: Any) -> list[int]:
        return [(await send()).status_code for _ in range(4)]

    page = {"url": "https://shop.example/p", "title": "p"}
    views = await codes(lambda: client.post("/api/v1/widget/pageviews", json=page, headers=auth))
    assert views[3] == 429 and views[:3] == [201] * 3
    typing = await codes(
        lambda: client.post("/api/v1/widget/typing", json={"typing": True}, headers=auth)
    )
    assert typing == [204, 204, 204, 429]
    search = await codes(
        lambda: client.get(
            "/api/v1/widget/knowledge/search", params={"key": workspace.widget_key, "q": "退款"}
        )
    )
    assert search == [200, 200, 200, 429]
    uploads = await codes(
        lambda: client.post(
            "/api/v1/widget/uploads",
            files={"file": ("a.txt", b"hello", "text/plain")},
            headers=auth,
        )
    )
    assert uploads == [201, 201, 201, 429]

    inbox = await create_inbox(
        kefu,
        workspace.workspace_id,
        InboxCreate(
            kind=ChannelKind.api,
            name="CRM",
            config={"webhook_url": "http://127.0.0.1:9/none", "signing_secret": SECRET},
        ),
    )

    def webhook(inbox_id: uuid.UUID) -> Any:
        body = msgspec.json.encode(
            {"message_id": uuid.uuid4().hex, "user": {"id": "u"}, "text": "hi"}
        )
        return client.post(
            f"/connectors/api/{inbox_id}", content=body, headers=signed_headers(SECRET, body)
        )

    hooks = await codes(lambda: webhook(inbox.id))
    assert hooks == [202, 202, 202, 429], hooks
    # Per inbox: another inbox's sender is not held up.
    assert (await webhook(uuid.uuid4())).status_code == 404


async def test_help_centre_search_and_article_feedback_are_limited(
    client: httpx.AsyncClient, kefu: Kefu, workspace: Demo
) -> None:
    article = EntryIn(title="安全说明", key="safety", body="请手洗。", status=EntryStatus.published)
    await entries.create_entry(kefu, workspace.workspace_id, article, None)
    kefu.rate_limits = RateLimits(helpcenter_search_per_ip=TIGHT, article_feedback_per_ip=TIGHT)

    searched = [
        await client.get(
            "/help/acme/search", params={"q": "退款"}, headers={"Accept-Language": lang}
        )
        for lang in ("en", "en", "en", "en", "zh-CN")
    ]
    assert [r.status_code for r in searched] == [200, 200, 200, 429, 429]
    for refused, words in ((searched[3], "Too many requests"), (searched[4], "请求过于频繁")):
        assert int(refused.headers["retry-after"]) >= 1
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert words in refused.json()["detail"], refused.json()

    # One bucket per address for "was this helpful?", whether from the page or the widget.
    async with kefu.db.session() as session:
        entry_id = await session.scalar(
            sa.select(KnowledgeEntry.id).where(
                KnowledgeEntry.workspace_id == workspace.workspace_id,
                KnowledgeEntry.key == "safety",
            )
        )

    def from_page() -> Any:
        return client.post("/help/acme/articles/safety/feedback", data={"helpful": "yes"})

    def from_widget() -> Any:
        return client.post(
            f"/api/v1/widget/knowledge/{entry_id}/feedback",
            params={"key": workspace.widget_key},
            json={"helpful": True},
        )

    codes = [(await send()).status_code for send in (from_page, from_page, from_widget)]
    assert codes == [303, 303, 204]
    assert (await from_widget()).status_code == 429
    assert (await from_page()).status_code == 429


@pytest.fixture
async def twin(settings: Settings) -> AsyncIterator[Kefu]:
    """A second app instance on the same database (another process, as far as the
    limiter can tell: nothing in memory is shared)."""
    async with running_kefu(settings) as other:
        yield other


async def shared_bucket(kefu: Kefu, twin: Kefu, workspace: Demo, store: str) -> list[int]:
    from kefu.app import create_app

    for instance in (kefu, twin):
        instance.settings.rate_limit_store = store
        instance.rate_limits = RateLimits(session_per_ip=TIGHT)
    codes = []
    async with (
        asgi_client(create_app(kefu=kefu)) as first,
        asgi_client(create_app(kefu=twin)) as second,
    ):
        for n in range(6):
            codes += await sessions(first if n % 2 else second, workspace, 1)
    assert kefu.limiter is not twin.limiter
    return codes


async def test_two_instances_sharing_redis_share_the_bucket(
    kefu: Kefu, twin: Kefu, workspace: Demo
) -> None:
    kefu.settings.redis_url = twin.settings.redis_url = REDIS
    try:
        codes = await shared_bucket(kefu, twin, workspace, "redis")
        assert codes == [200, 200, 200, 429, 429, 429]
        assert isinstance(kefu.limiter, RedisLimiter) and isinstance(twin.limiter, RedisLimiter)
    finally:
        async with Redis.from_url(REDIS) as redis:
            assert isinstance(kefu.limiter, RedisLimiter)
            found = [key async for key in redis.scan_iter(kefu.limiter.prefix + "*")]
            if found:
                await redis.delete(*found)


@pytest.mark.engine_sensitive
async def test_two_instances_sharing_the_database_share_the_bucket(
    kefu: Kefu, twin: Kefu, workspace: Demo
) -> None:
    codes = await shared_bucket(kefu, twin, workspace, "database")
    assert codes == [200, 200, 200, 429, 429, 429]
    assert isinstance(kefu.limiter, DatabaseLimiter)


@pytest.mark.engine_sensitive
async def test_database_bucket_refills_with_time(kefu: Kefu) -> None:
    now = [1000.0]
    limiter = DatabaseLimiter(kefu.db, clock=lambda: now[0])
    rule = Rule(burst=2, per_second=0.5)
    waits = [await limiter.take([("k", rule)]) for _ in range(3)]
    assert waits[:2] == [0.0, 0.0] and 0 < waits[2] <= 2.0
    now[0] += 2.0  # one token back
    assert await limiter.take([("k", rule)]) == 0.0
    assert await limiter.take([("k", rule)]) > 0
    now[0] += 3600.0  # never more than the burst
    assert [await limiter.take([("k", rule)]) for _ in range(3)][2] > 0


async def test_redis_refused_take_reports_the_wait_and_takes_both_keys_at_once(
    settings: Settings,
) -> None:
    limiter = RedisLimiter(REDIS, "stack-test-" + uuid.uuid4().hex[:8])
    try:
        slow, fast = Rule(burst=1, per_second=0.25), Rule(burst=5, per_second=1.0)
        assert await limiter.take([("a", slow), ("b", fast)]) == 0.0
        wait = await limiter.take([("a", slow), ("b", fast)])
        assert 3.0 < wait <= 4.0
    finally:
        async with Redis.from_url(REDIS) as redis:
            found = [key async for key in redis.scan_iter(limiter.prefix + "*")]
            if found:
                await redis.delete(*found)
        await limiter.aclose()


@pytest.mark.engine_sensitive
async def test_webhook_limit_set_through_settings_applies(
    settings: Settings, workspace: Demo
) -> None:
    """KEFU_RATE_LIMITS reaches the running limits: a busy inbox can be given more than
    the default, or (here) less, without touching code."""
    from kefu.app import create_app

    tuned = msgspec.structs.replace(settings, rate_limits="webhook_per_inbox=2/0.001")
    async with running_kefu(tuned) as instance:
        assert instance.rate_limits.webhook_per_inbox == Rule(burst=2, per_second=0.001)
        assert instance.rate_limits.session_per_ip == RateLimits().session_per_ip
        inbox = await create_inbox(
            instance,
            workspace.workspace_id,
            InboxCreate(kind=ChannelKind.api, name="Busy", config={"signing_secret": SECRET}),
        )
        async with asgi_client(create_app(kefu=instance)) as client:
            codes = []
            for n in range(3):
                body = msgspec.json.encode(
                    {"message_id": f"m{n}", "user": {"id": "u"}, "text": "hi"}
                )
                answer = await client.post(
                    f"/connectors/api/{inbox.id}",
                    content=body,
                    headers=signed_headers(SECRET, body),
                )
                codes.append(answer.status_code)
    assert codes == [202, 202, 429], codes
