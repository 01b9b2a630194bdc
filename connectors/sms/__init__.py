"""The SMS channel: one connector, a provider chosen per inbox.

- `config.py`: the inbox's settings (provider, account, sender number) and secrets.
- `twilio.py`: Twilio's signature (X-Twilio-Signature), its inbound form, its REST send
  and its status-callback words; many gateways speak the same protocol.
- `connector.py`: the webhooks `POST /connectors/sms/{inbox_id}/twilio[/status]` and
  `SmsConnector`, which sends replies through the provider.
- `segments.py`: how many characters and billed segments a text is (GSM-7 / UCS-2).

SMPP is not supported: providers are reached over HTTP only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kefu.connectors.sms.connector import SmsConnector
    from kefu.context import Kefu


def install(kefu: Kefu) -> SmsConnector:
    from kefu.connectors.sms.connector import SmsConnector

    connector = SmsConnector(kefu.outbound, public_url=kefu.settings.public_url)
    kefu.connectors.register(connector)
    return connector
