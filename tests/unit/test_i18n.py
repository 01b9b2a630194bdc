"""Errors a person reads come back in their language; Accept-Language picks it."""

from __future__ import annotations

import pytest

from kefu.errors import FieldError, Invalid
from kefu.i18n import Text, locale_of
from kefu.problems import on_kefu_error


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "en"),
        ("", "en"),
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh-CN"),
        ("zh-TW", "zh-CN"),
        ("en-GB,en;q=0.9", "en"),
        ("fr-FR, en;q=0.5, zh;q=0.7", "zh-CN"),
        ("fr", "en"),
        ("zh;q=0, en", "en"),
        ("zh;q=abc, en;q=0.1", "en"),
    ],
)
def test_accept_language_picks_the_best_locale(header: str | None, expected: str) -> None:
    assert locale_of(header) == expected


class _Request:
    def __init__(self, accept_language: str) -> None:
        self.headers = {"accept-language": accept_language}


def test_problem_detail_and_field_errors_render_in_the_request_language() -> None:
    error = Invalid(
        Text("Fix the highlighted field", "请修改标出的字段"),
        errors=[FieldError("config.appid", Text("AppID is required", "需要填写 AppID"))],
    )
    zh = on_kefu_error(_Request("zh-CN"), error)  # type: ignore[arg-type]
    en = on_kefu_error(_Request("en"), error)  # type: ignore[arg-type]
    assert zh.content["detail"] == "请修改标出的字段"
    assert zh.content["errors"] == [{"field": "config.appid", "message": "需要填写 AppID"}]
    assert en.content["detail"] == "Fix the highlighted field"
    assert en.content["errors"] == [{"field": "config.appid", "message": "AppID is required"}]
    assert str(error) == "Fix the highlighted field"


def test_text_formats_both_languages() -> None:
    text = Text("{n} agents online", "{n} 位客服在线").format(n=3)
    assert text.render("en") == "3 agents online"
    assert text.render("zh-CN") == "3 位客服在线"
    assert text.both().en == "3 agents online"
