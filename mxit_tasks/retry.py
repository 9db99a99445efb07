"""The retry decision, as a pure function: ``delay_for(exc, attempt)``."""

from __future__ import annotations

import random
from collections.abc import Callable

from mxit_tasks.errors import ConnectError, ConnectionLost, RateLimited, ServerError, Timeout

DEFAULT_BASE = 2.0  # seconds: first backoff window
DEFAULT_CAP = 600.0  # seconds: no single wait is longer (must stay below the visibility timeout)

RETRYABLE = (RateLimited, ServerError, ConnectError, Timeout, ConnectionLost)


def delay_for(
    exc: BaseException,
    attempt: int,
    *,
    base: float = DEFAULT_BASE,
    cap: float = DEFAULT_CAP,
    rand: Callable[[], float] = random.random,
) -> float | None:
    """Seconds to wait before retry number ``attempt`` (0-based), or None: do not retry.

    Retry-After wins (429, or any answer that carries it); otherwise exponential backoff with
    full jitter, capped. 400/401/403/404, validation and authorization errors return None.
    """
    if not isinstance(exc, RETRYABLE):
        return None
    retry_after = getattr(exc, "retry_after", None)
    if retry_after is not None:
        return min(max(retry_after, 0.0), cap)
    window = min(cap, base * (2 ** max(attempt, 0)))
    return rand() * window
