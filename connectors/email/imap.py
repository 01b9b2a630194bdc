"""IMAP with the standard library's `imaplib`, run in a thread: log in, select, read
UIDVALIDITY, fetch by UID, flag, and IDLE (RFC 2177) with a timeout. The worker in
`worker.py` keeps the state; this is only the conversation with the server."""

from __future__ import annotations

import contextlib
import imaplib
import re
import socket
import ssl
from typing import Any

FLAG = "$KefuImported"


class ImapFailure(Exception):
    """A login or command the server refused, or a connection that failed."""


def _context() -> ssl.SSLContext:
    return ssl.create_default_context()


class Mailbox:
    """One logged-in IMAP connection on one folder."""

    def __init__(
        self, host: str, port: int, security: str, user: str, password: str, timeout: float = 30.0
    ) -> None:
        try:
            if security == "tls":
                self.conn: imaplib.IMAP4 = imaplib.IMAP4_SSL(
                    host, port, ssl_context=_context(), timeout=timeout
                )
            else:
                self.conn = imaplib.IMAP4(host, port, timeout=timeout)
                if security == "starttls":
                    self.conn.starttls(_context())
        except (OSError, imaplib.IMAP4.error) as exc:
            raise ImapFailure(f"could not connect to {host}:{port} ({_why(exc)})") from None
        try:
            self.conn.login(user, password)
        except imaplib.IMAP4.error as exc:
            self.close()
            raise ImapFailure(f"the server refused the login ({_why(exc)})") from None
        except OSError as exc:
            raise ImapFailure(f"the connection failed during login ({_why(exc)})") from None

    def select(self, folder: str) -> int:
        """Select `folder`; returns its UIDVALIDITY."""
        typ, _ = self.conn.select(_quote(folder))
        if typ != "OK":
            raise ImapFailure(f"the folder {folder!r} cannot be opened")
        value = self.conn.response("UIDVALIDITY")[1]
        try:
            return int(value[0]) if value and value[0] else 0
        except (TypeError, ValueError):
            return 0

    def uids_after(self, last_uid: int) -> list[int]:
        typ, data = self.conn.uid("SEARCH", f"UID {last_uid + 1}:*")
        if typ != "OK":
            raise ImapFailure("the server refused the search")
        found = [int(x) for x in (data[0] or b"").split() if x.isdigit()]
        # "n:*" always matches the last message, even when its UID is below n.
        return sorted(u for u in found if u > last_uid)

    def fetch(self, uid: int) -> bytes | None:
        typ, data = self.conn.uid("FETCH", str(uid), "(BODY.PEEK[])")
        if typ != "OK":
            raise ImapFailure(f"the server refused to send mail {uid}")
        for item in data:
            if isinstance(item, tuple) and len(item) >= 2 and isinstance(item[1], bytes):
                return item[1]
        return None  # expunged meanwhile

    def size(self, uid: int) -> int:
        typ, data = self.conn.uid("FETCH", str(uid), "(RFC822.SIZE)")
        if typ == "OK" and data and isinstance(data[0], bytes):
            found = re.search(rb"RFC822\.SIZE (\d+)", data[0])
            if found:
                return int(found.group(1))
        return 0

    def acknowledge(self, uid: int) -> None:
        """Committed: mark it seen and ours (the cursor, not the flag, is what counts)."""
        self.conn.uid("STORE", str(uid), "+FLAGS.SILENT", f"(\\Seen {FLAG})")

    def idle(self, seconds: float) -> bool:
        """Wait up to `seconds` for the server to announce new mail (IDLE); True when
        something changed. Falls back to a plain wait when IDLE is not offered."""
        conn = self.conn
        if "IDLE" not in conn.capabilities:
            return False
        tag = conn._new_tag().decode()
        conn.send(f"{tag} IDLE\r\n".encode())
        line = conn.readline()
        if not line.startswith(b"+"):
            return False
        sock: Any = conn.sock
        changed = False
        sock.settimeout(seconds)
        try:
            while True:
                line = conn.readline()
                if not line:
                    raise ImapFailure("the server closed the connection")
                if b"EXISTS" in line or b"RECENT" in line:
                    changed = True
                    break
        except TimeoutError:
            pass
        finally:
            sock.settimeout(30.0)
        conn.send(b"DONE\r\n")
        while True:
            line = conn.readline()
            if not line or line.startswith(tag.encode()):
                break
        return changed

    def abort(self) -> None:
        """From another thread: end a blocking IDLE or read at once."""
        with contextlib.suppress(OSError):
            self.conn.sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        with contextlib.suppress(Exception):  # closing a broken connection
            self.conn.logout()


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _why(exc: BaseException) -> str:
    text = str(exc)
    if isinstance(exc, bytes):
        text = exc.decode("utf-8", "replace")
    text = re.sub(r"^b'|'$", "", text)
    return (text or type(exc).__name__)[:200]
