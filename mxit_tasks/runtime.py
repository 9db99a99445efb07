"""Per-process singletons built from the settings: Redis, the client, the limiter and stores.

Tasks and the CLI use these; plain modules take their dependencies as arguments instead.
"""

from __future__ import annotations

import functools
import os

import redis as redis_lib

from mxit_tasks.broadcast import Broadcasts
from mxit_tasks.client import Mxit
from mxit_tasks.dlq import DeadLetters
from mxit_tasks.payloads import PayloadStore
from mxit_tasks.ratelimit import RedisRateLimiter
from mxit_tasks.redis_conn import get_redis
from mxit_tasks.settings import Settings


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
