"""The Celery app: ``celery -A mxit_tasks worker`` and ``celery -A mxit_tasks beat`` find it here
(as ``mxit_tasks.app``). Configured from ``celeryconfig.py``."""

from __future__ import annotations

from celery import Celery
from celery.signals import worker_init, worker_process_init

app = Celery("mxit_tasks")
app.config_from_object("celeryconfig")


@worker_process_init.connect
def _fresh_connections(**_: object) -> None:
    """Each forked worker process builds its own Redis and HTTP connections (none inherited)."""
    from mxit_tasks import runtime

    for cached in (runtime._settings, runtime._client, runtime._limiter, runtime._broadcasts):
        cached.cache_clear()


@worker_init.connect
def _metrics(**_: object) -> None:
    """Serve Prometheus metrics from the worker (``MXIT_METRICS_PORT``; 0 = off)."""
    from mxit_tasks import metrics

    try:
        metrics.serve()
    except OSError as exc:  # port taken: the worker still works, without metrics
        import logging

        logging.getLogger("mxit_tasks.metrics").warning("metrics not served: %s", exc)
