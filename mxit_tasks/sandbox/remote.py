"""A small client for the sandbox's ``/_emulator`` API, used by tests, the CLI and benchmarks."""

from __future__ import annotations

from typing import Any

import requests


class SandboxControl:
    """Inspect and steer a running sandbox through ``/_emulator``."""

    def __init__(self, base_url: str, timeout: float = 30.0) -> None:
        self.base = base_url.rstrip("/")
        self.session = requests.Session()
        self.timeout = timeout

    def call(self, method: str, path: str, json: Any = None, **params: Any) -> Any:
        """Call ``/_emulator{path}`` and return the decoded JSON; raise on an error status."""
        resp = self.session.request(
            method, f"{self.base}/_emulator{path}", json=json, params=params, timeout=self.timeout
        )
        if resp.status_code >= 400:
            raise RuntimeError(f"sandbox control {method} {path}: {resp.status_code} {resp.text}")
        return resp.json()

    def reset(self) -> None:
        """Forget all state and faults."""
        self.call("POST", "/reset")

    def add_users(self, count: int | None = None, users: list[dict[str, Any]] | None = None) -> Any:
        """Create generated users (``count``) or explicit ones."""
        return self.call("POST", "/users", {"count": count} if users is None else {"users": users})

    def change_user(self, user_id: str, **fields: Any) -> Any:
        """Change a user behind the API's back (status, display_name, gone, apps...)."""
        return self.call("PUT", f"/users/{user_id}", fields)

    def consent(self, client_id: str, user_id: str, scope: str, redirect_uri: str) -> str:
        """Auto-approve consent and return the authorization code."""
        body = {"client_id": client_id, "user_id": user_id, "scope": scope}
        return self.call("POST", "/consent", {**body, "redirect_uri": redirect_uri})["code"]

    def expire(self, kind: str = "access", user_id: str | None = None) -> int:
        """Expire tokens now; returns how many."""
        return self.call("POST", "/expire", {"kind": kind, "user_id": user_id})["expired"]

    def outbox(self, **params: Any) -> list[dict[str, Any]]:
        """Delivered messages (``to``, ``from``, ``since``, ``limit``)."""
        return self.call("GET", "/outbox", **params)["messages"]

    def stats(self) -> dict[str, Any]:
        """Counters."""
        return self.call("GET", "/stats")

    def route_count(self, route: str, status: int | None = None) -> int:
        """How many requests a route answered (with one status, or all)."""
        counts = self.stats()["routes"].get(route, {})
        return counts.get(str(status), 0) if status is not None else sum(counts.values())

    def faults(self, rules: dict[str, dict[str, Any]]) -> Any:
        """Set fault rules by route pattern."""
        return self.call("PUT", "/faults", rules)

    def clear_faults(self) -> None:
        """Clear every fault rule."""
        self.call("DELETE", "/faults")

    def config(self, **values: Any) -> dict[str, Any]:
        """Change limits and lifetimes."""
        return self.call("PUT", "/config", values)

    def offers(self) -> list[dict[str, Any]]:
        """File offers."""
        return self.call("GET", "/offers")["offers"]

    def files(self) -> list[dict[str, Any]]:
        """Gallery files with SHA-256."""
        return self.call("GET", "/files")["files"]

    def media(self, user_id: str) -> dict[str, Any]:
        """A user's avatar and cover digests."""
        return self.call("GET", f"/media/{user_id}")
