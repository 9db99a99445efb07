"""Token stores and the token manager.

A store keeps app tokens per (client_id, scope set) and user tokens per (client_id, user). Two
implementations share one interface and one test suite: :class:`MemoryTokenStore` (one process)
and :class:`RedisTokenStore` (every worker process and machine). The Redis store encrypts each
entry (Fernet, key from ``MXIT_TOKEN_KEY`` or derived from the client secret), so no token is
readable in Redis, and gives every entry a TTL.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from mxit_tasks.client._http import Requestor
from mxit_tasks.errors import (
    MxitValidationError,
    OAuthError,
    ServerError,
    Timeout,
    UserAuthorizationRequired,
)

TokenRecord = dict[str, Any]


class TokenStore(ABC):
    """Where tokens live between calls."""

    @abstractmethod
    def get(self, key: str) -> TokenRecord | None:
        """The record under ``key``, or None."""

    @abstractmethod
    def put(self, key: str, record: TokenRecord, ttl: float) -> None:
        """Store ``record`` for ``ttl`` seconds."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Forget ``key``."""

    @abstractmethod
    def keys(self, prefix: str) -> list[str]:
        """Keys that start with ``prefix``."""

    @abstractmethod
    def lock(self, key: str, timeout: float = 10.0) -> Any:
        """A context manager holding a short exclusive lock named ``key``."""


class MemoryTokenStore(TokenStore):
    """Tokens in this process's memory; thread-safe."""

    def __init__(self) -> None:
        self._data: dict[str, tuple[float, TokenRecord]] = {}
        self._mutex = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}

    def get(self, key: str) -> TokenRecord | None:
        """The record under ``key``, or None when absent or expired."""
        with self._mutex:
            item = self._data.get(key)
            if item is None:
                return None
            if item[0] < time.time():
                del self._data[key]
                return None
            return dict(item[1])

    def put(self, key: str, record: TokenRecord, ttl: float) -> None:
        """Store ``record`` for ``ttl`` seconds."""
        with self._mutex:
            self._data[key] = (time.time() + max(ttl, 1), dict(record))

    def delete(self, key: str) -> None:
        """Forget ``key``."""
        with self._mutex:
            self._data.pop(key, None)

    def keys(self, prefix: str) -> list[str]:
        """Live keys starting with ``prefix``."""
        now = time.time()
        with self._mutex:
            return [k for k, (exp, _) in self._data.items() if k.startswith(prefix) and exp >= now]

    @contextmanager
    def lock(self, key: str, timeout: float = 10.0) -> Iterator[None]:
        """A per-key thread lock."""
        with self._mutex:
            lock = self._locks.setdefault(key, threading.Lock())
        if not lock.acquire(timeout=timeout):
            raise TimeoutError(f"token lock {key} busy")
        try:
            yield
        finally:
            lock.release()


class CacheTokenStore(MemoryTokenStore):
    """python-mxit compatibility: a Django-style ``cache`` (get/set with a timeout) as the store."""

    def __init__(self, cache: Any) -> None:
        super().__init__()
        self.cache = cache

    def get(self, key: str) -> TokenRecord | None:
        """Read from the cache."""
        raw = self.cache.get(_cache_key(key))
        return json.loads(raw) if raw else None

    def put(self, key: str, record: TokenRecord, ttl: float) -> None:
        """Write to the cache with a positive timeout."""
        self.cache.set(_cache_key(key), json.dumps(record), max(int(ttl), 1))
        with self._mutex:
            self._data[key] = (time.time() + max(ttl, 1), {})  # remember the key for keys()

    def delete(self, key: str) -> None:
        """Remove from the cache."""
        delete = getattr(self.cache, "delete", None)
        if delete:
            delete(_cache_key(key))
        super().delete(key)


def _cache_key(key: str) -> str:
    return "mxit_" + hashlib.sha256(key.encode()).hexdigest()[:40]


class RedisTokenStore(TokenStore):
    """Tokens in Redis, encrypted, with a TTL; locks are Redis locks shared by every process."""

    def __init__(self, redis: Any, secret: str, namespace: str = "mxit:tokens") -> None:
        if not secret:
            raise MxitValidationError("token_key", "a key (or the client secret) is required")
        self.redis = redis
        self.namespace = namespace
        digest = hashlib.sha256(b"mxit-tasks token store\0" + secret.encode()).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(digest))

    def _k(self, key: str) -> str:
        return f"{self.namespace}:{key}"

    def get(self, key: str) -> TokenRecord | None:
        """Decrypt the record under ``key``; an unreadable one counts as absent."""
        raw = self.redis.get(self._k(key))
        if raw is None:
            return None
        try:
            return json.loads(self._fernet.decrypt(raw))
        except (InvalidToken, ValueError):
            return None

    def put(self, key: str, record: TokenRecord, ttl: float) -> None:
        """Encrypt and store with a TTL."""
        blob = self._fernet.encrypt(json.dumps(record).encode())
        self.redis.set(self._k(key), blob, px=max(int(ttl * 1000), 1000))

    def delete(self, key: str) -> None:
        """Forget ``key``."""
        self.redis.delete(self._k(key))

    def keys(self, prefix: str) -> list[str]:
        """Keys starting with ``prefix`` (SCAN, never KEYS)."""
        start = len(self.namespace) + 1
        found = self.redis.scan_iter(match=self._k(prefix) + "*", count=500)
        return [(k.decode() if isinstance(k, bytes) else k)[start:] for k in found]

    @contextmanager
    def lock(self, key: str, timeout: float = 10.0) -> Iterator[None]:
        """A Redis lock that expires by itself if its holder dies."""
        lock = self.redis.lock(self._k("lock:" + key), timeout=timeout, blocking_timeout=timeout)
        if not lock.acquire():
            raise TimeoutError(f"token lock {key} busy")
        try:
            yield
        finally:
            # It may have expired meanwhile (someone else may hold it now): nothing to release.
            with contextlib.suppress(Exception):
                lock.release()


def normalise_scope(scope: str | list[str] | tuple[str, ...] | frozenset[str]) -> frozenset[str]:
    """A scope string or list as a set; rejects an empty scope."""
    parts = scope.split() if isinstance(scope, str) else list(scope)
    if not parts or not all(isinstance(p, str) and p for p in parts):
        raise MxitValidationError("scope", "give one or more scopes, e.g. 'profile/public'")
    return frozenset(parts)


class TokenManager:
    """Fetches, caches, refreshes and revokes tokens for one client id. Thread-safe."""

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        requestor: Requestor,
        store: TokenStore,
        *,
        redirect_uri: str | None = None,
        refresh_skew: float = 60.0,
        refresh_ttl: float = 86_400,
    ) -> None:
        self.client_id = client_id
        self._secret = client_secret
        self.requestor = requestor
        self.store = store
        self.redirect_uri = redirect_uri
        self.refresh_skew = refresh_skew
        self.refresh_ttl = refresh_ttl
        self._app_cache: dict[frozenset[str], TokenRecord] = {}
        self._mutex = threading.Lock()

    def __repr__(self) -> str:
        return f"TokenManager(client_id={self.client_id!r})"

    # ---- the token endpoint ----------------------------------------------------------------

    def _token_request(self, form: dict[str, str], retry_transport: bool) -> TokenRecord:
        """POST /token. Transport failures and 5xx are retried only where repeating is safe."""
        attempts = 3 if retry_transport else 1
        for attempt in range(attempts):
            try:
                resp = self.requestor.send(
                    "POST",
                    "/token",
                    server="auth",
                    form=form,
                    basic_auth=(self.client_id, self._secret),
                )
                break
            except (ServerError, Timeout):  # connect failures: retried by the requestor
                if attempt == attempts - 1:
                    raise
                time.sleep(0.2 * (attempt + 1))
            except Exception as exc:
                status = getattr(exc, "status", None)
                if status in (400, 401):
                    raise OAuthError(
                        status, exc.error, exc.description, form.get("grant_type", "")
                    ) from None
                raise
        data = resp.json()
        try:
            expires_in = float(data.get("expires_in", 3600))  # some servers send a string
        except (TypeError, ValueError):
            expires_in = 3600.0
        now = time.time()
        return {
            "access_token": data["access_token"],
            "refresh_token": data.get("refresh_token"),
            "expires_at": now + expires_in,
            "scopes": sorted(str(data.get("scope") or form.get("scope", "")).split()),
            "refresh_expires_at": now + self.refresh_ttl if data.get("refresh_token") else None,
            "id_token": data.get("id_token"),
        }

    def _fresh(self, record: TokenRecord | None) -> bool:
        return bool(record) and record["expires_at"] - self.refresh_skew > time.time()

    # ---- app tokens ------------------------------------------------------------------------

    def app_token(self, scope: str | frozenset[str]) -> str:
        """An app token whose scopes cover ``scope``, from cache or the auth server."""
        wanted = normalise_scope(scope)
        with self._mutex:
            for scopes, record in self._app_cache.items():
                if wanted <= scopes and self._fresh(record):
                    return record["access_token"]
        prefix = f"app:{self.client_id}:"
        for key in self.store.keys(prefix):
            record = self.store.get(key)
            if record and wanted <= set(record["scopes"]) and self._fresh(record):
                self._remember_app(record)
                return record["access_token"]
        record = self._token_request(
            {"grant_type": "client_credentials", "scope": " ".join(sorted(wanted))},
            retry_transport=True,
        )
        key = prefix + " ".join(sorted(record["scopes"]))
        self.store.put(key, record, record["expires_at"] - time.time())
        self._remember_app(record)
        return record["access_token"]

    def _remember_app(self, record: TokenRecord) -> None:
        with self._mutex:
            self._app_cache[frozenset(record["scopes"])] = record

    def invalidate_app(self, token: str) -> None:
        """Forget an app token that the API refused (401)."""
        with self._mutex:
            for scopes, record in list(self._app_cache.items()):
                if record["access_token"] == token:
                    del self._app_cache[scopes]
        for key in self.store.keys(f"app:{self.client_id}:"):
            record = self.store.get(key)
            if record and record["access_token"] == token:
                self.store.delete(key)

    # ---- user tokens -----------------------------------------------------------------------

    def _user_key(self, user_id: str) -> str:
        return f"user:{self.client_id}:{user_id}"

    def _save_user(self, user_id: str, record: TokenRecord) -> None:
        ends = record.get("refresh_expires_at") or record["expires_at"]
        self.store.put(self._user_key(user_id), record, max(ends - time.time(), 1))

    def exchange_code(self, code: str, redirect_uri: str | None = None) -> TokenRecord:
        """Exchange an authorization code (single use: never repeated after it may have left)."""
        if not isinstance(code, str) or not code:
            raise MxitValidationError("code", "the authorization code is required")
        redirect = redirect_uri or self.redirect_uri
        if not redirect:
            raise MxitValidationError("redirect_uri", "set redirect_uri on the client first")
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect}
        return self._token_request(form, retry_transport=False)

    def store_user(self, user_id: str, record: TokenRecord) -> None:
        """Keep a user's token record for later calls (by any process sharing the store)."""
        self._save_user(user_id, record)

    def user_token(self, user_id: str, scope: str | frozenset[str] | None = None) -> str:
        """A valid access token of ``user_id`` covering ``scope``; refreshed when near expiry."""
        record = self.store.get(self._user_key(user_id))
        if record is None:
            raise UserAuthorizationRequired(user_id, "no stored token for this user")
        if scope is not None:
            wanted = normalise_scope(scope)
            if not wanted <= set(record["scopes"]):
                missing = " ".join(sorted(wanted - set(record["scopes"])))
                raise UserAuthorizationRequired(user_id, f"the user has not granted {missing}")
        if self._fresh(record):
            return record["access_token"]
        return self.refresh(user_id, stale_token=record["access_token"])

    def refresh(self, user_id: str, stale_token: str | None = None) -> str:
        """Refresh a user's token once, even when many processes ask at the same moment."""
        with self.store.lock(self._user_key(user_id)):
            record = self.store.get(self._user_key(user_id))
            if record is None:
                raise UserAuthorizationRequired(user_id, "no stored token for this user")
            if record["access_token"] != stale_token and self._fresh(record):
                return record["access_token"]  # someone else refreshed while we waited
            refresh_token = record.get("refresh_token")
            if not refresh_token:
                raise UserAuthorizationRequired(user_id, "the token expired and has no refresh")
            try:
                new = self._token_request(
                    {"grant_type": "refresh_token", "refresh_token": refresh_token},
                    retry_transport=False,
                )
            except OAuthError as exc:
                if exc.error in ("invalid_grant", "invalid_request"):
                    self.store.delete(self._user_key(user_id))
                    raise UserAuthorizationRequired(
                        user_id, f"refresh refused: {exc.description}"
                    ) from None
                raise
            if not new.get("refresh_token"):
                new["refresh_token"] = refresh_token
                new["refresh_expires_at"] = record.get("refresh_expires_at")
            self._save_user(user_id, new)
            return new["access_token"]

    def forget_user(self, user_id: str) -> None:
        """Drop a user's stored token."""
        self.store.delete(self._user_key(user_id))

    def has_user(self, user_id: str) -> bool:
        """Whether a token is stored for ``user_id``."""
        return self.store.get(self._user_key(user_id)) is not None

    def revoke(self, token: str) -> None:
        """POST /revoke for an access or refresh token."""
        self.requestor.send(
            "POST",
            "/revoke",
            server="auth",
            form={"token": token},
            basic_auth=(self.client_id, self._secret),
        )

    def revoke_user(self, user_id: str) -> None:
        """Revoke a user's refresh and access tokens, then forget them."""
        record = self.store.get(self._user_key(user_id))
        if record:
            for name in ("refresh_token", "access_token"):
                if record.get(name):
                    self.revoke(record[name])
        self.forget_user(user_id)
