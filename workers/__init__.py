"""Worker pool definitions, in one place: which queues each pool consumes, with which pool type,
concurrency and prefetch. ``python -m workers NAME`` runs one; the Procfile runs them all.

Every pool uses **threads**: the work is waiting on HTTP (and Redis), during which the GIL is
released, so threads give high concurrency at a fraction of prefork's memory, share one token
cache and one HTTP connection pool per process, and need no monkey-patching (gevent would, and
it interacts badly with the Redis client's blocking calls). CPU-heavy work does not exist here.
Throughput scales by running more processes (``--concurrency`` or more Procfile entries).

Prefetch is 1 per thread: tasks are long I/O waits, and prefetching more would park messages
behind a busy thread while other workers sit idle.
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Pool:
    """One worker pool."""

    name: str
    queues: tuple[str, ...]
    pool: str = "threads"
    concurrency: int = 8
    prefetch: int = 1
    metrics_port: int = 0  # Prometheus /metrics of this pool's process (MXIT_METRICS_PORT wins)

    def argv(self, **overrides: object) -> list[str]:
        """The ``celery worker`` command line of this pool."""
        p = replace(self, **overrides)  # type: ignore[arg-type]
        return [
            "celery",
            "-A",
            "mxit_tasks",
            "worker",
            "--queues",
            ",".join(p.queues),
            "--pool",
            p.pool,
            "--concurrency",
            str(p.concurrency),
            "--prefetch-multiplier",
            str(p.prefetch),
            "--hostname",
            f"{p.name}@%h",
            "--loglevel",
            "INFO",
            "--task-events",
            "--without-mingle",
            "--without-gossip",
        ]


POOLS: dict[str, Pool] = {
    # Broadcast batches: many concurrent sends, each a long HTTP wait.
    "messaging": Pool("messaging", ("mxit.messaging",), concurrency=16, metrics_port=9101),
    # Lookups, statuses, profiles, and the beat-driven sync.
    "users": Pool("users", ("mxit.users", "mxit.sync"), concurrency=8, metrics_port=9102),
    # Uploads and downloads: fewer at once (each holds up to 1 MiB), retried for hours.
    "media": Pool("media", ("mxit.media",), concurrency=4, metrics_port=9103),
    # Everything in one process: small deployments, the demo and the tests.
    "all": Pool("all", ("mxit.messaging", "mxit.users", "mxit.media", "mxit.sync"), concurrency=16),
}

BEAT_ARGV = [
    "celery",
    "-A",
    "mxit_tasks",
    "beat",
    "--scheduler",
    "redbeat.RedBeatScheduler",
    "--loglevel",
    "INFO",
]
