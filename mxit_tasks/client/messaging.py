"""Messaging API: ``POST /message/send/`` from an app or a user (contract §3.2)."""

from __future__ import annotations

import logging
from typing import Any

from mxit_tasks.client import validation as v
from mxit_tasks.client._service import Auth, Service
from mxit_tasks.errors import InvalidRecipients, MxitValidationError

log = logging.getLogger("mxit_tasks.client")
SEND_PATH = "/message/send/"


def build_send_body(
    sender: str,
    to: list[str],
    message: str,
    contains_markup: bool,
    spool: bool | None = None,
    spool_timeout: int | None = None,
    links: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The SendMessage JSON body; ``Spool=False`` and ``SpoolTimeOut=0`` are kept (only None is
    left out), and an empty ``Links`` is dropped (it broke delivery in 2013)."""
    body: dict[str, Any] = {
        "From": sender,
        "To": ",".join(to),
        "Body": message,
        "ContainsMarkup": contains_markup,
    }
    if spool is not None:
        body["Spool"] = spool
    if spool_timeout is not None:
        body["SpoolTimeOut"] = spool_timeout
    if links:
        body["Links"] = links
    return body


def chunks(items: list[str], size: int) -> list[list[str]]:
    """``items`` in consecutive slices of at most ``size``."""
    return [items[i : i + size] for i in range(0, len(items), size)]


def check_links(links: Any) -> list[dict[str, Any]] | None:
    """Validate ``links`` (a list of create_redirect_link dicts) or None."""
    if links is None:
        return None
    if not isinstance(links, list | tuple):
        raise MxitValidationError("links", "must be a list of create_redirect_link() dicts")
    out = []
    for i, link in enumerate(links):
        if not isinstance(link, dict):
            raise MxitValidationError(f"links[{i}]", "must be a dict")
        for key in ("TargetService", "Text"):
            if not isinstance(link.get(key), str) or not link[key]:
                raise MxitValidationError(f"links[{i}].{key}", "must be a non-empty string")
        out.append(dict(link))
    return out


class Messaging(Service):
    """``client.messaging``: send messages."""

    def send_message(
        self,
        app_mxit_id: str,
        target_user_ids: list[str],
        message: str = "",
        contains_markup: bool = True,
        spool: bool | None = None,
        spool_timeout: int | None = None,
        links: list[dict[str, Any]] | None = None,
        scope: str = "message/send",
    ) -> str:
        """``POST /message/send/`` with an app token (``message/send``), in chunks of 500.

        Unknown UserIds raise :class:`InvalidRecipients` listing all of them, after every chunk
        was sent: the valid recipients were delivered. Returns "" like python-mxit.
        """
        self.send_batches(
            app_mxit_id,
            target_user_ids,
            message,
            contains_markup,
            spool,
            spool_timeout,
            links,
            scope,
        )
        return ""

    def send_batches(
        self,
        app_mxit_id: str,
        target_user_ids: list[str],
        message: str = "",
        contains_markup: bool = True,
        spool: bool | None = None,
        spool_timeout: int | None = None,
        links: list[dict[str, Any]] | None = None,
        scope: str = "message/send",
    ) -> dict[str, Any]:
        """Like send_message, but returns ``{"recipients", "duplicates", "batches"}``."""
        v.identifier("app_mxit_id", app_mxit_id)
        to, duplicates = v.recipients("target_user_ids", target_user_ids)
        message = v.message_body("message", message, self._settings.max_body_chars)
        v.boolean("contains_markup", contains_markup)
        v.optional_bool("spool", spool)
        if spool_timeout is not None:
            v.non_negative_int("spool_timeout", spool_timeout)
        links = check_links(links)
        batches = self._send_chunks(
            "app", scope, to, app_mxit_id, message, contains_markup, spool, spool_timeout, links
        )
        return {"recipients": len(to), "duplicates": duplicates, "batches": batches}

    def _send_chunks(self, auth: Auth, scope: str, to: list[str], *fields: Any) -> int:
        """Send ``to`` in batches; unknown UserIds of every batch are raised together at the end,
        after the others were delivered. Returns the number of batches."""
        invalid: list[str] = []
        batches = chunks(to, self._settings.batch_size)
        for batch in batches:
            body = build_send_body(fields[0], batch, *fields[1:])
            invalid.extend(self.send_batch(body, scope=scope, auth=auth))
        if invalid:
            raise InvalidRecipients(
                400,
                "invalid_recipients",
                f"{len(invalid)} unknown UserIds; the other recipients were delivered",
                "POST",
                SEND_PATH,
                None,
                invalid,
            )
        return len(batches)

    def send_batch(
        self, body: dict[str, Any], scope: str = "message/send", auth: Auth = "app"
    ) -> list[str]:
        """One ``POST /message/send/`` with a prepared body; returns the unknown UserIds.

        The building block of broadcasts: the caller owns batching and idempotency.
        """
        try:
            self._request("POST", SEND_PATH, auth=auth, scope=scope, json_body=body)
        except InvalidRecipients as exc:
            return exc.invalid_user_ids
        return []

    def send_user_to_user_message(
        self,
        from_user_id: str,
        target_user_ids: list[str],
        message: str = "",
        contains_markup: bool = True,
        scope: str = "message/user",
    ) -> str:
        """``POST /message/send/`` with the sending user's token (``message/user``)."""
        v.identifier("from_user_id", from_user_id)
        to, _ = v.recipients("target_user_ids", target_user_ids)
        message = v.message_body("message", message, self._settings.max_body_chars)
        v.boolean("contains_markup", contains_markup)
        self._send_chunks("user", scope, to, from_user_id, message, contains_markup)
        return ""

    def create_redirect_link(
        self,
        create_temporary_contact: bool,
        target_service: str,
        text: str,
        add_to_back_history: bool | None = None,
        parameters: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """One ``Links[]`` element (no HTTP); falsy ``AddToBackHistory``/``Parameters`` kept."""
        v.boolean("create_temporary_contact", create_temporary_contact)
        v.identifier("target_service", target_service)
        v.identifier("text", text)
        link: dict[str, Any] = {
            "CreateTemporaryContact": create_temporary_contact,
            "TargetService": target_service,
            "Text": text,
        }
        if add_to_back_history is not None:
            link["AddToBackHistory"] = v.boolean("add_to_back_history", add_to_back_history)
        if parameters is not None:
            if not isinstance(parameters, dict):
                raise MxitValidationError("parameters", "must be a dict")
            link["Parameters"] = parameters
        return link
