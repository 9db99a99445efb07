"""The global rate limit: one GCRA limiter per (client id, API class), shared by every worker.

Celery's ``rate_limit`` is per worker instance, so it cannot hold a global limit; this one keeps
its state in Redis and decides atomically in a Lua script. :class:`MemoryRateLimiter` is the
in-process twin (one process, tests); both answer the same questions the same way:

* ``acquire(key, rate, burst, max_wait)`` -> ``(reserved, wait)``. If the wait is at most
  ``max_wait`` a slot is reserved and the caller goes after ``wait`` seconds (sleeping is fine,
  it is short). Otherwise nothing is reserved and the caller should come back after ``wait``
  (a Celery countdown that does not use up the retry budget).
* ``pause(key, seconds)``: after a 429 with Retry-After every worker waits until then (also
  when no rate is configured).

At most ``burst`` requests go at once, then one per ``1/rate`` seconds: in any one-second
window no more than ``rate + burst`` requests.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from typing import Any

# KEYS[1] = TAT key, KEYS[2] = pause key; ARGV = interval_ms, burst, max_wait_ms
_GCRA = """
local t = redis.call('TIME')
local now = t[1] * 1000 + t[2] / 1000
local pause = redis.call('PTTL', KEYS[2])
if pause > 0 then
  return {0, tostring(pause)}
end
local interval = tonumber(ARGV[1])
if interval <= 0 then
  return {1, '0'}
end
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local allow_at = tat - interval * (burst - 1)
local wait = allow_at - now
if wait < 0 then wait = 0 end
if wait > tonumber(ARGV[3]) then
  return {0, tostring(wait)}
end
local new_tat = tat + interval
redis.call('SET', KEYS[1], tostring(new_tat), 'PX', math.ceil(new_tat - now + 1000))
return {1, tostring(wait)}
"""


class RateLimiter(ABC):
    """Decides whether a request may go now, and for how long to wait otherwise."""

    @abstractmethod
    def acquire(self, key: str, rate: float, burst: int, max_wait: float) -> tuple[bool, float]:
        """``(reserved, wait_seconds)`` for one request under ``key``."""

    @abstractmethod
    def pause(self, key: str, seconds: float) -> None:
        """Make every caller under ``key`` wait ``seconds`` (a 429's Retry-After)."""


class RedisRateLimiter(RateLimiter):
    """The limiter in Redis: atomic (Lua), shared by every process on every machine."""

    def __init__(self, redis: Any, namespace: str = "mxit:rl") -> None:
        self.redis = redis
        self.namespace = namespace
        self._script = redis.register_script(_GCRA)

    def acquire(self, key: str, rate: float, burst: int, max_wait: float) -> tuple[bool, float]:
        """One atomic GCRA decision in Redis."""
        interval_ms = 1000.0 / rate if rate > 0 else 0.0
        keys = [f"{self.namespace}:{key}", f"{self.namespace}:{key}:pause"]
        reserved, wait = self._script(
            keys=keys, args=[interval_ms, max(int(burst), 1), max_wait * 1000]
        )
        return bool(int(reserved)), float(wait) / 1000

    def pause(self, key: str, seconds: float) -> None:
        """Set the shared pause key; a longer pause already set is kept."""
        pause_key = f"{self.namespace}:{key}:pause"
        ms = int(seconds * 1000)
        if ms <= 0:
            return
        current = self.redis.pttl(pause_key)
        if current is None or current < ms:
            self.redis.set(pause_key, "1", px=ms)


class MemoryRateLimiter(RateLimiter):
    """The same limiter in this process's memory (thread-safe)."""

    def __init__(self, clock: Any = time.time) -> None:
        self._clock = clock
        self._tat: dict[str, float] = {}
        self._paused: dict[str, float] = {}
        self._lock = threading.Lock()

    def acquire(self, key: str, rate: float, burst: int, max_wait: float) -> tuple[bool, float]:
        """One GCRA decision under a lock."""
        with self._lock:
            now = self._clock()
            until = self._paused.get(key, 0.0)
            if until > now:
                return False, until - now
            if rate <= 0:
                return True, 0.0
            interval = 1.0 / rate
            tat = max(self._tat.get(key, 0.0), now)
            wait = max(0.0, tat - interval * (max(int(burst), 1) - 1) - now)
            if wait > max_wait:
                return False, wait
            self._tat[key] = tat + interval
            return True, wait

    def pause(self, key: str, seconds: float) -> None:
        """Pause ``key`` until now + ``seconds`` (a longer pause is kept)."""
        with self._lock:
            until = self._clock() + seconds
            self._paused[key] = max(self._paused.get(key, 0.0), until)
