"""The one HTTP path of the client: a pooled ``requests.Session`` per client and thread.

Errors become the exception tree of :mod:`mxit_tasks.errors`. Only connect failures (the request
never left) are retried here, by tenacity, at most twice with short waits; everything else is the
caller's decision (see :func:`mxit_tasks.retry.delay_for`). One INFO log line per call: method,
path, status, duration. Never a token: the Authorization header is not logged.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import requests
import urllib3
from requests.adapters import HTTPAdapter
from tenacity import (
    retry,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from mxit_tasks.errors import ConnectError, ConnectionLost, Timeout, api_error

log = logging.getLogger("mxit_tasks.client")
USER_AGENT = "mxit-tasks/0.1 (+python-requests)"
_UNSET: Any = object()


def segment(value: str) -> str:
    """Quote one path segment so that ``/ ? #`` and non-ASCII can never change the route."""
    return quote(value, safe="")


@dataclass(frozen=True)
class HttpConfig:
    """Where and how to send requests."""

    api_url: str
    auth_url: str
    connect_timeout: float = 3.05
    read_timeout: float = 30.0
    verify: bool = True


class Requestor:
    """Sends requests to the API or auth server; thread-safe (one Session per thread)."""

    def __init__(self, config: HttpConfig) -> None:
        self.config = config
        self._local = threading.local()

    @property
    def session(self) -> requests.Session:
        """This thread's pooled session."""
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            adapter = HTTPAdapter(pool_connections=4, pool_maxsize=16, max_retries=0)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            session.headers.update({"User-Agent": USER_AGENT, "Accept": "application/json"})
            session.verify = self.config.verify
            self._local.session = session
        return session

    def close(self) -> None:
        """Close this thread's session."""
        session = getattr(self._local, "session", None)
        if session is not None:
            session.close()
            self._local.session = None

    def send(
        self,
        method: str,
        path: str,
        *,
        server: str = "api",
        token: str | None = None,
        params: Mapping[str, str] | None = None,
        json_body: Any = _UNSET,
        data: bytes | None = None,
        content_type: str | None = None,
        basic_auth: tuple[str, str] | None = None,
        form: Mapping[str, str] | None = None,
        stream: bool = False,
    ) -> requests.Response:
        """Send one request and return the 2xx response, or raise the matching error."""
        base = self.config.api_url if server == "api" else self.config.auth_url
        url = base.rstrip("/") + path
        headers: dict[str, str] = {}
        body: Any = None
        if json_body is not _UNSET:
            body = json.dumps(json_body, ensure_ascii=False).encode("utf-8")
            headers["Content-Type"] = "application/json; charset=utf-8"
        elif data is not None:
            body = data
            headers["Content-Type"] = content_type or "application/octet-stream"
        elif form is not None:
            body = form
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return self._send_with_connect_retry(
            method, path, url, headers, body, params, basic_auth, stream
        )

    @retry(
        retry=retry_if_exception_type(ConnectError),
        stop=stop_after_attempt(3),
        wait=wait_exponential(multiplier=0.1, max=1.0),
        reraise=True,
    )
    def _send_with_connect_retry(
        self,
        method: str,
        path: str,
        url: str,
        headers: dict[str, str],
        body: Any,
        params: Mapping[str, str] | None,
        basic_auth: tuple[str, str] | None,
        stream: bool,
    ) -> requests.Response:
        started = time.perf_counter()
        try:
            resp = self.session.request(
                method,
                url,
                headers=headers,
                data=body,
                params=params,
                auth=basic_auth,
                timeout=(self.config.connect_timeout, self.config.read_timeout),
                stream=stream,
            )
        except requests.ConnectTimeout as exc:
            raise ConnectError(method, path, _describe(exc)) from None
        except requests.Timeout as exc:
            raise Timeout(method, path, _describe(exc)) from None
        except requests.ConnectionError as exc:
            if _never_sent(exc):
                raise ConnectError(method, path, _describe(exc)) from None
            raise ConnectionLost(method, path, _describe(exc)) from None
        except (requests.exceptions.ChunkedEncodingError, urllib3.exceptions.HTTPError) as exc:
            raise ConnectionLost(method, path, _describe(exc)) from None
        elapsed = (time.perf_counter() - started) * 1000
        log.info(
            "mxit %s %s -> %s in %.1fms",
            method,
            path,
            resp.status_code,
            elapsed,
            extra={"mxit_method": method, "mxit_path": path, "mxit_status": resp.status_code},
        )
        if 200 <= resp.status_code < 300:
            return resp
        try:
            payload: Any = resp.json()
        except ValueError:
            payload = resp.text
        raise api_error(resp.status_code, payload, method, path, resp.headers.get("Retry-After"))


def _never_sent(exc: requests.ConnectionError) -> bool:
    """Whether a ConnectionError happened while connecting (so the request never left)."""
    reason = exc.args[0] if exc.args else None
    inner = getattr(reason, "reason", reason)
    return isinstance(inner, urllib3.exceptions.NewConnectionError | ConnectionRefusedError)


def _describe(exc: BaseException) -> str:
    """A short description of a transport failure, without URLs' query strings."""
    text = str(exc)
    return text.split("?")[0][:300] if text else type(exc).__name__
