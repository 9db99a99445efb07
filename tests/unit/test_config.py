"""Configuration: settings validation and the Celery keys derived from it."""

from __future__ import annotations

import pytest

from mxit_tasks.celery_app import app
from mxit_tasks.routing import QUEUES, queue_for
from mxit_tasks.settings import Settings, parse_rate_limits


def test_countdowns_must_stay_below_the_visibility_timeout() -> None:
    with pytest.raises(ValueError, match="VISIBILITY_TIMEOUT"):
        Settings.from_env({"MXIT_VISIBILITY_TIMEOUT": "600", "MXIT_MAX_COUNTDOWN": "900"})


@pytest.mark.parametrize(
    ("env", "match"),
    [
        ({"MXIT_BATCH_SIZE": "501"}, "BATCH_SIZE"),
        ({"MXIT_RATE_LIMITS": "messaging=fast"}, "RATE_LIMITS"),
        ({"MXIT_READ_TIMEOUT": "soon"}, "READ_TIMEOUT"),
    ],
)
def test_bad_settings_fail_at_start_up_naming_the_variable(env: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        Settings.from_env(env)


def test_rate_limits_are_parsed_per_second() -> None:
    assert parse_rate_limits("messaging=50/s, users=1200/m,media=3600/h") == {
        "messaging": 50.0,
        "users": 20.0,
        "media": 1.0,
    }


def test_a_plain_worker_consumes_every_queue_and_plain_beat_uses_redbeat() -> None:
    assert {q.name for q in app.conf.task_queues} == set(QUEUES)
    assert app.conf.beat_scheduler == "redbeat.RedBeatScheduler"
    transport = app.conf.broker_transport_options
    assert transport["visibility_timeout"] > Settings.from_env().max_countdown
    assert (
        app.conf.result_backend_transport_options["visibility_timeout"]
        == transport["visibility_timeout"]
    )
    assert app.conf.task_serializer == "json" and app.conf.accept_content == ["json"]


def test_routing() -> None:
    assert queue_for("mxit.messaging.send_batch") == "mxit.messaging"
    assert queue_for("mxit.users.set_avatar") == "mxit.media"
    assert queue_for("mxit.users.get_status") == "mxit.users"
    assert queue_for("mxit.sync.sync_users") == "mxit.sync"
