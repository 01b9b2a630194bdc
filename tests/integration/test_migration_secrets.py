"""Migration 0006 on both engines: plaintext inbox secrets (and secrets an old row kept
in `config`) are sealed with the key from settings; downgrade opens them again."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime

import pytest

from kefu import secretbox
from kefu.db import migrate
from kefu.settings import Settings
from tests.integration.test_migration_bot_first import _hex, _json, _rows, _run
from tests.integration.test_migrations import empty_database  # noqa: F401  (fixture)


def test_plaintext_secrets_are_sealed_and_opened_again(
    empty_database: str,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = empty_database
    key = "migration-key-" + uuid.uuid4().hex
    # The revision reads the key from settings (through migrations/env.py) and seals in
    # its own frozen copy of the format; kefu.secretbox must open what it wrote.
    monkeypatch.setenv("KEFU_SECRET_KEY", key)
    secretbox.use(Settings(secret_key=key))
    migrate.upgrade(url, "0003_bot_first_rules")
    workspace, inbox = uuid.uuid4(), uuid.uuid4()
    now = datetime.now(UTC)
    asyncio.run(
        _run(
            url,
            [
                (
                    "INSERT INTO workspaces (id, slug, name, settings, created_at)"
                    " VALUES (:id, 'w', 'W', '{}', :now)",
                    {"id": _hex(workspace, url), "now": now},
                ),
                (
                    "INSERT INTO inboxes (id, workspace_id, kind, name, public_key, config,"
                    " secrets, active, created_at) VALUES (:id, :ws, 'wechat', 'WX', 'k1',"
                    " :config, :secrets, true, :now)",
                    {
                        "id": _hex(inbox, url),
                        "ws": _hex(workspace, url),
                        "config": json.dumps({"appid": "wx1", "token": "tok-in-config"}),
                        "secrets": json.dumps({"secret": "app-secret-plain"}),
                        "now": now,
                    },
                ),
            ],
        )
    )
    migrate.upgrade(url, "0006_secrets")
    ((config, stored),) = asyncio.run(_rows(url, "SELECT config, secrets FROM inboxes"))
    stored, config = _json(stored), _json(config)
    assert "app-secret-plain" not in json.dumps(stored)
    assert "tok-in-config" not in json.dumps(stored)
    assert stored["kid"] == secretbox.key_id(key)
    assert config == {"appid": "wx1"}  # the token left the public settings
    assert secretbox.ring().open(stored) == {"secret": "app-secret-plain", "token": "tok-in-config"}

    migrate.downgrade(url, "0003_bot_first_rules")
    (plain,) = asyncio.run(_rows(url, "SELECT secrets FROM inboxes"))[0]
    assert _json(plain) == {"secret": "app-secret-plain", "token": "tok-in-config"}
