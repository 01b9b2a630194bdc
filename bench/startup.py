"""How long `make run` takes to answer `GET /health`: starts it on a free port in its own
process group, polls /health, then stops that group. Run it twice to see a cold and a
warm start (the second should rebuild nothing).

    .venv/bin/python -m bench.startup [--runs N] [-- make target and arguments]
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def time_to_health(command: list[str], timeout: float = 600.0) -> float:
    """Seconds from starting `command` until /health answers 200 on KEFU_PORT."""
    port = free_port()
    env = {**os.environ, "KEFU_PORT": str(port), "KEFU_HOST": "127.0.0.1"}
    started = time.perf_counter()
    process = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        while time.perf_counter() - started < timeout:
            if process.poll() is not None:
                raise RuntimeError(f"{' '.join(command)} exited with {process.returncode}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as answer:
                    if answer.status == 200:
                        return time.perf_counter() - started
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.05)
        raise TimeoutError(f"no /health after {timeout:.0f} s")
    finally:
        # make, kefu serve and anything they started share the new session's group.
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("command", nargs="*", default=["make", "run"])
    args = parser.parse_args()
    for n in range(1, args.runs + 1):
        cpu = os.times()
        seconds = time_to_health(args.command)
        after = os.times()
        children = (after.children_user - cpu.children_user) + (
            after.children_system - cpu.children_system
        )
        print(
            f"{' '.join(args.command)} start {n}: /health after {seconds:.2f} s "
            f"({children:.2f} s CPU in child processes)",
            flush=True,
        )


if __name__ == "__main__":
    main()
