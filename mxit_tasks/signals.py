"""Signals that mxit-tasks sends (Celery's dispatch machinery, so handlers look familiar)."""

from __future__ import annotations

from celery.utils.dispatch import Signal

broadcast_finished = Signal(
    name="broadcast_finished",
    providing_args={"broadcast_id", "status"},
)
"""Sent once per broadcast, in the worker that finalised its last batch."""
