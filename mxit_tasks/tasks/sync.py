"""Beat-driven work: the periodic sync of tracked users, and scheduled status updates."""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Any

from mxit_tasks import runtime, schedules
from mxit_tasks.errors import MxitError, NotFound, UserAuthorizationRequired
from mxit_tasks.sync import Tracker
from mxit_tasks.tasks._define import op_task
from mxit_tasks.tasks.base import MxitTask

log = logging.getLogger("mxit_tasks.tasks")
MAX_SLEEP = 30.0  # a sync chunk waits for the limiter in-task (it is already a background job)


def tracker() -> Tracker:
    """The tracked-users registry of this process."""
    return Tracker(runtime.redis(), runtime.settings().changes_maxlen)


@op_task("mxit.sync.sync_tracked")
def sync_tracked(self: MxitTask) -> dict:
    """The beat entry: start a run (unless one is in progress) and enqueue one task per chunk."""
    s = runtime.settings()
    t = tracker()
    run_id = t.start_run(lock_seconds=max(s.sync_interval * 4, 60))
    if run_id is None:
        log.info("sync: the previous run is still in progress; skipping this one")
        return {"skipped": True}
    chunks = 0
    chunk: list[str] = []
    for user_id in t.iter():
        chunk.append(user_id)
        if len(chunk) >= s.sync_chunk:
            sync_users.delay(run_id, chunk)
            chunks += 1
            chunk = []
    if chunk:
        sync_users.delay(run_id, chunk)
        chunks += 1
    t.set_chunks(run_id, chunks)
    return {"run_id": run_id, "chunks": chunks}


def _limited(task: MxitTask) -> None:
    """Wait for the global limiter in-task (a chunk must not be re-run for a long wait)."""
    rate, burst = runtime.rate_for("users")
    reserved, wait = runtime.limiter().acquire(task.limit_key(), rate, burst, MAX_SLEEP)
    while not reserved:
        time.sleep(min(wait, MAX_SLEEP))
        reserved, wait = runtime.limiter().acquire(task.limit_key(), rate, burst, MAX_SLEEP)
    if wait > 0:
        time.sleep(wait)


def sync_one(task: MxitTask, t: Tracker, user_id: str) -> str:
    """Sync one user: ``ok``, ``changed``, ``gone`` or ``failed``. Never raises."""
    client = task.client
    values: dict[str, Any] = {}
    try:
        for field, call in (
            ("status", lambda: client.users.get_status(user_id)),
            ("display_name", lambda: client.users.get_display_name(user_id)),
            ("profile", lambda: client.users.get_basic_profile(user_id)),
        ):
            _limited(task)
            values[field] = call()
        if client.tokens.has_user(user_id):
            _limited(task)
            # consent withdrawn or expired: the public part is still synced
            with contextlib.suppress(UserAuthorizationRequired):
                values["full_profile"] = client.for_user(user_id).users.get_full_profile()
    except NotFound:
        t.mark_gone(user_id)
        return "gone"
    except MxitError as exc:
        log.warning("sync %s failed: %s: %s", user_id, type(exc).__name__, exc)
        return "failed"
    return "changed" if t.record(user_id, values) else "ok"


@op_task("mxit.sync.sync_users")
def sync_users(self: MxitTask, run_id: str, user_ids: list[str]) -> dict:
    """Sync a chunk of tracked users; one failing user never stops the others. Users removed
    from the registry since the chunk was enqueued are skipped."""
    t = tracker()
    counts = {"ok": 0, "changed": 0, "failed": 0, "gone": 0}
    for user_id in t.still_tracked(user_ids):
        counts[sync_one(self, t, user_id)] += 1
    t.chunk_done(run_id, counts)
    return counts


@op_task("mxit.users.scheduled_status")
def scheduled_status(
    self: MxitTask, user_id: str, message: str, schedule_name: str | None = None
) -> str:
    """A scheduled PUT /user/statusmessage; without a usable token the schedule is disabled."""
    try:
        return self.call("users.set_status", message, as_user=user_id)
    except UserAuthorizationRequired:
        if schedule_name:
            schedules.disable(self.app, schedule_name)
            log.warning("schedule %s disabled: %s must authorise again", schedule_name, user_id)
        raise
