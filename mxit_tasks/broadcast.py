"""Broadcasts: one message to any number of recipients, in batches, each sent at most once.

Plain Redis logic, testable without Celery; the tasks in :mod:`mxit_tasks.tasks.messaging` call
it. Keys (all expire after ``broadcast_ttl``)::

    mxit:bc:{id}:meta      hash  the message, options, totals, times
    mxit:bc:{id}:b:{i}     str   batch i's UserIds, comma-joined (what the API wants in ``To``)
    mxit:bc:{id}:m:{i}     str   batch i's send marker (below)
    mxit:bc:{id}:c         hash  counters: delivered, invalid, failed, batches_final,
                                 possibly_duplicated
    mxit:bc:{id}:invalid   list  unknown or malformed UserIds
    mxit:bc:{id}:failed    list  JSON {batch, count, reason}
    mxit:bc:index          zset  broadcast ids by creation time

The send marker is set before the HTTP call and finalised after it::

    (none) -> sending:<owner>:<lease_until_ms> -> done | failed        (final)
                         |-> retry     the API refused it, nothing was applied: send again
                         |-> unknown   timeout or cut answer: it may have been applied

A batch is sent again only when its marker says the send never completed: ``retry`` (clean),
or ``unknown`` / an expired ``sending`` lease (a worker died mid-send). Those last two are the
one unavoidable window (the API accepted the batch, the worker died before finalising), so
such re-sends are counted in ``possibly_duplicated``. A live lease means another worker is
sending it right now (the task was enqueued twice): the caller backs off.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from mxit_tasks.client.validation import recipient_problem

PREFIX = "mxit:bc:"
INDEX = "mxit:bc:index"

_CLAIM = """
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local v = redis.call('GET', KEYS[1])
local mine = 'sending:' .. ARGV[1] .. ':' .. (now + tonumber(ARGV[2]))
if not v or v == 'retry' then
  redis.call('SET', KEYS[1], mine, 'EX', ARGV[3])
  return {'send', '0'}
end
if v == 'done' or v == 'failed' then
  return {'final', '0'}
end
if v == 'unknown' then
  redis.call('SET', KEYS[1], mine, 'EX', ARGV[3])
  return {'resend', '0'}
end
local lease = tonumber(string.match(v, ':(%d+)$') or '0')
if lease > now then
  return {'busy', tostring(lease - now)}
end
redis.call('SET', KEYS[1], mine, 'EX', ARGV[3])
return {'resend', '0'}
"""

# KEYS: marker, counters, invalid list, failed list
# ARGV: outcome, delivered, failed_count, failed_json ('' for none), ttl, invalid ids...
_FINALISE = """
local v = redis.call('GET', KEYS[1])
if v == 'done' or v == 'failed' then
  return -1
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[5])
redis.call('HINCRBY', KEYS[2], 'delivered', ARGV[2])
redis.call('HINCRBY', KEYS[2], 'failed', ARGV[3])
local n = #ARGV - 5
if n > 0 then
  redis.call('HINCRBY', KEYS[2], 'invalid', n)
  for i = 6, #ARGV, 1000 do
    redis.call('RPUSH', KEYS[3], unpack(ARGV, i, math.min(i + 999, #ARGV)))
  end
  redis.call('EXPIRE', KEYS[3], ARGV[5])
end
if ARGV[4] ~= '' then
  redis.call('RPUSH', KEYS[4], ARGV[4])
  redis.call('EXPIRE', KEYS[4], ARGV[5])
end
return redis.call('HINCRBY', KEYS[2], 'batches_final', 1)
"""

# KEYS: marker; ARGV: owner, new state. Only the owner of a live claim may release it.
_RELEASE = """
local v = redis.call('GET', KEYS[1])
if v and string.sub(v, 1, 9 + #ARGV[1]) == 'sending:' .. ARGV[1] .. ':' then
  redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
  return 1
end
return 0
"""


def new_id(idempotency_key: str | None, client_id: str) -> str:
    """A broadcast id: derived from the idempotency key when given, else random."""
    if idempotency_key:
        return "bc-" + hashlib.sha256(f"{client_id}\0{idempotency_key}".encode()).hexdigest()[:24]
    return "bc-" + uuid.uuid4().hex


@dataclass
class Claim:
    """What a worker may do with a batch."""

    action: str  # send | resend | final | busy
    owner: str
    wait: float = 0.0


class Broadcasts:
    """Create broadcasts, hand out batches, guard sends and report status."""

    def __init__(self, redis: Any, ttl: int = 7 * 86_400, lease: int = 120) -> None:
        self.redis = redis
        self.ttl = ttl
        self.lease = lease
        self._claim = redis.register_script(_CLAIM)
        self._finalise = redis.register_script(_FINALISE)
        self._release = redis.register_script(_RELEASE)

    @staticmethod
    def key(bid: str, *parts: Any) -> str:
        """The Redis key of a broadcast part."""
        return PREFIX + bid + "".join(f":{p}" for p in parts)

    # ---- creation --------------------------------------------------------------------------

    def exists(self, bid: str) -> bool:
        """Whether broadcast ``bid`` has been created."""
        return bool(self.redis.exists(self.key(bid, "meta")))

    def create(
        self,
        bid: str,
        target_user_ids: Iterable[Any],
        meta: dict[str, Any],
        batch_size: int,
    ) -> dict[str, Any]:
        """Validate, de-duplicate and stage the recipients in batches; store the meta.

        Streams through ``target_user_ids`` holding one batch at a time. For a list, duplicates
        are found in two passes with a 4 MB bitmap (see :func:`_maybe_duplicates`) instead of a
        set of every id, so a million ids cost a few MB on top of the caller's list.
        """
        pipe = self.redis.pipeline(transaction=False)
        maybe = _maybe_duplicates(target_user_ids)
        seen: set[str] = set()
        batches = targets = duplicates = 0
        bad: list[str] = []
        batch: list[str] = []

        def flush() -> None:
            nonlocal batches
            pipe.set(self.key(bid, "b", batches), ",".join(batch), ex=self.ttl)
            batches += 1
            batch.clear()
            if batches % 20 == 0:
                pipe.execute()

        for value in _iterate(target_user_ids):
            problem = recipient_problem(value)
            if problem:
                bad.append(value if isinstance(value, str) else repr(value))
                continue
            value = value.strip()
            if maybe is None or hash(value) in maybe:
                if value in seen:
                    duplicates += 1
                    continue
                seen.add(value)
            targets += 1
            batch.append(value)
            if len(batch) >= batch_size:
                flush()
        if batch:
            flush()
        now = time.time()
        record = {
            **{k: json.dumps(v) for k, v in meta.items()},
            "targets": targets,
            "batches": batches,
            "duplicates": duplicates,
            "input_invalid": len(bad),
            "created_at": f"{now:.3f}",
        }
        pipe.hset(self.key(bid, "meta"), mapping=record)
        pipe.expire(self.key(bid, "meta"), self.ttl)
        counters = self.key(bid, "c")
        pipe.hset(
            counters,
            mapping={
                "delivered": 0,
                "invalid": len(bad),
                "failed": 0,
                "batches_final": 0,
                "possibly_duplicated": 0,
            },
        )
        pipe.expire(counters, self.ttl)
        if bad:
            pipe.rpush(self.key(bid, "invalid"), *bad)
            pipe.expire(self.key(bid, "invalid"), self.ttl)
        pipe.zadd(INDEX, {bid: now})
        pipe.zremrangebyscore(INDEX, 0, now - self.ttl)
        pipe.execute()
        return {"broadcast_id": bid, "targets": targets, "batches": batches}

    def meta(self, bid: str) -> dict[str, Any]:
        """The broadcast's message and options, decoded."""
        raw = self.redis.hgetall(self.key(bid, "meta"))
        if not raw:
            raise KeyError(f"no broadcast {bid} (never created, or expired)")
        out: dict[str, Any] = {}
        for k, v in raw.items():
            key, text = _s(k), _s(v)
            try:
                out[key] = json.loads(text)
            except ValueError:
                out[key] = text
        return out

    def batch(self, bid: str, index: int) -> list[str]:
        """The UserIds of one batch."""
        raw = self.redis.get(self.key(bid, "b", index))
        if raw is None:
            raise KeyError(f"broadcast {bid} batch {index} is gone (expired?)")
        return _s(raw).split(",")

    def pending_batches(self, bid: str, batches: int) -> Iterator[int]:
        """Indexes of batches not yet final (all of them for a new broadcast)."""
        for start in range(0, batches, 1000):
            stop = min(start + 1000, batches)
            keys = [self.key(bid, "m", i) for i in range(start, stop)]
            for i, value in zip(range(start, stop), self.redis.mget(keys), strict=True):
                if value not in (b"done", b"failed"):
                    yield i

    # ---- the send guard --------------------------------------------------------------------

    def claim(self, bid: str, index: int, count: int) -> Claim:
        """Take batch ``index`` for sending; a re-send after a crash counts as possibly duplicated."""
        owner = uuid.uuid4().hex[:12]
        action, wait = self._claim(
            keys=[self.key(bid, "m", index)], args=[owner, self.lease * 1000, self.ttl]
        )
        claim = Claim(_s(action), owner, float(wait) / 1000)
        if claim.action == "resend":
            self.redis.hincrby(self.key(bid, "c"), "possibly_duplicated", count)
        return claim

    def release(self, bid: str, index: int, owner: str, applied: bool | None) -> None:
        """Give a batch back after a failed attempt: ``retry`` if nothing was applied, else
        ``unknown`` (the next attempt is then a counted re-send)."""
        state = "retry" if applied is False else "unknown"
        self._release(keys=[self.key(bid, "m", index)], args=[owner, state])

    def finish(
        self,
        bid: str,
        index: int,
        delivered: int,
        invalid: list[str],
        failed: int = 0,
        reason: str = "",
    ) -> int:
        """Finalise a batch (once); returns batches final so far, or -1 if it already was."""
        failed_json = (
            json.dumps({"batch": index, "count": failed, "reason": reason}) if failed else ""
        )
        keys = [
            self.key(bid, "m", index),
            self.key(bid, "c"),
            self.key(bid, "invalid"),
            self.key(bid, "failed"),
        ]
        outcome = "failed" if failed else "done"
        args = [outcome, delivered, failed, failed_json, self.ttl, *invalid]
        return int(self._finalise(keys=keys, args=args))

    def mark_finished(self, bid: str) -> bool:
        """True exactly once, for whoever completes the broadcast."""
        ok = self.redis.set(self.key(bid, "finished"), f"{time.time():.3f}", nx=True, ex=self.ttl)
        if ok:
            self.redis.hset(self.key(bid, "meta"), "finished_at", f"{time.time():.3f}")
        return bool(ok)

    def cancel(self, bid: str) -> None:
        """Stop sending batches that have not started (sent ones stay sent)."""
        self.redis.hset(self.key(bid, "meta"), "cancelled", "true")

    # ---- status ----------------------------------------------------------------------------

    def status(self, bid: str, invalid_limit: int = 1000) -> dict[str, Any]:
        """Totals, invalid ids, failures and times, from the counters (no chord needed)."""
        meta = self.meta(bid)
        counters = {_s(k): int(v) for k, v in self.redis.hgetall(self.key(bid, "c")).items()}
        targets = int(meta["targets"])
        delivered = counters.get("delivered", 0)
        invalid = counters.get("invalid", 0)
        failed = counters.get("failed", 0)
        api_invalid = invalid - int(meta.get("input_invalid", 0))
        batches = int(meta["batches"])
        final = counters.get("batches_final", 0)
        finished_at = meta.get("finished_at")
        state = "finished" if final >= batches else "running"
        if meta.get("cancelled") is True and state != "finished":
            state = "cancelled"
        return {
            "broadcast_id": bid,
            "state": state,
            "targets": targets,
            "duplicates": int(meta.get("duplicates", 0)),
            "batches": batches,
            "batches_final": final,
            "delivered": delivered,
            "invalid": invalid,
            "invalid_ids": [
                _s(x) for x in self.redis.lrange(self.key(bid, "invalid"), 0, invalid_limit - 1)
            ],
            "failed": failed,
            "failures": [
                json.loads(_s(x)) for x in self.redis.lrange(self.key(bid, "failed"), 0, 99)
            ],
            "pending": max(targets - delivered - api_invalid - failed, 0),
            "possibly_duplicated": counters.get("possibly_duplicated", 0),
            "started_at": float(meta["created_at"]),
            "finished_at": float(finished_at) if finished_at else None,
        }

    def list(self, limit: int = 20) -> list[str]:
        """The newest broadcast ids."""
        return [_s(x) for x in self.redis.zrevrange(INDEX, 0, limit - 1)]


_BITMAP_BITS = 1 << 25  # 4 MB: about 3% false positives at a million ids


def _maybe_duplicates(ids: Any) -> set[int] | None:
    """For a sequence, the hashes of ids that may occur twice (true duplicates always do, plus a
    few bitmap collisions); None for a one-shot iterable (then every id is tracked exactly)."""
    if not isinstance(ids, list | tuple):
        return None
    bitmap = bytearray(_BITMAP_BITS >> 3)
    mask = _BITMAP_BITS - 1
    maybe: set[int] = set()
    for value in ids:
        if not isinstance(value, str):
            continue
        h = hash(value.strip())
        pos = h & mask
        bit = 1 << (pos & 7)
        if bitmap[pos >> 3] & bit:
            maybe.add(h)
        else:
            bitmap[pos >> 3] |= bit
    return maybe


def _s(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _iterate(ids: Any) -> Iterator[Any]:
    if isinstance(ids, str):
        yield ids
        return
    yield from ids
