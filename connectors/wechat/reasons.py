"""What an agent reads when WeChat refuses a reply, in the console's languages.

A `DeliveryError` carries one string, so it carries both: the English sentence and the
Chinese one. `text(key, locale)` gives a single language where the caller knows it.
"""

from __future__ import annotations

from typing import Any

REASONS: dict[str, dict[str, str]] = {
    "window_expired": {
        "en": "WeChat allows replies for 48 h after the customer's last message; "
        "the last one is {hours} h old. The customer must write again first.",
        "zh-CN": "微信只允许在用户最后一条消息后 48 小时内回复；"
        "距今已 {hours} 小时，需等用户再次发消息。",
    },
    "never_wrote": {
        "en": "WeChat allows replies only after the customer has written to the account.",
        "zh-CN": "用户尚未给公众号发过消息，微信不允许主动发送客服消息。",
    },
    "too_many_replies": {
        "en": "WeChat allows 5 replies per customer message; they are used up. "
        "The customer must write again first.",
        "zh-CN": "微信每条用户消息后最多允许回复 5 条，额度已用完，需等用户再次发消息。",
    },
    "unfollowed": {
        "en": "The customer has unfollowed the official account; "
        "WeChat no longer delivers to them.",
        "zh-CN": "用户已取消关注公众号，微信不再向其发送消息。",
    },
    "bad_recipient": {
        "en": "WeChat does not know this customer (invalid openid for this account).",
        "zh-CN": "该 openid 不属于此公众号，微信无法投递。",
    },
    "credentials": {
        "en": "WeChat refused the account's AppID/AppSecret or this server's IP "
        "(errcode {errcode}); check the inbox settings and the IP whitelist.",
        "zh-CN": "微信拒绝了 AppID/AppSecret 或服务器 IP（错误码 {errcode}），"
        "请检查收件箱配置和 IP 白名单。",
    },
    "media_missing": {
        "en": "The attachment {name} cannot be sent: its file is not available.",
        "zh-CN": "附件 {name} 无法发送：文件不存在。",
    },
    "unsupported_type": {
        "en": "WeChat customer-service messages cannot carry a {type} message.",
        "zh-CN": "微信客服消息不支持 {type} 类型。",
    },
    "refused": {
        "en": "WeChat refused the reply (errcode {errcode}).",
        "zh-CN": "微信拒绝了该回复（错误码 {errcode}）。",
    },
    "busy": {
        "en": "WeChat is busy (errcode {errcode}); the reply will be retried.",
        "zh-CN": "微信繁忙（错误码 {errcode}），稍后自动重试。",
    },
    "unreachable": {
        "en": "WeChat could not be reached ({error}); the reply will be retried.",
        "zh-CN": "无法连接微信（{error}），稍后自动重试。",
    },
}


def text(key: str, locale: str = "en", **values: Any) -> str:
    messages = REASONS[key]
    return (messages.get(locale) or messages["en"]).format(**values)


def both(key: str, **values: Any) -> str:
    return f"{text(key, 'en', **values)} / {text(key, 'zh-CN', **values)}"
