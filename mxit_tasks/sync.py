"""Tracked users and their periodic sync: the registry, snapshots and the change stream.

Plain Redis logic; the tasks in :mod:`mxit_tasks.tasks.sync` drive it. Keys::

    mxit:tracked            set     UserIds to sync
    mxit:snap:{user}        hash    latest snapshot: status, display_name, profile,
                                    full_profile (JSON), synced_at, gone
    mxit:changes            stream  user, field, old, new, time (capped)
    mxit:sync:lock          str     the run in progress (expires: runs never overlap)
    mxit:sync:run:{id}      hash    counters of one run: chunks, chunks_done, ok, changed,
                                    failed, gone, started_at, finished_at
    mxit:sync:last          str     id of the latest run

Web apps read changes with ``XREAD``/``XREADGROUP`` on ``mxit:changes`` (see the README).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

from mxit_tasks.client.validation import recipient_problem
from mxit_tasks.errors import MxitValidationError

TRACKED = "mxit:tracked"
CHANGES = "mxit:changes"
LOCK = "mxit:sync:lock"
LAST = "mxit:sync:last"
FIELDS = ("status", "display_name", "profile", "full_profile")

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


def _s(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class Tracker:
    """The registry of tracked users, their snapshots and the change stream."""

    def __init__(self, redis: Any, changes_maxlen: int = 100_000) -> None:
        self.redis = redis
        self.changes_maxlen = changes_maxlen
        self._release = redis.register_script(_RELEASE)

    # ---- registry ---------------------------------------------------------------------------

    def add(self, user_ids: Iterable[str]) -> int:
        """Track users (idempotent); returns how many were new."""
        added = 0
        chunk: list[str] = []
        for value in user_ids:
            problem = recipient_problem(value)
            if problem:
                raise MxitValidationError("user_id", f"{value!r} {problem}")
            chunk.append(value.strip())
            if len(chunk) >= 1000:
                added += self.redis.sadd(TRACKED, *chunk)
                chunk = []
        if chunk:
            added += self.redis.sadd(TRACKED, *chunk)
        return added

    def remove(self, user_ids: Iterable[str]) -> int:
        """Stop tracking users; returns how many were tracked."""
        ids = list(user_ids)
        if not ids:
            return 0
        removed = self.redis.srem(TRACKED, *ids)
        self.redis.delete(*(f"mxit:snap:{u}" for u in ids))
        return int(removed)

    def iter(self, count: int = 1000) -> Iterator[str]:
        """Every tracked UserId (SSCAN: never the whole set in one reply)."""
        for value in self.redis.sscan_iter(TRACKED, count=count):
            yield _s(value)

    def still_tracked(self, user_ids: list[str]) -> list[str]:
        """The ids of ``user_ids`` that are still tracked and not gone (one round trip)."""
        if not user_ids:
            return []
        pipe = self.redis.pipeline(transaction=False)
        pipe.smismember(TRACKED, user_ids)
        for user_id in user_ids:
            pipe.hget(f"mxit:snap:{user_id}", "gone")
        flags, *gone = pipe.execute()
        return [u for u, flag, g in zip(user_ids, flags, gone, strict=True) if flag and g != b"1"]

    def count(self) -> int:
        """How many users are tracked."""
        return int(self.redis.scard(TRACKED))

    # ---- snapshots and changes ----------------------------------------------------------------

    def snapshot(self, user_id: str) -> dict[str, Any]:
        """The latest snapshot of a user ({} before the first sync)."""
        raw = {_s(k): _s(v) for k, v in self.redis.hgetall(f"mxit:snap:{user_id}").items()}
        out: dict[str, Any] = dict(raw)
        for name in ("profile", "full_profile"):
            if name in raw:
                out[name] = json.loads(raw[name])
        if "synced_at" in raw:
            out["synced_at"] = float(raw["synced_at"])
        out["gone"] = raw.get("gone") == "1"
        return out

    def record(self, user_id: str, values: dict[str, Any]) -> list[dict[str, Any]]:
        """Store a new snapshot; append one change per field that differs; return the changes."""
        key = f"mxit:snap:{user_id}"
        old = self.snapshot(user_id)
        now = time.time()
        changes = []
        mapping: dict[str, str] = {"synced_at": f"{now:.3f}", "gone": "0"}
        for name in FIELDS:
            if name not in values:
                continue
            new = values[name]
            mapping[name] = json.dumps(new, sort_keys=True) if isinstance(new, dict) else str(new)
            if name in old and old[name] != new:
                changes.append({"user": user_id, "field": name, "old": old[name], "new": new})
        pipe = self.redis.pipeline()
        pipe.hset(key, mapping=mapping)
        for change in changes:
            pipe.xadd(
                CHANGES,
                {
                    "user": user_id,
                    "field": change["field"],
                    "old": _field(change["old"]),
                    "new": _field(change["new"]),
                    "time": f"{now:.3f}",
                },
                maxlen=self.changes_maxlen,
                approximate=True,
            )
        pipe.execute()
        return changes

    def mark_gone(self, user_id: str) -> None:
        """The API says the user no longer exists: stop syncing them."""
        self.redis.hset(f"mxit:snap:{user_id}", mapping={"gone": "1", "synced_at": time.time()})

    def changes(self, since: str = "0", count: int = 100) -> list[dict[str, str]]:
        """Changes after stream id ``since``."""
        return [
            {"id": _s(i), **{_s(k): _s(v) for k, v in f.items()}}
            for i, f in self.redis.xrange(
                CHANGES, min=f"({since}" if since != "0" else "-", count=count
            )
        ]

    # ---- runs ---------------------------------------------------------------------------------

    def start_run(self, lock_seconds: int) -> str | None:
        """Take the run lock; the new run id, or None while another run is in progress."""
        run_id = uuid.uuid4().hex[:16]
        if not self.redis.set(LOCK, run_id, nx=True, ex=max(lock_seconds, 1)):
            return None
        self.redis.hset(
            f"mxit:sync:run:{run_id}",
            mapping={"started_at": f"{time.time():.3f}", "chunks": 0, "chunks_done": 0},
        )
        self.redis.expire(f"mxit:sync:run:{run_id}", 7 * 86_400)
        self.redis.set(LAST, run_id)
        return run_id

    def set_chunks(self, run_id: str, chunks: int) -> None:
        """Record how many chunk tasks the run enqueued; finish at once when there are none."""
        self.redis.hset(f"mxit:sync:run:{run_id}", "chunks", chunks)
        if chunks == 0:
            self._finish(run_id)

    def chunk_done(self, run_id: str, counts: dict[str, int]) -> None:
        """Add a chunk's counts; the last chunk ends the run and releases the lock."""
        key = f"mxit:sync:run:{run_id}"
        pipe = self.redis.pipeline()
        for name, value in counts.items():
            pipe.hincrby(key, name, value)
        pipe.hincrby(key, "chunks_done", 1)
        pipe.hget(key, "chunks")
        *_, done, chunks = pipe.execute()
        if chunks is not None and int(done) >= int(chunks) > 0:
            self._finish(run_id)

    def _finish(self, run_id: str) -> None:
        self.redis.hset(f"mxit:sync:run:{run_id}", "finished_at", f"{time.time():.3f}")
        self._release(keys=[LOCK], args=[run_id])

    def run(self, run_id: str | None = None) -> dict[str, Any]:
        """Counters of a run (the latest by default)."""
        run_id = run_id or _s(self.redis.get(LAST) or b"")
        raw = self.redis.hgetall(f"mxit:sync:run:{run_id}") if run_id else {}
        out: dict[str, Any] = {"run_id": run_id or None}
        for k, v in raw.items():
            name, text = _s(k), _s(v)
            out[name] = float(text) if name.endswith("_at") else int(text)
        for name in ("ok", "changed", "failed", "gone"):
            out.setdefault(name, 0)
        return out


def _field(value: Any) -> str:
    return json.dumps(value, sort_keys=True) if isinstance(value, dict) else str(value)
