"""A mail's HTML keeps its layout and loses everything that runs or fetches by itself."""

from __future__ import annotations

import pytest

from kefu.connectors.email.sanitize import safe_html


@pytest.mark.parametrize(
    ("hostile", "gone"),
    [
        ("<script>alert(1)</script><p>hi</p>", "alert"),
        ('<img src="x.png" onerror="alert(1)">', "onerror"),
        ('<body onload="steal()"><p>hi</p></body>', "onload"),
        ('<a href="javascript:alert(1)">pay</a>', "javascript"),
        ('<a href=" JaVaScRiPt:alert(1)">pay</a>', "alert"),
        ('<a href="data:text/html,<script>x</script>">x</a>', "data:"),
        ('<p style="background:url(https://t.example/p.gif)">x</p>', "url("),
        ('<p style="color:red;background-image:url(https://t.example/p)">x</p>', "url("),
        ("<style>p{background:url(https://t.example/p)}</style><p>x</p>", "url("),
        ('<iframe src="https://evil.example"></iframe>', "iframe"),
        ('<form action="https://evil.example"><input name="pw"></form>', "form"),
        ('<object data="x.swf"></object><embed src="x.swf">', "swf"),
        ('<meta http-equiv="refresh" content="0;url=https://evil.example">', "refresh"),
        ('<link rel="stylesheet" href="https://t.example/a.css">', "stylesheet"),
        ("<svg><script>alert(1)</script></svg>", "alert"),
        ('<img src="javascript:alert(1)">', "javascript"),
    ],
)
def test_hostile_html_loses_what_runs_or_fetches(hostile: str, gone: str) -> None:
    assert gone.casefold() not in safe_html(hostile).casefold()


def test_layout_and_safe_styles_survive() -> None:
    out = safe_html(
        '<table border="1"><tr><td style="color:#333;padding:4px">订单 <b>12345</b></td></tr></table>'
    )
    assert "<table" in out and "<b>12345</b>" in out
    assert 'style="color:#333;padding:4px"' in out


def test_links_open_in_a_new_tab_without_referrer() -> None:
    out = safe_html('<a href="https://shop.example/o/1">订单</a>')
    assert 'href="https://shop.example/o/1"' in out
    assert 'target="_blank"' in out and "noreferrer" in out


def test_inline_images_point_at_the_stored_attachment_and_unknown_ones_go() -> None:
    out = safe_html(
        '<img src="cid:logo@shop"><img src="cid:missing@shop">',
        {"<logo@shop>": "/media/email/i/logo.png"},
    )
    assert out.count("<img") == 2
    assert 'src="/media/email/i/logo.png"' in out
    assert "cid:" not in out


def test_remote_images_stay_in_the_markup_for_the_frame_to_block() -> None:
    # Loading them is the frame's Content-Security-Policy's decision, made by the agent.
    assert 'src="https://cdn.example/banner.png"' in safe_html(
        '<img src="https://cdn.example/banner.png" alt="banner">'
    )
