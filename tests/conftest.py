"""Shared fixtures: an in-thread sandbox on port 0, and tokens minted through real HTTP."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from mxit_tasks.sandbox import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, SandboxServer, SandboxURLs
from mxit_tasks.sandbox.remote import SandboxControl

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
    """One sandbox for the session, on a free port."""
    server = SandboxServer(port=0, users=50)
    urls = server.start()
    yield urls
    server.stop()


@pytest.fixture
def sandbox(sandbox_server: SandboxURLs) -> Sandbox:
    """The session's sandbox, reset to a fresh state for this test."""
    control = SandboxControl(sandbox_server.base)
    control.reset()
    return Sandbox(sandbox_server, control)
