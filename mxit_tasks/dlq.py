"""The dead-letter store: a capped Redis Stream of tasks that failed for good.

Each entry holds the task name, its arguments (references only, never secrets or payload
bytes), the error class and message, the attempts, the first and last failure times and the
payload reference, which is kept alive while the entry exists. Replay re-enqueues with the
original arguments and a fresh retry budget, and deletes the entry only once the new task is
enqueued, so a failure in the middle of a replay leaves the entry in place.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

STREAM = "mxit:dlq"

Enqueue = Callable[[str, list[Any], dict[str, Any]], str]


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class DeadLetters:
    """List, show, add, replay and purge dead-lettered tasks."""

    def __init__(
        self,
        redis: Any,
        maxlen: int = 100_000,
        retention: int = 14 * 86_400,
        payloads: Any = None,
        stream: str = STREAM,
    ) -> None:
        self.redis = redis
        self.maxlen = maxlen
        self.retention = retention
        self.payloads = payloads
        self.stream = stream

    def add(
        self,
        task: str,
        args: list[Any],
        kwargs: dict[str, Any],
        error: BaseException,
        attempts: int,
        first_failure: float,
        task_id: str = "",
        payload_ref: str | None = None,
    ) -> str:
        """Write one entry (capped length, old entries trimmed by age) and return its id."""
        now = time.time()
        fields = {
            "task": task,
            "task_id": task_id,
            "args": json.dumps(args, default=str),
            "kwargs": json.dumps(kwargs, default=str),
            "error_class": type(error).__name__,
            "error": str(error)[:2000],
            "attempts": str(attempts),
            "first_failure": f"{first_failure:.3f}",
            "last_failure": f"{now:.3f}",
            "payload_ref": payload_ref or "",
        }
        entry_id = self.redis.xadd(self.stream, fields, maxlen=self.maxlen, approximate=True)
        min_id = f"{int((now - self.retention) * 1000)}-0"
        self.redis.xtrim(self.stream, minid=min_id, approximate=True)
        if payload_ref and self.payloads is not None:
            self.payloads.keep(payload_ref, self.retention)
        return _text(entry_id)

    @staticmethod
    def _decode(entry_id: Any, fields: dict[Any, Any]) -> dict[str, Any]:
        item = {_text(k): _text(v) for k, v in fields.items()}
        out: dict[str, Any] = {"id": _text(entry_id), **item}
        out["args"] = json.loads(item.get("args", "[]"))
        out["kwargs"] = json.loads(item.get("kwargs", "{}"))
        out["attempts"] = int(item.get("attempts", "0"))
        for key in ("first_failure", "last_failure"):
            out[key] = float(item.get(key, "0"))
        return out

    def list(self, count: int = 100, task: str | None = None) -> list[dict[str, Any]]:
        """Entries, oldest first, optionally for one task name."""
        entries = self.redis.xrange(self.stream, count=None if task else count)
        out = [self._decode(i, f) for i, f in entries]
        if task:
            out = [e for e in out if e["task"] == task][:count]
        return out

    def count(self) -> int:
        """How many entries there are."""
        return int(self.redis.xlen(self.stream))

    def show(self, entry_id: str) -> dict[str, Any] | None:
        """One entry, or None."""
        found = self.redis.xrange(self.stream, min=entry_id, max=entry_id)
        return self._decode(*found[0]) if found else None

    def replay(self, entry_id: str, enqueue: Enqueue) -> str:
        """Re-enqueue one entry with its original arguments; delete it once enqueued."""
        entry = self.show(entry_id)
        if entry is None:
            raise KeyError(f"no dead-letter entry {entry_id}")
        new_id = enqueue(entry["task"], entry["args"], entry["kwargs"])
        self.redis.xdel(self.stream, entry_id)  # only after the enqueue succeeded
        return new_id

    def replay_all(self, enqueue: Enqueue, task: str | None = None) -> list[str]:
        """Replay every entry (or every entry of one task); stops at the first failure."""
        return [self.replay(e["id"], enqueue) for e in self.list(count=10**9, task=task)]

    def purge(self, task: str | None = None) -> int:
        """Delete entries (all, or one task's) and their staged payloads; returns how many."""
        entries = self.list(count=10**9, task=task)
        for entry in entries:
            self.redis.xdel(self.stream, entry["id"])
            if entry.get("payload_ref") and self.payloads is not None:
                self.payloads.delete(entry["payload_ref"])
        return len(entries)
