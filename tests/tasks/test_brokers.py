"""Other brokers and tools: RabbitMQ as the broker, the embedded Redis, and Flower."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from mxit_tasks.devtools.with_redis import ensure_redis
from tests.conftest import USER0, USER1, Sandbox, _free_port, wait_for
from tests.tasks.conftest import ROOT, Worker, authorise

AMQP = os.environ.get("MXIT_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//")

PRODUCER = r"""
import json, sys, time
from mxit_tasks import runtime, tasks
from mxit_tasks._media import tiny_png
out = {}
out["status"] = tasks.get_status.delay(sys.argv[1]).get(timeout=60)
tasks.set_status.delay("via rabbitmq", user_id=sys.argv[2]).get(timeout=60)
tasks.set_avatar.delay(tiny_png((5, 5, 5)), user_id=sys.argv[2]).get(timeout=60)
ids = [f"m{40_000_000_000 + i}" for i in range(2000)]
r = tasks.send_message.delay("mxitdemo", ids, "over amqp")
store = runtime.broadcasts()
deadline = time.time() + 60
while store.status(r.id)["state"] != "finished" and time.time() < deadline:
    time.sleep(0.1)
out["broadcast"] = store.status(r.id, invalid_limit=0)
print(json.dumps(out))
"""


def rabbitmq_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5672), timeout=1):
            return True
    except OSError:
        return False


def test_tasks_and_broadcasts_with_rabbitmq_as_the_broker(live: Sandbox, tmp_path: Path) -> None:
    if not rabbitmq_answers():
        if os.environ.get("MXIT_CI"):
            pytest.fail("RabbitMQ must answer on 127.0.0.1:5672 in CI")
        pytest.skip("RabbitMQ does not answer on 127.0.0.1:5672 (set MXIT_TEST_AMQP_URL)")
    authorise(live, USER0)
    live.control.add_users(count=2000)
    env = {"MXIT_BROKER_URL": AMQP}
    worker = Worker(tmp_path / "amqp-worker.log", pool="all", concurrency=8, **env).start()
    try:
        out = subprocess.run(
            [sys.executable, "-c", PRODUCER, USER1, USER0],
            cwd=ROOT,
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=180,
        )
    finally:
        worker.stop()
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["status"] == "Hello from Lerato 1"
    assert result["broadcast"]["delivered"] == 2000
    assert live.control.stats()["duplicate_deliveries"] == 0
    assert "amqp://" in worker.log()  # it really consumed from RabbitMQ


def test_the_worker_runs_on_the_embedded_redis(live: Sandbox, tmp_path: Path) -> None:
    port = _free_port()
    with ensure_redis(f"redis://127.0.0.1:{port}/0", embedded=True) as url:
        env = {"REDIS_URL": url, "MXIT_BROKER_URL": url, "MXIT_RESULT_BACKEND": url}
        worker = Worker(tmp_path / "embedded.log", pool="users", concurrency=2, **env).start()
        try:
            code = (
                "import sys; from mxit_tasks import tasks; "
                "print(tasks.get_display_name.delay(sys.argv[1]).get(timeout=60))"
            )
            out = subprocess.run(
                [sys.executable, "-c", code, USER1],
                cwd=ROOT,
                env={**os.environ, **env},
                capture_output=True,
                text=True,
                timeout=120,
            )
        finally:
            worker.stop()
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "Lerato 1"
    assert f":{port}/0" in worker.log()


def test_flower_sees_our_tasks(live: Sandbox, tmp_path: Path) -> None:
    pytest.importorskip("flower", reason="Flower is not installed (pip install flower)")
    from mxit_tasks import tasks

    port = _free_port()
    log = open(tmp_path / "flower.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "mxit_tasks",
            "flower",
            f"--port={port}",
            "--address=127.0.0.1",
        ],
        cwd=ROOT,
        env={**os.environ, "FLOWER_UNAUTHENTICATED_API": "true"},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(lambda: _get(base + "/healthcheck") == "OK", timeout=30)

        def seen_by_flower() -> list[dict]:
            # Flower may attach to the event stream a moment after it answers: keep running
            # tasks until one of ours shows up as finished.
            tasks.get_status.delay(USER1).get(timeout=30)
            found = _json(base + "/api/tasks").values()
            return [
                t
                for t in found
                if t.get("name") == "mxit.users.get_status" and t.get("state") == "SUCCESS"
            ]

        assert wait_for(seen_by_flower, timeout=30, interval=0.5)
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()


def _get(url: str) -> str:
    try:
        return requests.get(url, timeout=2).text
    except requests.RequestException:
        return ""


def _json(url: str) -> dict:
    try:
        return requests.get(url, timeout=5).json()
    except (requests.RequestException, ValueError):
        return {}
