"""Uploads that survive outages and worker restarts; the dead-letter queue and replay."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from celery.signals import before_task_publish

from mxit_tasks import runtime, tasks
from mxit_tasks._media import tiny_png
from mxit_tasks.celery_app import app
from tests.conftest import USER0, Sandbox, wait_for
from tests.tasks.conftest import Worker, authorise, result_of

AVATAR = "POST /api/user/avatar"
IMAGE = tiny_png((7, 77, 177)) + bytes(range(256)) * 4  # a PNG by its magic bytes, ~1 KB


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def media_worker(worker: Worker, tmp_path: Path) -> Iterator[object]:
    """Move the media queue from the session worker to workers this test starts and kills."""
    hostname = app.control.ping(timeout=2)
    names = [name for reply in hostname for name in reply if name.startswith("all@")]
    app.control.cancel_consumer("mxit.media", destination=names, reply=True, timeout=5)
    started: list[Worker] = []

    def start(name: str, **env: str) -> Worker:
        w = Worker(tmp_path / f"{name}.log", pool="media", concurrency=2, **env).start()
        started.append(w)
        return w

    yield start
    for w in started:
        w.stop()
    app.control.add_consumer("mxit.media", destination=names, reply=True, timeout=5)


def test_an_upload_during_an_outage_retries_until_it_succeeds(live: Sandbox) -> None:
    authorise(live, USER0)
    live.control.faults({AVATAR: {"error_rate": 1.0, "error_status": 503}})
    result = tasks.set_avatar.delay(IMAGE, user_id=USER0)
    wait_for(lambda: live.control.route_count(AVATAR, 503) >= 3, timeout=30)
    wait_for(lambda: result.state == "RETRY", timeout=30)
    assert result.info.error_class == "ServerError" and result.info.attempt >= 1
    live.control.clear_faults()
    result_of(result, timeout=30)
    assert live.control.media(USER0)["avatar"]["sha256"] == sha(IMAGE)
    assert live.control.route_count(AVATAR, 200) == 1


def test_no_broker_message_exceeds_64_kb_for_a_1_mib_upload(live: Sandbox) -> None:
    authorise(live, USER0)
    big = tiny_png((1, 2, 3)) + bytes(1024 * 1024 - 100)
    sizes: list[int] = []

    def measure(body: object = None, **_: object) -> None:
        sizes.append(len(json.dumps(body)))

    before_task_publish.connect(measure, weak=False)
    try:
        result = tasks.set_avatar.delay(big, user_id=USER0)
    finally:
        before_task_publish.disconnect(measure)
    result_of(result)
    assert sizes and max(sizes) < 64 * 1024
    assert live.control.media(USER0)["avatar"]["sha256"] == sha(big)
    staged = [
        k for k in runtime.redis().scan_iter(match="mxit:payload:*") if k != b"mxit:payload:bytes"
    ]
    assert staged == []  # deleted after success


def test_a_worker_killed_during_an_upload_completes_it_once_after_restart(
    live: Sandbox, media_worker: object
) -> None:
    authorise(live, USER0)
    live.control.faults({AVATAR: {"error_rate": 1.0, "error_status": 503}})
    victim = media_worker("victim")  # type: ignore[operator]
    result = tasks.set_avatar.delay(IMAGE, user_id=USER0)
    wait_for(lambda: "retry 1/" in victim.log(), timeout=30)
    victim.kill()  # the retry's message is unacked in the dead worker
    live.control.clear_faults()
    media_worker("restarted")  # type: ignore[operator]
    result_of(result, timeout=60)  # redelivered after the visibility timeout
    assert live.control.media(USER0)["avatar"]["sha256"] == sha(IMAGE)
    assert live.control.route_count(AVATAR, 200) == 1


def test_an_upload_past_its_window_is_dead_lettered_then_replayed(
    live: Sandbox, media_worker: object
) -> None:
    authorise(live, USER0)
    live.control.faults({AVATAR: {"error_rate": 1.0, "error_status": 503}})
    media_worker("short-window", MXIT_UPLOAD_RETRY_WINDOW="3")  # type: ignore[operator]
    result = tasks.set_avatar.delay(IMAGE, user_id=USER0)
    with pytest.raises(Exception) as info:
        result_of(result, timeout=30)
    assert type(info.value).__name__ == "ServerError"
    dlq = runtime.dead_letters()
    [entry] = wait_for(dlq.list)  # written by on_failure, just after the failure is stored
    assert entry["task"] == "mxit.users.set_avatar" and entry["attempts"] >= 2
    assert entry["kwargs"]["payload_ref"] and entry["kwargs"].get("data") is None
    assert runtime.payloads().exists(entry["kwargs"]["payload_ref"])  # kept for the entry
    assert entry["last_failure"] >= entry["first_failure"]
    live.control.clear_faults()
    new_id = dlq.replay(
        entry["id"], lambda name, args, kwargs: app.send_task(name, args, kwargs).id
    )
    result_of(app.AsyncResult(new_id), timeout=30)
    assert dlq.count() == 0
    assert live.control.media(USER0)["avatar"]["sha256"] == sha(IMAGE)


def test_a_failed_replay_keeps_the_entry(live: Sandbox) -> None:
    dlq = runtime.dead_letters()
    entry_id = dlq.add("mxit.users.get_status", ["m1"], {}, ValueError("x"), 1, 0.0)

    def broken_enqueue(name: str, args: list, kwargs: dict) -> str:
        raise ConnectionError("broker down")

    with pytest.raises(ConnectionError):
        dlq.replay(entry_id, broken_enqueue)
    assert dlq.show(entry_id) is not None
