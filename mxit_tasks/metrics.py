"""Prometheus metrics of the worker processes (prometheus-client).

Each worker process serves ``/metrics`` on ``MXIT_METRICS_PORT`` (set per pool in
``workers/``; 0 disables it). Counters are per process; Prometheus sums them across pools.
Gauges that describe shared state (broadcasts in flight, DLQ size, staged payload bytes) are read
from Redis at scrape time, so every process reports the same value: use ``max()`` across them.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from typing import Any

from prometheus_client import REGISTRY, Counter, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily

log = logging.getLogger("mxit_tasks.metrics")

API_CALLS = Counter(
    "mxit_api_calls_total", "Mxit API calls by operation and status", ["operation", "status"]
)
API_LATENCY = Histogram(
    "mxit_api_call_seconds",
    "Mxit API call latency",
    ["operation"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
RETRIES = Counter("mxit_task_retries_total", "Task retries by task and reason", ["task", "reason"])
LIMITER_WAIT = Counter(
    "mxit_ratelimit_wait_seconds_total",
    "Seconds spent waiting for the global limiter",
    ["api_class"],
)
RATE_LIMITED = Counter("mxit_api_429_total", "429 answers received", ["api_class"])
RECIPIENTS = Counter(
    "mxit_broadcast_recipients_total", "Broadcast recipients by outcome", ["outcome"]
)
DEAD_LETTERS = Counter(
    "mxit_dead_letters_total", "Tasks written to the dead-letter queue", ["task"]
)


class SharedStateCollector:
    """Gauges read from Redis when scraped."""

    def collect(self) -> Iterator[Any]:
        """Broadcasts in flight, DLQ size and staged payload bytes."""
        from mxit_tasks import runtime

        try:
            r = runtime.redis()
            ids = runtime.broadcasts().list(200)
            finished = r.mget([f"mxit:bc:{bid}:finished" for bid in ids]) if ids else []
            in_flight = sum(1 for flag in finished if flag is None)
            dlq = r.xlen("mxit:dlq") if r.exists("mxit:dlq") else 0
            staged = int(r.get("mxit:payload:bytes") or 0)
        except Exception:  # Redis down: report nothing rather than fail the scrape
            return
        yield GaugeMetricFamily("mxit_broadcasts_in_flight", "Broadcasts not finished", in_flight)
        yield GaugeMetricFamily("mxit_dlq_size", "Entries in the dead-letter queue", dlq)
        yield GaugeMetricFamily("mxit_staged_payload_bytes", "Bytes of staged uploads", staged)


_started = False


def serve(port: int | None = None) -> int | None:
    """Start the ``/metrics`` endpoint once per process; returns the port (None if disabled)."""
    global _started
    port = int(os.environ.get("MXIT_METRICS_PORT", "0")) if port is None else port
    if _started or not port:
        return None
    REGISTRY.register(SharedStateCollector())
    start_http_server(port, addr=os.environ.get("MXIT_METRICS_ADDR", "127.0.0.1"))
    _started = True
    log.info(
        "metrics on http://%s:%d/metrics", os.environ.get("MXIT_METRICS_ADDR", "127.0.0.1"), port
    )
    return port
