"""`EmailConnector`: the e-mail channel's contract — settings, the raw-MIME route, the
test connection (IMAP and SMTP logins), replies by SMTP (aiosmtplib) and the IMAP
worker and optional SMTP receiver as background work."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Coroutine, Sequence
from typing import Any

import aiosmtplib
from litestar.types import ControllerRouterHandler

from kefu.connectors.base import Capabilities, ConnectionCheck, DeliveryError, InboxView
from kefu.connectors.config import as_struct
from kefu.connectors.email import config as settings_of
from kefu.connectors.email.compose import compose
from kefu.connectors.email.config import EmailConfig, EmailSecrets
from kefu.connectors.email.imap import ImapFailure, Mailbox
from kefu.connectors.email.threads import new_token, subject_key
from kefu.connectors.media import FileMediaStore, MediaStore
from kefu.context import Kefu
from kefu.errors import FieldError
from kefu.i18n import Text
from kefu.mail import store
from kefu.model import ChannelKind, Outbound, SendResult

_MEDIA: dict[int, MediaStore] = {}


def media_of(kefu: Kefu) -> MediaStore:
    """Where mail attachments go (the same media directory as other channels)."""
    found = kefu.connectors.find(ChannelKind.email)
    if isinstance(found, EmailConnector):
        return found.media
    return _MEDIA.setdefault(id(kefu), FileMediaStore(kefu.settings.media_dir))


def _smtp(config: EmailConfig, timeout: float = 20.0) -> aiosmtplib.SMTP:
    return aiosmtplib.SMTP(
        hostname=config.smtp_host,
        port=config.smtp_port,
        use_tls=config.smtp_security == "tls",
        start_tls=config.smtp_security == "starttls",
        timeout=timeout,
    )


async def _smtp_login(smtp: aiosmtplib.SMTP, config: EmailConfig, secrets: dict[str, Any]) -> None:
    await smtp.connect()
    password = str(secrets.get("smtp_password") or secrets.get("imap_password") or "")
    user = config.smtp_user or config.imap_user or config.address
    if password:
        await smtp.login(user, password)


async def _smtp_close(smtp: aiosmtplib.SMTP) -> None:
    if smtp.is_connected:
        try:
            await smtp.quit()
        except aiosmtplib.SMTPException:
            smtp.close()


def _said(exc: BaseException) -> str:
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return f"{exc.code} {exc.message}"[:300]
    return (str(exc) or type(exc).__name__)[:300]


class EmailConnector:
    kind = ChannelKind.email
    label = Text("E-mail", "电子邮件")
    config_type = EmailConfig
    secrets_type = EmailSecrets
    capabilities = Capabilities(media=True)

    def __init__(self, kefu: Kefu, media: MediaStore | None = None) -> None:
        self.kefu = kefu
        self.media: MediaStore = media or FileMediaStore(kefu.settings.media_dir)

    def webhook_path(self, inbox_id: uuid.UUID) -> str:
        return f"/connectors/email/{inbox_id}/mime"

    def routes(self) -> Sequence[ControllerRouterHandler]:
        from kefu.connectors.email.api import EmailMime, EmailStatus

        return [EmailMime, EmailStatus]

    def check(self, public: EmailConfig, secrets: EmailSecrets) -> list[FieldError]:
        return settings_of.check(public, secrets)

    def background(self, stop: asyncio.Event) -> list[Coroutine[Any, Any, None]]:
        """Work that runs beside the server: the IMAP worker, the SMTP receiver."""
        from kefu.connectors.email import receiver, worker

        jobs: list[Coroutine[Any, Any, None]] = []
        if self.kefu.settings.email_imap:
            jobs.append(worker.run(self.kefu, self.media, stop))
        if self.kefu.settings.email_smtp_receiver:
            jobs.append(receiver.run(self.kefu, self.media, stop))
        return jobs

    async def test_connection(self, inbox: InboxView) -> ConnectionCheck:
        """Log in to IMAP (and open the folder) and to SMTP; say which failed and how."""
        config = as_struct(EmailConfig, inbox.config)
        said_ok: list[Text] = []
        if config.imap_host:

            def imap() -> None:
                box = Mailbox(
                    config.imap_host,
                    config.imap_port,
                    config.imap_security,
                    config.imap_user or config.address,
                    str(inbox.secrets.get("imap_password", "")),
                    timeout=15.0,
                )
                try:
                    box.select(config.imap_folder or "INBOX")
                finally:
                    box.close()

            try:
                await asyncio.to_thread(imap)
            except ImapFailure as exc:
                return ConnectionCheck(
                    False,
                    Text("IMAP {host}:{port}: {why}.", "IMAP {host}:{port}：{why}。").format(
                        host=config.imap_host, port=config.imap_port, why=str(exc)
                    ),
                )
            said_ok.append(Text("IMAP login works", "IMAP 登录成功"))
        if config.smtp_host:
            smtp = _smtp(config, timeout=15.0)
            try:
                await _smtp_login(smtp, config, dict(inbox.secrets))
            except aiosmtplib.SMTPAuthenticationError as exc:
                return ConnectionCheck(
                    False,
                    Text(
                        "SMTP {host}:{port} refused the login ({why}).",
                        "SMTP {host}:{port} 拒绝登录（{why}）。",
                    ).format(host=config.smtp_host, port=config.smtp_port, why=_said(exc)),
                )
            except (aiosmtplib.SMTPException, OSError) as exc:
                return ConnectionCheck(
                    False,
                    Text(
                        "Could not reach SMTP {host}:{port} ({why}).",
                        "无法连接 SMTP {host}:{port}（{why}）。",
                    ).format(host=config.smtp_host, port=config.smtp_port, why=_said(exc)),
                )
            finally:
                await _smtp_close(smtp)
            said_ok.append(Text("SMTP login works", "SMTP 登录成功"))
        if not said_ok:
            return ConnectionCheck(
                False,
                Text(
                    "Neither an IMAP nor an SMTP server is set: fill in at least the SMTP server "
                    "so replies can be sent.",
                    "未设置 IMAP 或 SMTP 服务器：至少需要填写 SMTP 服务器才能发送回复。",
                ),
            )
        return ConnectionCheck(
            True,
            Text("; ".join(t.en for t in said_ok) + ".", "；".join(t.zh for t in said_ok) + "。"),
        )

    async def send(self, inbox: InboxView, outbound: Outbound) -> SendResult:
        config = as_struct(EmailConfig, inbox.config)
        if not config.smtp_host:
            raise DeliveryError(
                "this e-mail inbox has no SMTP server to send replies with", retryable=False
            )
        thread = await store.conversation_thread(self.kefu, outbound.conversation_id)
        to = ", ".join(thread.to) or outbound.recipient.value
        if not thread.to and (outbound.recipient.kind != "email" or "@" not in to):
            raise DeliveryError("the customer has no e-mail address to reply to", retryable=False)
        token = outbound.thread_key or new_token()
        files: list[tuple[str, str, bytes]] = []
        for attachment in outbound.attachments:
            loaded = await self.media.load(attachment.url) if attachment.url else None
            if loaded is None:
                raise DeliveryError(f"the attachment {attachment.name} is gone", retryable=False)
            files.append((attachment.name, attachment.content_type or loaded[1], loaded[0]))
        message, mid = compose(
            config,
            to=to,
            cc=", ".join(thread.cc),
            body=outbound.body,
            subject=thread.subject,
            token=token,
            message_id=outbound.message_id,
            references=thread.message_ids,
            in_reply_to=thread.last_inbound,
            sender_name=outbound.sender_name,
            attachments=files,
        )
        smtp = _smtp(config)
        try:
            await _smtp_login(smtp, config, dict(inbox.secrets))
            await smtp.send_message(message)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            words = "; ".join(_said(e) for e in exc.recipients)
            raise DeliveryError(f"the mail server refused {to}: {words}", retryable=False) from None
        except aiosmtplib.SMTPResponseException as exc:
            permanent = 500 <= exc.code < 600
            raise DeliveryError(
                f"the mail server said {_said(exc)}", retryable=not permanent
            ) from None
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"could not reach the mail server: {_said(exc)}") from None
        finally:
            await _smtp_close(smtp)
        await store.remember(
            self.kefu,
            outbound.inbox_id,
            mid,
            thread_key=token,
            direction="out",
            conversation_id=outbound.conversation_id,
            kefu_message_id=outbound.message_id,
            sender=config.address.lower(),
            subject=str(message["Subject"]),
            subject_key=subject_key(str(message["Subject"])),
        )
        return SendResult(channel_message_id=mid[:255])
