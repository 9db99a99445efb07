"""The Celery app: ``celery -A mxit_tasks worker`` and ``celery -A mxit_tasks beat`` find it here
(as ``mxit_tasks.app``). Configured from ``celeryconfig.py``."""

from __future__ import annotations

from celery import Celery
from celery.signals import worker_process_init

app = Celery("mxit_tasks")
app.config_from_object("celeryconfig")


@worker_process_init.connect
def _fresh_connections(**_: object) -> None:
    """Each forked worker process builds its own Redis and HTTP connections (none inherited)."""
    from mxit_tasks import runtime

    for cached in (runtime._settings, runtime._client, runtime._limiter, runtime._broadcasts):
        cached.cache_clear()
