"""The service base: every API call of every service goes through :meth:`Service._request`.

It picks the token (app token per scope set, or the current user's stored token), sends through
the one :class:`~mxit_tasks.client._http.Requestor`, and on a 401 refreshes the token once and
repeats the call once (the API refused it, so nothing was applied).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

import requests

from mxit_tasks.client._http import _UNSET
from mxit_tasks.errors import MxitError, Unauthorized, UserAuthorizationRequired

if TYPE_CHECKING:
    from mxit_tasks.client import Mxit

Auth = Literal["app", "user"]
CHUNK = 64 * 1024


class Service:
    """One API area (stripe-style service) bound to a :class:`~mxit_tasks.client.Mxit`."""

    def __init__(self, client: Mxit) -> None:
        self._client = client

    @property
    def _settings(self) -> Any:
        return self._client.settings

    def _token(self, auth: Auth, scope: str) -> str:
        tokens = self._client.tokens
        if auth == "app":
            return tokens.app_token(scope)
        user_id = self._client.user_id
        if user_id is None:
            raise UserAuthorizationRequired(
                None, "no user: call oauth.get_user_token(scope, code) or use for_user(user_id)"
            )
        return tokens.user_token(user_id, scope)

    def _renew(self, auth: Auth, stale: str) -> str:
        tokens = self._client.tokens
        if auth == "app":
            tokens.invalidate_app(stale)
            return ""
        return tokens.refresh(self._client.user_id or "", stale_token=stale)

    def _request(
        self,
        method: str,
        path: str,
        *,
        auth: Auth,
        scope: str,
        params: Mapping[str, str] | None = None,
        json_body: Any = _UNSET,
        data: bytes | None = None,
        content_type: str | None = None,
        stream: bool = False,
    ) -> requests.Response:
        """Send one API call with the right token; on 401 renew the token once and repeat once."""
        token = self._token(auth, scope)
        send = self._client.requestor.send
        kwargs: dict[str, Any] = {
            "token": token,
            "params": params,
            "json_body": json_body,
            "data": data,
            "content_type": content_type,
            "stream": stream,
        }
        try:
            return send(method, path, **kwargs)
        except Unauthorized:
            renewed = self._renew(auth, token)
            kwargs["token"] = renewed or self._token(auth, scope)
            return send(method, path, **kwargs)

    @staticmethod
    def _decode(resp: requests.Response) -> Any:
        """The JSON body decoded (a real JSON decode, not quote stripping); "" when empty."""
        if not resp.content:
            return ""
        try:
            return resp.json()
        except ValueError:
            raise MxitError(
                f"{resp.request.method} {_path(resp)} -> {resp.status_code}: the body is not JSON"
            ) from None

    @staticmethod
    def _binary(resp: requests.Response, output_file_path: str | None) -> bytes | None:
        """Binary body: bytes, or streamed in 64 KiB chunks to a file (atomically, mode 'wb')."""
        try:
            if output_file_path is None:
                return resp.content
            target = os.fspath(output_file_path)
            folder = os.path.dirname(os.path.abspath(target))
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=".mxit-", suffix=".part")
            try:
                with os.fdopen(fd, "wb") as fh:
                    for chunk in resp.iter_content(CHUNK):
                        fh.write(chunk)
                os.replace(tmp, target)
            except BaseException:
                if os.path.exists(tmp):
                    os.unlink(tmp)
                raise
            return None
        finally:
            resp.close()


def _path(resp: requests.Response) -> str:
    url = resp.request.path_url if resp.request is not None else ""
    return url.split("?")[0]


def query_bool(value: bool) -> str:
    """A query boolean as the API writes it: lowercase ``true`` / ``false``."""
    return "true" if value else "false"
