"""Helpers shared by the bench scripts: start a sandbox process, find a free port, RSS."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def sandbox_process(users: int = 100_000) -> Iterator[dict]:
    """Run ``mxit-tasks sandbox`` as its own process; yield its start-up facts."""
    port = free_port()
    cmd = [sys.executable, "-m", "mxit_tasks.cli", "sandbox", "--port", str(port)]
    proc = subprocess.Popen(
        [*cmd, "--users", str(users), "--json"], stdout=subprocess.PIPE, text=True
    )
    try:
        lines = []
        while True:
            line = proc.stdout.readline()
            if not line:
                raise RuntimeError("sandbox process exited")
            lines.append(line)
            if line.startswith("}"):
                break
        info = json.loads("".join(lines))
        info["pid"] = proc.pid
        yield info
    finally:
        proc.terminate()
        proc.wait(10)


def rss_mb(pid: int | None = None) -> float:
    """Resident set size of a process in MB (Linux /proc)."""
    with open(f"/proc/{pid or os.getpid()}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def peak_rss_mb(pid: int | None = None) -> float:
    """Peak resident set size (VmHWM) of a process in MB."""
    with open(f"/proc/{pid or os.getpid()}/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def wait_until(predicate, timeout: float, interval: float = 0.05) -> bool:
    """Poll ``predicate`` until it is true or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def bench_env(info: dict, redis_url: str, **extra: str) -> dict[str, str]:
    """The environment for producers and workers pointed at a sandbox and a Redis database."""
    return {
        **os.environ,
        "REDIS_URL": redis_url,
        "MXIT_BROKER_URL": redis_url,
        "MXIT_RESULT_BACKEND": redis_url,
        "MXIT_CLIENT_ID": info["client_id"],
        "MXIT_CLIENT_SECRET": info["client_secret"],
        "MXIT_API_URL": info["api_url"],
        "MXIT_AUTH_URL": info["auth_url"],
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


def bench_redis_url(db: int = 12) -> str:
    """REDIS_URL's server with a database of the benchmarks' own."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0")
    return urlunsplit((parts.scheme, parts.netloc, f"/{db}", "", ""))


@contextmanager
def workers(env: dict[str, str], count: int, pool: str = "messaging", concurrency: int = 16):
    """Start ``count`` worker processes of a pool; stop them afterwards."""
    procs = []
    logs = []
    try:
        for i in range(count):
            log = open(os.path.join(ROOT, f".bench-worker-{i}.log"), "wb")  # noqa: SIM115
            logs.append(log)
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "workers", pool, "--concurrency", str(concurrency)],
                    cwd=ROOT,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        for i in range(count):
            path = os.path.join(ROOT, f".bench-worker-{i}.log")
            if not wait_until(lambda p=path: b"ready." in _read(p), 60):
                raise RuntimeError(f"worker {i} did not start; see {path}")
        yield procs
    finally:
        for proc in procs:
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, 15)
        for proc in procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, 9)
        for log in logs:
            log.close()


def _read(path: str) -> bytes:
    with open(path, "rb") as fh:
        return fh.read()
