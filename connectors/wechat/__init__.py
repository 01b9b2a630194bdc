"""WeChat official accounts (微信公众号) as a kefu channel.

- `webhook.py`, `crypto.py`: verify what WeChat posts (plain, compatible, safe modes).
- `parse.py`: WeChat XML -> `Inbound`.
- `api.py`: the webhook controller and the reply-window endpoint.
- `client.py`, `token.py`: WeChat's HTTP API with one access_token shared by all processes.
- `config.py`: the inbox settings (AppID, mode, AppSecret, Token, EncodingAESKey).
- `connector.py`, `window.py`: the channel's contract (routes, webhook path, settings,
  test connection) and replies as customer-service messages, within WeChat's window.
- `simulate.py`, `standin.py`: be WeChat locally (the `kefu simulate wechat` command and
  a stand-in of api.weixin.qq.com for tests and the demo).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kefu.connectors.wechat.connector import WeChatConnector
    from kefu.context import Kefu


def install(kefu: Kefu) -> WeChatConnector:
    """Register the WeChat connector on a built `Kefu` (its token and reply-window
    counts come from the core, its media goes under `settings.media_dir`)."""
    from kefu.connectors.media import FileMediaStore
    from kefu.connectors.wechat.connector import WeChatConnector

    connector = WeChatConnector(kefu, media=FileMediaStore(kefu.settings.media_dir))
    kefu.connectors.register(connector)
    return connector
