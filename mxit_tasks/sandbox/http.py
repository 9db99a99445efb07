"""A tiny, fast HTTP layer for the sandbox: requests, responses and a segment router.

The sandbox serves raw ASGI under uvicorn (uvloop + httptools): no framework sits between a
request and its handler, which keeps it far from being the bottleneck of a benchmark.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from mxit_tasks.sandbox.state import SandboxError, State, Token


@dataclass(slots=True)
class Request:
    """One HTTP request as the handlers see it. ``segments`` are percent-decoded one by one."""

    method: str
    path: str
    segments: list[str]
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    state: State
    params: dict[str, str] = field(default_factory=dict)
    token: Token | None = None

    def q(self, name: str, default: str | None = None) -> str | None:
        """A query parameter; names match case-insensitively (contract §3.1)."""
        return self.query.get(name.lower(), default)

    def json(self) -> Any:
        """The body decoded as JSON, or a 400 naming the problem."""
        if not self.body:
            raise SandboxError(400, "invalid_request", "request body is empty; JSON expected")
        try:
            return json.loads(self.body)
        except (UnicodeDecodeError, ValueError) as exc:
            raise SandboxError(
                400, "invalid_json", f"request body is not valid JSON: {exc}"
            ) from None

    def json_object(self) -> dict[str, Any]:
        """The body as a JSON object."""
        data = self.json()
        if not isinstance(data, dict):
            raise SandboxError(400, "invalid_request", "request body must be a JSON object")
        return data

    def json_string(self, what: str) -> str:
        """The body as a single JSON string literal (set status, renames)."""
        data = self.json()
        if not isinstance(data, str):
            raise SandboxError(400, "invalid_request", f"{what} must be a JSON string")
        return data

    def form(self) -> dict[str, str]:
        """The body as an x-www-form-urlencoded form."""
        try:
            return dict(parse_qsl(self.body.decode("utf-8"), keep_blank_values=True))
        except UnicodeDecodeError:
            raise SandboxError(400, "invalid_request", "form body is not UTF-8") from None


@dataclass(slots=True)
class Response:
    """What a handler answers."""

    status: int = 200
    body: bytes = b""
    content_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON response."""
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Response(status, body, "application/json; charset=utf-8", headers or {})


def error_response(exc: SandboxError) -> Response:
    """The JSON error body every sandbox error uses."""
    return json_response(exc.body(), exc.status, exc.headers)


Handler = Callable[[Request], Response]


@dataclass(slots=True)
class Route:
    """A method and a path template such as ``/user/media/{folder}``."""

    method: str
    template: str
    parts: tuple[str, ...]
    handler: Handler


class Router:
    """Routes by literal segments (case-insensitive) and ``{name}`` placeholders."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.routes: list[Route] = []

    def route(self, method: str, template: str) -> Callable[[Handler], Handler]:
        """Decorator: register ``handler`` for ``method template``."""

        def register(handler: Handler) -> Handler:
            parts = tuple(p for p in template.strip("/").split("/") if p)
            self.routes.append(Route(method, template, parts, handler))
            return handler

        return register

    def match(self, method: str, segments: list[str]) -> tuple[Route, dict[str, str]]:
        """Find the route for a request, or raise 404 / 405."""
        allowed: list[str] = []
        for route in self.routes:
            params = _match_parts(route.parts, segments)
            if params is None:
                continue
            if route.method == method:
                return route, params
            allowed.append(route.method)
        if allowed:
            raise SandboxError(
                405,
                "method_not_allowed",
                f"{method} is not allowed here; use {', '.join(sorted(set(allowed)))}",
                {"Allow": ", ".join(sorted(set(allowed)))},
            )
        raise SandboxError(404, "not_found", "no such endpoint")


def _match_parts(parts: tuple[str, ...], segments: list[str]) -> dict[str, str] | None:
    if len(parts) != len(segments):
        return None
    params: dict[str, str] = {}
    for part, seg in zip(parts, segments, strict=True):
        if part.startswith("{"):
            params[part[1:-1]] = seg
        elif part != seg.lower():
            return None
    return params
