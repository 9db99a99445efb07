"""Shared fixtures: an in-thread sandbox on port 0, and tokens minted through real HTTP."""

from __future__ import annotations

import os
import socket
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
import requests

from mxit_tasks.sandbox import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, SandboxServer, SandboxURLs
from mxit_tasks.sandbox.remote import SandboxControl


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _test_redis_url() -> str:
    """REDIS_URL's server, database 9: the suite's own database, flushed at start."""
    parts = urlsplit(os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0")
    return urlunsplit((parts.scheme, parts.netloc, "/9", parts.query, parts.fragment))


# The whole suite (this process and the worker processes it starts) is configured here, before
# anything reads the settings: one sandbox (started on port 0, so the OS picks a free port, before
# the settings are read, because worker processes need its URL), one Redis database, the demo
# credentials.
_SANDBOX = SandboxServer(port=0, users=50)
_SANDBOX_URLS = _SANDBOX.start()
SANDBOX_PORT = int(_SANDBOX_URLS.base.rsplit(":", 1)[1])
TEST_REDIS_URL = _test_redis_url()
TEST_ENV = {
    "REDIS_URL": TEST_REDIS_URL,
    "MXIT_BROKER_URL": TEST_REDIS_URL,
    "MXIT_RESULT_BACKEND": TEST_REDIS_URL,
    "MXIT_CLIENT_ID": DEMO_CLIENT_ID,
    "MXIT_CLIENT_SECRET": DEMO_CLIENT_SECRET,
    "MXIT_API_URL": f"http://127.0.0.1:{SANDBOX_PORT}/api",
    "MXIT_AUTH_URL": f"http://127.0.0.1:{SANDBOX_PORT}/auth",
    "MXIT_REDIRECT_URI": "http://example.org/callback",
    "MXIT_MEDIA_DIR": os.path.join(tempfile.gettempdir(), f"mxit-test-media-{os.getpid()}"),
    "MXIT_VISIBILITY_TIMEOUT": "15",
    "MXIT_MAX_COUNTDOWN": "10",
    "MXIT_MAX_RETRIES": "5",
    "MXIT_UPLOAD_RETRY_WINDOW": "60",
    "MXIT_SEND_LEASE": "10",
}
os.environ.update(TEST_ENV)
for _name in ("MXIT_RATE_LIMITS", "MXIT_TOKEN_KEY", "MXIT_BLOB_DIR"):
    os.environ.pop(_name, None)

ALL_USER_SCOPES = (
    "profile/public profile/private profile/write status/write avatar/write message/user "
    "graph/read contact/invite contact/recommend content/read content/write content/send openid"
)
REDIRECT = "http://example.org/callback"
USER0, USER1, USER2 = "m40000000000", "m40000000001", "m40000000002"


@dataclass
class Sandbox:
    """A running, freshly reset sandbox and helpers to get tokens from it."""

    urls: SandboxURLs
    control: SandboxControl
    client_id: str = DEMO_CLIENT_ID
    client_secret: str = DEMO_CLIENT_SECRET

    def token_response(self, **form: str) -> requests.Response:
        """POST /auth/token with the demo app's Basic credentials."""
        return requests.post(
            f"{self.urls.auth}/token", auth=(self.client_id, self.client_secret), data=form
        )

    def app_token(self, scope: str = "message/send profile/public content/send") -> str:
        """A fresh app token."""
        resp = self.token_response(grant_type="client_credentials", scope=scope)
        assert resp.status_code == 200, resp.text
        return resp.json()["access_token"]

    def user_grant(self, user_id: str = USER0, scope: str = ALL_USER_SCOPES) -> dict:
        """The full token response for a user who consented to ``scope``."""
        code = self.control.consent(self.client_id, user_id, scope, REDIRECT)
        resp = self.token_response(
            grant_type="authorization_code", code=code, redirect_uri=REDIRECT
        )
        assert resp.status_code == 200, resp.text
        return resp.json()

    def user_token(self, user_id: str = USER0, scope: str = ALL_USER_SCOPES) -> str:
        """A fresh user access token."""
        return self.user_grant(user_id, scope)["access_token"]


def wait_for(predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.02) -> Any:
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s: {predicate}")
        time.sleep(interval)


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[SandboxURLs]:
    """The session's sandbox (started on port 0 above); Redis's test database starts empty."""
    redis.Redis.from_url(TEST_REDIS_URL).flushdb()
    yield _SANDBOX_URLS
    _SANDBOX.stop()


@pytest.fixture
def sandbox(sandbox_server: SandboxURLs) -> Sandbox:
    """The session's sandbox, reset to a fresh state for this test."""
    control = SandboxControl(sandbox_server.base)
    control.reset()
    return Sandbox(sandbox_server, control)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run the reliability scenarios last: they kill workers and Redis connections on purpose."""
    items.sort(key=lambda item: item.get_closest_marker("reliability") is not None)
