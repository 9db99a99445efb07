"""Client fixtures: a Mxit client on the in-thread sandbox, over each token store."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import redis

from mxit_tasks import Mxit
from mxit_tasks.client.tokens import MemoryTokenStore, RedisTokenStore, TokenStore
from tests.conftest import ALL_USER_SCOPES, REDIRECT, USER0, Sandbox


def redis_client() -> redis.Redis:
    """The real Redis the suite runs against."""
    return redis.Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))


@pytest.fixture(params=["memory", "redis"])
def store(request: pytest.FixtureRequest) -> Iterator[TokenStore]:
    """Each token store in turn: the same tests run against both (dramatiq-style)."""
    if request.param == "memory":
        yield MemoryTokenStore()
        return
    r = redis_client()
    namespace = f"mxit:test:{uuid.uuid4().hex}"
    yield RedisTokenStore(r, "test-key", namespace=namespace)
    for key in r.scan_iter(match=namespace + "*"):
        r.delete(key)


def make_client(sandbox: Sandbox, store: TokenStore | None = None, **kw: object) -> Mxit:
    """A client pointed at the sandbox."""
    return Mxit(
        sandbox.client_id,
        sandbox.client_secret,
        redirect_uri=REDIRECT,
        api_url=sandbox.urls.api,
        auth_url=sandbox.urls.auth,
        token_store=store,
        **kw,  # type: ignore[arg-type]
    )


@pytest.fixture
def client(sandbox: Sandbox, store: TokenStore) -> Mxit:
    """An app-level client."""
    return make_client(sandbox, store)


def consent(client: Mxit, sandbox: Sandbox, user: str = USER0, scope: str = ALL_USER_SCOPES) -> str:
    """Run consent in the sandbox and exchange the code through the client."""
    code = sandbox.control.consent(client.client_id, user, scope, REDIRECT)
    return client.oauth.get_user_token(scope, code)


@pytest.fixture
def user_client(client: Mxit, sandbox: Sandbox) -> Mxit:
    """A client acting as USER0, who granted every scope."""
    consent(client, sandbox)
    return client
