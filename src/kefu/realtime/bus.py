"""Publishing events to websockets, through Litestar's channels (memory, Redis or
PostgreSQL LISTEN/NOTIFY). A doorbell: at most once, no history; clients that reconnect
read what they missed from the database by `seq`."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from litestar.channels import ChannelsPlugin
from litestar.channels.backends.base import ChannelsBackend
from litestar.channels.backends.memory import MemoryChannelsBackend
from litestar.channels.subscriber import Subscriber

from kefu.model import Event, MessageEvent
from kefu.settings import Settings

# PostgreSQL's NOTIFY payload must stay under 8,000 bytes; keep a margin for framing.
MAX_PAYLOAD = 7000

_encoder = msgspec.json.Encoder()


def workspace_channel(workspace_id: uuid.UUID) -> str:
    return f"workspace:{workspace_id}"


def conversation_channel(conversation_id: uuid.UUID) -> str:
    return f"conversation:{conversation_id}"


def encode(event: Event) -> bytes:
    data = _encoder.encode(event)
    if len(data) > MAX_PAYLOAD and isinstance(event, MessageEvent):
        data = _encoder.encode(msgspec.structs.replace(event, message=None))
    return data


class EventBus:
    """What the core calls after a commit. Every event goes to the workspace channel
    (agents filter by scope) and, when it belongs to a conversation, to that
    conversation's channel (the visitor's socket)."""

    def __init__(self, plugin: ChannelsPlugin) -> None:
        self.plugin = plugin

    def publish(self, event: Event) -> None:
        channels = [workspace_channel(event.workspace_id)]
        conversation_id: Any = getattr(event, "conversation_id", None)
        if conversation_id is not None:
            channels.append(conversation_channel(conversation_id))
        self.plugin.publish(encode(event), channels)

    # Listening is open to every socket handler (the visitor's line in the web connector
    # too); publishing is not (see tests/unit/test_architecture.py).
    async def subscribe_conversation(self, conversation_id: uuid.UUID) -> Subscriber:
        return await self.plugin.subscribe([conversation_channel(conversation_id)])

    async def unsubscribe(self, subscriber: Subscriber) -> None:
        await self.plugin.unsubscribe(subscriber)


def make_backend(settings: Settings) -> ChannelsBackend:
    backend = settings.fanout_backend
    if backend == "memory":
        return MemoryChannelsBackend()
    if backend == "redis":
        from litestar.channels.backends.redis import RedisChannelsPubSubBackend
        from redis.asyncio import Redis

        return RedisChannelsPubSubBackend(redis=Redis.from_url(settings.redis_url))
    if backend == "postgres":
        from litestar.channels.backends.asyncpg import AsyncPgChannelsBackend

        dsn = settings.database_url.replace("postgresql+asyncpg://", "postgresql://")
        return AsyncPgChannelsBackend(dsn=dsn)
    raise ValueError(f"KEFU_FANOUT must be memory, redis or postgres, not {backend!r}")


def make_plugin(settings: Settings) -> ChannelsPlugin:
    return ChannelsPlugin(
        backend=make_backend(settings),
        arbitrary_channels_allowed=True,
        # A slow socket must not hold up the others: drop its oldest doorbells.
        subscriber_max_backlog=1000,
        subscriber_backlog_strategy="dropleft",
    )
