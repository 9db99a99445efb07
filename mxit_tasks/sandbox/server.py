"""Run the sandbox under uvicorn, in the foreground (CLI) or in a thread on port 0 (tests)."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

import uvicorn

from mxit_tasks.sandbox.app import SandboxApp
from mxit_tasks.sandbox.state import App, State


@dataclass(frozen=True)
class SandboxURLs:
    """Where a running sandbox answers."""

    base: str

    @property
    def api(self) -> str:
        """Base URL of the REST API (stands in for https://api.mxit.com)."""
        return f"{self.base}/api"

    @property
    def auth(self) -> str:
        """Base URL of the OAuth2 server (stands in for https://auth.mxit.com)."""
        return f"{self.base}/auth"

    @property
    def control(self) -> str:
        """Base URL of the inspection and control API."""
        return f"{self.base}/_emulator"


class SandboxServer:
    """A sandbox served by uvicorn (uvloop + httptools) in a background thread."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        users: int = 1000,
        apps: list[App] | None = None,
        log_level: str = "warning",
    ) -> None:
        self.state = State(users=users, apps=apps)
        config = uvicorn.Config(
            SandboxApp(self.state),
            host=host,
            port=port,
            log_level=log_level,
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=1,
            timeout_keep_alive=30,
            backlog=4096,
        )
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None
        self.host = host

    def start(self, timeout: float = 10.0) -> SandboxURLs:
        """Start serving and return the URLs once the socket is bound."""
        self._thread = threading.Thread(target=self._server.run, name="mxit-sandbox", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the Mxit sandbox did not start (is the port free?)")
            time.sleep(0.01)
        port = self._server.servers[0].sockets[0].getsockname()[1]
        return SandboxURLs(f"http://{self.host}:{port}")

    def stop(self) -> None:
        """Stop serving and wait for the thread."""
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)


logging.getLogger("uvicorn.error").propagate = True
