"""The public help centre at /help/<workspace>: language by ?lang= and Accept-Language,
categories, search, article pages with title / meta description / canonical, Markdown
rendered without raw HTML, feedback by a plain form, "chat with us" loading the widget,
and nothing unpublished or internal ever shown."""

from __future__ import annotations

import re

import httpx

from kefu.context import Kefu
from kefu.demo import Demo
from kefu.knowledge import entries, io
from kefu.knowledge.schemas import EntryIn, EntryStatus, Visibility


async def _seed(kefu: Kefu, demo: Demo) -> None:
    await entries.import_entries(kefu, demo.workspace_id, io.read_folder(io.SAMPLES))
    ws = demo.workspace_id
    for key, status, visibility in (
        ("secret-draft", EntryStatus.draft, Visibility.public),
        ("secret-internal", EntryStatus.published, Visibility.internal),
    ):
        await entries.create_entry(
            kefu,
            ws,
            EntryIn(
                title=f"秘密 {key}",
                key=key,
                body="不该公开",
                status=status,
                visibility=visibility,
            ),
            None,
        )
    await entries.create_entry(
        kefu,
        ws,
        EntryIn(
            title="安全说明",
            key="safety",
            body="请**手洗**。<script>alert(1)</script> [点我](javascript:alert(1)) [官网](https://example.com)",
            status=EntryStatus.published,
        ),
        None,
    )


async def test_home_in_both_languages_by_header_and_by_switch(
    kefu: Kefu, client: httpx.AsyncClient, workspace: Demo
) -> None:
    await _seed(kefu, workspace)
    zh = await client.get("/help/acme", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert zh.status_code == 200 and zh.headers["content-type"].startswith("text/html")
    assert '<html lang="zh-CN">' in zh.text and "帮助中心" in zh.text
    assert "如何申请退款" in zh.text or "退款" in zh.text
    assert "Shipping policy" not in zh.text  # English entries stay on the English site
    en = await client.get("/help/acme", params={"lang": "en"}, headers={"Accept-Language": "zh"})
    assert '<html lang="en">' in en.text and "Help centre" in en.text
    assert (
        "Shipping policy" in en.text
        and 'href="/help/acme/articles/article-shipping-policy?lang=en"' in en.text
    )
    assert 'rel="canonical"' in en.text and 'hreflang="zh-CN"' in en.text
    for page in (zh.text, en.text):
        assert "secret-draft" not in page and "secret-internal" not in page and "秘密" not in page
    assert "/widget.js" in zh.text and "data-kefu-open" in zh.text
    assert (await client.get("/help/nope")).status_code == 404


async def test_category_search_and_article_pages(
    kefu: Kefu, client: httpx.AsyncClient, workspace: Demo
) -> None:
    await _seed(kefu, workspace)
    cat = await client.get("/help/acme/categories/Shipping", params={"lang": "en"})
    assert cat.status_code == 200 and "Shipping policy" in cat.text
    assert (await client.get("/help/acme/categories/Nowhere")).status_code == 404

    found = await client.get("/help/acme/search", params={"q": "refund", "lang": "en"})
    assert found.status_code == 200 and "<mark>" in found.text
    assert 'content="noindex"' in found.text
    links = re.findall(r'href="(/help/acme/articles/[^"?]+)', found.text)
    assert links
    zh = await client.get("/help/acme/search", params={"q": "退款", "lang": "zh-CN"})
    assert "/help/acme/articles/" in zh.text and "搜索结果" in zh.text
    none = await client.get("/help/acme/search", params={"q": "秘密", "lang": "zh-CN"})
    assert "secret-" not in none.text and "不该公开" not in none.text
    nothing = await client.get("/help/acme/search", params={"q": "zzqqxx", "lang": "zh-CN"})
    assert "没有找到" in nothing.text

    page = await client.get("/help/acme/articles/article-shipping-policy")
    assert page.status_code == 200
    assert "<title>Shipping policy · " in page.text
    description = re.search(r'<meta name="description" content="([^"]*)"', page.text)
    assert description and description.group(1).startswith("Shipping policy We ship")
    assert '<link rel="canonical" href="/help/acme/articles/article-shipping-policy">' in page.text
    assert "<li>Orders over ¥99 ship free" in page.text  # Markdown rendered
    for hidden in ("secret-draft", "secret-internal"):
        assert (await client.get(f"/help/acme/articles/{hidden}")).status_code == 404


async def test_markdown_is_rendered_without_raw_html_or_script_links(
    kefu: Kefu, client: httpx.AsyncClient, workspace: Demo
) -> None:
    await _seed(kefu, workspace)
    page = (await client.get("/help/acme/articles/safety", params={"lang": "zh-CN"})).text
    body = page.split('<div class="body">', 1)[1].split("</div>", 1)[0]
    assert "<strong>手洗</strong>" in body
    assert "<script>" not in body and "&lt;script&gt;" in body
    assert "javascript:" not in body.replace("[点我](javascript:alert(1))", "")
    assert 'href="https://example.com" target="_blank" rel="noopener noreferrer nofollow"' in body


async def test_feedback_form_counts_and_thanks(
    kefu: Kefu, client: httpx.AsyncClient, workspace: Demo
) -> None:
    await _seed(kefu, workspace)
    posted = await client.post(
        "/help/acme/articles/safety/feedback",
        params={"lang": "en"},
        data={"helpful": "no", "comment": "Which detergent?"},
    )
    assert posted.status_code == 303
    assert posted.headers["location"] == "/help/acme/articles/safety?thanks=true&lang=en"
    thanks = await client.get(posted.headers["location"])
    assert "Thank you for your feedback!" in thanks.text
    listed = await entries.list_entries(kefu, workspace.workspace_id, sort="not_helpful", limit=1)
    assert listed.items[0].key == "safety" and listed.items[0].not_helpful == 1
    refused = await client.post(
        "/help/acme/articles/secret-draft/feedback", data={"helpful": "yes"}
    )
    assert refused.status_code == 404
    bad = await client.post("/help/acme/articles/safety/feedback", data={"helpful": "maybe"})
    assert bad.status_code == 400 or bad.status_code == 422
