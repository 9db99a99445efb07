"""Per-process singletons built from the settings: Redis, the client, the limiter and stores.

Tasks and the CLI use these; plain modules take their dependencies as arguments instead.
"""

from __future__ import annotations

import functools
import os
import time

import redis as redis_lib

from mxit_tasks.broadcast import Broadcasts
from mxit_tasks.client import Mxit
from mxit_tasks.dlq import DeadLetters
from mxit_tasks.payloads import PayloadStore
from mxit_tasks.ratelimit import RedisRateLimiter
from mxit_tasks.redis_conn import get_redis
from mxit_tasks.settings import Settings, parse_rate_limits


@functools.cache
def _settings(_pid: int) -> Settings:
    return Settings.from_env()


def settings() -> Settings:
    """The settings of this process (read from the environment once)."""
    return _settings(os.getpid())


def redis() -> redis_lib.Redis:
    """This process's Redis client for ``REDIS_URL``."""
    return get_redis(settings().redis_url)


@functools.cache
def _client(_pid: int) -> Mxit:
    return Mxit.from_settings(settings(), redis=redis())


def client() -> Mxit:
    """The process-wide client: thread-safe, tokens shared through Redis."""
    return _client(os.getpid())


def limiter() -> RedisRateLimiter:
    """The global rate limiter."""
    return _limiter(os.getpid())


@functools.cache
def _limiter(_pid: int) -> RedisRateLimiter:
    return RedisRateLimiter(redis())


RATE_OVERRIDES = "mxit:ratelimits"  # hash: class -> "N/s"; "burst" -> N (operators, at run time)
_rates: dict[int, tuple[float, dict[str, float], int]] = {}


def rate_for(api_class: str) -> tuple[float, int]:
    """``(requests per second, burst)`` for an API class: a run-time override in Redis
    (``mxit-tasks ratelimit set``), else ``MXIT_RATE_LIMITS``. Re-read at most once a second."""
    now = time.monotonic()
    cached = _rates.get(os.getpid())
    if cached is None or now - cached[0] > 1.0:
        s = settings()
        limits = parse_rate_limits(s.rate_limits)
        burst = s.rate_burst
        try:
            raw = {
                (k.decode() if isinstance(k, bytes) else k): (
                    v.decode() if isinstance(v, bytes) else v
                )
                for k, v in redis().hgetall(RATE_OVERRIDES).items()
            }
        except Exception:  # Redis down: keep the configured limits
            raw = {}
        burst = int(raw.pop("burst", burst) or 0)
        limits.update(parse_rate_limits(",".join(f"{k}={v}" for k, v in raw.items())))
        cached = (now, limits, burst)
        _rates[os.getpid()] = cached
    rate = cached[1].get(api_class, 0.0)
    return rate, cached[2] or max(int(rate), 1)


def broadcasts() -> Broadcasts:
    """The broadcast store."""
    return _broadcasts(os.getpid())


@functools.cache
def _broadcasts(_pid: int) -> Broadcasts:
    s = settings()
    return Broadcasts(redis(), ttl=s.broadcast_ttl, lease=s.send_lease)


def payloads() -> PayloadStore:
    """The upload payload store."""
    s = settings()
    return PayloadStore(redis(), ttl=s.payload_ttl, blob_dir=s.blob_dir)


def dead_letters() -> DeadLetters:
    """The dead-letter store."""
    s = settings()
    return DeadLetters(redis(), s.dlq_maxlen, s.dlq_retention, payloads())
