"""Retry behaviour through the sandbox's fault API, on a real worker."""

from __future__ import annotations

import time

import pytest

from mxit_tasks import runtime, tasks
from mxit_tasks.errors import BadRequest, UserAuthorizationRequired
from tests.conftest import USER0, USER1, USER2, Sandbox, wait_for
from tests.tasks.conftest import Worker, authorise, finished, result_of

SEND = "POST /api/message/send"
STATUS = "GET /api/user/public/statusmessage/{mxit_id}"


def test_503s_then_success_delivers_once(live: Sandbox, worker: Worker) -> None:
    live.control.faults(
        {"POST /api/message/send*": {"error_rate": 1.0, "error_status": 503, "times": 2}}
    )
    result = tasks.send_message.delay("mxitdemo", [USER1, USER2], "after two 503s")
    status = finished(result.id)
    assert status["delivered"] == 2 and status["possibly_duplicated"] == 0
    assert len(live.control.outbox()) == 1  # delivered once
    assert live.control.route_count(SEND, 503) == 2 and live.control.route_count(SEND, 200) == 1
    assert "retry 2/5" in worker.log()


def test_429_with_retry_after_waits_before_the_next_attempt(live: Sandbox) -> None:
    live.control.faults(
        {
            "GET /api/user/public/*": {
                "error_rate": 1.0,
                "error_status": 429,
                "retry_after": 2,
                "times": 1,
            }
        }
    )
    started = time.monotonic()
    assert result_of(tasks.get_status.delay(USER1)) == "Hello from Lerato 1"
    assert time.monotonic() - started >= 2.0
    assert live.control.route_count(STATUS, 429) == 1 and live.control.route_count(STATUS, 200) == 1


def test_400_fails_at_once_without_retry_and_is_dead_lettered(live: Sandbox) -> None:
    live.control.faults({"GET /api/user/public/*": {"error_rate": 1.0, "error_status": 400}})
    result = tasks.get_status.delay(USER1)
    with pytest.raises(BadRequest):
        result_of(result)
    assert result.state == "FAILURE"
    assert live.control.route_count(STATUS) == 1
    # Celery stores the failure, then calls on_failure, which writes the entry
    [entry] = wait_for(runtime.dead_letters().list)
    assert entry["task"] == "mxit.users.get_status" and entry["error_class"] == "BadRequest"
    assert entry["args"] == [USER1] and entry["attempts"] == 1


def test_an_expired_user_token_is_refreshed_then_succeeds(live: Sandbox) -> None:
    authorise(live, USER0)
    live.control.expire("access", USER0)
    result_of(tasks.set_status.delay("refreshed", user_id=USER0))
    assert result_of(tasks.get_status.delay(USER0)) == "refreshed"
    assert live.control.route_count("POST /auth/token", 200) >= 3  # code, app, refresh


def test_a_revoked_refresh_token_fails_with_user_authorization_required(live: Sandbox) -> None:
    authorise(live, USER0)
    live.control.expire("all", USER0)
    result = tasks.set_status.delay("never", user_id=USER0)
    with pytest.raises(UserAuthorizationRequired):
        result_of(result)
    assert live.control.route_count("PUT /api/user/statusmessage") == 1  # one 401, no retry


def test_retry_state_shows_attempt_and_next_time(live: Sandbox) -> None:
    live.control.faults({"GET /api/user/public/*": {"error_rate": 1.0, "error_status": 503}})
    result = tasks.get_status.delay(USER1)
    wait_for(lambda: result.state == "RETRY", timeout=20)
    info = result.info
    assert info.attempt >= 1 and info.next_attempt_at > time.time() - 1
    assert info.error_class == "ServerError"
    live.control.clear_faults()
    assert result_of(result) == "Hello from Lerato 1"
