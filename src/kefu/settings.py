"""Settings: one msgspec Struct read from KEFU_* environment variables, with embedded
defaults so that `kefu serve` runs with nothing configured. Nothing else reads the
environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated

import msgspec


class Settings(msgspec.Struct, kw_only=True):
    # SQLite under ./var by default; postgresql+asyncpg://... for production.
    database_url: str = "sqlite+aiosqlite:///var/kefu.db"
    host: str = "127.0.0.1"
    port: int = 8000
    # Public base URL used in widget snippets and webhook URLs shown to admins.
    public_url: str = ""
    # Realtime fan-out: "memory" (one process), "redis" or "postgres" (many processes).
    redis_url: str = ""
    fanout: str = ""
    meili_url: str = ""
    meili_key: str = ""
    # Signs widget visitor tokens and session cookies; generated into var/ when unset.
    secret_key: str = ""
    demo_password: str = "kefu-demo-2026"
    # A resolved conversation reopens when the customer writes again within this window.
    reopen_window_hours: float = 24.0
    # Inbound messages stored per transaction at most (group commit); 1 turns it off.
    ingest_batch: int = 200
    max_body_bytes: int = 1_048_576
    max_upload_bytes: int = 10_485_760
    upload_types: str = "image/png,image/jpeg,image/gif,image/webp,application/pdf,text/plain"
    media_dir: str = "var/media"
    outbox_max_attempts: int = 8
    outbox_poll_seconds: float = 1.0
    # Retry n waits base * 2**(n-1) seconds, capped at ten minutes.
    outbox_backoff_seconds: float = 2.0
    # Run the background workers (outbox dispatcher, queue timer) in this process.
    run_dispatcher: bool = True
    queue_sweep_seconds: float = 5.0
    # An agent whose last console socket closed goes offline after this long, unless a
    # socket opens again (a page reload or a short network drop does not count).
    presence_grace_seconds: Annotated[float, msgspec.Meta(ge=0)] = 30.0
    session_hours: float = 24.0 * 14
    # Inbound webhooks older than this are refused as replays.
    webhook_tolerance_seconds: int = 300
    debug: bool = False
    # -- e-mail (issue 15) --
    # Largest mail accepted (raw-MIME endpoint, IMAP, SMTP receiver); larger is refused
    # with 413 or kept as a failed item with the reason.
    email_max_bytes: Annotated[int, msgspec.Meta(ge=1024, le=2_000_000_000)] = 26_214_400
    # Read e-mail inboxes that have an IMAP server (IDLE or poll) in this process.
    email_imap: bool = True
    # A built-in SMTP receiver for small self-hosted setups (off by default): mail to
    # an inbox's address is taken in like the raw-MIME endpoint.
    email_smtp_receiver: bool = False
    email_smtp_host: str = "127.0.0.1"
    email_smtp_port: Annotated[int, msgspec.Meta(ge=1, le=65535)] = 2525
    # Session cookies are also `Secure` whenever public_url is https.
    cookie_secure: bool = False
    # Password hashing (argon2id). A hash made with other parameters is redone at its
    # owner's next sign-in.
    argon2_time_cost: Annotated[int, msgspec.Meta(ge=1)] = 3
    argon2_memory_cost: Annotated[int, msgspec.Meta(ge=8)] = 65536  # KiB
    argon2_parallelism: Annotated[int, msgspec.Meta(ge=1)] = 4
    # Sign-in throttle: after this many failures for an account (or from one client IP),
    # each further failure doubles the wait, from login_backoff_seconds up to the cap.
    login_free_failures: Annotated[int, msgspec.Meta(ge=1)] = 5
    login_ip_free_failures: Annotated[int, msgspec.Meta(ge=1)] = 20
    login_backoff_seconds: Annotated[float, msgspec.Meta(ge=0)] = 1.0
    login_backoff_max_seconds: Annotated[float, msgspec.Meta(ge=0)] = 900.0
    # Failures are forgotten this long after the last one.
    login_failure_window_seconds: Annotated[float, msgspec.Meta(gt=0)] = 3600.0
    # conc: the connection pool, per process. Four processes at the defaults use at most
    # 4 * (10 + 10) = 80 connections, inside a default PostgreSQL (max_connections 100,
    # some reserved) with room for LISTEN connections, migrations and psql. A request
    # that waits longer than db_pool_timeout for a connection answers 503 + Retry-After.
    db_pool_size: Annotated[int, msgspec.Meta(ge=1)] = 10
    db_max_overflow: Annotated[int, msgspec.Meta(ge=0)] = 10
    db_pool_timeout: Annotated[float, msgspec.Meta(gt=0)] = 5.0
    # conc: SIGTERM finishes within this many seconds: requests in flight drain for most
    # of it, then background workers and spawned work are cancelled.
    shutdown_seconds: Annotated[float, msgspec.Meta(gt=0)] = 10.0
    # --- secrets: outbound requests, secrets at rest, visitor tokens ---
    # Hosts and CIDRs server-side requests may reach although they are not public
    # (comma-separated, e.g. "10.0.0.0/8,wechat-proxy.internal"); empty refuses them all.
    outbound_allow: str = ""
    outbound_timeout_seconds: Annotated[float, msgspec.Meta(gt=0)] = 10.0
    outbound_max_bytes: Annotated[int, msgspec.Meta(ge=1)] = 16 * 1024 * 1024
    # Earlier values of secret_key (comma-separated): inbox secrets sealed with them
    # still open after secret_key changes; each is sealed with secret_key at its next write.
    previous_secret_keys: str = ""
    # A widget's visitor token is good for this long; the widget is handed a fresh one
    # when less than half of it is left.
    visitor_token_hours: Annotated[float, msgspec.Meta(gt=0)] = 24.0 * 30
    # speed: a process trusts its copy of rarely changing rows (inboxes) this long
    # before it re-reads their version counters (kefu.caching); its own writes apply
    # at once. The bound within which another process's change is seen.
    cache_check_seconds: Annotated[float, msgspec.Meta(ge=0)] = 1.0
    # stack: abuse limits and the client address (kefu.ratelimit, kefu.clientip).
    # Where the public endpoints' token buckets live: "" picks redis when redis_url is
    # set, else the database (memory on SQLite, one process); or memory / database /
    # redis / off.
    rate_limit_store: str = ""
    # Rules changed from their defaults (kefu.ratelimit.RateLimits), comma separated
    # <rule>=<burst>/<tokens per second>: "webhook_per_inbox=20000/2000" for an API
    # inbox busier than 200 messages a second. Checked at start: a typo is an error.
    rate_limits: str = ""
    # Proxies (CIDRs, comma separated) whose X-Forwarded-For / X-Real-IP is believed.
    trusted_proxies: str = ""
    # `make bench` creates and drops its own kefu_bench* databases through this admin
    # connection; the server's maintenance database, never another suite's.
    bench_admin_url: str = "postgresql://postgres@127.0.0.1:5432/postgres"
    # tickets (issue 17): how often the SLA sweep looks for targets that fell due.
    ticket_sla_sweep_seconds: Annotated[float, msgspec.Meta(gt=0)] = 30.0
    # reports (issue 19): how often the sweep looks for scheduled reports to e-mail.
    report_schedule_sweep_seconds: Annotated[float, msgspec.Meta(gt=0)] = 60.0
    # calls (issue 18): how often ring timeouts, max waits and wrap-up ends are checked.
    call_sweep_seconds: Annotated[float, msgspec.Meta(gt=0)] = 1.0

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def fanout_backend(self) -> str:
        if self.fanout:
            return self.fanout
        return "redis" if self.redis_url else "memory"


def load(environ: Mapping[str, str] | None = None) -> Settings:
    """Read KEFU_<FIELD> for every field; msgspec converts and validates the strings."""
    env = os.environ if environ is None else environ
    raw: dict[str, str] = {}
    for field in msgspec.structs.fields(Settings):
        value = env.get(f"KEFU_{field.name.upper()}")
        if value is not None:
            raw[field.name] = value
    settings = msgspec.convert(raw, Settings, strict=False)
    if settings.rate_limits:
        from kefu.ratelimit import parse_limits

        parse_limits(settings.rate_limits)  # a malformed rule stops the start here
    if not settings.secret_key:
        settings.secret_key = _local_secret(Path("var/secret.key"))
    return settings


def _local_secret(path: Path) -> str:
    """A per-installation secret for the embedded default, kept out of the repository."""
    import secrets

    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    path.write_text(value)
    path.chmod(0o600)
    return value
