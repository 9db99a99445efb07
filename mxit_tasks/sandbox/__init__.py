"""The Mxit sandbox: a faithful, fast in-memory emulator of auth.mxit.com and api.mxit.com."""

from mxit_tasks.sandbox.server import SandboxServer, SandboxURLs
from mxit_tasks.sandbox.state import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DEMO_SERVICE_NAME,
    App,
    State,
)

__all__ = [
    "DEMO_CLIENT_ID",
    "DEMO_CLIENT_SECRET",
    "DEMO_SERVICE_NAME",
    "App",
    "SandboxServer",
    "SandboxURLs",
    "State",
]
