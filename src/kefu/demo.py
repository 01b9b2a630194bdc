"""The demo workspace `make run` starts with: an admin, two agents, two skill groups
and a web-widget inbox for the demo shop page. Seeding twice changes nothing."""

from __future__ import annotations

import uuid

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.context import Kefu
from kefu.db.tables import GroupMember, Inbox, SkillGroup, User, Workspace
from kefu.model import ChannelKind, Role
from kefu.people.auth import hash_password
from kefu.quickreplies.tables import QuickReply
from kefu.routing import bot_first

DEMO_SLUG = "demo"
DEMO_WIDGET_KEY = "demo-shop"


class DemoLogin(msgspec.Struct, frozen=True):
    email: str
    name: str
    role: Role
    id: uuid.UUID


class Demo(msgspec.Struct, frozen=True, kw_only=True):
    workspace_id: uuid.UUID
    slug: str
    password: str
    logins: list[DemoLogin]
    groups: dict[str, uuid.UUID]
    inbox_id: uuid.UUID
    widget_key: str


PEOPLE = [
    ("admin", "Admin 管理员", Role.admin, None),
    ("lina", "李娜 Li Na", Role.agent, "presales"),
    ("tom", "Tom Chen 陈涛", Role.agent, "aftersales"),
    ("supervisor", "王芳 Wang Fang", Role.supervisor, None),
    ("knowledge", "周敏 Zhou Min", Role.knowledge_manager, None),
]
GROUPS = {"presales": "售前咨询 Pre-sales", "aftersales": "售后服务 After-sales"}


async def seed(
    kefu: Kefu, *, slug: str = DEMO_SLUG, password: str | None = None, widget_key: str | None = None
) -> Demo:
    password = password or kefu.settings.demo_password
    widget_key = widget_key or (DEMO_WIDGET_KEY if slug == DEMO_SLUG else f"{slug}-widget")
    domain = f"{slug}.kefu"
    async with kefu.db.transaction() as session:
        workspace = await session.scalar(sa.select(Workspace).where(Workspace.slug == slug))
        if workspace is None:
            workspace = Workspace(
                slug=slug, name="Demo Shop 演示商城" if slug == DEMO_SLUG else slug
            )
            session.add(workspace)
            await session.flush()
        groups: dict[str, uuid.UUID] = {}
        for key, name in GROUPS.items():
            group = await session.scalar(
                sa.select(SkillGroup).where(
                    SkillGroup.workspace_id == workspace.id, SkillGroup.name == name
                )
            )
            if group is None:
                group = SkillGroup(workspace_id=workspace.id, name=name, strategy="least_busy")
                session.add(group)
                await session.flush()
            groups[key] = group.id
        logins = []
        # Every demo login shares the password: hash it once, and only if a login is new
        # (argon2 is slow on purpose; re-running `kefu demo` should cost nothing).
        password_hash: str | None = None
        for local, name, role, group_key in PEOPLE:
            email = f"{local}@{domain}"
            user = await session.scalar(
                sa.select(User).where(User.workspace_id == workspace.id, User.email == email)
            )
            if user is None:
                password_hash = password_hash or hash_password(password)
                user = User(
                    workspace_id=workspace.id,
                    email=email,
                    name=name,
                    password_hash=password_hash,
                    role=role,
                    capacity={"*": 5, "voice": 1},
                )
                session.add(user)
                await session.flush()
                if group_key:
                    session.add(
                        GroupMember(
                            group_id=groups[group_key], user_id=user.id, workspace_id=workspace.id
                        )
                    )
            logins.append(DemoLogin(email=email, name=name, role=Role(user.role), id=user.id))
        inbox = await session.scalar(sa.select(Inbox).where(Inbox.public_key == widget_key))
        if inbox is None:
            inbox = Inbox(
                workspace_id=workspace.id,
                kind=ChannelKind.web,
                name="演示商城网站 Demo shop website",
                public_key=widget_key,
                config={
                    "title": {"zh-CN": "在线客服", "en": "Chat with us"},
                    "greeting": {
                        "zh-CN": "您好！有什么可以帮您？",
                        "en": "Hi! How can we help you today?",
                    },
                    "color": "#1f6feb",
                    "locales": ["zh-CN", "en"],
                },
                secrets={"identity_secret": f"demo-identity-{uuid.uuid4().hex}"},
                default_group_id=groups["presales"],
            )
            session.add(inbox)
            await session.flush()
        return Demo(
            workspace_id=workspace.id,
            slug=slug,
            password=password,
            logins=logins,
            groups=groups,
            inbox_id=inbox.id,
            widget_key=widget_key,
        )


async def showcase(kefu: Kefu, demo: Demo) -> int:
    """What `kefu demo` adds for a person trying kefu: the sample knowledge base, and the
    bot answering the demo shop first (it hands over on "转人工" / "agent"). Visitors can
    chat even when no agent is online; their conversation waits in the queue.
    Returns how many knowledge entries the demo workspace has from the samples."""
    from kefu.knowledge import entries as knowledge_entries
    from kefu.knowledge import io as knowledge_io

    report = await knowledge_entries.import_entries(
        kefu, demo.workspace_id, knowledge_io.read_folder(knowledge_io.SAMPLES)
    )
    async with kefu.db.transaction() as session:
        inbox = await session.get(Inbox, demo.inbox_id)
        assert inbox is not None
        inbox.config = {**inbox.config, "offline_mode": "chat"}
        await bot_first.start_with_bot(session, demo.workspace_id, demo.inbox_id)
        await seed_quick_replies(session, demo.workspace_id)
    return report.created + report.updated + report.unchanged


# Team quick replies, so "/" in the composer offers something on first use.
QUICK_REPLIES = [
    ("hi", "问候 Greeting", "您好 {{contact.name}}，我是{{agent.name}}，很高兴为您服务。"),
    ("hello", "Greeting (English)", "Hi {{contact.name}}, this is {{agent.name}}. How can I help?"),
    ("wait", "请稍等 One moment", "请稍等，我帮您查询一下。"),
    ("check", "One moment (English)", "One moment please, let me check that for you."),
    ("bye", "结束语 Closing", "感谢您的咨询，祝您生活愉快！还有问题随时找我们。"),
    ("thanks", "Closing (English)", "Thanks for reaching out. Anything else, just write again!"),
]


async def seed_quick_replies(session: AsyncSession, workspace_id: uuid.UUID) -> None:
    """Adds the demo's team quick replies that are missing (a re-run adds none twice)."""
    have = set(
        (
            await session.scalars(
                sa.select(QuickReply.shortcut).where(
                    QuickReply.workspace_id == workspace_id, QuickReply.owner_id.is_(None)
                )
            )
        ).all()
    )
    for shortcut, title, body in QUICK_REPLIES:
        if shortcut not in have:
            session.add(
                QuickReply(workspace_id=workspace_id, shortcut=shortcut, title=title, body=body)
            )
