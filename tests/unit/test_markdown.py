"""kefu.markdown: Markdown rendered without any HTML its author typed and without script
links, for the help centre (the console and the widget do the same with marked)."""

from __future__ import annotations

import pytest

from kefu.markdown import safe_url, to_html, to_text


def test_markdown_renders_emphasis_lists_and_safe_links() -> None:
    html = to_html("请**手洗**\n\n1. one\n2. [site](https://example.com/a?b=1&c=2)")
    assert "<strong>手洗</strong>" in html and "<ol>" in html
    assert (
        '<a href="https://example.com/a?b=1&amp;c=2" target="_blank" '
        'rel="noopener noreferrer nofollow">site</a>'
    ) in html


@pytest.mark.parametrize(
    "text",
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        '<a href="javascript:alert(1)">x</a>',
        "[x](javascript:alert(1))",
        "[x](JaVaScRiPt:alert(1))",
        "[x](vbscript:msgbox(1))",
        "![x](data:text/html;base64,PHNjcmlwdD4=)",
        "<javascript:alert(1)>",
        "[x](java\tscript:alert(1))",
    ],
)
def test_typed_html_and_script_urls_never_become_markup(text: str) -> None:
    html = to_html(text)
    assert (
        "<script" not in html
        and "<img" not in html
        and "onerror=" not in html.replace("&lt;img src=x onerror=alert(1)&gt;", "")
    )
    assert 'href="javascript' not in html.lower() and 'href="vbscript' not in html.lower()
    assert 'src="data:' not in html


def test_safe_url_and_plain_text() -> None:
    assert safe_url("/help/a") and safe_url("https://x") and safe_url("mailto:a@b.c")
    assert not safe_url("javascript:x") and not safe_url("data:x") and not safe_url("a\x01b")
    assert to_text("# Title\n\nSome **bold** [link](https://x).") == "Title Some bold link ."
