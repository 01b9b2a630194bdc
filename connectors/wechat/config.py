"""Reading an official account's settings off its inbox row."""

from __future__ import annotations

from kefu.connectors.base import InboxView
from kefu.connectors.wechat.webhook import AccountKeys, Mode


def setting(inbox: InboxView, name: str, default: str = "") -> str:
    """Secrets first, then public config: the inbox API moves secret keys into
    `secrets` on write; older rows and hand-made ones may hold everything in config."""
    value = (inbox.secrets or {}).get(name) or (inbox.config or {}).get(name)
    return str(value) if value else default


def account_keys(inbox: InboxView) -> AccountKeys:
    mode = setting(inbox, "mode", Mode.plain)
    return AccountKeys(
        appid=setting(inbox, "appid"),
        token=setting(inbox, "token"),
        mode=Mode(mode) if mode in Mode.__members__ else Mode.plain,
        encoding_aes_key=setting(inbox, "encoding_aes_key"),
        previous_encoding_aes_key=setting(inbox, "previous_encoding_aes_key"),
    )
