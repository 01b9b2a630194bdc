from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from kefu.connectors.base import DeliveryError, InboxView
from kefu.connectors.web.connector import WebConnector
from kefu.context import Kefu
from kefu.conversations.actions import Actor, reply
from kefu.conversations.ingest import ingest
from kefu.conversations.outbox import dispatch_due
from kefu.db.tables import Message, OutboxJob
from kefu.demo import Demo
from kefu.model import Identity, Inbound, Outbound, SenderKind, SendResult, utcnow

# Engine-sensitive (SKIP LOCKED claims, delivery order across retries): SQLite and PostgreSQL.
pytestmark = pytest.mark.engine_sensitive


class FlakyChannel(WebConnector):
    """The web channel, except it refuses the first `failures` sends, then accepts;
    remembers what got through. A whole connector, so core may ask it anything."""

    def __init__(self, failures: int, retryable: bool = True) -> None:
        self.failures = failures
        self.retryable = retryable
        self.attempts = 0
        self.delivered: list[Outbound] = []

    async def send(self, inbox: InboxView, outbound: Outbound) -> SendResult:
        self.attempts += 1
        if self.attempts <= self.failures:
            raise DeliveryError(f"gateway timeout #{self.attempts}", retryable=self.retryable)
        self.delivered.append(outbound)
        return SendResult(channel_message_id=f"ch-{self.attempts}")


async def _conversation(kefu: Kefu, demo: Demo) -> uuid.UUID:
    result = await ingest(
        kefu, Inbound(inbox_id=demo.inbox_id, identity=Identity("web_visitor", "v1"), body="hi")
    )
    assert result.conversation_id is not None
    return result.conversation_id


def _agent(demo: Demo) -> Actor:
    lina = next(login for login in demo.logins if login.email.startswith("lina@"))
    return Actor(
        workspace_id=demo.workspace_id, kind=SenderKind.agent, user_id=lina.id, name=lina.name
    )


async def _drain(kefu: Kefu, rounds: int = 10) -> None:
    for _ in range(rounds):
        await dispatch_due(kefu, utcnow())


async def test_reply_is_committed_pending_before_any_send(kefu: Kefu, workspace: Demo) -> None:
    conversation_id = await _conversation(kefu, workspace)
    view = await reply(kefu, conversation_id, _agent(workspace), "您好，马上为您查询")
    assert view.delivery_status == "pending"
    async with kefu.db.session() as session:
        job = (await session.scalars(sa.select(OutboxJob))).one()
    assert job.message_id == view.id and job.state == "pending"


async def test_connector_failing_three_times_then_succeeding_delivers_exactly_once(
    kefu: Kefu, workspace: Demo
) -> None:
    channel = FlakyChannel(failures=3)
    kefu.connectors.register(channel)
    conversation_id = await _conversation(kefu, workspace)
    view = await reply(kefu, conversation_id, _agent(workspace), "your parcel left today")
    await _drain(kefu)
    assert channel.attempts == 4
    assert [o.message_id for o in channel.delivered] == [view.id]
    assert channel.delivered[0].recipient == Identity("web_visitor", "v1")
    async with kefu.db.session() as session:
        message = await session.get(Message, view.id)
        job = (await session.scalars(sa.select(OutboxJob))).one()
    assert message is not None
    assert (message.delivery_status, message.channel_message_id) == ("sent", "ch-4")
    assert (job.state, job.attempts) == ("done", 4)


async def test_refused_reply_ends_failed_with_the_channels_reason(
    kefu: Kefu, workspace: Demo
) -> None:
    kefu.connectors.register(FlakyChannel(failures=99, retryable=False))
    conversation_id = await _conversation(kefu, workspace)
    view = await reply(kefu, conversation_id, _agent(workspace), "hello")
    await _drain(kefu)
    async with kefu.db.session() as session:
        message = await session.get(Message, view.id)
    assert message is not None
    assert message.delivery_status == "failed"
    assert message.failure_reason == "gateway timeout #1"


async def test_retries_stop_at_the_limit_and_say_why(kefu: Kefu, workspace: Demo) -> None:
    channel = FlakyChannel(failures=99)
    kefu.connectors.register(channel)
    conversation_id = await _conversation(kefu, workspace)
    view = await reply(kefu, conversation_id, _agent(workspace), "hello")
    await _drain(kefu, rounds=kefu.settings.outbox_max_attempts + 3)
    assert channel.attempts == kefu.settings.outbox_max_attempts
    async with kefu.db.session() as session:
        message = await session.get(Message, view.id)
    assert message is not None and message.delivery_status == "failed"
    assert message.failure_reason == f"gateway timeout #{kefu.settings.outbox_max_attempts}"


async def test_notes_never_reach_the_outbox(kefu: Kefu, workspace: Demo) -> None:
    conversation_id = await _conversation(kefu, workspace)
    await reply(kefu, conversation_id, _agent(workspace), "VIP, be nice", note=True)
    async with kefu.db.session() as session:
        assert await session.scalar(sa.select(sa.func.count()).select_from(OutboxJob)) == 0


async def test_replies_in_one_conversation_go_out_in_order_even_across_retries(
    kefu: Kefu, workspace: Demo
) -> None:
    channel = FlakyChannel(failures=2)
    kefu.connectors.register(channel)
    conversation_id = await _conversation(kefu, workspace)
    first = await reply(kefu, conversation_id, _agent(workspace), "first")
    second = await reply(kefu, conversation_id, _agent(workspace), "second")
    third = await reply(kefu, conversation_id, _agent(workspace), "third")
    await _drain(kefu)
    assert [o.message_id for o in channel.delivered] == [first.id, second.id, third.id]
