# ruff: noqa: F811  (the fixtures imported below are requested by name)
"""Hand-offs between agents, each in their own browser against one real kefu server: a
transfer updates both screens without errors, an @mention reaches a colleague of another
group live (and colleagues added after page load can be mentioned), the timeline shows
what happened. Screenshots in /tmp/shots/handoffs/ (zh-CN and en)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from kefu.conversations.actions import Actor, assign
from kefu.model import SenderKind
from kefu.people.schemas import AgentCreate
from kefu.people.service import create_agent

# The console module's server and browser fixtures, module-scoped here too.
from tests.e2e.test_console import Server, browser, expect, open_console, server  # noqa: F401

pytestmark = pytest.mark.e2e

SHOTS = Path("/tmp/shots/handoffs")
TEXT = {
    "en": {
        "transfer": "Transfer",
        "to_agent": "To agent",
        "note": "Note for the next agent",
        "submit": "Transfer",
        "transferred": "Transferred to Tom Chen 陈涛",
        "event": "transferred it to Tom Chen 陈涛",
        "mine": "Mine",
        "mentions": "Mentions",
        "note_tab": "Note",
        "message": "Message",
        "add_note": "Add note",
        "timeline": "Timeline",
    },
    "zh-CN": {
        "transfer": "转接",
        "to_agent": "转给坐席",
        "note": "给接手坐席的备注",
        "submit": "转接",
        "transferred": "已转接给 Tom Chen 陈涛",
        "event": "转接给 Tom Chen 陈涛",
        "mine": "我的",
        "mentions": "提及我",
        "note_tab": "备注",
        "message": "消息内容",
        "add_note": "添加备注",
        "timeline": "消息记录",
    },
}


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def user_id(server: Server, local: str) -> uuid.UUID:
    return next(x.id for x in server.demo.logins if x.email.startswith(local + "@"))


def assigned_to(server: Server, visitor: str, body: str, name: str, local: str) -> uuid.UUID:
    conversation_id = server.visitor_writes(visitor, body, name=name)
    system = Actor(workspace_id=server.demo.workspace_id, kind=SenderKind.system)
    server.call(assign, server.kefu, conversation_id, system, assignee_id=user_id(server, local))
    return conversation_id


def view(page: Any, label: str) -> Any:
    """A view button by its label alone (its name also carries the count)."""
    return page.locator(f'nav.views button:has(span:text-is("{label}"))')


def no_error_toast(page: Any) -> None:
    toasts = page.locator(".toast.error")
    assert toasts.count() == 0, toasts.all_inner_texts()


@pytest.mark.parametrize("locale", ["en", "zh-CN"])
def test_transfer_updates_both_agents_screens(browser: Any, server: Server, locale: str) -> None:
    t = TEXT[locale]
    customer = f"Mia {locale}"
    conversation_id = assigned_to(server, f"transfer-{locale}", "我要换货", customer, "lina")
    lina = open_console(browser, server, "lina", locale)
    lina.goto(f"{server.url}/console/#/inbox/{conversation_id}")
    tom = open_console(browser, server, "tom", locale)
    view(tom, t["mine"]).click()
    expect(tom.get_by_role("button", name=customer)).to_have_count(0)

    lina.get_by_role("toolbar").get_by_role("button", name=t["transfer"], exact=True).click()
    dialog = lina.get_by_role("dialog")
    dialog.get_by_label(t["to_agent"]).select_option(str(user_id(server, "tom")))
    dialog.get_by_label(t["note"]).fill("客户要换大一码，已核实订单")
    dialog.get_by_role("button", name=t["submit"], exact=True).click()

    # The sender: read-only with whom it went to, and no red "not found" toast.
    expect(lina.get_by_role("status").filter(has_text=t["transferred"])).to_be_visible()
    expect(lina.get_by_role("combobox", name=t["message"])).to_have_count(0)
    expect(lina.locator("li[data-event=transferred]")).to_contain_text(t["event"])
    lina.wait_for_timeout(1500)  # the live events of the transfer have arrived by now
    no_error_toast(lina)
    shot(lina, f"transfer-sender-{locale}")

    # The receiver: it shows up in Mine live, with the transfer and its note in the timeline.
    tom.get_by_role("button", name=customer).click()
    timeline = tom.get_by_role("log", name=t["timeline"])
    event = timeline.locator("li[data-event=transferred]")
    expect(event).to_contain_text(t["event"])
    expect(event).to_contain_text("客户要换大一码，已核实订单")
    expect(timeline.locator("li[data-event=assigned]")).to_have_count(1)
    no_error_toast(tom)
    shot(tom, f"transfer-receiver-{locale}")
    lina.context.close()
    tom.context.close()


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_mention_reaches_a_colleague_of_another_group_live(
    browser: Any, server: Server, locale: str
) -> None:
    t = TEXT[locale]
    customer = f"Ada {locale}"
    conversation_id = assigned_to(server, f"mention-{locale}", "包裹破损了", customer, "lina")
    tom = open_console(browser, server, "tom", locale)  # after-sales, not Li Na's group
    view(tom, t["mentions"]).click()
    expect(tom.get_by_role("button", name=customer)).to_have_count(0)

    lina = open_console(browser, server, "lina", locale)
    lina.goto(f"{server.url}/console/#/inbox/{conversation_id}")
    # A colleague who joins after Li Na's page loaded can be mentioned too.
    newcomer = f"Zara {locale} 新同事"
    server.call(
        create_agent,
        server.kefu,
        server.demo.workspace_id,
        AgentCreate(
            email=f"zara-{locale.lower()}@demo.kefu",
            name=newcomer,
            password="a-long-enough-password",
        ),
    )
    lina.get_by_role("tab", name=t["note_tab"]).click()
    composer = lina.get_by_role("combobox", name=t["message"])
    composer.type("@Zara")
    expect(lina.get_by_role("option", name=f"@{newcomer}")).to_be_visible()
    composer.press("Escape")
    composer.fill("")
    composer.type("售后请看一下 @Tom")
    expect(lina.get_by_role("option", name="@Tom Chen 陈涛")).to_be_visible()
    composer.press("Enter")
    composer.type("谢谢")
    lina.get_by_role("button", name=t["add_note"]).click()
    expect(lina.locator("li.msg.note")).to_contain_text("@Tom Chen 陈涛 谢谢")

    # Tom's Mentions view fills without a reload, and he may open it.
    item = tom.get_by_role("button", name=customer)
    expect(item).to_be_visible()
    item.click()
    expect(tom.locator("li.msg.note")).to_contain_text("售后请看一下 @Tom Chen 陈涛")
    no_error_toast(tom)
    shot(tom, f"mention-receiver-{locale}")
    lina.context.close()
    tom.context.close()


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_contact_panel_shows_the_sites_attributes_and_the_rating(
    browser: Any, server: Server, locale: str
) -> None:
    from kefu.conversations.ingest import ingest
    from kefu.db.tables import Conversation
    from kefu.model import ConversationFacts, Identity, Inbound

    async def arrange() -> uuid.UUID:
        # What the host page set with kefu('setAttributes', ...) travels with the message.
        result = await ingest(
            server.kefu,
            Inbound(
                inbox_id=server.demo.inbox_id,
                identity=Identity(kind="web_visitor", value=f"attrs-{locale}"),
                client_message_id=uuid.uuid4().hex,
                body="购物车里的东西能包邮吗",
                facts=ConversationFacts(attributes={"cart_total": "¥299", "last_item": "羊毛围巾"}),
            ),
        )
        assert result.conversation_id is not None
        async with server.kefu.db.transaction() as session:
            row = await session.get(Conversation, result.conversation_id)
            assert row is not None
            row.csat_score, row.csat_comment = 4, "回复很快"
        return result.conversation_id

    conversation_id = server.call(arrange)
    page = open_console(browser, server, "supervisor", locale)
    page.goto(f"{server.url}/console/#/inbox/{conversation_id}")
    site = page.locator("dl.site-attrs")
    expect(site).to_contain_text("cart_total")
    expect(site).to_contain_text("¥299")
    expect(site).to_contain_text("羊毛围巾")
    expect(site).not_to_contain_text("routing_")
    expect(page.locator("p.csat")).to_contain_text("4/5")
    expect(page.locator("p.csat")).to_contain_text("回复很快")
    shot(page, f"contact-attributes-csat-{locale}")
    page.context.close()
