"""The generic API channel: any system that can sign a webhook becomes an inbox.

- `config.py`: where replies go (`webhook_url`) and the signing secret, made by kefu and
  shown once when the inbox is created or the secret rotated.
- `channel.py`: the webhook `POST /connectors/api/{inbox_id}` and `ApiConnector`, which
  POSTs replies signed the same way (`kefu.connectors.signing`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kefu.connectors.api.channel import ApiConnector
    from kefu.context import Kefu


def install(kefu: Kefu) -> ApiConnector:
    from kefu.connectors.api.channel import ApiConnector

    connector = ApiConnector(kefu.outbound)
    kefu.connectors.register(connector)
    return connector
