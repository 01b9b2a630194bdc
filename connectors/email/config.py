"""An e-mail inbox's settings: the address, how kefu reads it (IMAP) and sends from it
(SMTP), the signature, and who may open a conversation. Passwords and the token relays
use for the raw-MIME endpoint are secrets."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

import msgspec

from kefu.connectors.config import describe
from kefu.errors import FieldError
from kefu.i18n import Text

ADDRESS = r"^[^@\s<>\x00]{1,64}@[^@\s<>\x00]{1,190}$"
HOST = r"^[A-Za-z0-9.:\[\]-]{0,253}$"
Security = Literal["tls", "starttls", "none"]
SECURITY = {
    "tls": Text("TLS (implicit)", "TLS（直接加密）"),
    "starttls": Text("STARTTLS", "STARTTLS"),
    "none": Text("None (local tests only)", "不加密（仅本地测试）"),
}
_HOST_INVALID = Text(
    "Enter a host name such as imap.example.com.", "请填写主机名，如 imap.example.com。"
)


class EmailConfig(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    address: Annotated[
        str,
        describe(
            Text("E-mail address", "邮箱地址"),
            help=Text(
                "Customers write to this address, e.g. support@example.com.",
                "客户写信到此地址，如 support@example.com。",
            ),
            pattern=ADDRESS,
            max_length=254,
            invalid=Text(
                "Enter an address such as support@example.com.",
                "请填写邮箱地址，如 support@example.com。",
            ),
        ),
    ]
    display_name: Annotated[
        str,
        describe(
            Text("Sender name", "发件人名称"),
            max_length=100,
            help=Text("Shown as the sender of replies.", "回复邮件显示的发件人名称。"),
        ),
    ] = ""
    imap_host: Annotated[
        str,
        describe(
            Text("IMAP server", "IMAP 服务器"),
            help=Text(
                "Leave empty if mail arrives by the raw-MIME endpoint only.",
                "若邮件只通过原始 MIME 接口投递，可留空。",
            ),
            pattern=HOST,
            max_length=253,
            invalid=_HOST_INVALID,
            destination=True,
        ),
    ] = ""
    imap_port: Annotated[int, describe(Text("IMAP port", "IMAP 端口"), ge=1, le=65535)] = 993
    imap_security: Annotated[
        Security, describe(Text("IMAP encryption", "IMAP 加密方式"), choices=SECURITY)
    ] = "tls"
    imap_user: Annotated[
        str,
        describe(
            Text("IMAP user name", "IMAP 用户名"),
            max_length=254,
            help=Text("Usually the address itself.", "通常就是邮箱地址。"),
        ),
    ] = ""
    imap_folder: Annotated[str, describe(Text("IMAP folder", "IMAP 文件夹"), max_length=200)] = (
        "INBOX"
    )
    imap_idle: Annotated[
        bool,
        describe(
            Text("Wait for new mail with IDLE", "使用 IDLE 等待新邮件"),
            section="behaviour",
            help=Text("Off: check every poll interval.", "关闭时按轮询间隔检查。"),
        ),
    ] = True
    poll_seconds: Annotated[
        int,
        describe(
            Text("Poll interval (seconds)", "轮询间隔（秒）"), section="behaviour", ge=5, le=3600
        ),
    ] = 60
    smtp_host: Annotated[
        str,
        describe(
            Text("SMTP server", "SMTP 服务器"),
            pattern=HOST,
            max_length=253,
            invalid=_HOST_INVALID,
            destination=True,
        ),
    ] = ""
    smtp_port: Annotated[int, describe(Text("SMTP port", "SMTP 端口"), ge=1, le=65535)] = 465
    smtp_security: Annotated[
        Security, describe(Text("SMTP encryption", "SMTP 加密方式"), choices=SECURITY)
    ] = "tls"
    smtp_user: Annotated[str, describe(Text("SMTP user name", "SMTP 用户名"), max_length=254)] = ""
    signature_en: Annotated[
        str,
        describe(
            Text("Signature (English)", "签名（英文）"),
            type="text",
            max_length=2000,
            section="behaviour",
        ),
    ] = ""
    signature_zh: Annotated[
        str,
        describe(
            Text("Signature (Chinese)", "签名（中文）"),
            type="text",
            max_length=2000,
            section="behaviour",
        ),
    ] = ""
    accept_unknown_senders: Annotated[
        bool,
        describe(
            Text("Accept mail from new senders", "接受新发件人的邮件"),
            section="behaviour",
            help=Text(
                "Off: only addresses kefu already knows open conversations.",
                "关闭时只有已知联系人的邮件才会创建会话。",
            ),
        ),
    ] = True
    creates_ticket: Annotated[
        bool,
        describe(
            Text("Each new mail opens a ticket", "每封新邮件创建工单"),
            section="behaviour",
            help=Text(
                "For a department address: a new thread becomes a ticket of the department "
                "below, and the sender's later mails in it are the ticket's customer updates.",
                "用于部门邮箱：每个新邮件会话都成为下方部门的工单，发件人之后在该会话中的来信记为工单的客户回复。",
            ),
        ),
    ] = False
    ticket_department_id: Annotated[
        uuid.UUID | None,
        describe(
            Text("Ticket department", "工单处理部门"),
            type="group",
            section="behaviour",
        ),
    ] = None


class EmailSecrets(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    imap_password: Annotated[
        str,
        describe(
            Text("IMAP password", "IMAP 密码"),
            max_length=500,
            help=Text(
                "Often an app password or authorisation code (授权码).",
                "通常是应用专用密码或授权码。",
            ),
        ),
    ] = ""
    smtp_password: Annotated[
        str,
        describe(
            Text("SMTP password", "SMTP 密码"),
            max_length=500,
            help=Text("Leave empty to use the IMAP password.", "留空则使用 IMAP 密码。"),
        ),
    ] = ""
    inbound_token: Annotated[
        str,
        describe(
            Text("Inbound token", "投递令牌"),
            help=Text(
                "Relays POST raw mail to /connectors/email/<inbox>/mime with "
                "“Authorization: Bearer <token>”. Made for you if left empty and shown once.",
                "中继以“Authorization: Bearer <令牌>”将原始邮件 POST 到 "
                "/connectors/email/<收件箱>/mime。留空则自动生成并只显示一次。",
            ),
            generated=True,
            min_length=16,
            max_length=200,
        ),
    ] = ""


def check(config: EmailConfig, secrets: EmailSecrets) -> list[FieldError]:
    """Fields are checked one by one; nothing spans fields (a blank IMAP host means
    mail comes by the raw-MIME endpoint or the SMTP receiver only)."""
    return []
