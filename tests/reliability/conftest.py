"""Reliability scenarios: real worker processes, the real Redis, the sandbox with faults.

Each scenario prints one line of figures and appends it to ``MXIT_RELIABILITY_RESULTS``
(a JSON-lines file) so that ``python bench/reliability.py`` can render docs/reliability.md.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mxit_tasks.celery_app import app
from tests.tasks.conftest import Worker, clean_redis, live, worker  # noqa: F401 - fixtures

ROOT = Path(__file__).resolve().parents[2]
RESULTS = Path(os.environ.get("MXIT_RELIABILITY_RESULTS", ROOT / ".reliability-results.jsonl"))
ALL_LOGS: list[Path] = []  # every worker log of the suite, for the final secrets scan


def record(**row: Any) -> None:
    """Print a scenario's figures and keep them for the report."""
    print("\nRELIABILITY " + json.dumps(row))
    with RESULTS.open("a") as fh:
        fh.write(json.dumps(row) + "\n")


def reset_pool() -> None:
    """Drop this process's pooled broker connections (dead after CLIENT KILL); new ones follow."""
    from kombu import pools

    pools.reset()
    app._pool = None
    app.amqp._producer_pool = None


def control(call: Any, *args: Any, **kwargs: Any) -> Any:
    """A remote-control call that survives this process's broker connections being killed."""
    for attempt in range(3):
        try:
            return call(*args, **kwargs)
        except Exception:
            if attempt == 2:
                raise
            reset_pool()  # CLIENT KILL left dead sockets in the pool
            time.sleep(0.5)
    return None


@pytest.fixture
def isolated_queue(worker: Worker, tmp_path: Path) -> Iterator[Any]:  # noqa: F811
    """Take one queue away from the session worker; the test runs its own workers on it."""
    replies = control(app.control.ping, timeout=2)
    names = [n for reply in replies for n in reply if n.startswith("all@")]
    taken: list[str] = []
    started: list[Worker] = []

    def start(queue_pool: str, name: str, concurrency: int = 16, **env: str) -> Worker:
        queue = {"messaging": "mxit.messaging", "media": "mxit.media", "users": "mxit.users"}[
            queue_pool
        ]
        if queue not in taken:
            control(app.control.cancel_consumer, queue, destination=names, reply=True, timeout=5)
            taken.append(queue)
        log = tmp_path / f"{name}-{time.monotonic_ns()}.log"
        ALL_LOGS.append(log)
        w = Worker(log, pool=queue_pool, concurrency=concurrency, **env).start()
        started.append(w)
        return w

    yield start
    for w in started:
        w.stop()
    for queue in taken:
        control(app.control.add_consumer, queue, destination=names, reply=True, timeout=5)
