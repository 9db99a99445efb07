"""The sandbox's /_emulator control API: users, faults and config."""

from __future__ import annotations

import time

import pytest
import requests

from tests.conftest import USER0, Sandbox


def _status(sandbox: Sandbox, timeout: float = 10):
    return requests.get(f"{sandbox.urls.api}/user/public/statusmessage/{USER0}", timeout=timeout)


def test_create_explicit_and_generated_users(sandbox: Sandbox) -> None:
    made = sandbox.control.add_users(
        users=[
            {"user_id": "m12345678901", "mxit_id": "zola", "display_name": "Zola", "status": "hi"}
        ]
    )
    assert made["users"][0]["UserId"] == "m12345678901"
    assert requests.get(f"{sandbox.urls.api}/user/public/displayname/zola").json() == "Zola"
    gen = sandbox.control.add_users(count=5)
    assert gen["created"] == 5 and gen["first"] == "m40000000051"
    found = sandbox.control.call("GET", "/users", q="zola")
    assert [u["UserId"] for u in found["users"]] == ["m12345678901"]
    dup = requests.post(
        f"{sandbox.urls.control}/users", json={"users": [{"user_id": "m12345678901"}]}
    )
    assert dup.status_code == 409
    bad = requests.post(f"{sandbox.urls.control}/users", json={"count": 0})
    assert bad.status_code == 400


def test_gone_users_get_404(sandbox: Sandbox) -> None:
    requests.delete(f"{sandbox.urls.control}/users/{USER0}").raise_for_status()
    assert _status(sandbox).status_code == 404


def test_error_faults_apply_a_limited_number_of_times(sandbox: Sandbox) -> None:
    sandbox.control.faults(
        {"GET /api/user/public/*": {"error_rate": 1.0, "error_status": 503, "times": 2}}
    )
    assert [_status(sandbox).status_code for _ in range(3)] == [503, 503, 200]
    assert _status(sandbox).json()  # still fine
    rules = sandbox.control.call("GET", "/faults")["faults"]
    assert rules[0]["applied"] == 2


def test_injected_429_carries_retry_after(sandbox: Sandbox) -> None:
    sandbox.control.faults(
        {"/api/user/*": {"error_rate": 1.0, "error_status": 429, "retry_after": 2}}
    )
    resp = _status(sandbox)
    assert resp.status_code == 429 and resp.headers["Retry-After"] == "2"
    sandbox.control.clear_faults()
    assert _status(sandbox).status_code == 200


def test_rate_limit_fault_answers_429_past_the_rate(sandbox: Sandbox) -> None:
    sandbox.control.faults({"/api/user/*": {"rate_limit_per_s": 2, "burst": 2}})
    codes = [_status(sandbox).status_code for _ in range(5)]
    assert codes[:2] == [200, 200] and 429 in codes[2:]


def test_global_rate_limit_config(sandbox: Sandbox) -> None:
    sandbox.control.config(rate_limit_per_s=1, rate_limit_burst=1)
    codes = [_status(sandbox).status_code for _ in range(3)]
    assert codes[0] == 200 and codes.count(429) >= 1


def test_latency_fault_delays_the_answer(sandbox: Sandbox) -> None:
    sandbox.control.faults({"/api/user/*": {"latency_ms": 300}})
    start = time.monotonic()
    assert _status(sandbox).status_code == 200
    assert time.monotonic() - start >= 0.3


def test_timeout_fault_holds_past_the_client_timeout(sandbox: Sandbox) -> None:
    sandbox.control.faults({"/api/user/*": {"timeout_rate": 1.0, "hold_ms": 1500, "times": 1}})
    with pytest.raises(requests.Timeout):
        _status(sandbox, timeout=0.3)
    assert _status(sandbox).status_code == 200


def test_drop_after_processing_applies_then_cuts_the_connection(sandbox: Sandbox) -> None:
    token = sandbox.user_token()
    sandbox.control.faults({"PUT /api/user/statusmessage": {"drop_after_processing_rate": 1.0}})
    # The client sees a broken response (headers, then the connection closes mid-body).
    with pytest.raises((requests.ConnectionError, requests.exceptions.ChunkedEncodingError)):
        requests.put(
            f"{sandbox.urls.api}/user/statusmessage",
            json="applied anyway",
            headers={"Authorization": f"Bearer {token}"},
        )
    assert _status(sandbox).json() == "applied anyway"


def test_control_api_rejects_bad_settings(sandbox: Sandbox) -> None:
    url = sandbox.urls.control
    assert requests.put(f"{url}/faults", json={"/api/*": {"nope": 1}}).status_code == 400
    assert requests.put(f"{url}/faults", json={"/api/*": {"error_rate": 2}}).status_code == 400
    assert requests.put(f"{url}/faults", json={"/api/*": {"error_rate": "x"}}).status_code == 400
    assert requests.put(f"{url}/config", json={"nope": 1}).status_code == 400
    assert requests.put(f"{url}/config", json={"token_ttl": -1}).status_code == 400
    assert requests.get(f"{url}/outbox", params={"limit": "x"}).status_code == 400


def test_reset_forgets_everything(sandbox: Sandbox) -> None:
    token = sandbox.app_token("profile/public")
    sandbox.control.faults({"/api/*": {"error_rate": 1.0}})
    sandbox.control.reset()
    assert sandbox.control.call("GET", "/faults") == {"faults": []}
    resp = requests.get(
        f"{sandbox.urls.api}/user/lookup/{USER0}", headers={"Authorization": f"Bearer {token}"}
    )
    assert resp.status_code == 401
