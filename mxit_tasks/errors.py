"""The one exception tree of mxit-tasks.

::

    MxitError
    ├── MxitValidationError (also ValueError)   bad input, caught before any HTTP; names the field
    │   └── InvalidRecipientsInput               malformed recipient ids
    ├── UserAuthorizationRequired               no usable user token: the user must consent again
    ├── OAuthError                              /token or /revoke said no (status, error, description)
    ├── TransportError                          no HTTP status to go by
    │   ├── ConnectError                        never reached the server: always safe to repeat
    │   ├── Timeout                             sent, no answer in time: it may have been applied
    │   └── ConnectionLost                      the answer was cut off: it may have been applied
    └── APIError                                api.mxit.com answered with an error status
        ├── BadRequest (400)
        │   └── InvalidRecipients               some UserIds unknown; the others WERE delivered
        ├── Unauthorized (401)
        ├── Forbidden (403)
        ├── NotFound (404)
        ├── Conflict (409)
        ├── PayloadTooLarge (413)
        ├── RateLimited (429)                   carries retry_after
        └── ServerError (5xx)

Every exception passes all its fields to ``super().__init__``, so ``pickle`` and Celery's result
backend rebuild it from ``.args``. None of them ever holds a token, a secret or an auth code.
"""

from __future__ import annotations

import email.utils
import time
from typing import Any


class MxitError(Exception):
    """Base of every mxit-tasks error."""


MxitAPIException = MxitError  # python-mxit's name, kept for compatibility


class MxitValidationError(MxitError, ValueError):
    """Bad input, found before any HTTP call. Never retried."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(field, reason)
        self.field = field
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.field}: {self.reason}"


class InvalidRecipientsInput(MxitValidationError):
    """Recipient ids that can never be sent to (empty, not a string, holding a comma)."""

    def __init__(self, field: str, reason: str, bad: list[str] | None = None) -> None:
        MxitError.__init__(self, field, reason, bad or [])
        self.field = field
        self.reason = reason
        self.bad = bad or []


class UserAuthorizationRequired(MxitError):
    """No usable user token for this user: they must go through consent again. Never retried."""

    def __init__(self, user_id: str | None, reason: str) -> None:
        super().__init__(user_id, reason)
        self.user_id = user_id
        self.reason = reason

    def __str__(self) -> str:
        return f"user {self.user_id or '(unknown)'} must authorise the app again: {self.reason}"


class OAuthError(MxitError):
    """The auth server refused a token request."""

    def __init__(self, status: int, error: str, description: str, grant_type: str = "") -> None:
        super().__init__(status, error, description, grant_type)
        self.status = status
        self.error = error
        self.description = description
        self.grant_type = grant_type

    def __str__(self) -> str:
        what = f" ({self.grant_type})" if self.grant_type else ""
        return f"POST /token{what} -> {self.status} {self.error}: {self.description}"


class TransportError(MxitError):
    """No HTTP status to go by: the connection failed, timed out or was cut."""

    def __init__(self, method: str, path: str, detail: str) -> None:
        super().__init__(method, path, detail)
        self.method = method
        self.path = path
        self.detail = detail
        self.status: int | None = None
        self.retry_after: float | None = None

    def __str__(self) -> str:
        return f"{self.method} {self.path}: {type(self).__name__}: {self.detail}"


class ConnectError(TransportError):
    """The request never reached the server."""


class Timeout(TransportError):
    """The server did not answer in time; the request may have been applied."""


class ConnectionLost(TransportError):
    """The connection broke while reading the answer; the request may have been applied."""


class APIError(MxitError):
    """The API answered with an error status."""

    def __init__(
        self,
        status: int,
        error: str,
        description: str,
        method: str = "",
        path: str = "",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(status, error, description, method, path, retry_after)
        self.status = status
        self.error = error
        self.description = description
        self.method = method
        self.path = path
        self.retry_after = retry_after

    def __str__(self) -> str:
        return f"{self.method} {self.path} -> {self.status} {self.error}: {self.description}"


class BadRequest(APIError):
    """400: the request is malformed or breaks a limit. Never retried."""


class InvalidRecipients(BadRequest):
    """400 naming unknown UserIds: the valid recipients were delivered (contract §3.2)."""

    def __init__(
        self,
        status: int,
        error: str,
        description: str,
        method: str = "",
        path: str = "",
        retry_after: float | None = None,
        invalid_user_ids: list[str] | None = None,
    ) -> None:
        APIError.__init__(self, status, error, description, method, path, retry_after)
        self.invalid_user_ids = list(invalid_user_ids or [])
        self.args = (*self.args, self.invalid_user_ids)


class Unauthorized(APIError):
    """401: the token is missing, unknown or expired."""


class Forbidden(APIError):
    """403: the token lacks the scope, or is the wrong kind."""


class NotFound(APIError):
    """404: no such user, folder or file."""


class Conflict(APIError):
    """409: e.g. the folder exists already."""


class PayloadTooLarge(APIError):
    """413: the upload is too big."""


class RateLimited(APIError):
    """429: slow down; ``retry_after`` says for how long."""


class ServerError(APIError):
    """5xx: the API failed; worth retrying later."""


ERROR_FOR_STATUS: dict[int, type[APIError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
    429: RateLimited,
}


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def api_error(
    status: int, body: Any, method: str, path: str, retry_after_header: str | None
) -> APIError:
    """The exception for an API error answer (one status -> class map)."""
    error, description = "http_error", f"HTTP {status}"
    invalid: list[str] | None = None
    if isinstance(body, dict):
        error = str(body.get("error") or error)
        description = str(body.get("error_description") or description)
        ids = body.get("invalid_user_ids")
        if isinstance(ids, list):
            invalid = [str(i) for i in ids]
    elif isinstance(body, str) and body.strip():
        description = body.strip()[:500]
    retry_after = parse_retry_after(retry_after_header)
    if status == 400 and (invalid is not None or error == "invalid_recipients"):
        return InvalidRecipients(status, error, description, method, path, retry_after, invalid)
    cls = ERROR_FOR_STATUS.get(status) or (ServerError if status >= 500 else APIError)
    return cls(status, error, description, method, path, retry_after)
