"""Why a mail was set aside, or a mailed reply failed, in the reader's language.

The reasons are stored as the English sentence the intake or the sender wrote (the
column is free text, and rows written before this catalogue stay readable); each English
sentence below is also a pattern, so a stored reason is said again in Chinese with the
same values. Values are the server's or the sender's own words and stay as they are. A
reason no template matches is shown as stored."""

from __future__ import annotations

import re
from functools import cache

from kefu.i18n import Text

# Placeholders that hold another reason (said in the reader's language too).
NESTED = frozenset({"reason"})

TEMPLATES: tuple[Text, ...] = (
    # intake: mails set aside
    Text(
        "the mail is {size} bytes, over the {limit}-byte limit",
        "邮件大小为 {size} 字节，超过 {limit} 字节的上限",
    ),
    Text("not a mail: {why}", "不是邮件：{why}"),
    Text("could not be read: {why}", "无法读取：{why}"),
    Text("our own mail came back", "我们自己发出的邮件被退回了"),
    Text("automatic or bulk mail ({kind})", "自动回复或群发邮件（{kind}）"),
    Text("the mail has no sender address", "邮件没有发件人地址"),
    Text("{sender} is not a known contact", "{sender} 不是已知联系人"),
    Text("delivery report for an unknown mail: {reason}", "未知邮件的退信报告：{reason}"),
    Text("delivery report for {mail}: {reason}", "邮件 {mail} 的退信报告：{reason}"),
    Text("the receiving server returned the mail", "收件服务器退回了邮件"),
    Text("this Message-ID was stored before", "该 Message-ID 已保存过"),
    # the mailbox: what the IMAP worker last met, on the inbox's page
    Text("could not connect to {host} ({why})", "无法连接 {host}（{why}）"),
    Text("the server refused the login ({why})", "服务器拒绝登录（{why}）"),
    Text("the connection failed during login ({why})", "登录时连接中断（{why}）"),
    Text("the folder {folder} cannot be opened", "无法打开文件夹 {folder}"),
    Text("the server refused the search", "服务器拒绝了搜索"),
    Text("the server refused to send mail {uid}", "服务器拒绝发送第 {uid} 封邮件"),
    Text("the server closed the connection", "服务器关闭了连接"),
    # sending: a reply marked failed, on the agent's timeline
    Text("bounced: {reason}", "退信：{reason}"),
    Text("e-mail to {to}: {reason}", "发往 {to} 的邮件：{reason}"),
    Text("the mail server refused {to}: {said}", "邮件服务器拒收 {to}：{said}"),
    Text("the mail server said {said}", "邮件服务器答复：{said}"),
    Text("could not reach the mail server: {said}", "无法连接邮件服务器：{said}"),
    Text(
        "this e-mail inbox has no SMTP server to send replies with",
        "此邮件收件箱未设置用于发送回复的 SMTP 服务器",
    ),
    Text("the customer has no e-mail address to reply to", "客户没有可回复的邮箱地址"),
    Text("the attachment {name} is gone", "附件 {name} 已不存在"),
)

_FIELD = re.compile(r"\{(\w+)\}")


@cache
def _patterns() -> tuple[tuple[re.Pattern[str], Text], ...]:
    compiled = []
    for template in TEMPLATES:
        parts = _FIELD.split(template.en)
        # Even parts are literal text, odd parts are field names.
        regex = "".join(
            re.escape(part) if n % 2 == 0 else f"(?P<{part}>.+?)" for n, part in enumerate(parts)
        )
        compiled.append((re.compile(f"^{regex}$", re.DOTALL), template))
    return tuple(compiled)


def localized(reason: str | None, locale: str) -> str | None:
    """`reason` as the reader of `locale` should read it (English is stored)."""
    if not reason or not locale.lower().startswith("zh"):
        return reason
    for pattern, template in _patterns():
        found = pattern.match(reason)
        if found is None:
            continue
        values = {
            name: (localized(value, locale) or value) if name in NESTED else value
            for name, value in found.groupdict().items()
        }
        return template.zh.format(**values)
    return reason
