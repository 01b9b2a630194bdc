"""SMS: inbound Twilio webhooks per second through `POST /connectors/sms/{id}/twilio`
into PostgreSQL (signed forms, each its own MessageSid, 50 senders), next to the API
channel's signed JSON webhook with the same texts in the same run (ratio)."""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import time

import httpx

from bench.databases import drop_database, fresh_database
from kefu.app import build_kefu, create_app
from kefu.connectors.signing import signed_headers
from kefu.connectors.sms.twilio import SIGNATURE_HEADER, signature
from kefu.demo import seed
from kefu.inboxes.schemas import InboxCreate
from kefu.inboxes.service import create_inbox
from kefu.model import ChannelKind
from kefu.settings import Settings

DB_NAME = "kefu_bench_sms"
PUBLIC = "https://kefu.bench"
TOKEN = "bench-twilio-auth-token"
SECRET = "bench-api-signing-secret"
MESSAGES = int(os.environ.get("KEFU_BENCH_SMS", "500"))


async def _timed(client: httpx.AsyncClient, requests: list[tuple[str, dict[str, object]]]) -> float:
    started = time.perf_counter()
    for path, kwargs in requests:
        response = await client.post(path, **kwargs)  # type: ignore[arg-type]
        assert response.status_code in (200, 202), response.text
    return len(requests) / (time.perf_counter() - started)


async def main() -> list[str]:
    url = await fresh_database(DB_NAME)
    settings = Settings(
        database_url=url,
        secret_key="bench",
        run_dispatcher=False,
        media_dir=tempfile.mkdtemp(prefix="kefu-bench-sms-"),
        email_imap=False,
        public_url=PUBLIC,
        rate_limit_store="off",
    )
    kefu = build_kefu(settings)
    await kefu.events.plugin._on_startup()
    try:
        demo = await seed(kefu, slug="bench-sms", password="bench-password-1")
        sms = await create_inbox(
            kefu,
            demo.workspace_id,
            InboxCreate(
                kind=ChannelKind.sms,
                name="SMS",
                config={
                    "provider": "twilio",
                    "account_sid": "ACbench",
                    "auth_token": TOKEN,
                    "from_number": "+14155550100",
                },
            ),
        )
        api = await create_inbox(
            kefu,
            demo.workspace_id,
            InboxCreate(
                kind=ChannelKind.api,
                name="API",
                config={"webhook_url": "https://example.com/hook", "signing_secret": SECRET},
            ),
        )
        texts = [f"订单 {n} 什么时候到？" for n in range(MESSAGES)]
        sms_path = f"/connectors/sms/{sms.id}/twilio"
        sms_requests: list[tuple[str, dict[str, object]]] = []
        api_requests: list[tuple[str, dict[str, object]]] = []
        for n, text in enumerate(texts):
            form = {
                "MessageSid": f"SMbench{n:08d}",
                "From": f"+86138{n % 50:08d}",
                "To": "+14155550100",
                "Body": text,
                "NumMedia": "0",
            }
            headers = {SIGNATURE_HEADER: signature(TOKEN, PUBLIC + sms_path, list(form.items()))}
            sms_requests.append((sms_path, {"data": form, "headers": headers}))
            body = json.dumps(
                {"message_id": f"api-{n}", "user": {"id": f"u-{n % 50}"}, "text": text}
            ).encode()
            api_requests.append(
                (
                    f"/connectors/api/{api.id}",
                    {"content": body, "headers": signed_headers(SECRET, body)},
                )
            )
        app = create_app(kefu=kefu)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            api_rate = await _timed(client, api_requests)
            sms_rate = await _timed(client, sms_requests)
    finally:
        await kefu.drain()
        await kefu.events.plugin._on_shutdown()
        await kefu.db.dispose()
        await drop_database(DB_NAME)
    return [
        f"SMS Twilio webhook -> PostgreSQL: {sms_rate:,.0f} msgs/s; API channel webhook "
        f"{api_rate:,.0f} msgs/s in the same run; ratio {sms_rate / api_rate:.2f} "
        f"({MESSAGES} each, 50 senders, one client in-process)"
    ]


if __name__ == "__main__":
    for line in asyncio.run(main()):
        print(line)
