"""`kefu`: serve, migrate, seed the demo, create workspaces and agents."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec

from kefu.settings import Settings, load


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from kefu.app import create_app

    settings = load()
    settings = msgspec.structs.replace(
        settings, host=args.host or settings.host, port=args.port or settings.port
    )
    # One process for `make run`'s migrate, seed and serve: each `kefu` start imports
    # most of kefu again, which costs more than the work when there is nothing to do.
    if args.migrate:
        from kefu.db.migrate import upgrade

        upgrade(settings.database_url)
    if args.demo:
        _seed_demo(settings)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level="info",
        ws="websockets-sansio",
        # SIGTERM: requests in flight get half of shutdown_seconds, then are cancelled;
        # the app's own shutdown (workers, spawned work) gets the other half (app.py).
        timeout_graceful_shutdown=max(1, round(settings.shutdown_seconds / 2)),
    )
    return 0


def cmd_db(args: argparse.Namespace) -> int:
    from kefu.db import migrate

    settings = load()
    if args.action == "upgrade":
        migrate.upgrade(settings.database_url, args.revision or "head")
    else:
        migrate.downgrade(settings.database_url, args.revision or "-1")
    target = args.revision or ("head" if args.action == "upgrade" else "-1")
    print(f"database {args.action}d ({target})")
    return 0


async def _with_kefu(settings: Settings, fn: Callable[[Any], Awaitable[int]]) -> int:
    from kefu.app import build_kefu

    kefu = build_kefu(settings)
    try:
        return await fn(kefu)
    finally:
        await kefu.db.dispose()


def cmd_demo(args: argparse.Namespace) -> int:
    return _seed_demo(load())


def _seed_demo(settings: Settings) -> int:
    from kefu.demo import seed, showcase

    async def go(kefu: Any) -> int:
        demo = await seed(kefu)
        entries = await showcase(kefu, demo)
        base = kefu.settings.public_url or f"http://{kefu.settings.host}:{kefu.settings.port}"
        print("kefu demo workspace 'demo' is ready / 演示工作区已就绪")
        print(f"  demo shop with the chat widget / 演示商城:  {base}/")
        print(f"  agent console / 客服工作台:                 {base}/console")
        print(f"  API docs / 接口文档:                        {base}/schema")
        print(f"  knowledge base / 知识库: {entries} sample entries; the bot answers first")
        print(f"  password for every demo login / 演示密码:   {demo.password}")
        for login in demo.logins:
            print(f"    {login.role:<18} {login.email:<28} {login.name}")
        return 0

    return asyncio.run(_with_kefu(settings, go))


def cmd_workspace(args: argparse.Namespace) -> int:
    from kefu.people.service import create_workspace

    async def go(kefu: Any) -> int:
        workspace, admin = await create_workspace(
            kefu, args.slug, args.name or args.slug, args.admin_email, args.admin_password
        )
        print(f"workspace {workspace.slug} {workspace.id}; admin {admin.email}")
        return 0

    return asyncio.run(_with_kefu(load(), go))


def cmd_agent(args: argparse.Namespace) -> int:
    import sqlalchemy as sa

    from kefu.db.tables import Workspace
    from kefu.model import Role
    from kefu.people.schemas import AgentCreate
    from kefu.people.service import create_agent

    async def go(kefu: Any) -> int:
        async with kefu.db.session() as session:
            ws = await session.scalar(sa.select(Workspace).where(Workspace.slug == args.workspace))
        if ws is None:
            print(f"no workspace {args.workspace!r}", file=sys.stderr)
            return 2
        agent = await create_agent(
            kefu,
            ws.id,
            AgentCreate(
                email=args.email, name=args.name, password=args.password, role=Role(args.role)
            ),
        )
        print(f"agent {agent.email} {agent.id} ({agent.role})")
        return 0

    return asyncio.run(_with_kefu(load(), go))


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """kefu's command line; `command`, when given, is the one about to run."""
    parser = argparse.ArgumentParser(prog="kefu", description="kefu customer service workspace")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the HTTP server")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--migrate", action="store_true", help="upgrade the database first")
    serve.add_argument(
        "--demo", action="store_true", help="then seed the demo workspace and print its logins"
    )
    serve.set_defaults(fn=cmd_serve)

    db = sub.add_parser("db", help="migrate the database")
    db.add_argument("action", choices=["upgrade", "downgrade"])
    db.add_argument("revision", nargs="?")
    db.set_defaults(fn=cmd_db)

    demo = sub.add_parser("demo", help="seed the demo workspace and print its logins")
    demo.set_defaults(fn=cmd_demo)

    ws = sub.add_parser("workspace", help="manage workspaces")
    ws_sub = ws.add_subparsers(dest="action", required=True)
    create = ws_sub.add_parser("create")
    create.add_argument("slug")
    create.add_argument("--name")
    create.add_argument("--admin-email", required=True)
    create.add_argument("--admin-password", required=True)
    create.set_defaults(fn=cmd_workspace)

    agent = sub.add_parser("agent", help="manage agents")
    agent_sub = agent.add_subparsers(dest="action", required=True)
    acreate = agent_sub.add_parser("create")
    acreate.add_argument("--workspace", required=True)
    acreate.add_argument("--email", required=True)
    acreate.add_argument("--name", required=True)
    acreate.add_argument("--password", required=True)
    acreate.add_argument(
        "--role", default="agent", choices=["admin", "supervisor", "agent", "knowledge_manager"]
    )
    acreate.set_defaults(fn=cmd_agent)

    # The domains' subcommands are added unless the command is one of the above: their
    # modules import most of kefu, which `kefu db upgrade` and `kefu serve` need not pay
    # for at every start. `kefu --help` and their own commands load them all.
    if command not in sub.choices:
        import importlib

        for module in _EXTENSIONS:
            importlib.import_module(module).add_parser(sub)
    return parser


# Domains that add their own subcommands (each module has add_parser(subparsers)).
_EXTENSIONS: tuple[str, ...] = (
    "kefu.connectors.wechat.simulate",
    "kefu.knowledge.cli",
    "kefu.inboxes.reseal",
    "kefu.reports.cli",
    "kefu.connectors.voice.cli",
)


def _command(argv: list[str]) -> str | None:
    """The subcommand named on the command line (its first word not an option)."""
    return next((word for word in argv if not word.startswith("-")), None)


def main(argv: list[str] | None = None) -> int:
    from kefu.errors import KefuError

    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(_command(argv)).parse_args(argv)
    try:
        result: int = args.fn(args)
    except KefuError as exc:
        print(f"kefu: {exc.detail}", file=sys.stderr)
        return 2
    return result


if __name__ == "__main__":
    sys.exit(main())
