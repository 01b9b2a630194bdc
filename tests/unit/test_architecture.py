"""Rules about who may do what, read from the source (Zulip's rule: one path for every
event). Realtime events are published only by `kefu.conversations` and `kefu.routing`,
after their commits; connectors never touch the database, they hand facts to the core.

A new module that breaks a rule fails here with its name: move the write or publish
behind a conversations / routing function instead of adding an exception."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# The kefu package is src/kefu plus the two top-level packages it links in.
PACKAGES = {
    "kefu": ROOT / "src" / "kefu",
    "kefu.connectors": ROOT / "connectors",
    "kefu.knowledge": ROOT / "knowledge",
}

PUBLISHING_PACKAGES = ("kefu.conversations", "kefu.routing", "kefu.calls")

# Modules that import the bus module itself, and why. Subscribing goes through
# `Kefu.events` (`subscribe_conversation`), so a socket handler needs no import.
BUS_IMPORTERS = {
    "kefu.app": "builds the bus from settings and mounts its plugin",
    "kefu.context": "types `Kefu.events`",
    "kefu.realtime.ws": "subscribes an agent's socket to the workspace channel",
}

DB_MODULES = ("sqlalchemy", "kefu.db")


def modules() -> Iterator[tuple[str, ast.Module]]:
    for prefix, folder in PACKAGES.items():
        for path in sorted(folder.rglob("*.py")):
            if any(part.startswith(".") or part == "node_modules" for part in path.parts):
                continue
            relative = path.relative_to(folder).with_suffix("")
            parts = [p for p in relative.parts if p != "__init__"]
            name = ".".join([prefix, *parts])
            # src/kefu/connectors and src/kefu/knowledge are the links themselves.
            if prefix == "kefu" and parts and parts[0] in ("connectors", "knowledge"):
                continue
            yield name, ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def imported(tree: ast.Module) -> set[str]:
    """Every module a file imports, with `from a import b` also counted as `a.b`."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def publishes(tree: ast.Module) -> list[int]:
    """Lines calling `<...>.events.publish(...)`, `bus.publish(...)` or a channels
    plugin's `publish` directly."""
    lines = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("publish", "publish_raw")
        ):
            receiver = ast.unparse(node.func.value)
            if receiver.endswith(("events", "bus", "plugin")):
                lines.append(node.lineno)
    return lines


def in_package(name: str, packages: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


def test_only_conversations_and_routing_publish_realtime_events() -> None:
    publishers = {name: lines for name, tree in modules() if (lines := publishes(tree))}
    # The bus publishes to its plugin: that is the one call everything else goes through.
    publishers.pop("kefu.realtime.bus", None)
    outside = {
        name: lines
        for name, lines in publishers.items()
        if not in_package(name, PUBLISHING_PACKAGES)
    }
    assert outside == {}, (
        "only kefu.conversations and kefu.routing publish realtime events; "
        f"call one of their functions instead (module: lines): {outside}"
    )
    # The rule is not vacuous: the check does see the real publishers.
    assert any(name.startswith("kefu.conversations.") for name in publishers)
    assert any(name.startswith("kefu.routing.") for name in publishers)


def test_the_modules_importing_the_realtime_bus_are_exactly_the_listed_ones() -> None:
    importers = {
        name
        for name, tree in modules()
        if name != "kefu.realtime.bus" and "kefu.realtime.bus" in imported(tree)
    }
    assert importers == set(BUS_IMPORTERS), (
        f"new importers: {sorted(importers - set(BUS_IMPORTERS))}; "
        f"listed but gone: {sorted(set(BUS_IMPORTERS) - importers)}"
    )


def db_use(tree: ast.Module) -> list[str]:
    found = [
        f"imports {module}"
        for module in sorted(imported(tree))
        if in_package(module, DB_MODULES) or module.endswith(".tables")
    ]
    for node in ast.walk(tree):
        # `kefu.db`, `self.db`: the handle to sessions and transactions.
        if isinstance(node, ast.Attribute) and node.attr == "db":
            found.append(f"line {node.lineno}: {ast.unparse(node)}")
    return found


def test_no_connector_module_touches_the_database() -> None:
    connectors = [(name, tree) for name, tree in modules() if name.startswith("kefu.connectors")]
    assert len(connectors) > 10  # the scan found the connector packages
    offenders = {name: found for name, tree in connectors if (found := db_use(tree))}
    assert offenders == {}, (
        "connectors hand facts to the core (kefu.conversations, kefu.visitors, "
        f"kefu.channel_state) instead of opening sessions: {offenders}"
    )


def test_the_scan_sees_a_database_use_and_a_publish() -> None:
    tree = ast.parse(
        "import sqlalchemy as sa\n"
        "async def f(kefu):\n"
        "    async with kefu.db.session() as s: ...\n"
        "    kefu.events.publish(1)\n"
    )
    assert db_use(tree) == ["imports sqlalchemy", "line 3: kefu.db"]
    assert publishes(tree) == [4]
