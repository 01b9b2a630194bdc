"""A website widget's settings, declared once for the inbox form and its checks.
The widget reads them through `service.widget_config`; nothing here is ever secret
except `identity_secret`, which signs verified visitors (see `tokens.py`)."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

import msgspec

from kefu.connectors.config import describe
from kefu.errors import FieldError
from kefu.i18n import Text

Locale = Literal["zh-CN", "en"]
URL = r"^https?://[^\s]+$"
Short = Annotated[str, msgspec.Meta(max_length=200)]
Long = Annotated[str, msgspec.Meta(max_length=2000)]
PER_LOCALE = Text(
    'Text, or one text per language: {"zh-CN": "…", "en": "…"}.',
    '文字，或按语言分别填写：{"zh-CN": "…", "en": "…"}。',
)


class PrechatFieldSetting(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: Annotated[
        Literal["name", "email", "phone"],
        describe(
            Text("Ask for", "询问"),
            choices={
                "name": Text("Name", "姓名"),
                "email": Text("E-mail", "电子邮箱"),
                "phone": Text("Phone", "电话"),
            },
            section="widget",
        ),
    ]
    required: Annotated[bool, describe(Text("Required", "必填"), section="widget")] = False


class WebConfig(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    title: Annotated[
        Short | dict[Locale, Short] | None,
        describe(
            Text("Widget title", "窗口标题"), help=PER_LOCALE, type="string", section="widget"
        ),
    ] = None
    greeting: Annotated[
        Long | dict[Locale, Long] | None,
        describe(Text("Greeting", "欢迎语"), help=PER_LOCALE, type="text", section="widget"),
    ] = None
    color: Annotated[
        str,
        describe(
            Text("Colour", "主题色"),
            type="color",
            section="widget",
            pattern=r"^#[0-9a-fA-F]{6}$",
            invalid=Text("The colour must look like #1f6feb.", "主题色须形如 #1f6feb。"),
        ),
    ] = "#1f6feb"
    avatar_url: Annotated[
        str,
        describe(
            Text("Avatar image URL", "头像图片地址"),
            type="url",
            section="widget",
            pattern=URL,
            max_length=2000,
            invalid=Text(
                "The avatar URL must start with http:// or https://.",
                "头像地址须以 http:// 或 https:// 开头。",
            ),
        ),
    ] = ""
    locales: Annotated[
        list[Locale],
        describe(
            Text("Languages", "语言"),
            help=Text(
                "The languages the widget offers; the first is used when the "
                "visitor's is not among them.",
                "窗口提供的语言；访客的语言不在其中时使用第一个。",
            ),
            type="locales",
            section="widget",
            choices={"zh-CN": Text("简体中文", "简体中文"), "en": Text("English", "English")},
            min_length=1,
        ),
    ] = msgspec.field(default_factory=lambda: ["zh-CN", "en"])
    prechat_fields: Annotated[
        list[PrechatFieldSetting],
        describe(
            Text("Pre-chat form", "咨询前表单"),
            help=Text(
                "What visitors are asked before their first message.",
                "访客发送第一条消息前需要填写的信息。",
            ),
            section="widget",
            max_length=3,
            invalid=Text(
                "Each pre-chat question asks for name, email or phone, once.",
                "咨询前表单每项只能是姓名、电子邮箱或电话，且不重复。",
            ),
        ),
    ] = msgspec.field(default_factory=list)
    offline_mode: Annotated[
        Literal["leave_message", "chat"],
        describe(
            Text("When nobody is available", "无人在线时"),
            section="behaviour",
            choices={
                "leave_message": Text("Visitors leave a message", "访客留言"),
                "chat": Text("Visitors chat and wait in the queue", "访客照常咨询并排队等待"),
            },
        ),
    ] = "leave_message"
    identity_mandatory: Annotated[
        bool,
        describe(
            Text("Only verified visitors", "仅限已验证身份的访客"),
            help=Text(
                "Visitors must be identified by your site (signed with the identity secret).",
                "访客须由您的网站验证身份（用身份密钥签名）。",
            ),
            section="behaviour",
        ),
    ] = False
    calendar_id: Annotated[
        uuid.UUID | None,
        describe(
            Text("Business hours", "营业时间"),
            help=Text(
                "Outside this calendar's hours the widget shows as offline.",
                "在该日历的营业时间之外，窗口显示为离线。",
            ),
            type="calendar",
            section="hours",
        ),
    ] = None

    reply_email_inbox_id: Annotated[
        uuid.UUID | None,
        describe(
            Text("Answer left messages by e-mail from", "留言通过此邮箱回复"),
            help=Text(
                "An e-mail inbox of this workspace. A reply to a visitor who left a message "
                "with their e-mail, not read in the widget in time, is sent from it; the "
                "visitor's answer comes back into the same conversation.",
                "本工作区的一个邮件收件箱。访客留言时留下了邮箱，客服的回复若未及时在窗口中被阅读，"
                "就从这里发邮件给访客；访客回信会回到同一会话。",
            ),
            type="email_inbox",
            section="behaviour",
        ),
    ] = None
    reply_email_after_seconds: Annotated[
        int,
        describe(
            Text("E-mail a reply not read after (seconds)", "回复多久未读即发邮件（秒）"),
            help=Text(
                "0: e-mail every reply at once.",
                "0：每条回复立即发邮件。",
            ),
            section="behaviour",
            ge=0,
            le=86400,
        ),
    ] = 60
    voice_inbox_id: Annotated[
        uuid.UUID | None,
        describe(
            Text("Calls from the widget go to", "窗口语音通话接入"),
            help=Text(
                "A voice inbox of this workspace. The widget shows a call button while "
                "someone can take calls; its calls follow that inbox's IVR and queue.",
                "本工作区的一个语音收件箱。有人能接听时，窗口显示通话按钮；"
                "通话按该收件箱的语音导航和排队处理。",
            ),
            type="voice_inbox",
            section="behaviour",
        ),
    ] = None
    leave_message_ticket: Annotated[
        bool,
        describe(
            Text("A left message opens a ticket", "留言自动创建工单"),
            help=Text(
                "The visitor is shown the ticket number, and gets it by e-mail.",
                "访客会看到工单号，并通过邮件收到它。",
            ),
            section="behaviour",
        ),
    ] = False
    leave_message_department_id: Annotated[
        uuid.UUID | None,
        describe(
            Text("Department for left-message tickets", "留言工单的处理部门"),
            type="group",
            section="behaviour",
        ),
    ] = None


class WebSecrets(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    identity_secret: Annotated[
        str,
        describe(
            Text("Identity secret", "身份验证密钥"),
            help=Text(
                "Your server signs a visitor's user id with it (HMAC-SHA256). "
                "Made for you if left empty.",
                "您的服务器用它对访客的用户 ID 签名（HMAC-SHA256）。留空则自动生成。",
            ),
            generated=True,
            min_length=16,
            max_length=200,
        ),
    ] = ""


def check(config: WebConfig, secrets: WebSecrets) -> list[FieldError]:
    names = [f.name for f in config.prechat_fields]
    if len(names) != len(set(names)):
        return [
            FieldError(
                "config.prechat_fields",
                Text("Each pre-chat question may appear once.", "咨询前表单中每项只能出现一次。"),
            )
        ]
    return []
