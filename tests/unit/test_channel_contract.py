"""The core knows no channel: what an inbox of a kind holds, how its secrets are made and
where its webhook lives are asked of the connector registry."""

from __future__ import annotations

import ast
from pathlib import Path

import kefu
from kefu.connectors.api.channel import ApiConnector
from kefu.connectors.base import Registry
from kefu.connectors.config import fields_of
from kefu.connectors.web.connector import WebConnector

SRC = Path(kefu.__file__).parent
CHANNELS = ("web", "wechat", "api", "email", "sms", "voice", "livekit")


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_inboxes_import_no_channel() -> None:
    for path in sorted((SRC / "inboxes").glob("*.py")):
        channel_imports = {
            name
            for name in _imports(path)
            if any(name.startswith(f"kefu.connectors.{c}") for c in CHANNELS)
        }
        assert channel_imports == set(), path.name


def test_registry_mounts_each_handler_once_and_lists_schemas() -> None:
    registry = Registry()
    registry.register(WebConnector())
    registry.register(ApiConnector())
    registry.register(ApiConnector())  # registering a kind again replaces it
    routes = registry.routes()
    assert len(routes) == len(set(map(id, routes)))
    assert [s.kind for s in registry.schemas()] == ["web", "api"]
    assert registry.find("sms") is None and registry.find("no-such-kind") is None


def test_generated_secrets_are_never_required() -> None:
    # A generated secret left empty is made by the server, so the form must not demand it.
    for connector in (WebConnector(), ApiConnector()):
        for field in fields_of(connector.secrets_type, secret=True):
            if field.generated:
                assert field.required is False, field.name
