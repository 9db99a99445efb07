"""The sandbox's OAuth2 server (auth.mxit.com), served under ``/auth`` (contract §2)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import html
import json
import time
from urllib.parse import urlencode, urlparse

from mxit_tasks.sandbox.http import Request, Response, Router, json_response
from mxit_tasks.sandbox.state import ALL_SCOPES, App, SandboxError, State, Token

router = Router("/auth")


def _client(req: Request) -> App:
    """Authenticate the client by HTTP Basic, or raise 401 invalid_client (RFC 6749 §5.2)."""
    header = req.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    challenge = {"WWW-Authenticate": 'Basic realm="mxit"'}
    if scheme.lower() != "basic" or not value:
        raise SandboxError(
            401, "invalid_client", "HTTP Basic client authentication required", challenge
        )
    try:
        client_id, _, secret = (
            base64.b64decode(value.strip(), validate=True).decode().partition(":")
        )
    except (binascii.Error, UnicodeDecodeError):
        raise SandboxError(
            401, "invalid_client", "malformed Basic credentials", challenge
        ) from None
    app = req.state.apps.get(client_id)
    if app is None or not hmac.compare_digest(app.client_secret, secret):
        raise SandboxError(401, "invalid_client", "unknown client or wrong secret", challenge)
    return app


def parse_scopes(raw: str | None) -> tuple[str, ...]:
    """Split a space-separated scope list, keeping order, or raise invalid_scope."""
    scopes = tuple(dict.fromkeys((raw or "").split()))
    if not scopes:
        raise SandboxError(400, "invalid_scope", "scope is required")
    unknown = [s for s in scopes if s not in ALL_SCOPES]
    if unknown:
        raise SandboxError(400, "invalid_scope", f"unknown scope(s): {' '.join(unknown)}")
    return scopes


def _token_body(
    state: State, app: App, scopes: tuple[str, ...], user: int | None
) -> dict[str, object]:
    access, token = state.issue_token(app.client_id, frozenset(scopes), user)
    body: dict[str, object] = {
        "access_token": access,
        "token_type": "bearer",
        "expires_in": state.config.token_ttl,
        "scope": " ".join(scopes),
    }
    if user is not None:
        body["refresh_token"] = state.issue_refresh(app.client_id, scopes, user)
        if "openid" in scopes:
            body["id_token"] = id_token(app, state.users.user_id(user), token.expires_at)
    return body


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def id_token(app: App, user_id: str, expires_at: float) -> str:
    """An OpenID Connect id_token: a JWT signed HS256 with the client secret [C]."""
    header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    claims = {
        "iss": "https://auth.mxit.com",
        "aud": app.client_id,
        "user_id": user_id,
        "sub": user_id,
        "iat": int(time.time()),
        "exp": int(expires_at),
    }
    payload = _b64url(json.dumps(claims).encode())
    sig = hmac.new(app.client_secret.encode(), f"{header}.{payload}".encode(), hashlib.sha256)
    return f"{header}.{payload}.{_b64url(sig.digest())}"


@router.route("POST", "/token")
def token(req: Request) -> Response:
    """POST /token: client_credentials, authorization_code and refresh_token grants."""
    app = _client(req)
    form = req.form()
    state = req.state
    grant = form.get("grant_type")
    now = time.time()
    headers = {"Cache-Control": "no-store"}
    if not grant:
        raise SandboxError(400, "invalid_request", "grant_type is required")
    if grant == "client_credentials":
        scopes = parse_scopes(form.get("scope"))
        return json_response(_token_body(state, app, scopes, None), headers=headers)
    if grant == "authorization_code":
        code_value = form.get("code")
        if not code_value:
            raise SandboxError(400, "invalid_request", "code is required")
        code = state.codes.get(code_value)
        if code is None or code.client_id != app.client_id:
            raise SandboxError(400, "invalid_grant", "unknown authorization code")
        if code.used:
            raise SandboxError(400, "invalid_grant", "authorization code was already used")
        if code.expires_at < now:
            raise SandboxError(400, "invalid_grant", "authorization code expired")
        if form.get("redirect_uri", "") != code.redirect_uri:
            raise SandboxError(400, "invalid_grant", "redirect_uri does not match /authorize")
        code.used = True
        return json_response(_token_body(state, app, code.scopes, code.user), headers=headers)
    if grant == "refresh_token":
        value = form.get("refresh_token")
        if not value:
            raise SandboxError(400, "invalid_request", "refresh_token is required")
        grant_obj = state.refresh_tokens.get(value)
        if grant_obj is None or grant_obj.client_id != app.client_id or grant_obj.used:
            raise SandboxError(400, "invalid_grant", "refresh token is unknown or revoked")
        if grant_obj.expires_at < now:
            raise SandboxError(400, "invalid_grant", "refresh token expired")
        scopes = grant_obj.scopes
        if form.get("scope"):
            wanted = parse_scopes(form["scope"])
            if not set(wanted) <= set(scopes):
                raise SandboxError(400, "invalid_scope", "refresh may not widen the granted scope")
            scopes = wanted
        del state.refresh_tokens[value]  # rotation [C]: the old refresh token dies
        return json_response(_token_body(state, app, scopes, grant_obj.user), headers=headers)
    raise SandboxError(400, "unsupported_grant_type", f"grant_type {grant!r} is not supported")


@router.route("POST", "/revoke")
def revoke(req: Request) -> Response:
    """POST /revoke: invalidate an access or refresh token (RFC 7009: unknown tokens are fine)."""
    app = _client(req)
    value = req.form().get("token")
    if not value:
        raise SandboxError(400, "invalid_request", "token is required")
    access = req.state.tokens.get(value)
    if access is not None and access.client_id == app.client_id:
        access.revoked = True
    refresh = req.state.refresh_tokens.get(value)
    if refresh is not None and refresh.client_id == app.client_id:
        del req.state.refresh_tokens[value]
    return Response(200)


def bearer(req: Request) -> Token | None:
    """The valid token in ``Authorization: Bearer``, None when absent; 401 when bad."""
    header = req.headers.get("authorization")
    if header is None:
        return None
    scheme, _, value = header.strip().partition(" ")
    challenge = {"WWW-Authenticate": 'Bearer realm="mxit"'}
    if scheme.lower() != "bearer" or not value.strip():
        raise SandboxError(
            401, "invalid_token", "Authorization must be 'Bearer <token>'", challenge
        )
    token = req.state.tokens.get(value.strip())
    if token is None or token.revoked:
        raise SandboxError(401, "invalid_token", "access token is unknown or revoked", challenge)
    if token.expires_at < time.time():
        raise SandboxError(401, "invalid_token", "access token expired", challenge)
    return token


@router.route("GET", "/userinfo")
def userinfo(req: Request) -> Response:
    """GET /userinfo?schema=openid: the token owner's UserId as ``sub``."""
    token = bearer(req)
    if token is None:
        raise SandboxError(401, "invalid_token", "a bearer user token is required")
    if token.user is None:
        raise SandboxError(
            403, "insufficient_scope", "userinfo needs a user token, not an app token"
        )
    users = req.state.users
    return json_response(
        {
            "sub": users.user_id(token.user),
            "user_id": users.user_id(token.user),
            "mxit_id": users.mxit_id(token.user),
            "name": users.display_name(token.user),
        }
    )


_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Mxit sandbox: allow access</title>
<style>body{{font-family:sans-serif;max-width:28em;margin:3em auto}}button{{font-size:1.1em;margin-right:1em}}
</style></head><body><h1>{service} wants access</h1>
<p>Scopes requested: <code>{scope}</code></p>
<form method="post" action="authorize">
<input type="hidden" name="client_id" value="{client_id}">
<input type="hidden" name="redirect_uri" value="{redirect_uri}">
<input type="hidden" name="scope" value="{scope}">
<input type="hidden" name="state" value="{state}">
<input type="hidden" name="response_type" value="code">
<p><label>Mxit ID or UserId: <input name="user" value="{user}" required></label></p>
<button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny">Deny</button>
</form></body></html>"""


def _authorize_params(req: Request, params: dict[str, str]) -> tuple[App, str, tuple[str, ...]]:
    if params.get("response_type") != "code":
        raise SandboxError(400, "unsupported_response_type", "response_type must be 'code'")
    app = req.state.apps.get(params.get("client_id", ""))
    if app is None:
        raise SandboxError(400, "invalid_request", "unknown client_id")
    redirect = params.get("redirect_uri", "")
    parsed = urlparse(redirect)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise SandboxError(400, "invalid_request", "redirect_uri must be an absolute http(s) URL")
    return app, redirect, parse_scopes(params.get("scope"))


@router.route("GET", "/authorize")
def authorize_page(req: Request) -> Response:
    """GET /authorize: the consent page with Allow and Deny."""
    app, redirect, scopes = _authorize_params(req, req.query)
    esc = html.escape
    page = _PAGE.format(
        service=esc(app.service_name),
        scope=esc(" ".join(scopes)),
        client_id=esc(app.client_id),
        redirect_uri=esc(redirect),
        state=esc(req.query.get("state", "")),
        user=esc(req.query.get("user", "")),
    )
    return Response(200, page.encode(), "text/html; charset=utf-8")


def _redirect(uri: str, params: dict[str, str]) -> Response:
    sep = "&" if urlparse(uri).query else "?"
    return Response(302, b"", None, {"Location": uri + sep + urlencode(params)})


@router.route("POST", "/authorize")
def authorize_submit(req: Request) -> Response:
    """POST /authorize: the user's Allow/Deny; redirects with ``code`` or ``error``."""
    form = req.form()
    app, redirect, scopes = _authorize_params(req, form)
    extra = {"state": form["state"]} if form.get("state") else {}
    if form.get("decision") != "allow":
        return _redirect(
            redirect,
            {"error": "access_denied", "error_description": "the user denied access", **extra},
        )
    user = req.state.users.live(form.get("user", "").strip())
    if user is None:
        raise SandboxError(400, "invalid_request", "unknown Mxit user; check the Mxit ID")
    code = req.state.issue_code(app.client_id, scopes, user, redirect)
    return _redirect(redirect, {"code": code, **extra})
