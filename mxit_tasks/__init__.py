"""mxit-tasks: the Mxit REST API behind a production Celery worker.

``from mxit_tasks import Mxit`` gives the client, which never imports Celery. The Celery app
(``mxit_tasks.app``, found by ``celery -A mxit_tasks``) and the most used tasks are loaded lazily,
on first access, so that importing the client stays light.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

from mxit_tasks.client import Mxit
from mxit_tasks.errors import (
    APIError,
    BadRequest,
    ConnectError,
    ConnectionLost,
    Forbidden,
    InvalidRecipients,
    InvalidRecipientsInput,
    MxitAPIException,
    MxitError,
    MxitValidationError,
    NotFound,
    OAuthError,
    RateLimited,
    ServerError,
    Timeout,
    TransportError,
    Unauthorized,
    UserAuthorizationRequired,
)
from mxit_tasks.retry import delay_for
from mxit_tasks.settings import Settings

logging.getLogger("mxit_tasks").addHandler(logging.NullHandler())

_LAZY = {
    "app": "mxit_tasks.celery_app",
    "send_message": "mxit_tasks.tasks",
    "send_user_to_user_message": "mxit_tasks.tasks",
    "set_status": "mxit_tasks.tasks",
    "set_avatar": "mxit_tasks.tasks",
    "get_status": "mxit_tasks.tasks",
    "broadcast_status": "mxit_tasks.tasks",
}

__all__ = [
    "APIError",
    "BadRequest",
    "ConnectError",
    "ConnectionLost",
    "Forbidden",
    "InvalidRecipients",
    "InvalidRecipientsInput",
    "Mxit",
    "MxitAPIException",
    "MxitError",
    "MxitValidationError",
    "NotFound",
    "OAuthError",
    "RateLimited",
    "ServerError",
    "Settings",
    "Timeout",
    "TransportError",
    "Unauthorized",
    "UserAuthorizationRequired",
    "app",
    "broadcast_status",
    "delay_for",
    "get_status",
    "send_message",
    "send_user_to_user_message",
    "set_avatar",
    "set_status",
]


def __getattr__(name: str) -> Any:
    """Load the Celery app and the exported tasks on first use (PEP 562)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'mxit_tasks' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
