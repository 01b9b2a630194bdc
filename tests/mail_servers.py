"""Real mail peers on loopback for the e-mail tests: Debian's Dovecot (IMAP with IDLE)
started with a generated configuration in a temporary directory (passwd-file auth, its
own port; never the system service), and an aiosmtpd sink that keeps what it receives."""

from __future__ import annotations

import imaplib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from tests.servers import free_port

DOVECOT = "/usr/sbin/dovecot"
USER = "support@example.com"
PASSWORD = "imap-pw-123"

_CONFIG = """
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = dovecot
default_internal_group = dovecot
default_login_user = dovenull
mail_location = maildir:{root}/mail/%u
first_valid_uid = 1
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid=dovecot gid=dovecot home={root}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"""


class Dovecot:
    def __init__(self, root: Path, port: int, process: subprocess.Popen[bytes]) -> None:
        self.root = root
        self.port = port
        self.process = process

    def client(self) -> imaplib.IMAP4:
        conn = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        conn.login(USER, PASSWORD)
        conn.select("INBOX")
        return conn

    def append(self, raw: bytes, folder: str = "INBOX") -> int:
        """Deliver a mail as a client would; returns its UID."""
        conn = self.client()
        try:
            typ, data = conn.append(folder, None, None, raw)
            assert typ == "OK", data
            text = data[0].decode() if data and isinstance(data[0], bytes) else ""
            return int(text.split("APPENDUID ")[1].split()[1].rstrip("]"))
        finally:
            conn.logout()

    def flags(self, uid: int) -> str:
        conn = self.client()
        try:
            _, data = conn.uid("FETCH", str(uid), "(FLAGS)")
            return data[0].decode() if data and isinstance(data[0], bytes) else ""
        finally:
            conn.logout()

    def renew_uidvalidity(self) -> None:
        """What a server rebuild does: the same mails come back under a new UIDVALIDITY."""
        for path in (self.root / "mail").rglob("dovecot-uidlist"):
            path.unlink()
        for path in (self.root / "mail").rglob("dovecot.index*"):
            path.unlink()


@contextmanager
def dovecot() -> Iterator[Dovecot]:
    # Not pytest's tmp_path: its parents are private to root, and Dovecot's auth and
    # mail processes run as the dovecot user.
    root = Path(tempfile.mkdtemp(prefix="kefu-dovecot-"))
    for name in ("run", "state", "mail", "home"):
        (root / name).mkdir(parents=True, exist_ok=True)
    port = free_port()
    (root / "dovecot.conf").write_text(_CONFIG.format(root=root, port=port))
    (root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
    for path in [root, *root.rglob("*")]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    shutil.chown(root / "mail", "dovecot", "dovecot")
    shutil.chown(root / "home", "dovecot", "dovecot")
    process = subprocess.Popen(
        [DOVECOT, "-F", "-c", str(root / "dovecot.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                imaplib.IMAP4("127.0.0.1", port, timeout=2).logout()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    log = (
                        (root / "dovecot.log").read_text()
                        if (root / "dovecot.log").exists()
                        else ""
                    )
                    raise RuntimeError(f"dovecot did not start: {log[-2000:]}") from None
                time.sleep(0.1)
        yield Dovecot(root, port, process)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(root, ignore_errors=True)


class Sink:
    """aiosmtpd handler keeping every mail it is given; `refuse` makes RCPT fail."""

    def __init__(self) -> None:
        self.mails: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.refuse: str | None = None
        self.logins: list[tuple[str, str]] = []

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if self.refuse:
            return self.refuse
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        mail = message_from_bytes(
            envelope.original_content or envelope.content, policy=policy.default
        )
        assert isinstance(mail, EmailMessage)
        self.mails.append(mail)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"


@contextmanager
def smtp_sink() -> Iterator[tuple[Sink, int]]:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    sink = Sink()
    port = free_port()

    def authenticate(
        server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        if not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user, password = data.login.decode(), data.password.decode()
        sink.logins.append((user, password))
        return AuthResult(success=(user, password) == (USER, PASSWORD), handled=False)

    # Loopback only, so AUTH without TLS is allowed here (never in production).
    controller = Controller(
        sink,
        hostname="127.0.0.1",
        port=port,
        authenticator=authenticate,
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield sink, port
    finally:
        controller.stop()
