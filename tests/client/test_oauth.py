"""OAuth and tokens: real HTTP against the sandbox, over both token stores."""

from __future__ import annotations

import threading
from urllib.parse import parse_qs, urlparse

import pytest
import requests

from mxit_tasks import Mxit, OAuthError, UserAuthorizationRequired
from mxit_tasks.errors import MxitValidationError
from tests.client.conftest import consent, make_client
from tests.conftest import REDIRECT, USER0, USER1, Sandbox

TOKEN_ROUTE = "POST /auth/token"


def test_auth_url_names_client_redirect_scope_and_state(sandbox: Sandbox) -> None:
    client = make_client(sandbox, state="xyz")
    url = urlparse(client.oauth.auth_url("profile/public status/write"))
    query = parse_qs(url.query)
    assert url.path.endswith("/auth/authorize")
    assert query["client_id"] == [sandbox.client_id]
    assert query["redirect_uri"] == [REDIRECT]
    assert query["scope"] == ["profile/public status/write"]
    assert query["state"] == ["xyz"] and query["response_type"] == ["code"]


def test_get_user_token_learns_the_user_id_and_stores_the_token(
    client: Mxit, sandbox: Sandbox
) -> None:
    token = consent(client, sandbox, USER1, "status/write profile/public")
    assert isinstance(token, str) and token
    assert client.user_id == USER1
    assert client.oauth.has_user_token(USER1)
    # Without a code, the stored token is served (python-mxit's get_user_token(scope)).
    assert client.oauth.get_user_token("status/write") == token


def test_a_worker_client_acts_for_a_user_authorised_by_another_client(
    sandbox: Sandbox, store: object
) -> None:
    web = make_client(sandbox, store)  # type: ignore[arg-type]
    consent(web, sandbox, USER1, "status/write profile/public")
    worker = make_client(sandbox, store)  # type: ignore[arg-type]
    worker.for_user(USER1).users.set_status("set by the worker")
    assert worker.users.get_status(USER1) == "set by the worker"


def test_app_token_for_a_b_serves_b_a_and_a_subset(client: Mxit, sandbox: Sandbox) -> None:
    first = client.oauth.get_app_token("message/send profile/public")
    assert client.oauth.get_app_token("profile/public message/send") == first
    assert client.oauth.get_app_token("profile/public") == first
    assert sandbox.control.route_count(TOKEN_ROUTE) == 1


def test_app_token_near_expiry_is_fetched_again(sandbox: Sandbox) -> None:
    sandbox.control.config(token_ttl=30)  # shorter than the 60 s refresh skew
    client = make_client(sandbox)
    first = client.oauth.get_app_token("profile/public")
    second = client.oauth.get_app_token("profile/public")
    assert first != second and sandbox.control.route_count(TOKEN_ROUTE) == 2


def test_an_app_token_refused_with_401_is_replaced_once(client: Mxit, sandbox: Sandbox) -> None:
    client.users.get_status(USER0)
    sandbox.control.expire("access")  # the API now refuses the cached app token
    assert client.users.get_status(USER0) == client.users.get_status(USER0)
    assert sandbox.control.route_count(TOKEN_ROUTE) == 2


def test_expired_user_token_is_refreshed_with_the_refresh_token(
    user_client: Mxit, sandbox: Sandbox
) -> None:
    sandbox.control.expire("access", USER0)
    user_client.users.set_status("after refresh")
    assert user_client.users.get_status(USER0) == "after refresh"
    assert sandbox.control.route_count(TOKEN_ROUTE, 200) == 3  # code, app token, refresh


def test_expired_refresh_token_raises_user_authorization_required(
    user_client: Mxit, sandbox: Sandbox
) -> None:
    sandbox.control.expire("all", USER0)
    with pytest.raises(UserAuthorizationRequired) as info:
        user_client.users.set_status("never sent")
    assert info.value.user_id == USER0
    assert not user_client.oauth.has_user_token(USER0)  # forgotten: consent is needed again


def test_no_user_gives_user_authorization_required_before_any_http(
    client: Mxit, sandbox: Sandbox
) -> None:
    with pytest.raises(UserAuthorizationRequired):
        client.users.set_status("x")
    with pytest.raises(UserAuthorizationRequired):
        client.for_user(USER1).users.set_status("x")
    assert sandbox.control.stats()["routes"] == {}


def test_a_scope_the_user_never_granted_is_refused_locally(client: Mxit, sandbox: Sandbox) -> None:
    consent(client, sandbox, USER0, "profile/public")
    with pytest.raises(UserAuthorizationRequired, match="status/write"):
        client.users.set_status("x")


def test_concurrent_refreshes_hit_the_token_endpoint_once(sandbox: Sandbox, store: object) -> None:
    web = make_client(sandbox, store)  # type: ignore[arg-type]
    consent(web, sandbox, USER0, "status/write profile/public")
    sandbox.control.expire("access", USER0)
    before = sandbox.control.route_count(TOKEN_ROUTE)
    # Many "processes" (clients sharing only the store), each in its own thread.
    clients = [make_client(sandbox, store).for_user(USER0) for _ in range(8)]  # type: ignore[arg-type]
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(clients))

    def work(c: Mxit) -> None:
        barrier.wait()
        try:
            c.users.set_status("concurrent")  # 401 -> refresh -> retry
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert errors == []
    assert sandbox.control.route_count(TOKEN_ROUTE) - before == 1


def test_revoke_forgets_the_user_and_the_auth_server_refuses_the_token(
    user_client: Mxit, sandbox: Sandbox
) -> None:
    token = user_client.oauth.get_user_token("status/write")
    user_client.oauth.revoke_user_token()
    assert not user_client.oauth.has_user_token(USER0)
    resp = requests.get(
        f"{sandbox.urls.api}/user/profile", headers={"Authorization": f"Bearer {token}"}
    )
    assert resp.status_code == 401


def test_a_wrong_secret_is_an_oauth_error_without_the_secret(sandbox: Sandbox) -> None:
    client = Mxit(
        sandbox.client_id,
        "not-the-secret-0123456789",
        api_url=sandbox.urls.api,
        auth_url=sandbox.urls.auth,
    )
    with pytest.raises(OAuthError) as info:
        client.oauth.get_app_token("profile/public")
    assert info.value.status == 401 and info.value.error == "invalid_client"
    assert "not-the-secret" not in str(info.value) + repr(info.value)


def test_a_used_code_is_an_oauth_error(client: Mxit, sandbox: Sandbox) -> None:
    code = sandbox.control.consent(client.client_id, USER0, "profile/public", REDIRECT)
    client.oauth.get_user_token("profile/public", code)
    with pytest.raises(OAuthError) as info:
        client.oauth.get_user_token("profile/public", code)
    assert info.value.error == "invalid_grant"
    assert code not in str(info.value)


def test_constructor_checks_and_the_redirect_url_alias(sandbox: Sandbox) -> None:
    with pytest.raises(MxitValidationError, match="client_secret"):
        Mxit("id", "")
    alias = Mxit("id", "secret", redirect_url="http://example.org")
    assert alias.redirect_uri == "http://example.org"
    assert "secret" not in repr(alias)
