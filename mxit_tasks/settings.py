"""Settings: one frozen object with named defaults. ``Settings.from_env()`` is the only reader
of the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import Any

DEFAULT_API_URL = "https://api.mxit.com"
DEFAULT_AUTH_URL = "https://auth.mxit.com"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
DEFAULT_CONNECT_TIMEOUT = 3.05
DEFAULT_READ_TIMEOUT = 30.0
DEFAULT_TOKEN_REFRESH_SKEW = 60.0  # refresh tokens this many seconds before they expire
DEFAULT_REFRESH_TOKEN_TTL = 86_400  # the contract's [C] refresh-token lifetime
DEFAULT_BATCH_SIZE = 500  # recipients per send: Mxit's recommended maximum
DEFAULT_MAX_BODY_CHARS = 1000
DEFAULT_MAX_UPLOAD_BYTES = 1024 * 1024
DEFAULT_RESULT_EXPIRES = 86_400
DEFAULT_VISIBILITY_TIMEOUT = 3_600  # must exceed every countdown we schedule (MAX_COUNTDOWN)
DEFAULT_MAX_COUNTDOWN = 900  # the longest retry countdown we ever schedule
DEFAULT_MAX_RETRIES = 8
DEFAULT_MEDIA_DIR = "media"
DEFAULT_BROADCAST_TTL = 7 * 86_400
DEFAULT_RATE_LIMITS = ""  # e.g. "messaging=50/s,users=20/s"; empty = no limit
DEFAULT_RATE_BURST = 0  # 0 = burst equals one second's worth
DEFAULT_PAYLOAD_TTL = 3 * 86_400  # staged upload payloads live this long (or while in the DLQ)
DEFAULT_UPLOAD_RETRY_WINDOW = 86_400  # uploads keep retrying an outage this long
DEFAULT_DLQ_MAXLEN = 100_000
DEFAULT_DLQ_RETENTION = 14 * 86_400
DEFAULT_SYNC_INTERVAL = 900
DEFAULT_BEAT_LOCK_TIMEOUT = 30  # a standby beat takes over within this (RedBeat's default: 25 min)
DEFAULT_SYNC_CHUNK = 100  # tracked users per sync task message
DEFAULT_CHANGES_MAXLEN = 100_000
DEFAULT_SEND_LEASE = 120  # seconds a batch send may take before another worker may take over


def _float(env: dict[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number, got {raw!r}") from None


def _int(env: dict[str, str], name: str, default: int) -> int:
    return int(_float(env, name, default))


@dataclass(frozen=True)
class Settings:
    """Everything mxit-tasks is configured with. Secrets are kept out of ``repr``."""

    client_id: str = ""
    client_secret: str = field(default="", repr=False)
    redirect_uri: str | None = None
    api_url: str = DEFAULT_API_URL
    auth_url: str = DEFAULT_AUTH_URL
    redis_url: str = DEFAULT_REDIS_URL
    broker_url: str = DEFAULT_REDIS_URL
    result_backend: str = DEFAULT_REDIS_URL
    token_key: str = field(default="", repr=False)  # encrypts tokens at rest; derived if empty
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    read_timeout: float = DEFAULT_READ_TIMEOUT
    token_refresh_skew: float = DEFAULT_TOKEN_REFRESH_SKEW
    refresh_token_ttl: int = DEFAULT_REFRESH_TOKEN_TTL
    batch_size: int = DEFAULT_BATCH_SIZE
    max_body_chars: int = DEFAULT_MAX_BODY_CHARS
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    result_expires: int = DEFAULT_RESULT_EXPIRES
    visibility_timeout: int = DEFAULT_VISIBILITY_TIMEOUT
    max_countdown: int = DEFAULT_MAX_COUNTDOWN
    max_retries: int = DEFAULT_MAX_RETRIES
    media_dir: str = DEFAULT_MEDIA_DIR
    broadcast_ttl: int = DEFAULT_BROADCAST_TTL
    rate_limits: str = DEFAULT_RATE_LIMITS
    rate_burst: int = DEFAULT_RATE_BURST
    payload_ttl: int = DEFAULT_PAYLOAD_TTL
    upload_retry_window: int = DEFAULT_UPLOAD_RETRY_WINDOW
    dlq_maxlen: int = DEFAULT_DLQ_MAXLEN
    dlq_retention: int = DEFAULT_DLQ_RETENTION
    sync_interval: int = DEFAULT_SYNC_INTERVAL
    send_lease: int = DEFAULT_SEND_LEASE
    beat_lock_timeout: int = DEFAULT_BEAT_LOCK_TIMEOUT
    sync_chunk: int = DEFAULT_SYNC_CHUNK
    changes_maxlen: int = DEFAULT_CHANGES_MAXLEN
    task_modules: tuple[str, ...] = ()  # extra modules the workers import (MXIT_TASK_MODULES)
    blob_dir: str = ""  # stage upload payloads here instead of Redis when set

    def __post_init__(self) -> None:
        if self.max_countdown >= self.visibility_timeout:
            raise ValueError(
                "MXIT_MAX_COUNTDOWN must be below MXIT_VISIBILITY_TIMEOUT, or Redis redelivers "
                "tasks that are only waiting for their countdown"
            )
        parse_rate_limits(self.rate_limits)  # fail at start-up, not in a task
        if not 1 <= self.batch_size <= 500:
            raise ValueError("MXIT_BATCH_SIZE must be 1..500 (the API's recipient limit)")

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
        """Read ``MXIT_*`` and ``REDIS_URL`` from the environment."""
        env = dict(os.environ if environ is None else environ)
        redis_url = env.get("REDIS_URL") or DEFAULT_REDIS_URL
        values: dict[str, Any] = {
            "client_id": env.get("MXIT_CLIENT_ID", ""),
            "client_secret": env.get("MXIT_CLIENT_SECRET", ""),
            "redirect_uri": env.get("MXIT_REDIRECT_URI") or None,
            "api_url": env.get("MXIT_API_URL") or DEFAULT_API_URL,
            "auth_url": env.get("MXIT_AUTH_URL") or DEFAULT_AUTH_URL,
            "redis_url": redis_url,
            "broker_url": env.get("MXIT_BROKER_URL") or redis_url,
            "result_backend": env.get("MXIT_RESULT_BACKEND") or redis_url,
            "token_key": env.get("MXIT_TOKEN_KEY", ""),
            "connect_timeout": _float(env, "MXIT_CONNECT_TIMEOUT", DEFAULT_CONNECT_TIMEOUT),
            "read_timeout": _float(env, "MXIT_READ_TIMEOUT", DEFAULT_READ_TIMEOUT),
            "token_refresh_skew": _float(
                env, "MXIT_TOKEN_REFRESH_SKEW", DEFAULT_TOKEN_REFRESH_SKEW
            ),
            "refresh_token_ttl": _int(env, "MXIT_REFRESH_TOKEN_TTL", DEFAULT_REFRESH_TOKEN_TTL),
            "batch_size": _int(env, "MXIT_BATCH_SIZE", DEFAULT_BATCH_SIZE),
            "max_body_chars": _int(env, "MXIT_MAX_BODY_CHARS", DEFAULT_MAX_BODY_CHARS),
            "max_upload_bytes": _int(env, "MXIT_MAX_UPLOAD_BYTES", DEFAULT_MAX_UPLOAD_BYTES),
            "result_expires": _int(env, "MXIT_RESULT_EXPIRES", DEFAULT_RESULT_EXPIRES),
            "visibility_timeout": _int(env, "MXIT_VISIBILITY_TIMEOUT", DEFAULT_VISIBILITY_TIMEOUT),
            "max_countdown": _int(env, "MXIT_MAX_COUNTDOWN", DEFAULT_MAX_COUNTDOWN),
            "max_retries": _int(env, "MXIT_MAX_RETRIES", DEFAULT_MAX_RETRIES),
            "media_dir": env.get("MXIT_MEDIA_DIR") or DEFAULT_MEDIA_DIR,
            "broadcast_ttl": _int(env, "MXIT_BROADCAST_TTL", DEFAULT_BROADCAST_TTL),
            "rate_limits": env.get("MXIT_RATE_LIMITS", DEFAULT_RATE_LIMITS),
            "rate_burst": _int(env, "MXIT_RATE_BURST", DEFAULT_RATE_BURST),
            "payload_ttl": _int(env, "MXIT_PAYLOAD_TTL", DEFAULT_PAYLOAD_TTL),
            "upload_retry_window": _int(
                env, "MXIT_UPLOAD_RETRY_WINDOW", DEFAULT_UPLOAD_RETRY_WINDOW
            ),
            "dlq_maxlen": _int(env, "MXIT_DLQ_MAXLEN", DEFAULT_DLQ_MAXLEN),
            "dlq_retention": _int(env, "MXIT_DLQ_RETENTION", DEFAULT_DLQ_RETENTION),
            "sync_interval": _int(env, "MXIT_SYNC_INTERVAL", DEFAULT_SYNC_INTERVAL),
            "send_lease": _int(env, "MXIT_SEND_LEASE", DEFAULT_SEND_LEASE),
            "blob_dir": env.get("MXIT_BLOB_DIR", ""),
            "task_modules": tuple(
                m.strip() for m in env.get("MXIT_TASK_MODULES", "").split(",") if m.strip()
            ),
            "beat_lock_timeout": _int(env, "MXIT_BEAT_LOCK_TIMEOUT", DEFAULT_BEAT_LOCK_TIMEOUT),
            "sync_chunk": _int(env, "MXIT_SYNC_CHUNK", DEFAULT_SYNC_CHUNK),
            "changes_maxlen": _int(env, "MXIT_CHANGES_MAXLEN", DEFAULT_CHANGES_MAXLEN),
        }
        values.update(overrides)
        return cls(**values)

    def rate_limit_for(self, api_class: str) -> float:
        """Requests per second allowed for ``messaging``, ``users`` or ``media`` (0 = no limit)."""
        return parse_rate_limits(self.rate_limits).get(api_class, 0.0)

    def with_(self, **changes: Any) -> Settings:
        """A copy with some values changed."""
        return replace(self, **changes)


def parse_rate_limits(spec: str) -> dict[str, float]:
    """``"messaging=50/s,users=1200/m"`` as requests per second per API class."""
    per = {"s": 1.0, "m": 60.0, "h": 3600.0}
    out: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        name, _, rate = part.partition("=")
        amount, _, unit = rate.strip().partition("/")
        try:
            value = float(amount) / per[(unit or "s").strip()[:1]]
        except (ValueError, KeyError):
            raise ValueError(f"MXIT_RATE_LIMITS: {part!r} is not NAME=N/s (or /m, /h)") from None
        if value < 0:
            raise ValueError(f"MXIT_RATE_LIMITS: {part!r} is negative")
        out[name.strip()] = value
    return out
