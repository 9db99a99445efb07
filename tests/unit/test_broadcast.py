"""The broadcast store without Celery: staging, the send marker protocol, counters."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from mxit_tasks.broadcast import Broadcasts, new_id
from tests.conftest import TEST_REDIS_URL


@pytest.fixture
def store() -> Iterator[Broadcasts]:
    """A store on the real Redis; its keys are removed afterwards."""
    r = redis.Redis.from_url(TEST_REDIS_URL)
    yield Broadcasts(r, ttl=600, lease=1)
    for key in r.scan_iter(match="mxit:bc:*"):
        r.delete(key)


def make(store: Broadcasts, ids: list, batch: int = 2) -> str:
    bid = new_id(None, "client")
    store.create(bid, ids, {"app_mxit_id": "app", "message": "hi"}, batch)
    return bid


def test_ids_are_validated_deduplicated_and_batched(store: Broadcasts) -> None:
    bid = make(store, ["m1", "m2", "m1", "", "a,b", 7, " m3 "], batch=2)
    st = store.status(bid)
    assert (st["targets"], st["batches"], st["duplicates"]) == (3, 2, 1)
    assert store.batch(bid, 0) == ["m1", "m2"] and store.batch(bid, 1) == ["m3"]
    assert st["invalid"] == 3 and st["invalid_ids"] == ["", "a,b", "7"]
    assert st["pending"] == 3 and st["state"] == "running"


def test_a_batch_is_finalised_once(store: Broadcasts) -> None:
    bid = make(store, ["m1", "m2", "m3"])
    claim = store.claim(bid, 0, 2)
    assert claim.action == "send"
    assert store.finish(bid, 0, 1, ["m2"]) == 1
    assert store.finish(bid, 0, 1, ["m2"]) == -1  # a redelivered task cannot count it twice
    assert store.claim(bid, 0, 2).action == "final"
    st = store.status(bid)
    assert (st["delivered"], st["invalid"], st["invalid_ids"]) == (1, 1, ["m2"])


def test_a_live_claim_makes_a_second_sender_wait(store: Broadcasts) -> None:
    bid = make(store, ["m1", "m2"])
    assert store.claim(bid, 0, 2).action == "send"
    busy = store.claim(bid, 0, 2)
    assert busy.action == "busy" and 0 < busy.wait <= 1.0


def test_an_expired_lease_is_a_counted_resend(store: Broadcasts) -> None:
    store.lease = 0  # the first sender "died" at once
    bid = make(store, ["m1", "m2"])
    store.claim(bid, 0, 2)
    again = store.claim(bid, 0, 2)
    assert again.action == "resend"
    assert store.status(bid)["possibly_duplicated"] == 2


def test_release_retry_is_clean_and_unknown_is_counted(store: Broadcasts) -> None:
    bid = make(store, ["m1", "m2", "m3", "m4"])
    first = store.claim(bid, 0, 2)
    store.release(bid, 0, first.owner, applied=False)  # e.g. a 503: nothing applied
    assert store.claim(bid, 0, 2).action == "send"
    second = store.claim(bid, 1, 2)
    store.release(bid, 1, second.owner, applied=None)  # a timeout: maybe applied
    assert store.claim(bid, 1, 2).action == "resend"
    assert store.status(bid)["possibly_duplicated"] == 2


def test_only_the_owner_can_release(store: Broadcasts) -> None:
    bid = make(store, ["m1"])
    store.claim(bid, 0, 1)
    store.release(bid, 0, "someone-else", applied=False)
    assert store.claim(bid, 0, 1).action == "busy"


def test_failures_and_finishing(store: Broadcasts) -> None:
    bid = make(store, ["m1", "m2", "m3"])
    store.finish(bid, 0, 2, [])
    assert store.finish(bid, 1, 0, [], failed=1, reason="BadRequest: no") == 2
    st = store.status(bid)
    assert st["state"] == "finished" and st["failed"] == 1 and st["pending"] == 0
    assert st["failures"] == [{"batch": 1, "count": 1, "reason": "BadRequest: no"}]
    assert store.mark_finished(bid) and not store.mark_finished(bid)


def test_idempotency_keys_give_stable_ids() -> None:
    assert new_id("k1", "c") == new_id("k1", "c") != new_id("k2", "c")
    assert new_id(None, "c") != new_id(None, "c")


def test_every_key_expires(store: Broadcasts) -> None:
    bid = make(store, ["m1", "m2", "x,y"])
    store.claim(bid, 0, 2)
    store.finish(bid, 0, 1, ["m2"])
    keys = list(store.redis.scan_iter(match=f"mxit:bc:{bid}*"))
    assert keys and all(0 < store.redis.ttl(k) <= 600 for k in keys)
