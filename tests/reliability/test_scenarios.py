"""The reliability promises, each under real failures. Run alone: ``pytest -m reliability``."""

from __future__ import annotations

import datetime as dt
import json
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import redis
from celery.signals import before_task_publish

from mxit_tasks import runtime, schedules, tasks
from mxit_tasks._media import tiny_png
from mxit_tasks.celery_app import app
from mxit_tasks.errors import MxitValidationError
from tests.conftest import REDIRECT, TEST_REDIS_URL, USER0, USER1, Sandbox, wait_for
from tests.reliability.conftest import ALL_LOGS, ROOT, record, reset_pool
from tests.tasks.conftest import Worker, authorise, finished

pytestmark = pytest.mark.reliability
PUBLISHED: list[str] = []
ISSUED: set[str] = set()  # every token, code and secret the sandbox issued during the suite


@pytest.fixture(autouse=True)
def collect_issued(sandbox: Sandbox) -> Any:
    """After each scenario, remember what the sandbox issued (the next test resets it)."""
    yield
    issued = sandbox.control.call("GET", "/secrets")
    ISSUED.update(s for values in issued.values() for s in values)


@pytest.fixture(autouse=True, scope="module")
def capture_published() -> Any:
    """Keep every message this process publishes, for the final secrets scan."""

    def keep(body: Any = None, headers: Any = None, **_: Any) -> None:
        PUBLISHED.append(json.dumps([body, headers], default=str))

    before_task_publish.connect(keep, weak=False)
    yield
    before_task_publish.disconnect(keep)


def user_ids(count: int) -> list[str]:
    return [f"m{40_000_000_000 + i}" for i in range(count)]


def delivery(live: Sandbox, targets: int, st: dict) -> dict[str, int]:
    """Missing and duplicate recipients per the sandbox, checked against our status."""
    stats = live.control.stats()
    unique = stats["recipients_delivered"] - stats["duplicate_deliveries"]
    return {
        "delivered": unique,
        "missing": targets - unique,
        "duplicates": stats["duplicate_deliveries"],
        "possibly_duplicated": st["possibly_duplicated"],
    }


def test_1_worker_sigkill_during_a_100k_broadcast(live: Sandbox, isolated_queue: Any) -> None:
    n = 100_000
    live.control.add_users(count=n)
    live.control.faults({"POST /api/message/send*": {"latency_ms": 250}})
    victim = isolated_queue("messaging", "victim")
    started = time.monotonic()
    result = tasks.send_message.delay("mxitdemo", user_ids(n), "survive three kills")
    rng = random.Random(7)
    for _ in range(3):
        time.sleep(rng.uniform(0.5, 2.5))  # a random moment of the run
        victim.kill()
        victim = isolated_queue("messaging", "restarted")
    live.control.clear_faults()
    st = finished(result.id, timeout=240)
    d = delivery(live, n, st)
    record(
        scenario="worker SIGKILL x3 (random moments, restart each time)",
        load=f"{n:,} recipients",
        faults="3 x SIGKILL of the worker process; 250 ms API latency",
        **d,
        seconds=round(time.monotonic() - started, 1),
    )
    assert d["missing"] == 0 and st["failed"] == 0
    assert d["duplicates"] <= d["possibly_duplicated"]


STORM = {
    "/api/*": {"error_rate": 0.20, "error_status": 503},
    "/api/*/*": {"error_rate": 0.05, "error_status": 429, "retry_after": 1},
    "* /api/*": {"timeout_rate": 0.02, "hold_ms": 2500},
    "POST /api/*": {"drop_after_processing_rate": 0.01},
    "PUT /api/*": {"drop_after_processing_rate": 0.01},
}


def test_2_api_fault_storm(live: Sandbox, isolated_queue: Any) -> None:
    n, ops = 50_000, 2000
    live.control.add_users(count=n)
    for user in (USER0, USER1):
        authorise(live, user)
    env = {"MXIT_READ_TIMEOUT": "1.5", "MXIT_MAX_RETRIES": "8"}
    isolated_queue("messaging", "storm-messaging", **env)
    isolated_queue("users", "storm-users", concurrency=16, **env)
    live.control.faults(STORM)
    started = time.monotonic()
    result = tasks.send_message.delay("mxitdemo", user_ids(n), "storm")
    mixed = []
    for i in range(ops):
        kind = i % 4
        if kind == 0:
            mixed.append(tasks.get_status.delay(f"m{40_000_000_000 + i}"))
        elif kind == 1:
            mixed.append(tasks.get_display_name.delay(f"m{40_000_000_000 + i}"))
        elif kind == 2:
            mixed.append(tasks.set_status.delay(f"status {i}", user_id=USER0))
        else:
            mixed.append(tasks.update_profile.delay(about_me=f"about {i}", user_id=USER1))
    st = finished(result.id, timeout=300)
    states = wait_for(
        lambda: (
            (s := [r.state for r in mixed]) and all(x in ("SUCCESS", "FAILURE") for x in s) and s
        ),
        timeout=300,
        interval=0.5,
    )
    injected = sum(f["applied"] for f in live.control.call("GET", "/faults")["faults"])
    live.control.clear_faults()
    failed_ids = {r.id for r, s in zip(mixed, states, strict=True) if s == "FAILURE"}

    def dead_ids() -> set[str]:
        return {e["task_id"] for e in runtime.dead_letters().list(count=100_000)}

    # Entries are written by on_failure, just after each failure is stored.
    wait_for(lambda: failed_ids <= dead_ids(), timeout=30)
    dead = dead_ids()
    d = delivery(live, n, st)
    record(
        scenario="API fault storm",
        load=f"{n:,} recipients + {ops:,} user operations",
        faults="20% 503, 5% 429 (Retry-After 1), 2% timeouts, 1% drop after processing",
        **d,
        ops_ok=states.count("SUCCESS"),
        ops_failed_to_dlq=len(failed_ids),
        seconds=round(time.monotonic() - started, 1),
        injected=injected,
    )
    assert d["missing"] == 0 and st["failed"] == 0
    assert d["duplicates"] <= d["possibly_duplicated"]
    assert failed_ids <= dead  # no task gave up without a dead-letter entry


def test_3_redis_connections_killed_twice(live: Sandbox, isolated_queue: Any) -> None:
    n = 50_000
    live.control.add_users(count=n)
    live.control.faults({"POST /api/message/send*": {"latency_ms": 500}})
    isolated_queue("messaging", "reconnect")
    admin = redis.Redis.from_url(TEST_REDIS_URL)
    started = time.monotonic()
    result = tasks.send_message.delay("mxitdemo", user_ids(n), "reconnect")
    killed = 0
    wait_for(lambda: live.control.stats()["recipients_delivered"] > 0, timeout=30)
    for _ in range(2):
        time.sleep(0.8)
        killed += int(admin.execute_command("CLIENT", "KILL", "TYPE", "normal"))
    reset_pool()  # this process's own pooled connections were killed too
    progress_at_kill = live.control.stats()["recipients_delivered"]
    live.control.clear_faults()
    st = finished(result.id, timeout=240)
    after = tasks.send_message.delay("mxitdemo", user_ids(10), "still consuming")
    finished(after.id, timeout=60)  # the worker kept consuming after reconnecting
    d = delivery(live, n + 10, {**st, "possibly_duplicated": st["possibly_duplicated"]})
    record(
        scenario="Redis connections killed twice (CLIENT KILL TYPE normal)",
        load=f"{n:,} recipients, then a new broadcast",
        faults=f"2 x CLIENT KILL ({killed} connections), mid-run at {progress_at_kill:,} delivered",
        **d,
        seconds=round(time.monotonic() - started, 1),
    )
    assert d["missing"] == 0 and st["failed"] == 0
    assert d["duplicates"] <= d["possibly_duplicated"]
    assert progress_at_kill < n  # the kills really happened mid-run


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mxit_tasks.cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_4_bad_input_table(live: Sandbox, tmp_path: Path) -> None:
    authorise(live, USER0)
    png = tiny_png((1, 2, 3))
    not_image = tmp_path / "notes.txt"
    not_image.write_text("hello")
    delay_cases: list[tuple[str, Any]] = [
        ("message not a string", lambda: tasks.send_message.delay("mxitdemo", [USER1], 5)),
        (
            "message over 1000 chars",
            lambda: tasks.send_message.delay("mxitdemo", [USER1], "x" * 1001),
        ),
        ("empty recipient list", lambda: tasks.send_message.delay("mxitdemo", [], "x")),
        ("recipients a dict", lambda: tasks.send_message.delay("mxitdemo", {"a": 1}, "x")),
        ("empty app id", lambda: tasks.send_message.delay("", [USER1], "x")),
        (
            "markup flag a string",
            lambda: tasks.send_message.delay("mxitdemo", [USER1], "x", "false"),
        ),
        ("spool an int", lambda: tasks.send_message.delay("mxitdemo", [USER1], "x", True, 1)),
        (
            "negative spool timeout",
            lambda: tasks.send_message.delay("mxitdemo", [USER1], "x", True, None, -5),
        ),
        (
            "link without target",
            lambda: tasks.send_message.delay("mxitdemo", [USER1], "x", links=[{"Text": "t"}]),
        ),
        ("unknown scope", lambda: tasks.send_message.delay("mxitdemo", [USER1], "x", scope="")),
        ("avatar not an image", lambda: tasks.set_avatar.delay(b"GIF? no", user_id=USER0)),
        (
            "avatar a text file",
            lambda: tasks.set_avatar.delay(input_file_path=str(not_image), user_id=USER0),
        ),
        ("avatar over 1 MiB", lambda: tasks.set_avatar.delay(png + bytes(2 << 20), user_id=USER0)),
        (
            "avatar file missing",
            lambda: tasks.set_avatar.delay(input_file_path="/nope.png", user_id=USER0),
        ),
        ("avatar empty bytes", lambda: tasks.set_avatar.delay(b"", user_id=USER0)),
        (
            "gallery upload both data and path",
            lambda: tasks.upload_gallery_file.delay("f", "n", png, str(not_image), user_id=USER0),
        ),
        (
            "ids with 1000 empty strings only",
            lambda: tasks.send_message.delay("mxitdemo", [""] * 1000, "x").get(timeout=30),
        ),
    ]
    rows = []
    for name, call in delay_cases:
        try:
            out = call()
        except MxitValidationError as exc:
            rows.append((name, "refused at .delay()", str(exc)))
            continue
        # all-invalid ids: accepted, nothing sent, every id reported invalid
        st = runtime.broadcasts().status(out["broadcast_id"])
        assert st["invalid"] == 1000 and st["delivered"] == 0 and st["state"] == "finished"
        rows.append((name, "reported invalid", f"{st['invalid']} invalid"))

    # Task-time permanent errors: fail at once, no retry, one API call.
    run_cases = [
        ("unknown user status", tasks.get_status.delay("nobody-at-all"), "NotFound"),
        (
            "enum out of range",
            tasks.update_profile.delay(gender=7, user_id=USER0),
            "MxitValidationError",
        ),
        (
            "folder with slash",
            tasks.create_gallery_folder.delay("a/b", user_id=USER0),
            "MxitValidationError",
        ),
        (
            "unknown contact filter",
            tasks.get_contact_list.delay("everyone", user_id=USER0),
            "MxitValidationError",
        ),
        (
            "user never authorised",
            tasks.set_status.delay("x", user_id="m40000000009"),
            "UserAuthorizationRequired",
        ),
        (
            "negative count",
            tasks.get_gallery_item_list.delay("x", count=-1, user_id=USER0),
            "MxitValidationError",
        ),
        (
            "unknown file id",
            tasks.get_gallery_file.delay("f00df00d-f00d", user_id=USER0),
            "NotFound",
        ),
    ]
    for name, result, expected in run_cases:
        with pytest.raises(Exception) as info:
            result.get(timeout=30)
        assert type(info.value).__name__ == expected, (name, info.value)
        assert result.state == "FAILURE"
        rows.append((name, f"failed at once: {expected}", str(info.value)[:80]))
    live.control.expire("all", USER0)
    revoked = tasks.set_status.delay("x", user_id=USER0)
    with pytest.raises(Exception) as info:
        revoked.get(timeout=30)
    assert type(info.value).__name__ == "UserAuthorizationRequired"
    rows.append(("expired and revoked token", "failed at once", "UserAuthorizationRequired"))

    # Mixed good and bad ids in one request: the good ones are delivered.
    mixed = tasks.send_message.delay("mxitdemo", [USER1, "a,b", "", "m49999999999", 42], "mixed")
    st = finished(mixed.id)
    assert st["delivered"] == 1 and st["invalid"] == 4
    rows.append(
        ("good ids mixed with bad ones", "good delivered, bad reported", "1 delivered, 4 invalid")
    )

    cli_cases = [
        ("cli: no recipients", ["send", "mxitdemo", "x"]),
        ("cli: unknown broadcast", ["broadcast", "status", "bc-missing"]),
        ("cli: bad cron", ["schedule", "add", USER0, "x", "--cron", "* *"]),
        ("cli: comma in tracked id", ["track", "add", "m1,m2"]),
        ("cli: bad rate", ["ratelimit", "set", "messaging=lots"]),
    ]
    for name, args in cli_cases:
        proc = _cli(*args)
        assert proc.returncode != 0 and "Traceback" not in proc.stderr, (name, proc.stderr)
        rows.append((name, "exit 1, one line", proc.stderr.strip().splitlines()[-1][:80]))

    import requests

    token = live.app_token()
    sandbox_cases = [
        ("sandbox: To not a string", {"From": "mxitdemo", "To": ["m1"], "Body": "x"}),
        ("sandbox: body over limit", {"From": "mxitdemo", "To": USER1, "Body": "x" * 1001}),
        (
            "sandbox: 501 recipients",
            {"From": "mxitdemo", "To": ",".join(user_ids(501)), "Body": "x"},
        ),
        (
            "sandbox: SpoolTimeOut string",
            {"From": "mxitdemo", "To": USER1, "Body": "x", "SpoolTimeOut": "1"},
        ),
    ]
    for name, body in sandbox_cases:
        resp = requests.post(
            f"{live.urls.api}/message/send/",
            json=body,
            headers={"Authorization": f"Bearer {token}"},
        )
        assert resp.status_code == 400 and resp.json()["error_description"], name
        rows.append((name, "400", resp.json()["error"]))
    resp = requests.post(
        f"{live.urls.api}/message/send/",
        data=b"\xff\xfe",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    assert resp.status_code == 400
    rows.append(("sandbox: body not UTF-8 JSON", "400", resp.json()["error"]))

    # No retry loops: nothing is left retrying.
    assert live.control.stats()["recipients_delivered"] == 1
    assert len(rows) >= 30
    record(
        scenario="bad input table",
        load=f"{len(rows)} malformed inputs (tasks, CLI, sandbox)",
        faults="types, sizes, encodings, commas, empty ids, missing files, non-images, enums, "
        "unknown users, revoked tokens",
        delivered=1,
        missing=0,
        duplicates=0,
        possibly_duplicated=0,
        cases=[{"input": a, "outcome": b, "error": c} for a, b, c in rows],
    )


def test_6_beat_failover(live: Sandbox, tmp_path: Path) -> None:
    authorise(live, USER0, "status/write")
    env = {"MXIT_BEAT_LOCK_TIMEOUT": "6"}
    logs = [tmp_path / "beat-a.log", tmp_path / "beat-b.log"]
    ALL_LOGS.extend(logs)
    a = Worker(logs[0], pool="beat", **env).start()
    b = Worker(logs[1], pool="beat", **env).start()
    try:
        a.kill()
        killed = time.monotonic()
        schedules.add(
            app, USER0, "after failover", at=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
        )
        wait_for(
            lambda: live.control.route_count("PUT /api/user/statusmessage", 200) >= 1, timeout=60
        )
        takeover = time.monotonic() - killed
        time.sleep(3)  # a duplicate fire would come within a tick or two
        fired = live.control.route_count("PUT /api/user/statusmessage")
    finally:
        b.stop()
    record(
        scenario="beat failover (two beats, active one SIGKILLed)",
        load="1 scheduled status update",
        faults="SIGKILL of the active beat",
        delivered=fired,
        missing=1 - min(fired, 1),
        duplicates=max(fired - 1, 0),
        possibly_duplicated=0,
        seconds=round(takeover, 1),
    )
    assert fired == 1


def test_5_no_secret_anywhere_after_the_suite(live: Sandbox, worker: Worker) -> None:
    from tests.tasks.test_secrets import redis_dump

    # Exercise the token paths once more so there is something to leak.
    code = live.control.consent(live.client_id, USER0, "status/write", REDIRECT)
    runtime.client().without_user().oauth.get_user_token("status/write", code)
    tasks.set_status.delay("final", user_id=USER0).get(timeout=30)
    issued = live.control.call("GET", "/secrets")
    secrets = {s for values in issued.values() for s in values} | {code} | ISSUED
    texts = {
        "redis": redis_dump(),
        "published messages": "\n".join(PUBLISHED),
        "session worker log": worker.log(),
        **{f"log {p.name}": p.read_text(errors="replace") for p in ALL_LOGS if p.exists()},
    }
    leaks = [(where, s[:6]) for where, text in texts.items() for s in secrets if s in text]
    record(
        scenario="secrets scan (Redis keys, broker messages, logs, results)",
        load=f"{len(secrets)} secrets x {len(texts)} sources",
        faults="-",
        delivered=0,
        missing=0,
        duplicates=0,
        possibly_duplicated=0,
        leaks=len(leaks),
    )
    assert leaks == []
