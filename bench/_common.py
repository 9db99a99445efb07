"""Helpers shared by the bench scripts: start a sandbox process, find a free port, RSS."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager


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
