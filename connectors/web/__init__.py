"""The web chat widget's back end: visitor sessions with signed per-inbox tokens,
identify (HMAC-SHA256), the visitor HTTP API and websocket, page views, uploads, leave-a-
message and satisfaction ratings. `ROUTES` is registered by `kefu.app.create_app`;
`WebConnector` is registered for web inboxes."""

from __future__ import annotations
