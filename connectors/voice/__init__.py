"""The voice channel on LiveKit (issue 18): one connector, one LiveKit server per inbox.

- `config.py`: the inbox's settings (LiveKit address, key, secret, the call policy core
  reads as `kefu.calls.media.CallPolicy`, the IVR tree, the recording folder).
- `gateway.py`: `MediaGateway` through `livekit-api` (rooms, tokens, egress, SIP legs).
- `webhook.py`: `POST /connectors/livekit/webhook`, verified, de-duplicated, parsed into
  `MediaEvent`s and handed to `kefu.calls.service.handle_media_event`.
- `connector.py`: `VoiceConnector`, all of the above as one registry entry.

The connector never writes core rows: calls, their events and recordings' rows are
`kefu.calls`'s. What needs a real LiveKit server is said in the README ("Voice").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kefu.connectors.voice.connector import VoiceConnector
    from kefu.context import Kefu


def install(kefu: Kefu) -> VoiceConnector:
    from kefu.connectors.voice.connector import VoiceConnector

    connector = VoiceConnector(kefu.outbound, timeout_s=kefu.settings.outbound_timeout_seconds)
    connector.kefu = kefu
    kefu.connectors.register(connector)
    return connector
