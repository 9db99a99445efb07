"""``mxit-tasks doctor``: checks an operator runs first when something is wrong."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable
from typing import Any

import requests


def _check(name: str, fn: Callable[[], str]) -> dict[str, Any]:
    try:
        return {"check": name, "ok": True, "detail": fn()}
    except Exception as exc:  # each check reports its own failure in one line
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return {"check": name, "ok": False, "detail": f"{type(exc).__name__}: {text}"[:200]}


def run_checks(timeout: float = 3.0) -> list[dict[str, Any]]:
    """Every check, in order; each row is ``{check, ok, detail}``."""
    import redis as redis_lib

    from mxit_tasks import runtime
    from mxit_tasks.celery_app import app

    s = runtime.settings()
    rows = []

    def ping(url: str) -> str:
        r = redis_lib.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
        r.ping()
        policy = r.config_get("maxmemory-policy").get("maxmemory-policy", "?")
        warn = "" if policy == "noeviction" else f" (maxmemory-policy {policy}: use noeviction)"
        return f"{_safe(url)} answers{warn}"

    rows.append(_check("redis", lambda: ping(s.redis_url)))

    def broker() -> str:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=timeout)
        return f"{_safe(s.broker_url)} connected"

    rows.append(_check("broker", broker))
    rows.append(
        _check(
            "result backend",
            lambda: (
                ping(s.result_backend)
                if s.result_backend.startswith("redis")
                else "not Redis: not checked"
            ),
        )
    )

    def reach(url: str) -> Callable[[], str]:
        def go() -> str:
            resp = requests.get(url, timeout=timeout)
            return f"{url} -> HTTP {resp.status_code}"

        return go

    rows.append(_check("api reachable", reach(s.api_url + "/user/public/statusmessage/x")))
    rows.append(_check("auth reachable", reach(s.auth_url + "/authorize")))

    def credentials() -> str:
        if not s.client_id or not s.client_secret:
            raise RuntimeError("MXIT_CLIENT_ID / MXIT_CLIENT_SECRET are not set")
        resp = requests.post(
            s.auth_url + "/token",
            auth=(s.client_id, s.client_secret),
            data={"grant_type": "client_credentials", "scope": "profile/public"},
            timeout=timeout,
        )
        if resp.status_code != 200:
            raise RuntimeError(f"/token answered {resp.status_code}: {resp.text[:100]}")
        date = resp.headers.get("Date")
        rows_skew.append(date)
        return f"client {s.client_id[:8]}... gets app tokens"

    rows_skew: list[str | None] = []
    rows.append(_check("credentials", credentials))

    def skew() -> str:
        date = (
            rows_skew[0]
            if rows_skew
            else requests.get(s.auth_url, timeout=timeout).headers.get("Date")
        )
        if not date:
            return "the server sent no Date header: not checked"
        server = email.utils.parsedate_to_datetime(date).timestamp()
        diff = time.time() - server
        if abs(diff) > 30:
            raise RuntimeError(f"local clock is {diff:+.0f}s off the auth server")
        return f"{diff:+.1f}s"

    rows.append(_check("clock skew", skew))

    def workers() -> str:
        replies = app.control.ping(timeout=timeout)
        if not replies:
            raise RuntimeError("no worker answered a ping")
        return ", ".join(sorted(name for reply in replies for name in reply))

    rows.append(_check("workers", workers))
    return rows


def _safe(url: str) -> str:
    """A URL without its password."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url
