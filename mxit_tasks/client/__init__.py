"""The Mxit API client: a python-mxit compatible facade over one request path.

::

    client = Mxit(MXIT_CLIENT_ID, MXIT_CLIENT_SECRET, redirect_uri="http://example.org")
    client.oauth.auth_url("profile/public")
    client.messaging.send_message("app_mxit_id", ["m1", "m2"], "text")
    client.for_user("m40000000000").users.set_status("Hi")

No Celery here: tasks import the client, never the other way round.
"""

from __future__ import annotations

import copy
import os
from typing import Any

from mxit_tasks.client._http import HttpConfig, Requestor
from mxit_tasks.client.messaging import Messaging
from mxit_tasks.client.oauth import OAuth
from mxit_tasks.client.tokens import (
    CacheTokenStore,
    MemoryTokenStore,
    RedisTokenStore,
    TokenManager,
    TokenStore,
)
from mxit_tasks.client.users import CONTACT_LIST_FILTER, Users
from mxit_tasks.errors import MxitValidationError
from mxit_tasks.settings import DEFAULT_API_URL, DEFAULT_AUTH_URL, Settings

__all__ = [
    "CONTACT_LIST_FILTER",
    "MemoryTokenStore",
    "Mxit",
    "RedisTokenStore",
    "TokenStore",
]


class Mxit:
    """A Mxit API client with ``.oauth``, ``.messaging`` and ``.users`` (python-mxit's surface).

    Thread-safe: one pooled ``requests.Session`` per thread; tokens live in a pluggable store
    (in memory by default, :class:`RedisTokenStore` to share them between worker processes).
    """

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        redirect_uri: str | None = None,
        state: str | None = None,
        cache: Any = None,
        verify_cert: bool = True,
        *,
        redirect_url: str | None = None,
        api_url: str | None = None,
        auth_url: str | None = None,
        token_store: TokenStore | None = None,
        user_id: str | None = None,
        settings: Settings | None = None,
    ) -> None:
        for name, value in (("client_id", client_id), ("client_secret", client_secret)):
            if not isinstance(value, str) or not value:
                raise MxitValidationError(name, "is required (see MXIT_CLIENT_ID/SECRET)")
        base = settings or Settings()
        api = api_url or os.environ.get("MXIT_API_URL") or base.api_url or DEFAULT_API_URL
        auth = auth_url or os.environ.get("MXIT_AUTH_URL") or base.auth_url or DEFAULT_AUTH_URL
        self.settings = base.with_(
            client_id=client_id,
            client_secret=client_secret,
            redirect_uri=redirect_uri or redirect_url or base.redirect_uri,
            api_url=api.rstrip("/"),
            auth_url=auth.rstrip("/"),
        )
        self.client_id = client_id
        self.redirect_uri = self.settings.redirect_uri
        self.state = state
        self.user_id = user_id
        self.requestor = Requestor(
            HttpConfig(
                api_url=self.settings.api_url,
                auth_url=self.settings.auth_url,
                connect_timeout=self.settings.connect_timeout,
                read_timeout=self.settings.read_timeout,
                verify=verify_cert,
            )
        )
        if token_store is None:
            token_store = CacheTokenStore(cache) if cache is not None else MemoryTokenStore()
        self.tokens = TokenManager(
            client_id,
            client_secret,
            self.requestor,
            token_store,
            redirect_uri=self.redirect_uri,
            refresh_skew=self.settings.token_refresh_skew,
            refresh_ttl=self.settings.refresh_token_ttl,
        )
        self._bind()

    def _bind(self) -> None:
        self.oauth = OAuth(self)
        self.messaging = Messaging(self)
        self.users = Users(self)

    @classmethod
    def from_settings(cls, settings: Settings, redis: Any = None) -> Mxit:
        """A client configured from settings; with ``redis``, tokens are shared through it."""
        store = None
        if redis is not None:
            store = RedisTokenStore(redis, settings.token_key or settings.client_secret)
        return cls(
            settings.client_id,
            settings.client_secret,
            redirect_uri=settings.redirect_uri,
            api_url=settings.api_url,
            auth_url=settings.auth_url,
            token_store=store,
            settings=settings,
        )

    @property
    def auth_base(self) -> str:
        """The auth server's base URL."""
        return self.settings.auth_url

    @property
    def api_base(self) -> str:
        """The API's base URL."""
        return self.settings.api_url

    def for_user(self, user_id: str) -> Mxit:
        """A client acting with ``user_id``'s stored token; shares HTTP pool and token store."""
        if not isinstance(user_id, str) or not user_id:
            raise MxitValidationError("user_id", "must be a non-empty UserId")
        clone = copy.copy(self)
        clone.user_id = user_id
        clone._bind()
        return clone

    def without_user(self) -> Mxit:
        """A client sharing this one's pool and store, acting for no user (yet)."""
        clone = copy.copy(self)
        clone.user_id = None
        clone._bind()
        return clone

    def close(self) -> None:
        """Close this thread's HTTP session."""
        self.requestor.close()

    def __repr__(self) -> str:
        return f"Mxit(client_id={self.client_id!r}, api_url={self.api_base!r}, user_id={self.user_id!r})"
