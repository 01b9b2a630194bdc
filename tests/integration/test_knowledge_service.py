"""The knowledge base on a real database (SQLite and PostgreSQL): entries, versions,
restore, import round trip, search kept in step with edits, usage, feedback, unanswered."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

import kefu.knowledge.tables  # noqa: F401  (registers the tables before the schema is created)
from kefu.context import Kefu
from kefu.demo import Demo
from kefu.errors import Conflict, Invalid, NotFound
from kefu.knowledge import assist, categories, entries, index, io, public, unanswered
from kefu.knowledge.schemas import EntryIn, EntryPatch, EntryStatus, FeedbackIn, Visibility
from kefu.knowledge.search.base import SearchDocument, SearchFilters
from kefu.knowledge.search.embedded import EmbeddedIndex


def entry(title: str, **kw: object) -> EntryIn:
    return EntryIn(title=title, status=EntryStatus.published, **kw)  # type: ignore[arg-type]


async def test_create_search_update_delete_keeps_the_index_in_step(
    kefu: Kefu, workspace: Demo
) -> None:
    ws = workspace.workspace_id
    created = await entries.create_entry(
        kefu, ws, entry("怎么开发票？", body="在订单详情页申请。", category="订单/发票"), None
    )
    assert created.version == 1 and created.category == "订单/发票" and created.key
    hits = (await index.search(kefu, ws, "发票")).hits
    assert [h.id for h in hits] == [str(created.id)]

    await entries.update_entry(kefu, ws, created.id, EntryPatch(title="发票抬头怎么改？"), None)
    assert [h.title for h in (await index.search(kefu, ws, "抬头")).hits] == ["发票抬头怎么改？"]

    await entries.delete_entry(kefu, ws, created.id, None)
    assert (await index.search(kefu, ws, "发票")).hits == []
    with pytest.raises(NotFound):
        await entries.get_entry(kefu, ws, created.id)


async def test_index_built_from_the_database_on_first_search(kefu: Kefu, workspace: Demo) -> None:
    ws = workspace.workspace_id
    await entries.import_entries(kefu, ws, io.read_folder(io.SAMPLES))
    kefu.knowledge_index = None  # a fresh process: no index in memory yet
    hits = (await index.search(kefu, ws, "退款", SearchFilters(locale="zh-CN"))).hits
    assert hits and hits[0].title in {
        "如何申请退款？",
        "退款多久到账？",
        "退款申请被拒绝了怎么办？",
    }


async def test_every_change_is_a_version_and_restore_brings_it_back(
    kefu: Kefu, workspace: Demo
) -> None:
    ws = workspace.workspace_id
    agent = workspace.logins[0].id
    created = await entries.create_entry(
        kefu, ws, entry("积分怎么用？", body="100 积分抵 1 元"), agent
    )
    await entries.update_entry(kefu, ws, created.id, EntryPatch(body="200 积分抵 1 元"), agent)
    versions = await entries.list_versions(kefu, ws, created.id)
    assert [(v.version, v.change, v.changed_fields) for v in versions] == [
        (2, "updated", ["body"]),
        (1, "created", list(entries.FIELDS)),
    ]
    assert versions[0].changed_by == agent

    restored = await entries.restore_version(kefu, ws, created.id, 1, agent)
    assert restored.body == "100 积分抵 1 元" and restored.version == 3
    assert (await entries.list_versions(kefu, ws, created.id))[0].change == "restored"


async def test_a_deleted_entry_can_be_restored_with_its_id(kefu: Kefu, workspace: Demo) -> None:
    ws = workspace.workspace_id
    created = await entries.create_entry(kefu, ws, entry("礼品卡怎么用？"), None)
    await entries.delete_entry(kefu, ws, created.id, None)
    back = await entries.restore_version(kefu, ws, created.id, 1, None)
    assert back.id == created.id and back.title == "礼品卡怎么用？"
    assert [h.id for h in (await index.search(kefu, ws, "礼品卡")).hits] == [str(created.id)]


async def test_stale_edit_is_refused_with_409(kefu: Kefu, workspace: Demo) -> None:
    ws = workspace.workspace_id
    created = await entries.create_entry(kefu, ws, entry("运费怎么算？"), None)
    await entries.update_entry(kefu, ws, created.id, EntryPatch(body="满 99 包邮", version=1), None)
    with pytest.raises(Conflict):
        await entries.update_entry(
            kefu, ws, created.id, EntryPatch(body="满 199 包邮", version=1), None
        )
    assert (await entries.get_entry(kefu, ws, created.id)).body == "满 99 包邮"


async def test_duplicate_key_is_a_conflict_and_leaves_no_row(kefu: Kefu, workspace: Demo) -> None:
    ws = workspace.workspace_id
    await entries.create_entry(kefu, ws, entry("A", key="same"), None)
    with pytest.raises(Conflict):
        await entries.create_entry(kefu, ws, entry("B", key="same", category="新分类"), None)
    assert (await entries.list_entries(kefu, ws)).total == 1
    assert await categories.list_categories(kefu, ws) == []


async def test_import_export_reimport_changes_nothing(
    kefu: Kefu, workspace: Demo, tmp_path: Path
) -> None:
    ws = workspace.workspace_id
    first = await entries.import_entries(kefu, ws, io.read_folder(io.SAMPLES))
    assert first.created == len(list(io.SAMPLES.rglob("*.md"))) and first.updated == 0

    again = await entries.import_entries(kefu, ws, io.read_folder(io.SAMPLES))
    assert (again.created, again.updated, again.unchanged) == (0, 0, first.created)

    exported = await entries.export_entries(kefu, ws)
    io.write_folder(tmp_path / "kb", exported)
    round_trip = await entries.import_entries(kefu, ws, io.read_folder(tmp_path / "kb"))
    assert (round_trip.created, round_trip.updated) == (0, 0)
    assert await entries.export_entries(kefu, ws) == exported

    (tmp_path / "kb.csv").write_text(io.write_csv(exported), encoding="utf-8")
    via_csv = await entries.import_entries(kefu, ws, io.read_path(tmp_path / "kb.csv"))
    assert io.absent_fields(tmp_path / "kb.csv") == {"attachments"}
    assert (via_csv.created, via_csv.updated) == (0, 0)


async def test_reimport_with_an_edit_updates_in_place(
    kefu: Kefu, workspace: Demo, tmp_path: Path
) -> None:
    ws = workspace.workspace_id
    csv = (
        "question,similar,answer,locale,category\n"
        "退货运费谁出？,寄回运费|退货邮费,质量问题我们承担,zh-CN,售后/退货\n"
    )
    (tmp_path / "a.csv").write_text(csv, encoding="utf-8")
    await entries.import_entries(kefu, ws, io.read_path(tmp_path / "a.csv"))
    (tmp_path / "a.csv").write_text(
        csv.replace("质量问题我们承担", "质量问题由我们承担运费"), encoding="utf-8"
    )
    report = await entries.import_entries(kefu, ws, io.read_path(tmp_path / "a.csv"))
    assert (report.created, report.updated) == (0, 1)
    page = await entries.list_entries(kefu, ws)
    assert page.total == 1
    assert page.items[0].similar == ["寄回运费", "退货邮费"] and page.items[0].version == 2
    assert page.items[0].category == "售后/退货"
    assert [c.path for c in await categories.list_categories(kefu, ws)] == ["售后", "售后/退货"]


async def test_list_filters_by_category_subtree_and_tag(kefu: Kefu, workspace: Demo) -> None:
    ws = workspace.workspace_id
    await entries.create_entry(
        kefu, ws, entry("退款多久", category="售后/退款", tags=["退款"]), None
    )
    await entries.create_entry(kefu, ws, entry("退货地址", category="售后/退货"), None)
    await entries.create_entry(kefu, ws, entry("发票", category="订单"), None)
    assert (await entries.list_entries(kefu, ws, category="售后")).total == 2
    assert (await entries.list_entries(kefu, ws, tag="退款")).total == 1


async def test_usage_and_feedback_are_counted(kefu: Kefu, workspace: Demo) -> None:
    ws = workspace.workspace_id
    created = await entries.create_entry(kefu, ws, entry("会员有什么权益？"), None)
    assert (
        await assist.record_usage(kefu, ws, created.id, "inserted", user_id=workspace.logins[0].id)
        == 1
    )
    assert await assist.record_usage(kefu, ws, created.id, "inserted") == 2
    await assist.record_feedback(kefu, ws, created.id, FeedbackIn(helpful=True), source="visitor")
    await assist.record_feedback(kefu, ws, created.id, FeedbackIn(helpful=False), source="agent")
    view = await entries.get_entry(kefu, ws, created.id)
    assert (view.insertions, view.helpful, view.not_helpful) == (2, 1, 1)
    with pytest.raises(Invalid):
        await assist.record_usage(kefu, ws, created.id, "inserted", conversation_id=uuid.uuid4())


async def test_unanswered_questions_group_by_normalized_text(kefu: Kefu, workspace: Demo) -> None:
    ws = workspace.workspace_id
    for text in ("能寄到火星吗？", "能寄到火星吗", " 能寄到 火星吗!"):
        await unanswered.record_unanswered(kefu, ws, text, locale="zh-CN", conversation_id=None)
    await unanswered.record_unanswered(
        kefu, ws, "可以用比特币吗", locale="zh-CN", conversation_id=None
    )
    grouped = await unanswered.list_unanswered(kefu, ws)
    assert [(g.count, unanswered.question_key(g.question)) for g in grouped] == [
        (3, "能寄到火星吗"),
        (1, "可以用比特币吗"),
    ]
    await unanswered.resolve_unanswered(kefu, ws, "能寄到火星吗", entry_id=None, ignore=True)
    assert [g.count for g in await unanswered.list_unanswered(kefu, ws)] == [1]


async def test_workspaces_do_not_share_entries_or_hits(
    kefu: Kefu, workspace: Demo, other_workspace: Demo
) -> None:
    mine = await entries.create_entry(kefu, workspace.workspace_id, entry("发票怎么开"), None)
    await entries.create_entry(kefu, other_workspace.workspace_id, entry("发票抬头"), None)
    hits = (await index.search(kefu, workspace.workspace_id, "发票")).hits
    assert [h.id for h in hits] == [str(mine.id)]
    with pytest.raises(NotFound):
        await entries.get_entry(kefu, other_workspace.workspace_id, mine.id)


async def test_public_search_sees_only_published_public(kefu: Kefu, workspace: Demo) -> None:
    ws = workspace.workspace_id
    await entries.create_entry(kefu, ws, entry("退款怎么申请"), None)
    await entries.create_entry(
        kefu, ws, entry("退款审批权限", visibility=Visibility.internal), None
    )
    await entries.create_entry(kefu, ws, EntryIn(title="退款新规（草稿）"), None)
    results = await public.public_search(kefu, workspace.widget_key, "退款", None)
    assert [h.title for h in results.hits] == ["退款怎么申请"]
    with pytest.raises(NotFound):
        await public.public_search(kefu, "no-such-key", "退款", None)


async def test_a_plain_csv_keeps_what_it_has_no_column_for(
    kefu: Kefu, workspace: Demo, tmp_path: Path
) -> None:
    ws = workspace.workspace_id
    created = await entries.create_entry(
        kefu,
        ws,
        entry("怎么开发票？", key="invoice", channels={"wechat": "短答案"}, tags=["发票"]),
        None,
    )
    path = tmp_path / "plain.csv"
    path.write_text(
        "question,similar,answer,locale,category,key\n怎么开发票？,,新答案,zh-CN,,invoice\n",
        encoding="utf-8",
    )
    report = await entries.import_entries(kefu, ws, io.read_path(path), keep=io.absent_fields(path))
    assert report.updated == 1
    view = await entries.get_entry(kefu, ws, created.id)
    assert (view.body, view.channels, view.tags) == ("新答案", {"wechat": "短答案"}, ["发票"])


async def test_an_edit_during_a_rebuild_is_not_lost(
    kefu: Kefu, workspace: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = workspace.workspace_id
    await entries.create_entry(kefu, ws, entry("旧的问题"), None)
    await index.search(kefu, ws, "问题")  # the index is loaded
    read, release = asyncio.Event(), asyncio.Event()
    original = index._all_documents

    async def slow_read(k: Kefu, w: uuid.UUID) -> list[SearchDocument]:
        docs = await original(k, w)
        read.set()
        await release.wait()  # the rebuild has read the database but not swapped yet
        return docs

    monkeypatch.setattr(index, "_all_documents", slow_read)
    rebuild = asyncio.create_task(index.reindex(kefu, ws))
    await read.wait()
    added = await entries.create_entry(kefu, ws, entry("发票抬头怎么改"), None)
    release.set()
    assert await rebuild == 1
    assert [h.id for h in (await index.search(kefu, ws, "发票")).hits] == [str(added.id)]


async def test_warm_up_builds_every_workspace_with_knowledge(
    kefu: Kefu, workspace: Demo, other_workspace: Demo
) -> None:
    await entries.create_entry(kefu, workspace.workspace_id, entry("发票怎么开"), None)
    await entries.create_entry(kefu, other_workspace.workspace_id, entry("退款多久"), None)
    kefu.knowledge_index = None  # a fresh process
    await index.warm_up(kefu)
    built = index.search_index(kefu)
    assert isinstance(built, EmbeddedIndex)
    assert built.has(workspace.workspace_id) and built.has(other_workspace.workspace_id)


async def test_renaming_a_category_moves_its_subtree_and_search_filters(
    kefu: Kefu, workspace: Demo
) -> None:
    ws = workspace.workspace_id
    created = await entries.create_entry(kefu, ws, entry("退款多久", category="售后/退款"), None)
    parent = next(c for c in await categories.list_categories(kefu, ws) if c.path == "售后")
    await categories.rename_category(kefu, ws, parent.id, "售后服务")
    assert [c.path for c in await categories.list_categories(kefu, ws)] == [
        "售后服务",
        "售后服务/退款",
    ]
    assert (await entries.get_entry(kefu, ws, created.id)).category == "售后服务/退款"
    found = await index.search(kefu, ws, "退款", SearchFilters(category="售后服务"))
    assert [h.id for h in found.hits] == [str(created.id)]

    await categories.delete_category(kefu, ws, parent.id)
    assert await categories.list_categories(kefu, ws) == []
    assert (await entries.get_entry(kefu, ws, created.id)).category is None
    assert (await index.search(kefu, ws, "退款", SearchFilters(category="售后服务"))).hits == []


async def test_entries_sort_by_usage(kefu: Kefu, workspace: Demo) -> None:
    ws = workspace.workspace_id
    quiet = await entries.create_entry(kefu, ws, entry("冷门问题"), None)
    used = await entries.create_entry(kefu, ws, entry("热门问题"), None)
    await assist.record_usage(kefu, ws, used.id, "inserted")
    await entries.update_entry(kefu, ws, quiet.id, EntryPatch(body="刚改过"), None)
    ids = [e.id for e in (await entries.list_entries(kefu, ws, sort="insertions")).items]
    assert ids == [used.id, quiet.id]
