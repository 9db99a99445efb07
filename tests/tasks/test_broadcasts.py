"""Broadcasts on real workers: exactly once, invalid ids, idempotency keys, SIGKILL, the global
rate limit across processes, and the shared 429 pause."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from mxit_tasks import runtime, tasks
from mxit_tasks.celery_app import app
from tests.conftest import TEST_REDIS_URL, Sandbox, wait_for
from tests.tasks.conftest import Worker, finished

SEND = "POST /api/message/send"


def user_ids(count: int, start: int = 0) -> list[str]:
    """Sandbox UserIds m40000000000 + i."""
    return [f"m{40_000_000_000 + i}" for i in range(start, start + count)]


@pytest.fixture
def extra_workers(tmp_path: Path) -> Iterator[list[Worker]]:
    """Extra worker processes a test starts (stopped afterwards)."""
    started: list[Worker] = []
    yield started
    for w in started:
        w.stop()


def test_20000_recipients_are_delivered_exactly_once(live: Sandbox) -> None:
    live.control.add_users(count=20_000)
    ids = user_ids(20_000)
    result = tasks.send_message.delay("mxitdemo", ids, "to twenty thousand")
    st = finished(result.id, timeout=120)
    assert st["delivered"] == 20_000 and st["batches"] == 40 and st["failed"] == 0
    stats = live.control.stats()
    assert stats["recipients_delivered"] == 20_000
    assert stats["duplicate_deliveries"] == 0
    assert live.control.route_count(SEND) == 40


def test_invalid_ids_are_reported_and_do_not_block_the_others(live: Sandbox) -> None:
    ids = [*user_ids(30), "m49999999999", "", "m1,m2", "m48888888888", *user_ids(5)]
    st = finished(tasks.send_message.delay("mxitdemo", ids, "mixed").id)
    assert st["delivered"] == 30 and st["duplicates"] == 5
    assert sorted(st["invalid_ids"]) == sorted(["", "m1,m2", "m49999999999", "m48888888888"])
    assert st["pending"] == 0 and st["failed"] == 0
    assert live.control.stats()["recipients_delivered"] == 30


def test_the_same_idempotency_key_makes_one_broadcast(live: Sandbox) -> None:
    first = tasks.send_message.delay("mxitdemo", user_ids(10), "once", idempotency_key="order-42")
    second = tasks.send_message.delay("mxitdemo", user_ids(10), "once", idempotency_key="order-42")
    assert first.id == second.id
    finished(first.id)
    time.sleep(0.5)  # give a (wrong) second broadcast time to show up
    assert live.control.stats()["recipients_delivered"] == 10


def test_no_broker_message_carries_the_id_list(live: Sandbox) -> None:
    from celery.signals import before_task_publish

    sizes: list[int] = []

    def measure(body: object = None, **_: object) -> None:
        sizes.append(len(json.dumps(body)))

    before_task_publish.connect(measure, weak=False)
    try:
        live.control.add_users(count=20_000)
        finished(tasks.send_message.delay("mxitdemo", user_ids(20_000), "big").id, timeout=120)
    finally:
        before_task_publish.disconnect(measure)
    assert sizes and max(sizes) < 1024


def test_finish_hooks_fire_once(live: Sandbox) -> None:
    # The signal fires in the worker process; the callback task is how other processes hear:
    # here get_user_id(broadcast_id), which the sandbox answers with a 404 on its lookup route.
    result = tasks.send_message.delay(
        "mxitdemo", user_ids(3), "hook", on_finished="mxit.users.get_user_id"
    )
    finished(result.id)
    lookup = "GET /api/user/lookup/{mxit_id}"
    wait_for(lambda: live.control.route_count(lookup, 404) >= 1)
    time.sleep(1)  # a second firing would follow at once: give it the chance
    assert live.control.route_count(lookup, 404) == 1  # (a 401 first is a stale app token)
    assert runtime.broadcasts().mark_finished(result.id) is False  # the once-flag is taken


def test_sigkill_mid_broadcast_loses_nothing_and_counts_duplicates(
    live: Sandbox, extra_workers: list[Worker], tmp_path: Path
) -> None:
    live.control.add_users(count=10_000)
    live.control.faults({"POST /api/message/send*": {"latency_ms": 400}})
    victim = Worker(tmp_path / "victim.log", pool="messaging", concurrency=16).start()
    extra_workers.append(victim)
    result = tasks.send_message.delay("mxitdemo", user_ids(10_000), "survive")
    wait_for(lambda: live.control.stats()["recipients_delivered"] >= 1000, timeout=30)
    victim.kill()
    live.control.clear_faults()
    st = finished(result.id, timeout=90)  # redelivered after the visibility timeout
    stats = live.control.stats()
    assert st["delivered"] == 10_000 and st["failed"] == 0
    unique = stats["recipients_delivered"] - stats["duplicate_deliveries"]
    assert unique == 10_000
    assert stats["duplicate_deliveries"] <= st["possibly_duplicated"]


def test_the_limit_holds_across_three_worker_processes(
    live: Sandbox, extra_workers: list[Worker], tmp_path: Path
) -> None:
    for i in range(2):
        extra_workers.append(
            Worker(tmp_path / f"w{i}.log", pool="messaging", concurrency=8).start()
        )
    r = redis.Redis.from_url(TEST_REDIS_URL)
    r.hset(runtime.RATE_OVERRIDES, mapping={"messaging": "10/s", "burst": 3})
    try:
        live.control.add_users(count=25_000)
        result = tasks.send_message.delay("mxitdemo", user_ids(25_000), "limited")
        st = finished(result.id, timeout=60)
    finally:
        r.delete(runtime.RATE_OVERRIDES)
    assert st["delivered"] == 25_000
    per_second = live.control.stats()["sends_per_second"]
    assert sum(per_second.values()) == 50
    assert max(per_second.values()) <= 10 + 3
    assert len(app.control.ping(timeout=2)) >= 3  # three processes were consuming


def test_a_429_with_retry_after_pauses_every_worker(live: Sandbox) -> None:
    live.control.faults(
        {SEND + "*": {"error_rate": 1.0, "error_status": 429, "retry_after": 3, "times": 1}}
    )
    live.control.add_users(count=5000)
    started = time.monotonic()
    st = finished(tasks.send_message.delay("mxitdemo", user_ids(5000), "paused").id)
    assert st["delivered"] == 5000
    assert time.monotonic() - started >= 3.0
    # Only the first send met the 429: the others waited for the shared pause instead.
    assert live.control.route_count(SEND, 429) == 1
