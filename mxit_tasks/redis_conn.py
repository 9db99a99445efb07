"""One Redis connection pool per process (rebuilt after fork), for every Redis-backed part."""

from __future__ import annotations

import os
import threading

import redis

_lock = threading.Lock()
_clients: dict[tuple[int, str], redis.Redis] = {}


def get_redis(url: str) -> redis.Redis:
    """A shared client for ``url`` in this process; reconnects itself after dropped connections."""
    key = (os.getpid(), url)
    client = _clients.get(key)
    if client is None:
        with _lock:
            client = _clients.get(key)
            if client is None:
                client = redis.Redis.from_url(
                    url,
                    socket_keepalive=True,
                    socket_connect_timeout=5,
                    health_check_interval=10,
                    retry_on_timeout=True,
                )
                _clients[key] = client
    return client
