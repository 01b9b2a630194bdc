"""Hand-offs on a real database: a customer who writes again right after a resolve goes
back to the agent who just helped, and the bot does not greet them with its apology."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

import kefu.knowledge.tables  # noqa: F401  (registers the tables before the schema is created)
from kefu.context import Kefu
from kefu.conversations.actions import Actor, change_status
from kefu.db.tables import Conversation, GroupMember, User
from kefu.demo import Demo
from kefu.model import ConversationStatus, SenderKind
from kefu.people.auth import AuthUser
from tests.integration.test_knowledge_bot import bot_inbox, bot_messages, say

pytestmark = pytest.mark.engine_sensitive


async def online(kefu: Kefu, demo: Demo, *names: str) -> dict[str, uuid.UUID]:
    ids = {login.email.split("@")[0]: login.id for login in demo.logins}
    async with kefu.db.transaction() as session:
        await session.execute(
            sa.update(User).where(User.id.in_([ids[n] for n in names])).values(presence="online")
        )
    return ids


async def conversation(kefu: Kefu, cid: uuid.UUID) -> Conversation:
    async with kefu.db.session() as session:
        row = await session.get(Conversation, cid)
        assert row is not None
        return row


@pytest.mark.parametrize("first_words", [["转人工"], ["今天天气怎么样", "能寄到月球吗"]])
async def test_returning_customer_gets_the_last_agent_and_no_bot_apology(
    kefu: Kefu, workspace: Demo, first_words: list[str]
) -> None:
    ids = await online(kefu, workspace, "lina", "tom")
    async with kefu.db.transaction() as session:
        # Two agents who could take it, equally idle after the resolve.
        session.add(
            GroupMember(
                group_id=workspace.groups["presales"],
                user_id=ids["tom"],
                workspace_id=workspace.workspace_id,
            )
        )
    await bot_inbox(kefu, workspace)
    for text in first_words:  # asked for a person, or the bot missed twice
        cid = await say(kefu, workspace, text)
    first = await conversation(kefu, cid)
    assert first.status == ConversationStatus.open and first.assignee_id is not None
    helper = first.assignee_id
    bot_before = await bot_messages(kefu, cid)

    actor = Actor(workspace_id=workspace.workspace_id, kind=SenderKind.agent, user_id=helper)
    await change_status(kefu, cid, actor, ConversationStatus.resolved)
    again = await say(kefu, workspace, "还有一个问题，发票怎么开？")

    assert again == cid  # reopened, not a new conversation
    back = await conversation(kefu, cid)
    assert back.status == ConversationStatus.open
    assert back.assignee_id == helper, (back.assignee_id, ids)
    said = (await bot_messages(kefu, cid))[len(bot_before) :]
    assert not any("转接" in m or "connecting you" in m for m in said), said


async def test_list_is_sorted_by_last_activity_and_pages_through_all(
    kefu: Kefu, workspace: Demo
) -> None:
    from kefu.conversations.queries import Filters, list_conversations

    first = await say(kefu, workspace, "first", visitor="a")
    second = await say(kefu, workspace, "second", visitor="b")
    third = await say(kefu, workspace, "third", visitor="c")
    await say(kefu, workspace, "first again", visitor="a")  # the oldest has news
    user = user_of(workspace, "admin")
    seen: list[uuid.UUID] = []
    cursor = None
    async with kefu.db.session() as session:
        while True:
            items, cursor = await list_conversations(session, user, Filters(), cursor, 1)
            seen += [c.id for c in items]
            if cursor is None:
                break
    assert seen == [first, third, second]


def user_of(demo: Demo, local: str) -> AuthUser:
    login = next(x for x in demo.logins if x.email.split("@")[0] == local)
    return AuthUser(
        id=login.id,
        workspace_id=demo.workspace_id,
        role=login.role,
        name=login.name,
        email=login.email,
        session_id=uuid.uuid4(),
    )


async def test_a_mentioned_colleague_of_another_group_may_open_it_and_finds_it_in_mentions(
    kefu: Kefu, workspace: Demo
) -> None:
    from kefu.conversations.actions import actor_of, assign, reply
    from kefu.conversations.queries import Filters, get_visible, list_conversations

    cid = await say(kefu, workspace, "我的包裹坏了", visitor="m")
    lina, tom = user_of(workspace, "lina"), user_of(workspace, "tom")
    await assign(kefu, cid, actor_of(lina), assignee_id=lina.id)
    async with kefu.db.session() as session:
        mine, _ = await list_conversations(session, tom, Filters(mentioned=True), None, 50)
    assert mine == []

    await reply(kefu, cid, actor_of(lina), f"@{tom.name} 这个售后问题请看一下", note=True)

    async with kefu.db.session() as session:
        await get_visible(session, tom, cid)  # no NotFound: the mention lets him in
        mine, _ = await list_conversations(session, tom, Filters(mentioned=True), None, 50)
        hers, _ = await list_conversations(session, lina, Filters(mentioned=True), None, 50)
    assert [c.id for c in mine] == [cid]
    assert hers == []  # the author is not "mentioned" by her own note


async def test_demo_seeds_quick_replies_in_both_languages_once(kefu: Kefu, workspace: Demo) -> None:
    from kefu.demo import seed_quick_replies
    from kefu.quickreplies.tables import QuickReply

    for _ in range(2):  # `kefu demo` run twice adds nothing twice
        async with kefu.db.transaction() as session:
            await seed_quick_replies(session, workspace.workspace_id)
    async with kefu.db.session() as session:
        rows = (
            await session.scalars(
                sa.select(QuickReply).where(QuickReply.workspace_id == workspace.workspace_id)
            )
        ).all()
    bodies = [r.body for r in rows]
    assert len(rows) == 6 and all(r.owner_id is None for r in rows)  # team replies
    assert any("您好" in b for b in bodies) and any(b.startswith("Hi ") for b in bodies)
