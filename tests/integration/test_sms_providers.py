"""Tencent Cloud and Aliyun SMS: callbacks behind the per-inbox URL token (replies stored
once, delivery reports onto the reply), Tencent's TC3-signed template sends checked by a
stand-in, and bad input refused with a problem and nothing written."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from kefu.connectors.sms.connector import SmsConnector
from kefu.connectors.sms.standin import TencentStandIn, create_tencent_standin
from kefu.connectors.sms.tencent import fill, template_params
from kefu.context import Kefu
from kefu.conversations.actions import Actor, reply
from kefu.conversations.outbox import dispatch_due
from kefu.db.tables import Contact, ContactIdentity, Conversation, Message
from kefu.demo import Demo
from kefu.inboxes.schemas import InboxCreate
from kefu.inboxes.service import create_inbox
from kefu.model import ChannelKind, SenderKind, utcnow
from kefu.settings import Settings
from tests.conftest import make_settings
from tests.servers import serve

PUBLIC = "https://kefu.example.com"
TEMPLATE = "您的订单{1}已发货，预计{2}送达。"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, media_dir=str(tmp_path / "media"), public_url=PUBLIC)


async def _inbox(
    kefu: Kefu, demo: Demo, provider: str, api_base: str = ""
) -> tuple[uuid.UUID, str]:
    config: dict[str, Any] = {"provider": provider}
    if provider == "tencent":
        config |= {
            "secret_id": "AKIDstandin",
            "secret_key": "standin-secret-key",
            "sdk_app_id": "1400006666",
            "sign_name": "腾讯云",
            "templates": [{"id": "449739", "text": TEMPLATE}],
            "api_base": api_base or "http://127.0.0.1:9",
        }
    inbox = await create_inbox(
        kefu, demo.workspace_id, InboxCreate(kind=ChannelKind.sms, name="短信", config=config)
    )
    assert inbox.generated_secrets is not None
    assert inbox.webhook_url == f"{PUBLIC}/connectors/sms/{inbox.id}"
    return inbox.id, inbox.generated_secrets["url_token"]


async def _rows(kefu: Kefu) -> tuple[int, int, int]:
    async with kefu.db.session() as session:
        return tuple(  # type: ignore[return-value]
            [
                int(await session.scalar(sa.select(sa.func.count()).select_from(m)) or 0)
                for m in (Contact, Conversation, Message)
            ]
        )


def _tencent_reply(text: str = "退货怎么办？", time: int = 1_700_000_000) -> dict[str, Any]:
    return {
        "extend": "",
        "mobile": "13800138000",
        "nationcode": "86",
        "sign": "腾讯云",
        "text": text,
        "time": time,
    }


def _aliyun_up(seq: int = 1, text: str = "我想退订单") -> dict[str, Any]:
    return {
        "dest_code": "1234",
        "send_time": "2026-12-02 10:00:00",
        "sign_name": "阿里云",
        "sequence_id": seq,
        "phone_number": "13800138000",
        "content": text,
    }


def test_template_params_round_trip() -> None:
    assert template_params(TEMPLATE, fill(TEMPLATE, ["A123", "明天"])) == ["A123", "明天"]
    assert template_params(TEMPLATE, "随便写的话") is None
    assert template_params("验证码{1}", "验证码 42") == [" 42"]


@pytest.mark.engine_sensitive
async def test_tencent_reply_callback_stored_once_and_answered(
    client: httpx.AsyncClient, kefu: Kefu, workspace: Demo
) -> None:
    inbox_id, token = await _inbox(kefu, workspace, "tencent")
    for _ in range(2):
        response = await client.post(
            f"/connectors/sms/{inbox_id}/tencent/{token}", json=_tencent_reply()
        )
        assert response.status_code == 200, response.text
        assert response.json() == {"result": 0, "errmsg": "OK"}
    assert await _rows(kefu) == (1, 1, 1)
    async with kefu.db.session() as session:
        identity = (await session.scalars(sa.select(ContactIdentity))).one()
        message = (await session.scalars(sa.select(Message))).one()
    assert identity.value == "+8613800138000"
    assert message.body == "退货怎么办？"


@pytest.mark.engine_sensitive
async def test_aliyun_uplink_deduplicated_by_sequence_id(
    client: httpx.AsyncClient, kefu: Kefu, workspace: Demo
) -> None:
    inbox_id, token = await _inbox(kefu, workspace, "aliyun")
    url = f"/connectors/sms/{inbox_id}/aliyun/{token}"
    for _ in range(2):  # Aliyun retries the whole batch
        response = await client.post(url, json=[_aliyun_up(1), _aliyun_up(2, "还有一件")])
        assert response.status_code == 200, response.text
        assert response.json() == {"code": 0, "msg": "接收成功"}
    assert await _rows(kefu) == (1, 1, 2)


@pytest.mark.engine_sensitive
async def test_tencent_template_send_is_signed_and_reports_mark_it(
    client: httpx.AsyncClient, kefu: Kefu, workspace: Demo
) -> None:
    standin = TencentStandIn()
    async with serve(create_tencent_standin(standin), lifespan="off") as api_base:
        kefu.connectors.register(SmsConnector(kefu.outbound, public_url=PUBLIC))
        inbox_id, token = await _inbox(kefu, workspace, "tencent", api_base)
        url = f"/connectors/sms/{inbox_id}/tencent/{token}"
        assert (await client.post(url, json=_tencent_reply())).status_code == 200
        async with kefu.db.session() as session:
            conversation_id = (await session.scalars(sa.select(Conversation.id))).one()
        agent = Actor(
            workspace_id=workspace.workspace_id,
            kind=SenderKind.agent,
            user_id=workspace.logins[1].id,
            name="Li",
        )
        good = await reply(kefu, conversation_id, agent, fill(TEMPLATE, ["A123", "明天"]))
        free = await reply(kefu, conversation_id, agent, "不是模板的话")
        await dispatch_due(kefu, utcnow())
    assert len(standin.sent) == 1  # the signature held (the stand-in refuses otherwise)
    sent = standin.sent[0]
    assert (sent["TemplateId"], sent["TemplateParamSet"], sent["SignName"]) == (
        "449739",
        ["A123", "明天"],
        "腾讯云",
    )
    assert sent["PhoneNumberSet"] == ["+8613800138000"]
    async with kefu.db.session() as session:
        refused = await session.get(Message, free.id)
    assert refused is not None and refused.delivery_status == "failed"
    assert "template" in (refused.failure_reason or "") and "模板" in (refused.failure_reason or "")
    report = [
        {
            "user_receive_time": "2026-12-02 10:00:05",
            "nationcode": "86",
            "mobile": "13800138000",
            "report_status": "SUCCESS",
            "errmsg": "DELIVRD",
            "description": "用户短信送达成功",
            "sid": sent["SerialNo"],
        }
    ]
    response = await client.post(
        url, content=json.dumps(report).encode(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 200 and response.json() == {"result": 0, "errmsg": "OK"}
    async with kefu.db.session() as session:
        delivered = await session.get(Message, good.id)
    assert delivered is not None and delivered.delivery_status == "delivered"


@pytest.mark.parametrize(
    ("setup", "words"),
    [
        ("bad key", ("AuthFailure.SignatureFailure",)),
        ("blocked", ("blocklist", "黑名单")),
    ],
)
async def test_tencent_documented_errors_become_reasons(
    client: httpx.AsyncClient, kefu: Kefu, workspace: Demo, setup: str, words: tuple[str, ...]
) -> None:
    standin = TencentStandIn()
    if setup == "bad key":
        standin.secret_key = "a-different-key"
    else:
        standin.blocked.add("+8613800138000")
    async with serve(create_tencent_standin(standin), lifespan="off") as api_base:
        kefu.connectors.register(SmsConnector(kefu.outbound, public_url=PUBLIC))
        inbox_id, token = await _inbox(kefu, workspace, "tencent", api_base)
        assert (
            await client.post(f"/connectors/sms/{inbox_id}/tencent/{token}", json=_tencent_reply())
        ).status_code == 200
        async with kefu.db.session() as session:
            conversation_id = (await session.scalars(sa.select(Conversation.id))).one()
        agent = Actor(
            workspace_id=workspace.workspace_id,
            kind=SenderKind.agent,
            user_id=workspace.logins[1].id,
            name="Li",
        )
        view = await reply(kefu, conversation_id, agent, fill(TEMPLATE, ["A1", "今天"]))
        await dispatch_due(kefu, utcnow())
    async with kefu.db.session() as session:
        message = await session.get(Message, view.id)
    assert message is not None and message.delivery_status == "failed"
    for word in words:
        assert word in (message.failure_reason or "")


@pytest.mark.engine_sensitive
@pytest.mark.parametrize(
    ("provider", "case", "status", "reason"),
    [
        ("tencent", "wrong token", 403, "URL token"),
        ("aliyun", "wrong token", 403, "URL token"),
        ("aliyun", "other provider's path", 404, "no tencent SMS inbox"),
        ("tencent", "unknown inbox", 404, "no tencent SMS inbox"),
        ("tencent", "malformed json", 400, "not valid JSON"),
        ("tencent", "no mobile", 400, "mobile"),
        ("tencent", "not a number", 400, "not a phone number"),
        ("tencent", "NUL in text", 400, ""),
        ("tencent", "bad report", 400, "sid"),
        ("aliyun", "empty array", 400, ""),
        ("aliyun", "one bad item", 400, "[1].phone_number"),
        ("aliyun", "over-long content", 400, "content"),
    ],
)
async def test_bad_callbacks_get_a_problem_and_write_nothing(
    client: httpx.AsyncClient,
    kefu: Kefu,
    workspace: Demo,
    provider: str,
    case: str,
    status: int,
    reason: str,
) -> None:
    inbox_id, token = await _inbox(kefu, workspace, provider)
    url = f"/connectors/sms/{inbox_id}/{provider}/{token}"
    body: Any = _tencent_reply() if provider == "tencent" else [_aliyun_up()]
    raw: bytes | None = None
    if case == "wrong token":
        url = f"/connectors/sms/{inbox_id}/{provider}/{'x' * 43}"
    elif case == "other provider's path":
        url = f"/connectors/sms/{inbox_id}/tencent/{token}"
        body = _tencent_reply()
    elif case == "unknown inbox":
        url = f"/connectors/sms/{uuid.uuid4()}/tencent/{token}"
    elif case == "malformed json":
        raw = b'{"mobile": '
    elif case == "no mobile":
        del body["mobile"]
    elif case == "not a number":
        body["mobile"] = "abc"
    elif case == "NUL in text":
        body["text"] = "a\u0000b"
    elif case == "bad report":
        body = [{"report_status": "SUCCESS"}]
    elif case == "empty array":
        body = []
    elif case == "one bad item":
        body = [_aliyun_up(1), {**_aliyun_up(2), "phone_number": "nope"}]
    elif case == "over-long content":
        body = [_aliyun_up(1, "长" * 20_001)]
    content = raw if raw is not None else json.dumps(body).encode()
    response = await client.post(url, content=content, headers={"content-type": "application/json"})
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert reason in response.text
    assert await _rows(kefu) == (0, 0, 0)


@pytest.mark.engine_sensitive
async def test_composer_facts_are_for_visible_conversations_only(
    client: httpx.AsyncClient, kefu: Kefu, workspace: Demo, other_workspace: Demo
) -> None:
    from tests.conftest import login_headers

    inbox_id, token = await _inbox(kefu, workspace, "tencent")
    assert (
        await client.post(f"/connectors/sms/{inbox_id}/tencent/{token}", json=_tencent_reply())
    ).status_code == 200
    async with kefu.db.session() as session:
        conversation_id = (await session.scalars(sa.select(Conversation.id))).one()
    url = f"/api/v1/sms/conversations/{conversation_id}/composer"
    mine = await client.get(url, headers=await login_headers(client, workspace.logins[0].email))
    assert mine.status_code == 200, mine.text
    facts = mine.json()
    assert (facts["provider"], facts["signature"], facts["templates_only"], facts["opted_out"]) == (
        "tencent",
        "腾讯云",
        True,
        False,
    )
    assert facts["templates"] == [{"id": "449739", "text": TEMPLATE}]
    theirs = await client.get(
        url, headers=await login_headers(client, other_workspace.logins[0].email)
    )
    assert theirs.status_code == 404
    assert (await client.get(url)).status_code == 401
