"""The error tree, Retry-After, delay_for and the transport layer, through real HTTP."""

from __future__ import annotations

import email.utils
import pickle
import socket
import time

import pytest

import mxit_tasks.errors as errors
from mxit_tasks import Mxit, delay_for
from mxit_tasks.errors import (
    APIError,
    BadRequest,
    ConnectError,
    ConnectionLost,
    Forbidden,
    InvalidRecipients,
    InvalidRecipientsInput,
    MxitValidationError,
    NotFound,
    OAuthError,
    RateLimited,
    ServerError,
    Timeout,
    Unauthorized,
    UserAuthorizationRequired,
    parse_retry_after,
)
from mxit_tasks.settings import Settings
from tests.client.conftest import make_client
from tests.conftest import USER0, USER1, Sandbox, wait_for

TOKEN = "tok-SECRET-abc"

SAMPLES = [
    MxitValidationError("field", "reason"),
    InvalidRecipientsInput("target_user_ids", "bad", ["a,b"]),
    UserAuthorizationRequired("m1", "expired"),
    OAuthError(400, "invalid_grant", "code used", "authorization_code"),
    ConnectError("GET", "/user/x", "refused"),
    Timeout("GET", "/user/x", "read timeout"),
    ConnectionLost("POST", "/message/send/", "cut"),
    APIError(418, "teapot", "short and stout", "GET", "/x"),
    BadRequest(400, "invalid_request", "no", "POST", "/x"),
    InvalidRecipients(400, "invalid_recipients", "2 unknown", "POST", "/x", None, ["m9"]),
    Unauthorized(401, "invalid_token", "expired", "GET", "/x"),
    Forbidden(403, "insufficient_scope", "no", "GET", "/x"),
    NotFound(404, "user_not_found", "no", "GET", "/x"),
    RateLimited(429, "rate_limited", "slow down", "GET", "/x", 2.5),
    ServerError(503, "unavailable", "later", "GET", "/x"),
]


@pytest.mark.parametrize("exc", SAMPLES, ids=lambda e: type(e).__name__)
def test_every_error_survives_pickle_with_all_fields(exc: Exception) -> None:
    back = pickle.loads(pickle.dumps(exc))
    assert type(back) is type(exc)
    assert back.args == exc.args and str(back) == str(exc)
    assert vars(back) == vars(exc)


def test_every_error_class_in_the_module_is_sampled() -> None:
    classes = {
        obj
        for obj in vars(errors).values()
        if isinstance(obj, type) and issubclass(obj, errors.MxitError)
    }
    sampled = {type(e) for e in SAMPLES}
    missing = classes - sampled - {errors.MxitError, errors.TransportError}
    missing -= {errors.Conflict, errors.PayloadTooLarge}  # plain APIError subclasses
    assert missing == set()


def test_str_names_method_path_status_code_and_description() -> None:
    text = str(RateLimited(429, "rate_limited", "slow down", "GET", "/user/profile", 2))
    assert text == "GET /user/profile -> 429 rate_limited: slow down"


def test_retry_after_in_seconds_and_as_an_http_date() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    now = time.time()
    date = email.utils.formatdate(now + 30, usegmt=True)
    assert 28 <= (parse_retry_after(date, now=now) or 0) <= 31
    past = email.utils.formatdate(now - 30, usegmt=True)
    assert parse_retry_after(past, now=now) == 0.0


def test_delay_for_prefers_retry_after_then_full_jitter_backoff() -> None:
    limited = RateLimited(429, "rate_limited", "", "GET", "/x", 12.0)
    assert delay_for(limited, 0) == 12.0
    assert delay_for(limited, 0, cap=5) == 5
    server = ServerError(503, "x", "", "GET", "/x")
    assert delay_for(server, 0, rand=lambda: 1.0) == 2.0
    assert delay_for(server, 3, rand=lambda: 1.0) == 16.0
    assert delay_for(server, 3, rand=lambda: 0.5) == 8.0
    assert delay_for(server, 30, rand=lambda: 1.0) == 600.0  # capped
    assert delay_for(ConnectError("GET", "/", ""), 0, rand=lambda: 1.0) == 2.0


@pytest.mark.parametrize(
    "exc",
    [
        BadRequest(400, "x", "", "GET", "/"),
        Forbidden(403, "x", "", "GET", "/"),
        NotFound(404, "x", "", "GET", "/"),
        Unauthorized(401, "x", "", "GET", "/"),
        MxitValidationError("f", "r"),
        UserAuthorizationRequired("m1", "r"),
        InvalidRecipients(400, "x", "", "POST", "/", None, ["m1"]),
        ValueError("plain"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_delay_for_refuses_permanent_errors(exc: Exception) -> None:
    assert delay_for(exc, 0) is None


def test_429_from_the_api_carries_retry_after(client: Mxit, sandbox: Sandbox) -> None:
    sandbox.control.faults(
        {"/api/user/public/*": {"error_rate": 1.0, "error_status": 429, "retry_after": 2}}
    )
    with pytest.raises(RateLimited) as info:
        client.users.get_status(USER1)
    assert info.value.retry_after == 2.0 and info.value.status == 429
    assert delay_for(info.value, 0) == 2.0


def test_503_is_a_server_error_and_is_not_repeated_by_the_client(
    client: Mxit, sandbox: Sandbox
) -> None:
    sandbox.control.faults({"/api/message/*": {"error_rate": 1.0, "error_status": 503}})
    with pytest.raises(ServerError):
        client.messaging.send_message("mxitdemo", [USER1], "x")
    assert sandbox.control.route_count("POST /api/message/send", 503) == 1


def test_a_timeout_is_a_timeout_and_is_not_repeated(sandbox: Sandbox) -> None:
    client = make_client(sandbox, settings=Settings(read_timeout=0.3))
    client.oauth.get_app_token("message/send")
    sandbox.control.faults({"/api/message/*": {"timeout_rate": 1.0, "hold_ms": 1000}})
    with pytest.raises(Timeout) as info:
        client.messaging.send_message("mxitdemo", [USER1], "x")
    assert info.value.method == "POST" and info.value.path == "/message/send/"
    # The sandbox finishes the held request later; wait so it cannot leak into the next test.
    wait_for(lambda: sandbox.control.route_count("POST /api/message/send") == 1)


def test_a_dropped_answer_is_connection_lost_and_not_repeated(
    user_client: Mxit, sandbox: Sandbox
) -> None:
    sandbox.control.faults({"PUT /api/user/statusmessage": {"drop_after_processing_rate": 1.0}})
    with pytest.raises(ConnectionLost):
        user_client.users.set_status("applied once")
    sandbox.control.clear_faults()
    assert sandbox.control.route_count("PUT /api/user/statusmessage") == 1
    assert user_client.users.get_status(USER0) == "applied once"


def test_connect_failures_are_retried_twice_then_raised() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again below: nothing listens there
    client = Mxit(
        "id", "secret", api_url=f"http://127.0.0.1:{port}", auth_url=f"http://127.0.0.1:{port}"
    )
    attempts: list[int] = []
    original = client.requestor.session.request

    def counting(*args: object, **kwargs: object) -> object:
        attempts.append(1)
        return original(*args, **kwargs)  # type: ignore[arg-type]

    client.requestor.session.request = counting  # type: ignore[method-assign]
    with pytest.raises(ConnectError):
        client.requestor.send("GET", "/user/public/statusmessage/x")
    assert len(attempts) == 3


def test_no_token_or_secret_appears_in_errors_or_logs(
    user_client: Mxit, sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    token = user_client.oauth.get_user_token("status/write")
    sandbox.control.expire("all", USER0)
    with pytest.raises(UserAuthorizationRequired) as info:
        user_client.users.set_status("x")
    text = caplog.text + str(info.value) + repr(info.value)
    for secret in (token, sandbox.client_secret):
        assert secret not in text
    assert "PUT /user/statusmessage -> 401" in caplog.text  # one line per call
