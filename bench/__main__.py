"""`make bench`: run every benchmark and append the results, with machine and date, to
bench/RESULTS.md."""

from __future__ import annotations

import asyncio
import importlib
import inspect
import os
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path

SUITES = (
    "bench.bench_e2e",
    "bench.bench_core",
    "bench.bench_routing",
    "bench.bench_knowledge",
    "bench.bench_email",
    "bench.bench_ratelimit",
    # tickets (issue 17)
    "bench.bench_tickets",
    "bench.bench_reports",
    "bench.bench_sms",
    # calls (issue 18)
    "bench.bench_calls",
)
# KEFU_BENCH_SUITES=bench.bench_e2e,... runs only those.
if os.environ.get("KEFU_BENCH_SUITES"):
    SUITES = tuple(os.environ["KEFU_BENCH_SUITES"].split(","))


def machine() -> str:
    cpu = "unknown cpu"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    python = platform.python_version()
    return f"{platform.node()} · {os.cpu_count()} cores · {cpu} · {mem:.0f} GiB · Python {python} · commit {commit}"


def main() -> None:
    results: list[str] = []
    for name in SUITES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError:
            continue
        print(f"== {name}", flush=True)
        outcome = module.main()
        lines = asyncio.run(outcome) if inspect.iscoroutine(outcome) else outcome
        results.extend(lines)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    path = Path("bench/RESULTS.md")
    if not path.exists():
        path.write_text("# Benchmark results\n\nAppended by `make bench`; newest last.\n")
    with path.open("a") as out:
        out.write(f"\n## {stamp}\n\n{machine()}\n\n```\n" + "\n".join(results) + "\n```\n")
    print(f"appended {len(results)} lines to {path}")


if __name__ == "__main__":
    main()
