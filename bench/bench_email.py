"""E-mail: mails per second through `POST /connectors/email/{id}/mime` into PostgreSQL
(a 30 KB multipart with a PDF attachment, each with its own Message-ID), next to the
same bytes only parsed by the stdlib (`email.message_from_bytes`, policy.default) in
the same run; and the reply stripper's score on the labelled fixtures."""

from __future__ import annotations

import asyncio
import email
import os
import tempfile
import time
from email import policy
from email.message import EmailMessage
from pathlib import Path

import httpx

from bench.databases import drop_database, fresh_database
from kefu.app import build_kefu, create_app
from kefu.connectors.email.strip import strip_reply
from kefu.demo import seed
from kefu.inboxes.schemas import InboxCreate
from kefu.inboxes.service import create_inbox
from kefu.model import ChannelKind
from kefu.settings import Settings

DB_NAME = "kefu_bench_email"
TOKEN = "bench-inbound-token-0123456789abcdef"
MAILS = int(os.environ.get("KEFU_BENCH_EMAILS", "300"))


def _mail(n: int) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"客户{n % 50} <customer{n % 50}@example.cn>"
    msg["To"] = "support@example.com"
    msg["Subject"] = f"订单 {n} 的发票"
    msg["Message-ID"] = f"<bench-{n}@example.cn>"
    msg.set_content("您好，请问发票什么时候开？\n" * 200)
    msg.add_alternative("<p>您好，请问发票什么时候开？</p>" * 200, subtype="html")
    msg.add_attachment(
        os.urandom(12_000), maintype="application", subtype="pdf", filename="发票.pdf"
    )
    return bytes(msg)


def _score() -> str:
    root = next(
        (
            up / "shared" / "fixtures" / "email-replies"
            for up in Path(__file__).resolve().parents
            if (up / "shared" / "fixtures" / "email-replies").is_dir()
        ),
        None,
    )
    if root is None:
        return "email stripper: fixtures not found"
    names = sorted(p.name for p in (root / "emails").glob("*.txt"))
    ok = sum(
        " ".join(strip_reply((root / "emails" / n).read_text()).split())
        == " ".join((root / "trimmed" / n).read_text().split())
        for n in names
    )
    return f"email reply stripper: {ok}/{len(names)} exact matches after collapsing whitespace (email_reply_trimmer fixtures)"


async def main() -> list[str]:
    url = await fresh_database(DB_NAME)
    media = tempfile.mkdtemp(prefix="kefu-bench-email-")
    settings = Settings(
        database_url=url,
        secret_key="bench",
        run_dispatcher=False,
        media_dir=media,
        email_imap=False,
    )
    kefu = build_kefu(settings)
    await kefu.events.plugin._on_startup()
    try:
        demo = await seed(kefu, slug="bench-email", password="bench-password-1")
        inbox = await create_inbox(
            kefu,
            demo.workspace_id,
            InboxCreate(
                kind=ChannelKind.email,
                name="Mail",
                config={"address": "support@example.com", "inbound_token": TOKEN},
            ),
        )
        mails = [_mail(n) for n in range(MAILS)]
        size = sum(map(len, mails)) / len(mails)
        started = time.perf_counter()
        for raw in mails:
            email.message_from_bytes(raw, policy=policy.default).get_body(("plain",))
        parse_rate = MAILS / (time.perf_counter() - started)
        app = create_app(kefu=kefu)
        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "message/rfc822"}
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            started = time.perf_counter()
            for raw in mails:
                response = await client.post(
                    f"/connectors/email/{inbox.id}/mime", content=raw, headers=headers
                )
                assert response.status_code == 202 and response.json()["status"] == "stored"
            rate = MAILS / (time.perf_counter() - started)
    finally:
        await kefu.drain()
        await kefu.events.plugin._on_shutdown()
        await kefu.db.dispose()
        await drop_database(DB_NAME)
    return [
        f"email raw-MIME endpoint -> PostgreSQL: {rate:,.0f} mails/s, one client in-process "
        f"({MAILS} mails of {size / 1024:.0f} KB, multipart text+HTML+PDF); stdlib parse alone "
        f"{parse_rate:,.0f} mails/s; ratio {rate / parse_rate:.3f}",
        _score(),
    ]


if __name__ == "__main__":
    for line in asyncio.run(main()):
        print(line)
