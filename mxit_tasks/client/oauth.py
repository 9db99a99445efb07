"""OAuth2 against auth.mxit.com: consent URL, user and app tokens, refresh and revoke (§2)."""

from __future__ import annotations

import hashlib
from urllib.parse import urlencode

from mxit_tasks.client._service import Service
from mxit_tasks.client.tokens import normalise_scope
from mxit_tasks.errors import APIError, MxitError, UserAuthorizationRequired


class OAuth(Service):
    """``client.oauth``: the python-mxit OAuth surface, plus refresh and revoke."""

    def auth_url(self, scope: str, state: str | None = None) -> str:
        """The ``GET /authorize`` URL that asks the user to consent to ``scope``."""
        scopes = normalise_scope(scope)
        redirect = self._client.redirect_uri
        if not redirect:
            raise UserAuthorizationRequired(None, "set redirect_uri on the client first")
        query = {
            "response_type": "code",
            "client_id": self._client.client_id,
            "redirect_uri": redirect,
            "scope": " ".join(sorted(scopes)),
        }
        state = state if state is not None else self._client.state
        if state:
            query["state"] = state
        return f"{self._client.auth_base}/authorize?{urlencode(query)}"

    def get_user_token(
        self, scope: str, code: str | None = None, *, redirect_uri: str | None = None
    ) -> str:
        """``POST /token`` (authorization_code): exchange ``code``, store the token, return it.

        The UserId is learned from ``GET /userinfo`` (or the full profile), the token is kept in
        the token store under it, and this client then acts as that user. Without ``code``, the
        current user's stored token for ``scope`` is returned (refreshed if near expiry).
        """
        tokens = self._client.tokens
        if code is None:
            if self._client.user_id is None:
                raise UserAuthorizationRequired(None, "no code given and no current user")
            return tokens.user_token(self._client.user_id, scope)
        wanted = normalise_scope(scope)
        record = tokens.exchange_code(code, redirect_uri)
        granted = set(record["scopes"]) or set(wanted)
        record["scopes"] = sorted(granted)
        user_id = self._learn_user_id(record["access_token"], granted)
        tokens.store_user(user_id, record)
        self._client.user_id = user_id
        return record["access_token"]

    def _learn_user_id(self, access_token: str, scopes: set[str]) -> str:
        """The token owner's UserId: ``GET /userinfo``, else ``GET /user/profile``."""
        send = self._client.requestor.send
        try:
            info = send("GET", "/userinfo", server="auth", token=access_token).json()
            found = info.get("user_id") or info.get("sub")
            if isinstance(found, str) and found:
                return found
        except (APIError, ValueError):
            pass
        if "profile/private" in scopes:
            try:
                profile = send("GET", "/user/profile", token=access_token).json()
                if isinstance(profile.get("UserId"), str):
                    return profile["UserId"]
            except (APIError, ValueError):
                pass
        # No way to learn the id: keep the token for this client object only.
        digest = hashlib.sha256(access_token.encode()).hexdigest()[:16]
        return f"anonymous-{digest}"

    def get_app_token(self, scope: str) -> str:
        """``POST /token`` (client_credentials): an app token covering ``scope``, cached."""
        return self._client.tokens.app_token(scope)

    def refresh_user_token(self, user_id: str | None = None) -> str:
        """``POST /token`` (refresh_token): a new access token for the user, stored."""
        user = user_id or self._client.user_id
        if user is None:
            raise UserAuthorizationRequired(None, "no user to refresh")
        return self._client.tokens.refresh(user)

    def revoke_user_token(self, user_id: str | None = None) -> None:
        """``POST /revoke``: revoke the user's refresh and access tokens and forget them."""
        user = user_id or self._client.user_id
        if user is None:
            raise MxitError("revoke_user_token: no user given and no current user")
        self._client.tokens.revoke_user(user)

    def has_user_token(self, user_id: str | None = None) -> bool:
        """Whether a token is stored for the user (no HTTP)."""
        user = user_id or self._client.user_id
        return bool(user) and self._client.tokens.has_user(user)
