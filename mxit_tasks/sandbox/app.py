"""The sandbox as one ASGI application: ``/auth``, ``/api`` and ``/_emulator`` under one port."""

from __future__ import annotations

import asyncio
import logging
import math
from typing import Any
from urllib.parse import parse_qsl, unquote

from mxit_tasks.sandbox import api, auth, control, ui  # noqa: F401 - ui registers /_emulator/ui
from mxit_tasks.sandbox.http import Request, Response, Router, error_response, json_response
from mxit_tasks.sandbox.state import SandboxError, State

log = logging.getLogger("mxit_tasks.sandbox")
_ROUTERS: dict[str, Router] = {"auth": auth.router, "api": api.router, "_emulator": control.router}
_READ_LIMIT_SLACK = 64 * 1024


class SandboxApp:
    """ASGI entry point. Handlers are synchronous and run on the event loop: state needs no locks."""

    def __init__(self, state: State) -> None:
        self.state = state

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """Serve one ASGI connection scope."""
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        state = self.state
        method: str = scope["method"]
        raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
        path_text = raw_path.decode("utf-8", "replace")
        segments = [unquote(s) for s in path_text.split("/")[1:]]
        if segments and segments[-1] == "":
            segments.pop()  # trailing slash: /message/send/ and /message/send are one route
        area = segments[0] if segments else ""
        router = _ROUTERS.get(area)
        path = scope["path"]
        drop = False
        route_name = f"{method} {path}"
        try:
            body = await _read_body(receive, state.config.max_upload_bytes + _READ_LIMIT_SLACK)
            req = Request(
                method,
                path,
                segments[1:],
                {k.lower(): v for k, v in parse_qsl(scope["query_string"].decode("latin-1"))},
                {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]},
                body,
                state,
            )
            if router is None:
                if area == "" and method == "GET":
                    raise _Redirect("/_emulator/ui")
                raise SandboxError(404, "not_found", "paths start with /auth, /api or /_emulator")
            route, req.params = router.match(method, req.segments)
            route_name = f"{method} /{area}{route.template}"
            if area != "_emulator":
                drop = await self._faults(req)
            response = route.handler(req)
        except SandboxError as exc:
            response = error_response(exc)
        except _Redirect as redirect:
            response = Response(302, b"", None, {"Location": redirect.location})
        except Exception:  # a bug: answer 500 with a JSON body, and log it
            log.exception("sandbox handler failed: %s %s", method, path)
            response = json_response(
                {"error": "internal_error", "error_description": "sandbox bug; see its log"}, 500
            )
        if area != "_emulator":
            state.stats.count(route_name, response.status)
        # A dropped response promises one byte more than it sends, then the connection closes:
        # the client sees a broken response after the server applied the request.
        length = len(response.body) + (1 if drop else 0)
        headers = [(b"content-length", str(length).encode())]
        if response.content_type:
            headers.append((b"content-type", response.content_type.encode()))
        headers.extend((k.lower().encode(), str(v).encode()) for k, v in response.headers.items())
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        if drop:
            return  # uvicorn closes the connection: "returned without completing response"
        await send({"type": "http.response.body", "body": response.body})

    async def _faults(self, req: Request) -> bool:
        """Apply injected faults before the handler; return whether to drop after processing."""
        state = self.state
        cfg = state.config
        client = _client_key(req)
        if cfg.rate_limit_per_s > 0 and req.path.startswith("/api"):
            wait = state.take_token(("*", client), cfg.rate_limit_per_s, cfg.rate_limit_burst)
            if wait > 0:
                raise _rate_limited(wait)
        drop = False
        for rule in state.faults_for(req.method, req.path):
            if rule.rate_limit_per_s > 0:
                wait = state.take_token((rule.pattern, client), rule.rate_limit_per_s, rule.burst)
                if wait > 0:
                    raise _rate_limited(wait if rule.retry_after is None else rule.retry_after)
            budget = rule.times is None or rule.applied < rule.times
            rng = state.rng
            if budget and rule.error_rate and rng.random() < rule.error_rate:
                rule.applied += 1
                headers = {}
                if rule.error_status == 429 or rule.retry_after is not None:
                    headers["Retry-After"] = _retry_after_value(rule.retry_after or 1)
                raise SandboxError(
                    rule.error_status,
                    "injected_fault",
                    f"fault injected on {rule.pattern}",
                    headers,
                )
            if budget and rule.timeout_rate and rng.random() < rule.timeout_rate:
                rule.applied += 1
                await asyncio.sleep(rule.hold_ms / 1000)
                raise SandboxError(504, "injected_timeout", "held past the client's timeout")
            if rule.latency_ms:
                await asyncio.sleep(rule.latency_ms / 1000)
            if (
                budget
                and rule.drop_after_processing_rate
                and rng.random() < rule.drop_after_processing_rate
            ):
                rule.applied += 1
                drop = True
        return drop


class _Redirect(Exception):
    def __init__(self, location: str) -> None:
        super().__init__(location)
        self.location = location


def _client_key(req: Request) -> str:
    header = req.headers.get("authorization", "")
    token = req.state.tokens.get(header.partition(" ")[2].strip())
    return token.client_id if token else "anonymous"


def _retry_after_value(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))


def _rate_limited(wait: float) -> SandboxError:
    return SandboxError(
        429,
        "rate_limited",
        f"rate limit exceeded; retry in {wait:.2f}s",
        {"Retry-After": _retry_after_value(wait)},
    )


async def _read_body(receive: Any, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise SandboxError(413, "payload_too_large", f"request body is over {limit} bytes")
        chunks.append(chunk)
        more = message.get("more_body", False)
    return b"".join(chunks)
