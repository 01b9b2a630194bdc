"""The web chat widget's back end: visitor sessions with signed per-inbox tokens,
identify (HMAC-SHA256), the visitor HTTP API and websocket, page views, uploads, leave-a-
message and satisfaction ratings. `config.py` holds the widget's settings; `install`
registers `WebConnector`, whose routes (`api.ROUTES`) `create_app` mounts."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kefu.connectors.web.connector import WebConnector
    from kefu.context import Kefu


def install(kefu: Kefu) -> WebConnector:
    from kefu.connectors.web.connector import WebConnector

    connector = WebConnector()
    kefu.connectors.register(connector)
    return connector
