"""Messaging tasks: ``send_message`` fans a broadcast out in batches; each batch is one API call,
sent at most once (see :mod:`mxit_tasks.broadcast` for the marker protocol and its one window).

``send_message.delay(app_mxit_id, target_user_ids, message, ...)`` works for 3 recipients and
for 1,000,000: the producer validates and stages the ids in Redis, and the broker message
carries only the broadcast id, which is also the task id::

    result = send_message.delay("mxitdemo", ids, "Hello")
    broadcast_status(result.id)          # or: mxit-tasks broadcast status <id>
"""

from __future__ import annotations

import inspect
import logging
import time
from typing import Any

from celery.exceptions import Retry

from mxit_tasks import metrics, runtime
from mxit_tasks.broadcast import Broadcasts, new_id
from mxit_tasks.client import validation
from mxit_tasks.client.messaging import build_send_body, check_links
from mxit_tasks.client.tokens import normalise_scope
from mxit_tasks.errors import (
    ConnectError,
    MxitValidationError,
    RateLimited,
    ServerError,
    Unauthorized,
)
from mxit_tasks.signals import broadcast_finished
from mxit_tasks.tasks._define import op_task
from mxit_tasks.tasks.base import MxitTask

log = logging.getLogger("mxit_tasks.tasks")


def prepare_broadcast(
    store: Broadcasts,
    app_mxit_id: Any,
    target_user_ids: Any,
    message: Any,
    contains_markup: Any,
    spool: Any,
    spool_timeout: Any,
    links: Any,
    scope: Any,
    idempotency_key: Any,
    on_finished: Any,
) -> tuple[str, bool]:
    """Validate everything but the ids, then stage the broadcast; ``(id, created)``.

    Malformed ids are recorded as invalid, never fatal: the other recipients still get it.
    """
    s = runtime.settings()
    validation.identifier("app_mxit_id", app_mxit_id)
    validation.message_body("message", message, s.max_body_chars)
    validation.boolean("contains_markup", contains_markup)
    validation.optional_bool("spool", spool)
    if spool_timeout is not None:
        validation.non_negative_int("spool_timeout", spool_timeout)
    links = check_links(links)
    normalise_scope(scope)
    if target_user_ids is None or isinstance(target_user_ids, bytes | dict | int):
        raise MxitValidationError("target_user_ids", "must be a list of UserIds")
    if isinstance(target_user_ids, list | tuple) and not target_user_ids:
        raise MxitValidationError("target_user_ids", "needs at least one recipient")
    if on_finished is not None and not isinstance(on_finished, str):
        raise MxitValidationError("on_finished", "must be a task name")
    if idempotency_key is not None and (
        not isinstance(idempotency_key, str) or not idempotency_key
    ):
        raise MxitValidationError("idempotency_key", "must be a non-empty string")
    bid = new_id(idempotency_key, s.client_id)
    if idempotency_key:
        lock = store.key(bid, "lock")
        if not store.redis.set(lock, "1", nx=True, ex=store.ttl):
            return bid, False
    meta = {
        "app_mxit_id": app_mxit_id,
        "message": message,
        "contains_markup": contains_markup,
        "spool": spool,
        "spool_timeout": spool_timeout,
        "links": links,
        "scope": scope,
        "on_finished": on_finished,
    }
    store.create(bid, target_user_ids, meta, s.batch_size)
    return bid, True


class SendMessageTask(MxitTask):
    """Stages the broadcast at ``.delay()`` so that no broker message carries the id list."""

    abstract = True
    api_class = "messaging"

    def apply_async(self, args: Any = None, kwargs: Any = None, **options: Any) -> Any:
        """Stage the recipients in Redis, then enqueue only the broadcast id (as the task id)."""
        bound = inspect.signature(self.run).bind(*(args or ()), **(kwargs or {}))
        bound.apply_defaults()
        a = bound.arguments
        if a.get("broadcast_id"):
            return super().apply_async((), {"broadcast_id": a["broadcast_id"]}, **options)
        bid, created = prepare_broadcast(
            runtime.broadcasts(),
            a["app_mxit_id"],
            a["target_user_ids"],
            a["message"],
            a["contains_markup"],
            a["spool"],
            a["spool_timeout"],
            a["links"],
            a["scope"],
            a["idempotency_key"],
            a["on_finished"],
        )
        if not created:
            log.info("broadcast %s exists already (same idempotency_key): not sent again", bid)
            return self.AsyncResult(bid)
        options["task_id"] = bid
        return super().apply_async((), {"broadcast_id": bid}, **options)


@op_task("mxit.messaging.send_message", base=SendMessageTask, api_class="messaging")
def send_message(
    self: SendMessageTask,
    app_mxit_id: str | None = None,
    target_user_ids: list[str] | None = None,
    message: str = "",
    contains_markup: bool = True,
    spool: bool | None = None,
    spool_timeout: int | None = None,
    links: list[dict[str, Any]] | None = None,
    scope: str = "message/send",
    idempotency_key: str | None = None,
    on_finished: str | None = None,
    broadcast_id: str | None = None,
) -> dict:
    """POST /message/send/ to any number of recipients: fan out one batch task per 500 ids.

    Safe to repeat: batches already final are skipped, and each batch is guarded by its marker.
    """
    store = runtime.broadcasts()
    if not broadcast_id:  # enqueued by a producer that is not this package (send_task)
        broadcast_id, _ = prepare_broadcast(
            store,
            app_mxit_id,
            target_user_ids,
            message,
            contains_markup,
            spool,
            spool_timeout,
            links,
            scope,
            idempotency_key,
            on_finished,
        )
    meta = store.meta(broadcast_id)
    batches = int(meta["batches"])
    queued = 0
    with self.app.producer_or_acquire() as producer:
        for index in store.pending_batches(broadcast_id, batches):
            send_batch.apply_async((broadcast_id, index), producer=producer)
            queued += 1
    if batches == 0:
        complete(broadcast_id)
    return {
        "broadcast_id": broadcast_id,
        "targets": int(meta["targets"]),
        "batches": batches,
        "queued": queued,
        "invalid_input": int(meta.get("input_invalid", 0)),
    }


def _applied(exc: BaseException) -> bool | None:
    """False when the API certainly did not apply the send; None when it may have."""
    if isinstance(exc, RateLimited | ConnectError | Unauthorized | MxitValidationError):
        return False
    if isinstance(exc, ServerError) and exc.status in (502, 503, 504):
        return False
    status = getattr(exc, "status", None)
    if isinstance(status, int) and 400 <= status < 500:
        return False
    return None  # timeouts, cut answers, 500s, anything unexpected


def complete(broadcast_id: str) -> None:
    """Fire the finish hooks once: the ``broadcast_finished`` signal and the callback task."""
    store = runtime.broadcasts()
    if not store.mark_finished(broadcast_id):
        return
    status = store.status(broadcast_id, invalid_limit=0)
    log.info(
        "broadcast %s finished: %d delivered, %d invalid, %d failed, %d possibly duplicated",
        broadcast_id,
        status["delivered"],
        status["invalid"],
        status["failed"],
        status["possibly_duplicated"],
    )
    broadcast_finished.send(sender=broadcast_id, broadcast_id=broadcast_id, status=status)
    callback = store.meta(broadcast_id).get("on_finished")
    if callback:
        from mxit_tasks.celery_app import app

        app.send_task(callback, args=[broadcast_id])


@op_task("mxit.messaging.send_batch", api_class="messaging")
def send_batch(self: MxitTask, broadcast_id: str, index: int) -> dict:
    """One POST /message/send/ for batch ``index`` of a broadcast, at most once."""
    store = runtime.broadcasts()
    meta = store.meta(broadcast_id)
    ids = store.batch(broadcast_id, index)
    batches = int(meta["batches"])
    if meta.get("cancelled") is True:
        if store.finish(broadcast_id, index, 0, [], failed=len(ids), reason="cancelled") == batches:
            complete(broadcast_id)
        return {"batch": index, "cancelled": True}
    self.throttle()  # wait for the limiter before taking the batch
    claim = store.claim(broadcast_id, index, len(ids))
    if claim.action == "final":
        return {"batch": index, "skipped": "already final"}
    if claim.action == "busy":
        self.defer(claim.wait + 0.1, "another worker is sending this batch")
    body = build_send_body(
        meta["app_mxit_id"],
        ids,
        meta["message"],
        meta["contains_markup"],
        meta.get("spool"),
        meta.get("spool_timeout"),
        meta.get("links"),
    )
    started = time.perf_counter()
    try:
        invalid = self.client.messaging.send_batch(body, scope=meta.get("scope") or "message/send")
    except Exception as exc:
        self.observe(
            "messaging.send_batch", getattr(exc, "status", None) or type(exc).__name__, started
        )
        store.release(broadcast_id, index, claim.owner, _applied(exc))
        try:
            self.fail_or_retry(exc)
        except Retry:
            raise
        except Exception:
            reason = f"{type(exc).__name__}: {exc}"
            final = store.finish(broadcast_id, index, 0, [], failed=len(ids), reason=reason)
            if final >= 0:
                metrics.RECIPIENTS.labels("failed").inc(len(ids))
            if final == batches:
                complete(broadcast_id)
            raise
    self.observe("messaging.send_batch", 200 if not invalid else 400, started)
    delivered = len(ids) - len(invalid)
    final = store.finish(broadcast_id, index, delivered, invalid)
    if final >= 0:
        metrics.RECIPIENTS.labels("delivered").inc(delivered)
        metrics.RECIPIENTS.labels("invalid").inc(len(invalid))
    if final == batches:
        complete(broadcast_id)
    return {"batch": index, "delivered": delivered, "invalid": len(invalid)}


@op_task("mxit.messaging.send_user_to_user_message", api_class="messaging", safe=False)
def send_user_to_user_message(
    self: MxitTask,
    from_user_id: str,
    target_user_ids: list[str],
    message: str = "",
    contains_markup: bool = True,
    scope: str = "message/user",
) -> str:
    """POST /message/send/ as ``from_user_id`` (their stored token). At most once."""
    return self.call(
        "messaging.send_user_to_user_message",
        from_user_id,
        target_user_ids,
        message,
        contains_markup,
        scope=scope,
        as_user=from_user_id,
    )


def broadcast_status(broadcast_id: str) -> dict:
    """Totals of a broadcast: delivered, invalid (with ids), failed (with reasons), pending."""
    return runtime.broadcasts().status(broadcast_id)
