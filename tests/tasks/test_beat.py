"""Beat: tracked-user sync into the change stream, scheduled status updates, two beats."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mxit_tasks import runtime, schedules
from mxit_tasks.celery_app import app
from mxit_tasks.errors import MxitValidationError
from mxit_tasks.sync import Tracker
from tests.conftest import USER0, USER1, USER2, Sandbox, wait_for
from tests.tasks.conftest import Worker, authorise

BEAT_ENV = {"MXIT_SYNC_INTERVAL": "2", "MXIT_BEAT_LOCK_TIMEOUT": "6"}
SET_STATUS = "PUT /api/user/statusmessage"


@pytest.fixture
def beats(tmp_path: Path) -> Iterator[list[Worker]]:
    """Beat processes a test starts (stopped afterwards)."""
    started: list[Worker] = []

    def start(name: str = "beat") -> Worker:
        beat = Worker(tmp_path / f"{name}.log", pool="beat", **BEAT_ENV).start()
        started.append(beat)
        return beat

    yield start  # type: ignore[misc]
    for beat in started:
        beat.stop()


def tracker() -> Tracker:
    return Tracker(runtime.redis())


def in_seconds(seconds: float) -> dt.datetime:
    return dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)


def test_registry_is_idempotent_and_validated(live: Sandbox) -> None:
    t = tracker()
    assert t.add([USER0, USER1]) == 2
    assert t.add([USER1, USER2]) == 1
    assert sorted(t.iter()) == [USER0, USER1, USER2] and t.count() == 3
    with pytest.raises(MxitValidationError):
        t.add(["ok", "bad,id"])
    assert t.remove([USER0]) == 1 and t.count() == 2
    assert t.still_tracked([USER0, USER1, USER2]) == [USER1, USER2]


def test_a_changed_status_appears_in_the_stream_after_the_next_sync(
    live: Sandbox, beats: object
) -> None:
    t = tracker()
    authorise(live, USER0, "profile/private profile/public")
    t.add([USER0, USER1])
    beats()  # type: ignore[operator]
    wait_for(lambda: t.snapshot(USER1).get("synced_at") and t.snapshot(USER0).get("synced_at"))
    assert "full_profile" in t.snapshot(USER0)  # the user with a stored token
    live.control.change_user(USER1, status="Changed behind our back")
    change = wait_for(
        lambda: [c for c in t.changes() if c["user"] == USER1 and c["field"] == "status"],
        timeout=30,
    )[0]
    assert change["new"] == "Changed behind our back"
    assert change["old"] == "Hello from Lerato 1"


def test_a_gone_user_is_marked_and_does_not_stop_the_others(live: Sandbox, beats: object) -> None:
    t = tracker()
    live.control.call("DELETE", f"/users/{USER2}")
    t.add([USER2, USER1, "m49999999999"])
    beats()  # type: ignore[operator]
    run = wait_for(lambda: (r := t.run()).get("finished_at") and r, timeout=30)
    assert run["gone"] == 2 and run["ok"] + run["changed"] == 1 and run["failed"] == 0
    assert t.snapshot(USER2)["gone"] is True
    assert t.snapshot(USER1)["status"] == "Hello from Lerato 1"


def test_a_schedule_added_at_run_time_fires_once_with_two_beats(
    live: Sandbox, beats: object
) -> None:
    authorise(live, USER0, "status/write")
    beats("beat-a")  # type: ignore[operator]
    beats("beat-b")  # type: ignore[operator]
    entry = schedules.add(app, USER0, "Good morning", at=in_seconds(2))
    assert entry["name"] in [e["name"] for e in schedules.list_(app)]
    wait_for(lambda: live.control.route_count(SET_STATUS, 200) >= 1, timeout=30)
    time.sleep(3)  # a second fire would come within a beat tick or two: give it the chance
    assert live.control.route_count(SET_STATUS) == 1
    assert runtime.client().users.get_status(USER0) == "Good morning"


def test_when_the_active_beat_is_killed_the_other_fires_the_schedule_once(
    live: Sandbox, beats: object
) -> None:
    authorise(live, USER0, "status/write")
    first = beats("beat-a")  # type: ignore[operator]
    wait_for(lambda: "Acquired lock" in first.log() or "beat: Starting" in first.log())
    beats("beat-b")  # type: ignore[operator]
    first.kill()
    schedules.add(app, USER0, "Still here", at=in_seconds(1))
    wait_for(lambda: live.control.route_count(SET_STATUS, 200) >= 1, timeout=40)
    time.sleep(3)
    assert live.control.route_count(SET_STATUS) == 1


def test_a_schedule_without_a_token_fails_once_and_is_disabled(
    live: Sandbox, beats: object
) -> None:
    beats()  # type: ignore[operator]
    entry = schedules.add(app, USER1, "nobody authorised me", cron="* * * * *")
    # The cron fires at the next minute boundary at the latest.
    wait_for(
        lambda: [
            e for e in schedules.list_(app) if e["name"] == entry["name"] and not e["enabled"]
        ],
        timeout=75,
    )
    assert live.control.route_count(SET_STATUS) == 0
    # the schedule is disabled inside the task; its DLQ entry is written as it fails, just after
    [dead] = wait_for(
        lambda: [
            e for e in runtime.dead_letters().list() if e["task"] == "mxit.users.scheduled_status"
        ]
    )
    assert dead["error_class"] == "UserAuthorizationRequired"
