"""Upload payloads staged once (in Redis with a TTL, or in a blob directory) and passed to tasks
by reference, so that no broker message carries megabytes and every retry sends the same bytes."""

from __future__ import annotations

import contextlib
import hashlib
import os
import uuid
from typing import Any

from mxit_tasks.errors import MxitError

PREFIX = "mxit:payload:"
BYTES = (
    "mxit:payload:bytes"  # staged bytes, for the metrics gauge (expired ones drift; approximate)
)


class PayloadMissing(MxitError):
    """The staged payload expired or was deleted: the upload cannot be retried."""

    def __init__(self, ref: str) -> None:
        super().__init__(ref)
        self.ref = ref

    def __str__(self) -> str:
        return f"staged payload {self.ref} is gone (expired or deleted)"


class PayloadStore:
    """Stage, fetch, keep alive and delete payloads by reference ``<id>:<sha256>``."""

    def __init__(self, redis: Any, ttl: int, blob_dir: str = "") -> None:
        self.redis = redis
        self.ttl = ttl
        self.blob_dir = blob_dir

    def _path(self, ref: str) -> str:
        return os.path.join(self.blob_dir, ref.replace(":", "-"))

    def put(self, data: bytes) -> str:
        """Stage ``data`` once; the reference names it and its SHA-256."""
        ref = f"{uuid.uuid4().hex}:{hashlib.sha256(data).hexdigest()}"
        if self.blob_dir:
            os.makedirs(self.blob_dir, exist_ok=True)
            tmp = self._path(ref) + ".tmp"
            with open(tmp, "wb") as fh:
                fh.write(data)
            os.replace(tmp, self._path(ref))
            self.redis.set(PREFIX + ref, b"", ex=self.ttl)  # the TTL lives in Redis
        else:
            self.redis.set(PREFIX + ref, data, ex=self.ttl)
        self.redis.set(PREFIX + ref + ":size", len(data), ex=self.ttl)
        self.redis.incrby(BYTES, len(data))
        return ref

    @staticmethod
    def checksum(ref: str) -> str:
        """The SHA-256 a reference promises."""
        return ref.rpartition(":")[2]

    def get(self, ref: str) -> bytes:
        """The staged bytes, checked against their checksum."""
        if self.blob_dir:
            if not self.redis.exists(PREFIX + ref) or not os.path.exists(self._path(ref)):
                raise PayloadMissing(ref)
            with open(self._path(ref), "rb") as fh:
                data = fh.read()
        else:
            data = self.redis.get(PREFIX + ref)
            if data is None:
                raise PayloadMissing(ref)
        if hashlib.sha256(data).hexdigest() != self.checksum(ref):
            raise PayloadMissing(ref)
        return data

    def exists(self, ref: str) -> bool:
        """Whether the payload is still staged."""
        return bool(self.redis.exists(PREFIX + ref))

    def keep(self, ref: str, seconds: int) -> None:
        """Keep the payload at least ``seconds`` more (e.g. while a DLQ entry holds it)."""
        ttl = self.redis.ttl(PREFIX + ref)
        if ttl is not None and 0 <= ttl < seconds:
            self.redis.expire(PREFIX + ref, seconds)
            self.redis.expire(PREFIX + ref + ":size", seconds)

    def delete(self, ref: str) -> None:
        """Remove the payload (after success, or when its DLQ entry goes)."""
        size = self.redis.get(PREFIX + ref + ":size")
        if self.redis.delete(PREFIX + ref) and size is not None:
            self.redis.decrby(BYTES, int(size))
        self.redis.delete(PREFIX + ref + ":size")
        if self.blob_dir:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._path(ref))
