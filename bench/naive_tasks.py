"""The naive alternative for the benchmark: one Celery task per recipient, plain client.

Workers load it with ``MXIT_TASK_MODULES=naive_tasks`` and ``bench/`` on ``PYTHONPATH``.
"""

from __future__ import annotations

from mxit_tasks import runtime
from mxit_tasks.celery_app import app


@app.task(name="bench.naive_send_one")
def naive_send_one(user_id: str) -> None:
    """POST /message/send/ to one recipient (what a naive integration does)."""
    runtime.client().messaging.send_message("mxitdemo", [user_id], "naive")
