"""The global rate limiter and its in-memory twin: the same tests against both."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
import redis

from mxit_tasks.ratelimit import MemoryRateLimiter, RateLimiter, RedisRateLimiter
from tests.conftest import TEST_REDIS_URL


@pytest.fixture(params=["memory", "redis"])
def limiter(request: pytest.FixtureRequest) -> Iterator[RateLimiter]:
    """Each implementation in turn."""
    if request.param == "memory":
        yield MemoryRateLimiter()
        return
    r = redis.Redis.from_url(TEST_REDIS_URL)
    namespace = f"mxit:test-rl:{uuid.uuid4().hex}"
    yield RedisRateLimiter(r, namespace=namespace)
    for key in r.scan_iter(match=namespace + "*"):
        r.delete(key)


def test_a_burst_goes_at_once_then_one_per_interval(limiter: RateLimiter) -> None:
    decisions = [limiter.acquire("k", rate=10, burst=3, max_wait=0) for _ in range(4)]
    assert [d[0] for d in decisions] == [True, True, True, False]
    assert all(d[1] == 0 for d in decisions[:3])
    assert 0.05 < decisions[3][1] <= 0.1


def test_short_waits_are_reserved_in_order(limiter: RateLimiter) -> None:
    waits = [limiter.acquire("k", rate=10, burst=1, max_wait=1.0) for _ in range(4)]
    assert all(reserved for reserved, _ in waits)
    assert [round(w, 1) for _, w in waits] == [0.0, 0.1, 0.2, 0.3]


def test_a_long_wait_reserves_nothing(limiter: RateLimiter) -> None:
    for _ in range(3):
        limiter.acquire("k", rate=2, burst=1, max_wait=10)
    reserved, wait = limiter.acquire("k", rate=2, burst=1, max_wait=0.5)
    assert not reserved and 0.9 < wait <= 1.5
    # nothing was reserved: asking again gives the same answer, not a later one
    assert limiter.acquire("k", rate=2, burst=1, max_wait=0.5)[1] == pytest.approx(wait, abs=0.05)


def test_keys_are_independent(limiter: RateLimiter) -> None:
    assert limiter.acquire("a", rate=1, burst=1, max_wait=0)[0]
    assert not limiter.acquire("a", rate=1, burst=1, max_wait=0)[0]
    assert limiter.acquire("b", rate=1, burst=1, max_wait=0)[0]


def test_pause_holds_everyone_even_without_a_rate(limiter: RateLimiter) -> None:
    limiter.pause("k", 2.0)
    reserved, wait = limiter.acquire("k", rate=0, burst=1, max_wait=5)
    assert not reserved and 1.5 < wait <= 2.0
    limiter.pause("k", 0.5)  # a shorter pause never shortens a longer one
    assert limiter.acquire("k", rate=100, burst=10, max_wait=0)[1] > 1.5


def test_no_rate_means_go(limiter: RateLimiter) -> None:
    assert all(limiter.acquire("k", rate=0, burst=1, max_wait=0)[0] for _ in range(100))


def test_never_more_than_rate_plus_burst_in_any_second(limiter: RateLimiter) -> None:
    # Callers that honour the answers (sleep when reserved), for 1.5 s of real time.
    grants: list[float] = []
    deadline = time.monotonic() + 1.5
    while time.monotonic() < deadline:
        reserved, wait = limiter.acquire("k", rate=20, burst=5, max_wait=0.2)
        if reserved:
            time.sleep(wait)
            grants.append(time.monotonic())
        else:
            time.sleep(min(wait, 0.05))
    worst = max(sum(1 for g in grants if start <= g < start + 1.0) for start in grants)
    assert 20 <= worst <= 25
