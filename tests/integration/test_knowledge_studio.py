"""The knowledge studio's API: unanswered questions grouped by similarity and answered by
creating or extending a FAQ, "try the bot", usage / feedback / deflection insights,
file import (CSV, zip of a Markdown folder) and zip export, image upload, the review
status, and the roles (agents may not)."""

from __future__ import annotations

import io as pyio
import zipfile

import httpx

import kefu.knowledge.tables  # noqa: F401  (registers the tables before the schema is created)
from kefu.context import Kefu
from kefu.conversations.ingest import ingest
from kefu.demo import Demo
from kefu.knowledge import entries, io, studio, unanswered
from kefu.knowledge.schemas import UnansweredView
from kefu.model import Identity, Inbound, utcnow

# The knowledge API's own fixtures: its routes on the app, a manager's and an agent's login.
from tests.integration import test_knowledge_api as knowledge_api

app = knowledge_api.app
manager = knowledge_api.manager
agent = knowledge_api.agent

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00"
    b"\x00\x00\x00IEND\xaeB`\x82"
)


def _view(question: str, count: int, locale: str = "zh-CN") -> UnansweredView:
    return UnansweredView(
        question=question,
        count=count,
        locale=locale,
        last_asked_at=utcnow(),
        sample_conversation_id=None,
        resolved_entry_id=None,
    )


def test_similar_unanswered_questions_group_and_different_ones_do_not() -> None:
    groups = studio.group_similar(
        [
            _view("能寄到火星吗？", 3),
            _view("可以寄到火星吗", 2),
            _view("支持货到付款吗", 1),
            _view("Do you ship to Mars?", 2, "en"),
            _view("can you ship to mars", 1, "en"),
        ]
    )
    shapes = [(g.count, sorted(q.question for q in g.questions)) for g in groups]
    assert shapes == [
        (5, ["可以寄到火星吗", "能寄到火星吗？"]),
        (3, ["Do you ship to Mars?", "can you ship to mars"]),
        (1, ["支持货到付款吗"]),
    ]


async def test_answer_it_creates_a_faq_then_extends_it_and_the_bot_answers(
    kefu: Kefu, client: httpx.AsyncClient, workspace: Demo, manager: dict[str, str]
) -> None:
    ws = workspace.workspace_id
    for q in ("能寄到火星吗？", "可以寄到火星吗", "火星能送吗"):
        await unanswered.record_unanswered(kefu, ws, q, locale="zh-CN", conversation_id=None)
    groups = (await client.get("/api/v1/knowledge/unanswered/groups", headers=manager)).json()
    first = groups[0]
    questions = [q["question"] for q in first["questions"]]
    assert "能寄到火星吗？" in questions and "可以寄到火星吗" in questions

    tried = await client.get(
        "/api/v1/knowledge/try", params={"q": "能寄到火星吗？"}, headers=manager
    )
    assert tried.status_code == 200, tried.text
    assert tried.json()["action"] in ("clarify", "offer") and tried.json()["entry_id"] is None

    created = await client.post(
        "/api/v1/knowledge/unanswered/answer",
        json={
            "questions": questions,
            "entry": {
                "title": "能寄到火星吗？",
                "body": "暂时**不能**，我们只发往地球上的地址。",
                "status": "published",
            },
        },
        headers=manager,
    )
    assert created.status_code == 200, created.text
    entry = created.json()
    assert entry["kind"] == "faq" and "可以寄到火星吗" in entry["similar"]
    left = (await client.get("/api/v1/knowledge/unanswered", headers=manager)).json()
    assert [u["question"] for u in left] == ["火星能送吗"]

    extended = await client.post(
        "/api/v1/knowledge/unanswered/answer",
        json={"questions": ["火星能送吗"], "entry_id": entry["id"]},
        headers=manager,
    )
    assert extended.status_code == 200, extended.text
    assert extended.json()["similar"][-1] == "火星能送吗"
    assert extended.json()["version"] == entry["version"] + 1
    assert (await client.get("/api/v1/knowledge/unanswered", headers=manager)).json() == []

    tried = (
        await client.get("/api/v1/knowledge/try", params={"q": "能寄到火星吗？"}, headers=manager)
    ).json()
    assert tried["action"] == "answer" and tried["entry_id"] == entry["id"]
    assert tried["hits"][0]["score"] >= tried["answer_threshold"]
    assert "暂时**不能**" in tried["reply"]

    both = await client.post(
        "/api/v1/knowledge/unanswered/answer",
        json={"questions": ["x"]},
        headers=manager,
    )
    assert both.status_code == 422


async def test_try_the_bot_sees_drafts_only_when_asked(
    client: httpx.AsyncClient, manager: dict[str, str]
) -> None:
    draft = {"title": "礼品卡怎么用？", "body": "结账时输入卡号。", "status": "review"}
    made = await client.post("/api/v1/knowledge", json=draft, headers=manager)
    assert made.status_code == 201 and made.json()["status"] == "review"
    params = {"q": "礼品卡怎么用？"}
    live = (await client.get("/api/v1/knowledge/try", params=params, headers=manager)).json()
    assert live["hits"] == []
    preview = (
        await client.get(
            "/api/v1/knowledge/try", params={**params, "drafts": "true"}, headers=manager
        )
    ).json()
    assert preview["hits"][0]["id"] == made.json()["id"] and preview["action"] == "answer"


async def test_insights_count_use_feedback_and_deflection(
    kefu: Kefu,
    client: httpx.AsyncClient,
    workspace: Demo,
    manager: dict[str, str],
    agent: dict[str, str],
) -> None:
    await entries.import_entries(kefu, workspace.workspace_id, io.read_folder(io.SAMPLES))
    result = await ingest(
        kefu,
        Inbound(
            inbox_id=workspace.inbox_id,
            identity=Identity("web_visitor", "studio-1"),
            client_message_id="m1",
            body="我的快递到哪里了？",
        ),
    )
    cid = result.conversation_id
    suggestions = (
        await client.get(f"/api/v1/conversations/{cid}/suggestions", headers=agent)
    ).json()
    entry_id = suggestions["suggestions"][0]["hit"]["id"]
    await client.post(f"/api/v1/knowledge/{entry_id}/insertions", json={}, headers=agent)
    await client.post(
        f"/api/v1/knowledge/{entry_id}/feedback",
        json={"helpful": False, "comment": "少了国际件的说明"},
        headers=agent,
    )
    rows = (await client.get("/api/v1/knowledge/insights", headers=manager)).json()
    by_id = {r["id"]: r for r in rows}
    used = by_id[entry_id]
    assert (used["insertions"], used["not_helpful"], used["never_used"]) == (1, 1, False)
    assert rows[0]["id"] == entry_id  # most used first
    assert sum(r["never_used"] for r in rows) == len(rows) - 1
    feedback = (
        await client.get("/api/v1/knowledge/feedback", params={"helpful": "false"}, headers=manager)
    ).json()
    assert [(f["entry_id"], f["comment"]) for f in feedback] == [(entry_id, "少了国际件的说明")]


async def test_deflection_counts_bot_answers_that_no_person_took(
    kefu: Kefu, workspace: Demo
) -> None:
    from kefu.knowledge import assist

    ws = workspace.workspace_id
    await entries.import_entries(kefu, ws, io.read_folder(io.SAMPLES))
    first = (await entries.list_entries(kefu, ws, limit=1)).items[0]
    conversations = []
    for n in range(2):
        result = await ingest(
            kefu,
            Inbound(
                inbox_id=workspace.inbox_id,
                identity=Identity("web_visitor", f"defl-{n}"),
                client_message_id=f"defl-m{n}",
                body="hello",
            ),
        )
        assert result.conversation_id is not None
        conversations.append(result.conversation_id)
        await assist.record_usage(
            kefu, ws, first.id, "bot_answer", conversation_id=result.conversation_id
        )
    from kefu.conversations.actions import Actor, change_status
    from kefu.model import ConversationStatus, SenderKind

    bot = Actor(workspace_id=ws, kind=SenderKind.bot)
    await change_status(kefu, conversations[0], bot, ConversationStatus.resolved)
    # conversations[1] stays queued for a person: not deflected
    row = next(i for i in await studio.insights(kefu, ws) if i.id == first.id)
    assert (row.bot_conversations, row.deflected, row.deflection) == (2, 1, 0.5)


async def test_import_a_zip_of_markdown_and_a_csv_then_export_zip(
    kefu: Kefu, client: httpx.AsyncClient, workspace: Demo, manager: dict[str, str]
) -> None:
    await entries.import_entries(kefu, workspace.workspace_id, io.read_folder(io.SAMPLES))
    exported = await client.get(
        "/api/v1/knowledge/export", params={"format": "zip"}, headers=manager
    )
    assert exported.status_code == 200 and exported.headers["content-type"] == "application/zip"
    names = zipfile.ZipFile(pyio.BytesIO(exported.content)).namelist()
    assert names and all(n.endswith(".md") for n in names)

    buffer = pyio.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(
            "faq/zh-CN/gift.md", "---\nquestion: 礼品卡能退吗？\nlocale: zh-CN\n---\n\n不能。"
        )
        archive.writestr("faq/broken.md", "no front matter")
        archive.writestr("README.md", "ignored")
    parsed = await client.post(
        "/api/v1/knowledge/import/parse",
        files={"file": ("kb.zip", buffer.getvalue(), "application/zip")},
        headers=manager,
    )
    assert parsed.status_code == 200, parsed.text
    body = parsed.json()
    assert [e["key"] for e in body["entries"]] == ["gift"]
    assert len(body["errors"]) == 1 and "broken.md" in body["errors"][0]
    report = await client.post("/api/v1/knowledge/import", json=body["entries"], headers=manager)
    assert report.json()["created"] == 1

    csv_text = "question,similar,answer,locale,category\n几点发货？,什么时候发货,下午四点前下单当天发,zh-CN,物流\n"
    parsed = (
        await client.post(
            "/api/v1/knowledge/import/parse",
            files={"file": ("kb.csv", csv_text.encode(), "text/csv")},
            headers=manager,
        )
    ).json()
    assert parsed["entries"][0]["similar"] == ["什么时候发货"] and "tags" in parsed["keep"]
    report = await client.post(
        "/api/v1/knowledge/import",
        params=[("keep", k) for k in parsed["keep"]],
        json=parsed["entries"],
        headers=manager,
    )
    assert report.status_code == 200 and report.json()["created"] == 1
    bad_keep = await client.post(
        "/api/v1/knowledge/import", params={"keep": "nope"}, json=[], headers=manager
    )
    assert bad_keep.status_code == 422

    not_utf8 = await client.post(
        "/api/v1/knowledge/import/parse",
        files={"file": ("kb.csv", "问题".encode("gbk"), "text/csv")},
        headers=manager,
    )
    assert not_utf8.status_code == 422


async def test_image_upload_accepts_images_only_and_agents_cannot(
    client: httpx.AsyncClient, manager: dict[str, str], agent: dict[str, str]
) -> None:
    ok = await client.post(
        "/api/v1/knowledge/images", files={"file": ("dot.png", PNG, "image/png")}, headers=manager
    )
    assert ok.status_code == 201, ok.text
    url = ok.json()["url"]
    assert url.startswith("/api/v1/widget/media/") and ok.json()["content_type"] == "image/png"
    text = await client.post(
        "/api/v1/knowledge/images",
        files={"file": ("a.png", b"hello", "image/png")},
        headers=manager,
    )
    assert text.status_code == 415
    refused = await client.post(
        "/api/v1/knowledge/images", files={"file": ("dot.png", PNG, "image/png")}, headers=agent
    )
    assert refused.status_code == 403
    for path in ("/api/v1/knowledge/insights", "/api/v1/knowledge/unanswered/groups"):
        assert (await client.get(path, headers=agent)).status_code == 403
