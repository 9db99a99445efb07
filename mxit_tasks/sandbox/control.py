"""The sandbox's inspection and control API under ``/_emulator/`` (JSON), for tests and operators."""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import time
from typing import Any

from mxit_tasks._media import sniff_image
from mxit_tasks.sandbox.auth import parse_scopes
from mxit_tasks.sandbox.http import Request, Response, Router, json_response
from mxit_tasks.sandbox.state import App, Config, FaultRule, SandboxError

router = Router("/_emulator")
_FAULT_FIELDS = {f.name for f in dataclasses.fields(FaultRule)} - {"pattern", "applied"}
_CONFIG_FIELDS = {f.name: f.type for f in dataclasses.fields(Config)}
MAX_LIST = 10_000


@router.route("POST", "/reset")
def reset(req: Request) -> Response:
    """Forget all state and faults."""
    req.state.reset()
    return json_response({"ok": True})


@router.route("GET", "/apps")
def list_apps(req: Request) -> Response:
    """Registered apps (without secrets)."""
    return json_response(
        [
            {"client_id": a.client_id, "service_name": a.service_name}
            for a in req.state.apps.values()
        ]
    )


@router.route("POST", "/apps")
def add_app(req: Request) -> Response:
    """Register an app: ``{client_id, client_secret, service_name}``."""
    data = req.json_object()
    values = []
    for key in ("client_id", "client_secret", "service_name"):
        if not isinstance(data.get(key), str) or not data[key]:
            raise SandboxError(400, "invalid_request", f"{key} is required and must be a string")
        values.append(data[key])
    app = req.state.add_app(App(*values))
    return json_response({"client_id": app.client_id, "service_name": app.service_name}, 201)


@router.route("POST", "/users")
def add_users(req: Request) -> Response:
    """Create users: ``{count}`` generated ones or ``{users: [...]}``; returns them."""
    data = req.json_object()
    users = req.state.users
    created: list[int] = []
    if "count" in data:
        count = data["count"]
        if isinstance(count, bool) or not isinstance(count, int) or not 0 < count <= 5_000_000:
            raise SandboxError(400, "invalid_request", "count must be an integer in 1..5000000")
        created = list(users.add_generated(count))
    elif "users" in data:
        specs = data["users"]
        if not isinstance(specs, list) or not all(isinstance(s, dict) for s in specs):
            raise SandboxError(400, "invalid_request", "users must be an array of objects")
        for spec in specs:
            idx = users.add_explicit(spec)
            created.append(idx)
            _apply_user_fields(req, idx, spec)
    else:
        raise SandboxError(400, "invalid_request", "give count or users")
    shown = created[:1000]
    return json_response(
        {
            "created": len(created),
            "first": users.user_id(created[0]) if created else None,
            "last": users.user_id(created[-1]) if created else None,
            "users": [users.public(i) for i in shown],
        },
        201,
    )


def _apply_user_fields(req: Request, idx: int, spec: dict[str, Any]) -> None:
    users = req.state.users
    for key, field in (
        ("display_name", "DisplayName"),
        ("status", "StatusMessage"),
        ("DisplayName", "DisplayName"),
        ("StatusMessage", "StatusMessage"),
    ):
        if key in spec:
            if not isinstance(spec[key], str):
                raise SandboxError(400, "invalid_request", f"{key} must be a string")
            users.set(idx, **{field: spec[key]})
            if field == "StatusMessage":
                users.set(idx, status_modified_ms=int(time.time() * 1000))
    profile = spec.get("profile")
    if profile is not None:
        if not isinstance(profile, dict):
            raise SandboxError(400, "invalid_request", "profile must be an object")
        users.set(idx, **profile)
    if "avatar" in spec and spec["avatar"] is not None:
        try:
            data = base64.b64decode(spec["avatar"], validate=True)
        except (binascii.Error, TypeError, ValueError):
            raise SandboxError(400, "invalid_request", "avatar must be base64") from None
        mime = sniff_image(data)
        if mime is None:
            raise SandboxError(400, "invalid_image", "avatar is not an image")
        users.set(idx, avatar=(data, mime))
    if "apps" in spec:
        apps = spec["apps"]
        if apps is False:
            req.state.rosters[idx] = set()
        elif isinstance(apps, list) and all(isinstance(a, str) for a in apps):
            req.state.rosters[idx] = {a.lower() for a in apps}
        elif apps is not None and apps is not True:
            raise SandboxError(400, "invalid_request", "apps must be a list of service names")
    if spec.get("gone"):
        users.set(idx, gone=True)


@router.route("GET", "/users")
def list_users(req: Request) -> Response:
    """Users, searchable by id or name: ``?q=&skip=&limit=``."""
    users = req.state.users
    q = (req.q("q") or "").lower()
    skip, limit = _paging(req, 50)
    out = []
    matched = 0
    for idx in range(users.count):
        if q:
            pub = users.public(idx)
            hay = f"{pub['UserId']} {pub['MxitId']} {pub['DisplayName']}".lower()
            if q not in hay:
                continue
        matched += 1
        if matched > skip:
            out.append(users.public(idx))
            if len(out) >= limit:
                break
    return json_response({"total": users.count, "users": out})


def _user(req: Request) -> int:
    idx = req.state.users.index(req.params["user_id"])
    if idx is None:
        raise SandboxError(404, "user_not_found", f"no user {req.params['user_id']!r}")
    return idx


@router.route("GET", "/users/{user_id}")
def show_user(req: Request) -> Response:
    """One user, with the full profile."""
    idx = _user(req)
    return json_response(
        {**req.state.users.public(idx), "profile": req.state.users.full_profile(idx)}
    )


@router.route("PUT", "/users/{user_id}")
def change_user(req: Request) -> Response:
    """Change a user behind the API's back: ``{status, display_name, profile, avatar, gone, apps}``."""
    idx = _user(req)
    _apply_user_fields(req, idx, req.json_object())
    return json_response(req.state.users.public(idx))


@router.route("DELETE", "/users/{user_id}")
def delete_user(req: Request) -> Response:
    """Mark a user gone: the API then answers 404 for them."""
    req.state.users.set(_user(req), gone=True)
    return json_response({"ok": True})


@router.route("POST", "/consent")
def consent(req: Request) -> Response:
    """Non-interactive consent: ``{client_id, user_id, scope, redirect_uri}`` -> an auth code."""
    data = req.json_object()
    state = req.state
    app = state.apps.get(data.get("client_id") or "")
    if app is None:
        raise SandboxError(400, "invalid_request", "unknown client_id")
    user = state.users.live(str(data.get("user_id") or ""))
    if user is None:
        raise SandboxError(404, "user_not_found", "unknown user_id")
    redirect = data.get("redirect_uri")
    if not isinstance(redirect, str) or not redirect:
        raise SandboxError(400, "invalid_request", "redirect_uri is required")
    scopes = parse_scopes(data.get("scope"))
    code = state.issue_code(app.client_id, scopes, user, redirect)
    return json_response({"code": code, "user_id": state.users.user_id(user)})


@router.route("POST", "/expire")
def expire(req: Request) -> Response:
    """Expire tokens now: ``{kind: access|refresh|code|all, user_id?}`` (tests, without sleeping)."""
    data = req.json_object()
    kind = data.get("kind", "access")
    if kind not in ("access", "refresh", "code", "all"):
        raise SandboxError(400, "invalid_request", "kind must be access, refresh, code or all")
    user = None
    if data.get("user_id") is not None:
        user = req.state.users.index(str(data["user_id"]))
        if user is None:
            raise SandboxError(404, "user_not_found", "unknown user_id")
    past = time.time() - 1
    expired = 0
    pools: list[Any] = []
    if kind in ("access", "all"):
        pools.append(req.state.tokens)
    if kind in ("refresh", "all"):
        pools.append(req.state.refresh_tokens)
    if kind in ("code", "all"):
        pools.append(req.state.codes)
    for pool in pools:
        for item in pool.values():
            if user is None or item.user == user:
                item.expires_at = past
                expired += 1
    return json_response({"expired": expired})


def _paging(req: Request, default_limit: int) -> tuple[int, int]:
    try:
        skip = int(req.q("skip") or req.q("since") or 0)
        limit = int(req.q("limit") or default_limit)
    except ValueError:
        raise SandboxError(
            400, "invalid_request", "since, skip and limit must be integers"
        ) from None
    if skip < 0 or not 0 < limit <= MAX_LIST:
        raise SandboxError(400, "invalid_request", f"limit must be 1..{MAX_LIST}, since >= 0")
    return skip, limit


@router.route("GET", "/outbox")
def outbox(req: Request) -> Response:
    """Delivered messages in arrival order: ``?to=&from=&since=&limit=``."""
    since, limit = _paging(req, 100)
    messages = req.state.outbox(req.q("to"), req.q("from"), since, limit)
    return json_response(
        {"messages": messages, "next_since": messages[-1]["seq"] if messages else since}
    )


@router.route("GET", "/offers")
def offers(req: Request) -> Response:
    """File offers, oldest first."""
    return json_response({"offers": req.state.offers})


@router.route("GET", "/files")
def files(req: Request) -> Response:
    """Gallery files with their sizes and SHA-256 (to check uploads byte for byte)."""
    users = req.state.users
    out = [
        {
            "FileId": f.file_id,
            "UserId": users.user_id(f.owner),
            "FolderName": f.folder,
            "FileName": f.name,
            "MimeType": f.mime,
            "Size": len(f.data),
            "sha256": hashlib.sha256(f.data).hexdigest(),
        }
        for f in req.state.files.values()
    ]
    return json_response({"files": out})


@router.route("GET", "/media/{user_id}")
def media(req: Request) -> Response:
    """A user's avatar and cover: size, type and SHA-256."""
    idx = _user(req)
    out: dict[str, Any] = {}
    for kind in ("avatar", "cover"):
        stored = req.state.users.get(idx, kind)
        out[kind] = (
            None
            if stored is None
            else {
                "size": len(stored[0]),
                "content_type": stored[1],
                "sha256": hashlib.sha256(stored[0]).hexdigest(),
            }
        )
    return json_response(out)


@router.route("GET", "/stats")
def stats(req: Request) -> Response:
    """Counts by route and status, deliveries, duplicates and per-second send counts."""
    return json_response(req.state.stats.public())


@router.route("GET", "/secrets")
def issued_secrets(req: Request) -> Response:
    """Every access token, refresh token and auth code issued since the last reset.

    For leak scans only: a test checks that none of them appears in Redis, logs or results.
    """
    state = req.state
    return json_response(
        {
            "access_tokens": list(state.tokens),
            "refresh_tokens": list(state.issued_refresh),
            "codes": list(state.codes),
            "client_secrets": [a.client_secret for a in state.apps.values()],
        }
    )


@router.route("GET", "/faults")
def get_faults(req: Request) -> Response:
    """The fault rules in force."""
    return json_response({"faults": [r.public() for r in req.state.faults]})


@router.route("PUT", "/faults")
def put_faults(req: Request) -> Response:
    """Set fault rules: ``{"<route pattern>": {error_rate, error_status, ...}, ...}``.

    A pattern is a glob on ``METHOD /path`` or ``/path``, e.g. ``POST /api/message/send*``.
    Setting a pattern replaces its rule; other patterns stay.
    """
    data = req.json_object()
    rules = {r.pattern: r for r in req.state.faults}
    for pattern, spec in data.items():
        if not isinstance(spec, dict):
            raise SandboxError(400, "invalid_request", f"fault for {pattern!r} must be an object")
        unknown = set(spec) - _FAULT_FIELDS
        if unknown:
            raise SandboxError(
                400, "invalid_request", f"unknown fault setting(s): {', '.join(sorted(unknown))}"
            )
        rule = FaultRule(pattern)
        for key, value in spec.items():
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int | float)
            ):
                raise SandboxError(400, "invalid_request", f"{key} must be a number")
            if key.endswith("_rate") and value is not None and not 0 <= value <= 1:
                raise SandboxError(400, "invalid_request", f"{key} must be between 0 and 1")
            if key in ("error_status", "burst", "times") and value is not None:
                value = int(value)
            setattr(rule, key, value)
        if not 400 <= rule.error_status <= 599:
            raise SandboxError(400, "invalid_request", "error_status must be 400..599")
        rules[pattern] = rule
    req.state.faults = list(rules.values())
    return json_response({"faults": [r.public() for r in req.state.faults]})


@router.route("DELETE", "/faults")
def clear_faults(req: Request) -> Response:
    """Clear every fault rule."""
    req.state.faults = []
    return json_response({"faults": []})


@router.route("GET", "/config")
def get_config(req: Request) -> Response:
    """Limits and lifetimes in force."""
    return json_response(dataclasses.asdict(req.state.config))


@router.route("PUT", "/config")
def put_config(req: Request) -> Response:
    """Change limits and lifetimes, e.g. ``{"token_ttl": 2, "max_recipients": 0}``."""
    data = req.json_object()
    cfg = req.state.config
    for key, value in data.items():
        if key not in _CONFIG_FIELDS:
            raise SandboxError(400, "invalid_request", f"unknown config key {key!r}")
        current = getattr(cfg, key)
        if isinstance(current, bool):
            if not isinstance(value, bool):
                raise SandboxError(400, "invalid_request", f"{key} must be true or false")
        elif isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise SandboxError(400, "invalid_request", f"{key} must be a non-negative number")
        setattr(cfg, key, type(current)(value))
    return json_response(dataclasses.asdict(cfg))
