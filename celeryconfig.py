"""Celery settings for mxit-tasks. Celery keys only; every value comes from the settings object
(``Settings.from_env()``, the one reader of the environment).

Why these values:

* JSON only: task messages and results stay readable by other languages and never unpickle
  untrusted data.
* ``task_acks_late`` is on per task for tasks that are safe to repeat (reads, idempotent writes,
  and broadcast batches, which a Redis marker guards), with ``task_reject_on_worker_lost`` so a
  task of a crashed worker is delivered again instead of lost. Tasks that are not safe to repeat
  (uploads to a gallery, file offers, user-to-user messages) ack early: at most once.
* ``worker_prefetch_multiplier = 1``: tasks wait on HTTP for a long time; prefetching more
  would park messages behind a busy thread while other workers idle.
* Redis redelivers an unacked message after ``visibility_timeout``. A countdown (retry, rate
  limit) keeps its message unacked in the worker, so the timeout must exceed every countdown we
  schedule (``max_countdown``), or the task would run twice. It is set in every place Celery
  reads it: the broker, the result backend and the redbeat lock.
"""

from __future__ import annotations

from kombu import Queue

from mxit_tasks.routing import QUEUES
from mxit_tasks.settings import Settings

_s = Settings.from_env()
_transport = {
    "visibility_timeout": _s.visibility_timeout,
    # Sweep for unacked messages of dead workers every 10 s (kombu's default is about every
    # 100 s): a task of a SIGKILLed worker runs again visibility_timeout + <= 10 s later.
    "unacked_restore_interval": 10,
    "unacked_restore_throttle": 1,
    "socket_keepalive": True,
    "health_check_interval": 10,
    "retry_on_timeout": True,
}

broker_url = _s.broker_url
result_backend = _s.result_backend
broker_transport_options = dict(_transport)
result_backend_transport_options = dict(_transport)
broker_connection_retry_on_startup = True
broker_connection_max_retries = None  # keep reconnecting: a Redis restart must not end workers
redis_socket_keepalive = True
redis_retry_on_timeout = True
redis_backend_health_check_interval = 10

task_serializer = "json"
result_serializer = "json"
accept_content = ["json"]
result_accept_content = ["json"]
result_expires = _s.result_expires
result_extended = False  # results never repeat the task's arguments
task_track_started = True
task_send_sent_event = True
worker_send_task_events = True

task_acks_late = False  # set per task (see MxitTask / safe_to_repeat)
task_reject_on_worker_lost = False
worker_prefetch_multiplier = 1
worker_cancel_long_running_tasks_on_connection_loss = False

# Declared, so that a plain `celery -A mxit_tasks worker` consumes every queue; the pools in
# workers/ pick their own with -Q.
task_queues = tuple(Queue(name) for name in QUEUES)
task_default_queue = "mxit.users"
task_create_missing_queues = True
task_routes = ("mxit_tasks.routing.route",)
# Your own task modules (e.g. on_finished callbacks): MXIT_TASK_MODULES="myapp.tasks,other".
imports = ("mxit_tasks.tasks", "mxit_tasks.tasks.sync", *_s.task_modules)

timezone = "UTC"
enable_utc = True

# celery-redbeat (the beat issue): the schedule lives in Redis; its lock expires well within
# the visibility timeout so a standby beat takes over quickly.
beat_scheduler = "redbeat.RedBeatScheduler"  # so a plain `celery -A mxit_tasks beat` uses it
redbeat_redis_url = _s.redis_url
redbeat_key_prefix = "mxit:redbeat"
redbeat_redis_options = {"socket_keepalive": True, "health_check_interval": 10}
redbeat_lock_timeout = _s.beat_lock_timeout
beat_max_loop_interval = max(1, min(5, _s.beat_lock_timeout // 3))
beat_schedule = {
    "mxit-sync-tracked-users": {
        "task": "mxit.sync.sync_tracked",
        "schedule": float(_s.sync_interval),
        "options": {"expires": float(_s.sync_interval)},  # a late run is skipped, not stacked
    }
}
