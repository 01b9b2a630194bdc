"""Mail-intake and delivery reasons, stored in English, said again in Chinese with the
same values; anything unknown is shown as stored."""

from __future__ import annotations

import pytest

from kefu.mail.reasons import TEMPLATES, localized


@pytest.mark.parametrize(
    ("stored", "zh"),
    [
        (
            "the mail is 31457280 bytes, over the 26214400-byte limit",
            "邮件大小为 31457280 字节，超过 26214400 字节的上限",
        ),
        ("not a mail: no headers", "不是邮件：no headers"),
        ("our own mail came back", "我们自己发出的邮件被退回了"),
        ("automatic or bulk mail (auto-replied)", "自动回复或群发邮件（auto-replied）"),
        ("the mail has no sender address", "邮件没有发件人地址"),
        ("li@example.cn is not a known contact", "li@example.cn 不是已知联系人"),
        (
            "delivery report for kefu.ab12.cd@example.com: 5.1.1 mailbox does not exist",
            "邮件 kefu.ab12.cd@example.com 的退信报告：5.1.1 mailbox does not exist",
        ),
        (
            "delivery report for an unknown mail: the receiving server returned the mail",
            "未知邮件的退信报告：收件服务器退回了邮件",
        ),
        ("bounced: 5.1.1 mailbox does not exist", "退信：5.1.1 mailbox does not exist"),
        (
            "e-mail to xu@example.cn: the mail server refused xu@example.cn: 550 no such user",
            "发往 xu@example.cn 的邮件：邮件服务器拒收 xu@example.cn：550 no such user",
        ),
        ("could not reach the mail server: timed out", "无法连接邮件服务器：timed out"),
        (
            "the server refused the login ([AUTHENTICATIONFAILED] Authentication failed.)",
            "服务器拒绝登录（[AUTHENTICATIONFAILED] Authentication failed.）",
        ),
        ("could not connect to 127.0.0.1:1 (refused)", "无法连接 127.0.0.1:1（refused）"),
        ("WeChat said 45015", "WeChat said 45015"),
    ],
)
def test_a_stored_reason_is_said_in_chinese_with_its_values(stored: str, zh: str) -> None:
    assert localized(stored, "zh-CN") == zh
    assert localized(stored, "en") == stored


def test_every_template_has_the_same_values_in_both_languages() -> None:
    import re

    for template in TEMPLATES:
        assert sorted(re.findall(r"\{(\w+)\}", template.en)) == sorted(
            re.findall(r"\{(\w+)\}", template.zh)
        ), template.en
