"""The shared base task: a lazily built client, the global rate limit, and the retry policy.

Tasks stay thin: each one calls :meth:`MxitTask.call` with one client operation. The policy:

* :func:`mxit_tasks.retry.delay_for` decides; the task does ``raise self.retry(countdown=...)``.
  Retry-After is honoured; countdowns are capped at ``max_countdown``, which the settings keep
  below the broker's visibility timeout.
* Permanent errors (400/403/404, validation, ``UserAuthorizationRequired``) fail at once.
* A 401 already got one token refresh and one repeat inside the client; a second 401 is final.
* Timeouts and cut answers may have been applied: retried only by tasks that are safe to repeat.
* Waiting for the rate limiter never uses up the retry budget (short waits are slept; longer
  ones re-enqueue the task with the same retry count).
* Every failure for good writes a dead-letter entry.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from celery import Task
from celery.exceptions import Retry

from mxit_tasks import metrics, runtime
from mxit_tasks.client import Mxit
from mxit_tasks.errors import ConnectionLost, MxitError, RateLimited, Timeout
from mxit_tasks.retry import delay_for

log = logging.getLogger("mxit_tasks.tasks")
SHORT_WAIT = 1.0  # limiter waits up to this long are slept in the task


class RetryScheduled(MxitError):
    """Shown as a RETRY task's result: the attempt count, the next attempt and the cause."""

    def __init__(self, attempt: int, next_attempt_at: float, error_class: str, error: str) -> None:
        super().__init__(attempt, next_attempt_at, error_class, error)
        self.attempt = attempt
        self.next_attempt_at = next_attempt_at
        self.error_class = error_class
        self.error = error

    def __str__(self) -> str:
        when = time.strftime("%H:%M:%S", time.gmtime(self.next_attempt_at))
        return f"retry {self.attempt} at {when}Z after {self.error_class}: {self.error}"


class MxitTask(Task):
    """Base of every mxit-tasks task."""

    abstract = True
    api_class = "users"  # the rate-limit class: messaging, users or media
    safe_to_repeat = True  # may a Timeout/ConnectionLost (maybe applied) be retried?
    windowed = False  # retry for MXIT_UPLOAD_RETRY_WINDOW seconds instead of max_retries times
    max_retries = None  # per task (op_task(..., max_retries=N)); None: MXIT_MAX_RETRIES
    typing = True

    def apply_async(self, args: Any = None, kwargs: Any = None, **options: Any) -> Any:
        """Enqueue, stamping the first attempt's time (for retry windows and the DLQ)."""
        headers = dict(options.pop("headers", None) or {})
        headers.setdefault("mxit_first_try", time.time())
        return super().apply_async(args, kwargs, headers=headers, **options)

    def first_try(self) -> float:
        """When the first attempt of this task was enqueued."""
        value = getattr(self.request, "mxit_first_try", None)
        if value is None:
            value = (self.request.headers or {}).get("mxit_first_try")
        return float(value) if value else time.time()

    # ---- the pieces ------------------------------------------------------------------------

    @property
    def client(self) -> Mxit:
        """This process's client (thread-safe, shared by the pool's threads)."""
        return runtime.client()

    def client_for(self, user_id: str | None) -> Mxit:
        """The client acting for ``user_id`` (its stored token), or the app client."""
        return self.client.for_user(user_id) if user_id else self.client

    def limit_key(self) -> str:
        """The global rate-limit key of this task's API class."""
        return f"{runtime.settings().client_id}:{self.api_class}"

    # ---- the one call path -----------------------------------------------------------------

    def call(self, operation: str, *args: Any, as_user: str | None = None, **kwargs: Any) -> Any:
        """Throttle, call ``client.<service>.<method>`` (as ``as_user`` when given), log one
        line, map errors."""
        self.throttle()
        service, method = operation.split(".")
        fn = getattr(getattr(self.client_for(as_user), service), method)
        started = time.perf_counter()
        try:
            result = fn(*args, **kwargs)
        except Exception as exc:
            self.observe(operation, getattr(exc, "status", None) or type(exc).__name__, started)
            self.fail_or_retry(exc)
            raise  # pragma: no cover - fail_or_retry always raises
        self.observe(operation, 200, started)
        return result

    def observe(self, operation: str, status: Any, started: float) -> None:
        """One log line and the metrics of one API call."""
        elapsed = time.perf_counter() - started
        metrics.API_CALLS.labels(operation, str(status)).inc()
        metrics.API_LATENCY.labels(operation).observe(elapsed)
        log.info("task %s %s -> %s in %.1fms", self.request.id, operation, status, elapsed * 1000)

    def throttle(self) -> None:
        """Wait for the global limiter: sleep a short wait, re-enqueue for a long one."""
        rate, burst = runtime.rate_for(self.api_class)  # 0: no limit; a 429 pause still holds
        reserved, wait = runtime.limiter().acquire(self.limit_key(), rate, burst, SHORT_WAIT)
        if reserved:
            if wait > 0:
                metrics.LIMITER_WAIT.labels(self.api_class).inc(wait)
                time.sleep(wait)
            return
        metrics.LIMITER_WAIT.labels(self.api_class).inc(wait)
        self.defer(wait, "rate limit")

    def defer(self, wait: float, reason: str) -> None:
        """Run again in ``wait`` seconds without using up a retry."""
        wait = min(max(wait, 0.05), runtime.settings().max_countdown)
        sig = self.signature_from_request(countdown=wait, retries=self.request.retries)
        sig.apply_async()
        log.info("task %s deferred %.2fs: %s", self.request.id, wait, reason)
        raise Retry(f"{reason}: again in {wait:.2f}s", when=wait, sig=sig)

    def fail_or_retry(self, exc: BaseException) -> None:
        """Raise the retry that ``delay_for`` asks for, or the error itself (final)."""
        if isinstance(exc, RateLimited):
            metrics.RATE_LIMITED.labels(self.api_class).inc()
            if exc.retry_after:
                runtime.limiter().pause(self.limit_key(), exc.retry_after)  # every worker waits
        s = runtime.settings()
        attempt = self.request.retries
        delay = delay_for(exc, attempt, cap=s.max_countdown)
        if isinstance(exc, Timeout | ConnectionLost) and not self.safe_to_repeat:
            delay = None  # it may have been applied: repeating could duplicate it
        if delay is None or attempt >= self.max_retries_now():
            raise exc
        window = self.retry_window()
        if window is not None and self._elapsed() + delay > window:
            raise exc
        metrics.RETRIES.labels(self.name, type(exc).__name__).inc()
        info = RetryScheduled(attempt + 1, time.time() + delay, type(exc).__name__, str(exc))
        budget = f"window {window:.0f}s" if window is not None else str(self.max_retries_now())
        log.warning(
            "task %s retry %d/%s in %.1fs: %s: %s",
            self.request.id,
            attempt + 1,
            budget,
            delay,
            type(exc).__name__,
            exc,
        )
        raise self.retry(exc=info, countdown=delay, max_retries=attempt + 1)

    def retry_window(self) -> float | None:
        """Seconds this task keeps retrying from its first attempt (None: count-bounded)."""
        return float(runtime.settings().upload_retry_window) if self.windowed else None

    def max_retries_now(self) -> int:
        """The retry budget: the task's ``max_retries``, else ``MXIT_MAX_RETRIES``; unbounded
        for tasks bounded by a time window."""
        if self.windowed:
            return 10**6
        if self.max_retries is not None:
            return int(self.max_retries)
        return int(runtime.settings().max_retries)

    def _elapsed(self) -> float:
        return time.time() - self.first_try()

    # ---- failure for good ------------------------------------------------------------------

    def on_failure(
        self, exc: BaseException, task_id: str, args: Any, kwargs: Any, einfo: Any
    ) -> None:
        """Write a dead-letter entry (arguments are references only; never secrets)."""
        metrics.DEAD_LETTERS.labels(self.name).inc()
        try:
            runtime.dead_letters().add(
                self.name,
                list(args or []),
                dict(kwargs or {}),
                exc,
                attempts=self.request.retries + 1,
                first_failure=self.first_try(),
                task_id=task_id,
                payload_ref=(kwargs or {}).get("payload_ref"),
            )
        except Exception:  # the DLQ must never hide the task's own error
            log.exception("task %s: could not write its dead-letter entry", task_id)
