"""E-mail as a kefu channel.

- `parse.py`: RFC 822 bytes -> `ParsedMail`, with GB18030 charset repair, attachments
  (RFC 2231 / 2047 filenames), HTML-only mail as text, auto-reply/bulk and bounce kinds.
- `strip.py`: the new text of a reply (quotes, quoted headers, signatures removed).
- `threads.py`: subject keys, reply tokens (`support+<token>@`), our Message-IDs.
- `intake.py`: the one path from raw mail to `ingest` (IMAP, raw-MIME, SMTP receiver).
- `imap.py`, `worker.py`: IMAP by UID with IDLE or polling; durable state in `kefu.mail`.
- `api.py`: `POST /connectors/email/{inbox_id}/mime` for relays.
- `receiver.py`: the optional aiosmtpd receiver (off by default).
- `compose.py`, `connector.py`: replies by SMTP with threading headers and signature,
  the test connection, the channel's contract.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kefu.connectors.email.connector import EmailConnector
    from kefu.context import Kefu


def install(kefu: Kefu) -> EmailConnector:
    from kefu.connectors.email.connector import EmailConnector

    connector = EmailConnector(kefu)
    kefu.connectors.register(connector)
    return connector
