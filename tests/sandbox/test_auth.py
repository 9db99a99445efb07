"""The sandbox's OAuth2 server, over real HTTP (contract §2)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from html.parser import HTMLParser
from urllib.parse import parse_qs, urljoin, urlparse

import requests

from tests.conftest import REDIRECT, USER0, Sandbox


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.fields: dict[str, str] = {}
        self.buttons: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.action = a.get("action", "")
        elif tag == "input" and "name" in a:
            self.fields[a["name"]] = a.get("value", "")
        elif tag == "button":
            self.buttons.append((a.get("name", ""), a.get("value", "")))


def _consent_page(sandbox: Sandbox, scope: str, state: str = "xyz") -> tuple[str, dict[str, str]]:
    params = {
        "response_type": "code",
        "client_id": sandbox.client_id,
        "redirect_uri": REDIRECT,
        "scope": scope,
        "state": state,
    }
    page = requests.get(f"{sandbox.urls.auth}/authorize", params=params)
    assert page.status_code == 200
    assert "text/html" in page.headers["Content-Type"]
    parser = _FormParser()
    parser.feed(page.text)
    assert ("decision", "allow") in parser.buttons and ("decision", "deny") in parser.buttons
    return urljoin(page.url, parser.action), parser.fields


def test_authorization_code_flow_through_the_consent_page(sandbox: Sandbox) -> None:
    # Given the consent page for a user
    action, fields = _consent_page(sandbox, "status/write profile/private")
    # When the user logs in and presses Allow
    resp = requests.post(
        action, data={**fields, "user": "user0000000", "decision": "allow"}, allow_redirects=False
    )
    # Then the browser is redirected with a code and the state
    assert resp.status_code == 302
    location = urlparse(resp.headers["Location"])
    assert location.geturl().startswith(REDIRECT)
    query = parse_qs(location.query)
    assert query["state"] == ["xyz"]
    code = query["code"][0]
    assert re.fullmatch(r"[0-9a-f]{32}", code)
    # And the code exchanges for a user token with a refresh token
    grant = sandbox.token_response(
        grant_type="authorization_code", code=code, redirect_uri=REDIRECT
    ).json()
    assert grant["token_type"] == "bearer" and grant["expires_in"] == 3600
    assert grant["scope"] == "status/write profile/private"
    assert grant["refresh_token"]
    # And the token works, refreshes with rotation, and can be revoked
    headers = {"Authorization": f"Bearer {grant['access_token']}"}
    assert requests.get(f"{sandbox.urls.api}/user/profile", headers=headers).status_code == 200
    refreshed = sandbox.token_response(
        grant_type="refresh_token", refresh_token=grant["refresh_token"]
    )
    assert refreshed.status_code == 200
    new = refreshed.json()
    assert new["refresh_token"] != grant["refresh_token"]
    again = sandbox.token_response(grant_type="refresh_token", refresh_token=grant["refresh_token"])
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    revoke = requests.post(
        f"{sandbox.urls.auth}/revoke",
        auth=(sandbox.client_id, sandbox.client_secret),
        data={"token": new["access_token"]},
    )
    assert revoke.status_code == 200
    headers = {"Authorization": f"Bearer {new['access_token']}"}
    assert requests.get(f"{sandbox.urls.api}/user/profile", headers=headers).status_code == 401


def test_deny_redirects_with_access_denied(sandbox: Sandbox) -> None:
    action, fields = _consent_page(sandbox, "status/write")
    resp = requests.post(
        action, data={**fields, "user": USER0, "decision": "deny"}, allow_redirects=False
    )
    query = parse_qs(urlparse(resp.headers["Location"]).query)
    assert query["error"] == ["access_denied"] and query["state"] == ["xyz"]
    assert "code" not in query


def test_authorize_rejects_bad_requests(sandbox: Sandbox) -> None:
    base = {"response_type": "code", "client_id": sandbox.client_id, "redirect_uri": REDIRECT}
    for params, error in [
        ({**base, "scope": "status/write", "client_id": "nope"}, "invalid_request"),
        ({**base, "scope": "status/write", "response_type": "token"}, "unsupported_response_type"),
        ({**base, "scope": "status/write", "redirect_uri": "/relative"}, "invalid_request"),
        ({**base, "scope": "bogus/scope"}, "invalid_scope"),
    ]:
        resp = requests.get(f"{sandbox.urls.auth}/authorize", params=params)
        assert resp.status_code == 400 and resp.json()["error"] == error


def test_client_credentials_gives_an_app_token_without_refresh(sandbox: Sandbox) -> None:
    resp = sandbox.token_response(
        grant_type="client_credentials", scope="profile/public message/send"
    )
    body = resp.json()
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"
    assert "refresh_token" not in body
    assert body["scope"] == "profile/public message/send"  # order kept


def test_token_endpoint_errors_follow_rfc6749(sandbox: Sandbox) -> None:
    url = f"{sandbox.urls.auth}/token"
    no_auth = requests.post(
        url, data={"grant_type": "client_credentials", "scope": "profile/public"}
    )
    assert no_auth.status_code == 401 and no_auth.json()["error"] == "invalid_client"
    assert no_auth.headers["WWW-Authenticate"].startswith("Basic")
    wrong = requests.post(url, auth=(sandbox.client_id, "wrong"), data={"grant_type": "x"})
    assert wrong.status_code == 401
    cases = [
        ({}, "invalid_request"),
        ({"grant_type": "password", "username": "a", "password": "b"}, "unsupported_grant_type"),
        ({"grant_type": "client_credentials"}, "invalid_scope"),
        ({"grant_type": "client_credentials", "scope": "nope"}, "invalid_scope"),
        (
            {"grant_type": "authorization_code", "code": "0" * 32, "redirect_uri": REDIRECT},
            "invalid_grant",
        ),
        ({"grant_type": "authorization_code"}, "invalid_request"),
        ({"grant_type": "refresh_token", "refresh_token": "f" * 32}, "invalid_grant"),
    ]
    for form, error in cases:
        resp = sandbox.token_response(**form)
        assert resp.status_code == 400, form
        body = resp.json()
        assert body["error"] == error and body["error_description"], form


def test_codes_are_single_use_bound_to_redirect_uri_and_expire(sandbox: Sandbox) -> None:
    control = sandbox.control
    code = control.consent(sandbox.client_id, USER0, "status/write", REDIRECT)
    mismatch = sandbox.token_response(
        grant_type="authorization_code", code=code, redirect_uri="http://evil.example/"
    )
    assert mismatch.status_code == 400 and mismatch.json()["error"] == "invalid_grant"
    ok = sandbox.token_response(grant_type="authorization_code", code=code, redirect_uri=REDIRECT)
    assert ok.status_code == 200
    reused = sandbox.token_response(
        grant_type="authorization_code", code=code, redirect_uri=REDIRECT
    )
    assert reused.status_code == 400 and "already used" in reused.json()["error_description"]
    code2 = control.consent(sandbox.client_id, USER0, "status/write", REDIRECT)
    control.expire("code")
    expired = sandbox.token_response(
        grant_type="authorization_code", code=code2, redirect_uri=REDIRECT
    )
    assert expired.status_code == 400 and "expired" in expired.json()["error_description"]


def test_expired_tokens_get_401_and_expired_refresh_tokens_invalid_grant(sandbox: Sandbox) -> None:
    grant = sandbox.user_grant()
    sandbox.control.expire("all")
    headers = {"Authorization": f"Bearer {grant['access_token']}"}
    resp = requests.get(f"{sandbox.urls.api}/user/profile", headers=headers)
    assert resp.status_code == 401 and "expired" in resp.json()["error_description"]
    refresh = sandbox.token_response(
        grant_type="refresh_token", refresh_token=grant["refresh_token"]
    )
    assert refresh.status_code == 400 and "expired" in refresh.json()["error_description"]


def test_revoked_refresh_token_cannot_refresh(sandbox: Sandbox) -> None:
    grant = sandbox.user_grant()
    requests.post(
        f"{sandbox.urls.auth}/revoke",
        auth=(sandbox.client_id, sandbox.client_secret),
        data={"token": grant["refresh_token"]},
    ).raise_for_status()
    resp = sandbox.token_response(grant_type="refresh_token", refresh_token=grant["refresh_token"])
    assert resp.status_code == 400 and resp.json()["error"] == "invalid_grant"


def test_refresh_cannot_widen_scope(sandbox: Sandbox) -> None:
    grant = sandbox.user_grant(scope="status/write")
    resp = sandbox.token_response(
        grant_type="refresh_token",
        refresh_token=grant["refresh_token"],
        scope="status/write graph/read",
    )
    assert resp.status_code == 400 and resp.json()["error"] == "invalid_scope"


def test_userinfo_and_openid_id_token(sandbox: Sandbox) -> None:
    grant = sandbox.user_grant(scope="openid profile/public")
    info = requests.get(
        f"{sandbox.urls.auth}/userinfo",
        params={"schema": "openid"},
        headers={"Authorization": f"Bearer {grant['access_token']}"},
    )
    assert info.json()["sub"] == USER0
    header, payload, sig = grant["id_token"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims["aud"] == sandbox.client_id and claims["user_id"] == USER0 and claims["exp"] > 0
    expected = hmac.new(
        sandbox.client_secret.encode(), f"{header}.{payload}".encode(), hashlib.sha256
    ).digest()
    assert base64.urlsafe_b64encode(expected).rstrip(b"=").decode() == sig
    app = requests.get(
        f"{sandbox.urls.auth}/userinfo", headers={"Authorization": f"Bearer {sandbox.app_token()}"}
    )
    assert app.status_code == 403


def test_bearer_scheme_is_case_insensitive(sandbox: Sandbox) -> None:
    token = sandbox.app_token("profile/public")
    for scheme in ("Bearer", "bearer", "BEARER"):
        resp = requests.get(
            f"{sandbox.urls.api}/user/lookup/{USER0}",
            headers={"Authorization": f"{scheme} {token}"},
        )
        assert resp.status_code == 200
