"""`kefu.conversations` and `kefu.routing` import each other's modules at the top, in
either order, with no cycle hidden behind a function-level import; the event log has
one writer, a message row one builder and the queue one order."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

import kefu

PACKAGE = Path(kefu.__file__).parent


def _modules(package: str) -> list[str]:
    folder = PACKAGE / package.removeprefix("kefu.").replace(".", "/")
    return sorted(
        f"{package}.{path.stem}" for path in folder.glob("*.py") if path.stem != "__init__"
    )


CONVERSATIONS = _modules("kefu.conversations")
ROUTING = _modules("kefu.routing")


def _sources() -> list[Path]:
    # connectors/ and knowledge/ are symlinked into the package: follow them.
    found = []
    for root, _dirs, files in os.walk(PACKAGE, followlinks=True):
        found.extend(Path(root) / name for name in files if name.endswith(".py"))
    return sorted(found)


def _module_name(path: Path) -> str:
    return "kefu." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts)


@pytest.mark.parametrize(
    "order",
    [CONVERSATIONS + ROUTING, ROUTING + CONVERSATIONS],
    ids=["conversations-first", "routing-first"],
)
def test_packages_import_in_a_fresh_interpreter(order: list[str]) -> None:
    assert "kefu.conversations.ingest" in order and "kefu.routing.queue" in order
    script = f"import importlib\nfor name in {order!r}:\n    importlib.import_module(name)\n"
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr


def _function_level_imports(tree: ast.AST) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for inner in ast.walk(node):
                if isinstance(inner, ast.ImportFrom) and inner.module:
                    found.append((inner.lineno, inner.module))
                elif isinstance(inner, ast.Import):
                    found.extend((inner.lineno, alias.name) for alias in inner.names)
    return found


def test_no_function_level_import_between_conversations_and_routing() -> None:
    offenders = []
    for path in _sources():
        name = _module_name(path)
        for here, there in (
            ("kefu.routing.", "kefu.conversations"),
            ("kefu.conversations.", "kefu.routing"),
        ):
            if not name.startswith(here):
                continue
            tree = ast.parse(path.read_text(), str(path))
            for line, module in _function_level_imports(tree):
                if module == there or module.startswith(there + "."):
                    offenders.append(f"{name}:{line} imports {module} inside a function")
    assert offenders == []


def test_the_event_module_imports_nothing_from_routing() -> None:
    tree = ast.parse((PACKAGE / "conversations" / "events.py").read_text())
    imported = [
        node.module
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module is not None
    ] + [
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    ]
    assert [m for m in imported if m.startswith("kefu.routing")] == []


def _uses(tree: ast.AST, name: str) -> list[int]:
    """Lines that build `name(...)`, insert into it (`insert(name)`) or reach its table
    (`name.__table__`)."""
    lines = []
    for node in ast.walk(tree):
        if (
            (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == name
            )
            or (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute | ast.Name)
                and (node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id)
                == "insert"
                and any(isinstance(arg, ast.Name) and arg.id == name for arg in node.args)
            )
            or (
                isinstance(node, ast.Attribute)
                and node.attr == "__table__"
                and isinstance(node.value, ast.Name)
                and node.value.id == name
            )
        ):
            lines.append(node.lineno)
    return lines


@pytest.mark.parametrize(
    ("row", "home"),
    [
        ("ConversationEventRow", "kefu.conversations.events"),
        ("NewMessage", "kefu.conversations.messages"),
        ("Message", "kefu.conversations.messages"),
    ],
)
def test_rows_have_one_writer(row: str, home: str) -> None:
    """Event-log rows are written by `conversations.events` only; message rows are built
    by `conversations.messages` only (the bulk insert of the group commit takes its
    `NewMessage`s)."""
    elsewhere = []
    for path in _sources():
        name = _module_name(path)
        if name == home or name == "kefu.db.tables":
            continue
        lines = _uses(ast.parse(path.read_text(), str(path)), row)
        elsewhere.extend(f"{name}:{line}" for line in lines)
    assert elsewhere == []


def test_queue_order_is_written_once() -> None:
    """`Conversation.priority.desc()` (the head of the queue order) appears nowhere: every
    query in queue order takes `routing.queue.queue_order()`."""
    elsewhere = []
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (
                isinstance(node, ast.Attribute)
                and node.attr == "desc"
                and isinstance(node.value, ast.Attribute)
                and node.value.attr == "priority"
            ):
                elsewhere.append(f"{_module_name(path)}:{node.lineno}")
    assert elsewhere == []
