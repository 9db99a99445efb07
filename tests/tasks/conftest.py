"""A real worker process (``python -m workers all``) on the real Redis, against the sandbox.

Why a separate process rather than ``celery.contrib.testing.worker`` in a thread: the promises we
test are about processes (acks_late redelivery after SIGKILL, settings read from the
environment by ``celeryconfig``, tokens shared between processes through Redis), and a thread
inside pytest would share the test's memory and hide exactly those bugs.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from mxit_tasks import runtime
from mxit_tasks.celery_app import app
from mxit_tasks.sandbox import SandboxURLs
from tests.conftest import (
    ALL_USER_SCOPES,
    REDIRECT,
    TEST_REDIS_URL,
    USER0,
    Sandbox,
    _free_port,
    wait_for,
)

ROOT = Path(__file__).resolve().parents[2]
METRICS_PORT = _free_port()


class Worker:
    """A ``python -m workers`` process and its log."""

    def __init__(self, log_path: Path, pool: str = "all", concurrency: int = 8, **env: str):
        self.ready_marker = "beat: Starting" if pool == "beat" else "ready."
        self.log_path = log_path
        self.pool = pool
        self.concurrency = concurrency
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", "MXIT_METRICS_PORT": "0", **env}
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Worker:
        """Start the process and wait until it consumes."""
        log = open(self.log_path, "ab")  # noqa: SIM115 - closed with the process
        args = [] if self.pool == "beat" else ["--concurrency", str(self.concurrency)]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "workers", self.pool, *args],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for(lambda: self.ready_marker in self.log(), timeout=60)
        return self

    def log(self) -> str:
        """Everything the worker logged so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self) -> None:
        """SIGKILL: no goodbye, unacked messages stay unacked."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        """Warm shutdown (SIGTERM), then SIGKILL if it hangs."""
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)


@pytest.fixture(scope="session")
def worker(
    sandbox_server: SandboxURLs, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Worker]:
    """One worker for the session, consuming every queue."""
    w = Worker(
        tmp_path_factory.mktemp("worker") / "worker.log", MXIT_METRICS_PORT=str(METRICS_PORT)
    ).start()
    yield w
    w.stop()


def clean_redis() -> None:
    """Forget mxit state (tokens, broadcasts, limiter, DLQ) but keep the broker's bindings."""
    r = redis.Redis.from_url(TEST_REDIS_URL)
    for key in r.scan_iter(match="mxit:*", count=1000):
        r.delete(key)
    for queue in ("mxit.messaging", "mxit.users", "mxit.media", "mxit.sync"):
        r.delete(queue)
    # Messages a previous test's killed worker left unacked would be restored into this test
    # (after the visibility timeout) and call the sandbox: forget them.
    r.delete("unacked", "unacked_index")


@pytest.fixture
def live(worker: Worker, sandbox: Sandbox) -> Iterator[Sandbox]:
    """A clean sandbox and Redis, with the session's worker consuming."""
    clean_redis()
    yield sandbox
    sandbox.control.clear_faults()


def authorise(sandbox: Sandbox, user: str = USER0, scope: str = ALL_USER_SCOPES) -> str:
    """Consent and store the user's token where workers find it (the Redis token store)."""
    code = sandbox.control.consent(sandbox.client_id, user, scope, REDIRECT)
    client = runtime.client()
    client.for_user(user).oauth.get_user_token(scope, code)
    return user


def result_of(async_result: Any, timeout: float = 30) -> Any:
    """The task's return value (raises its error)."""
    return async_result.get(timeout=timeout, propagate=True)


def finished(broadcast_id: str, timeout: float = 60) -> dict[str, Any]:
    """Wait until the broadcast's counters say every batch is final; its status."""
    store = runtime.broadcasts()
    return wait_for(
        lambda: (st := store.status(broadcast_id))["state"] == "finished" and st, timeout=timeout
    )


__all__ = ["app", "authorise", "clean_redis", "result_of"]
