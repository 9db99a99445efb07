"""Messaging through the client: real HTTP, the sandbox's outbox as the oracle."""

from __future__ import annotations

import functools
import operator
from typing import Any

import pytest

from mxit_tasks import InvalidRecipients, Mxit, MxitValidationError
from mxit_tasks.errors import InvalidRecipientsInput
from mxit_tasks.settings import Settings
from tests.client.conftest import consent, make_client
from tests.conftest import USER0, USER1, USER2, Sandbox

SEND_ROUTE = "POST /api/message/send"
UNKNOWN = "m49999999999"


def sent_bodies(client: Mxit) -> list[dict[str, Any]]:
    """Record the JSON body of every request this thread's session sends."""
    import json

    bodies: list[dict[str, Any]] = []

    def hook(resp: Any, **_: Any) -> None:
        if resp.request.headers.get("Content-Type", "").startswith("application/json"):
            bodies.append(json.loads(resp.request.body))

    client.requestor.session.hooks["response"].append(hook)
    return bodies


def test_send_message_delivers_to_every_recipient(client: Mxit, sandbox: Sandbox) -> None:
    assert client.messaging.send_message("mxitdemo", [USER1, USER2], "Hello *there*") == ""
    [msg] = sandbox.control.outbox()
    assert msg["to"] == [USER1, USER2] and msg["body"] == "Hello *there*"
    assert msg["from"] == "mxitdemo" and msg["contains_markup"] is True


def test_large_lists_are_split_into_batches(sandbox: Sandbox) -> None:
    client = make_client(sandbox, settings=Settings(batch_size=2))
    targets = [f"m4000000000{i}" for i in range(5)]
    client.messaging.send_message("mxitdemo", targets, "hi")
    outbox = sandbox.control.outbox()
    assert [m["recipients"] for m in outbox] == [2, 2, 1]
    assert functools.reduce(operator.iadd, (m["to"] for m in outbox), []) == targets


def test_unknown_recipients_are_reported_and_the_others_delivered(
    sandbox: Sandbox,
) -> None:
    client = make_client(sandbox, settings=Settings(batch_size=2))
    with pytest.raises(InvalidRecipients) as info:
        client.messaging.send_message("mxitdemo", [USER0, UNKNOWN, USER1, "m48888888888"], "x")
    assert info.value.invalid_user_ids == [UNKNOWN, "m48888888888"]
    delivered = functools.reduce(operator.iadd, (m["to"] for m in sandbox.control.outbox()), [])
    assert delivered == [USER0, USER1]
    assert sandbox.control.route_count(SEND_ROUTE) == 2  # each batch sent once, never resent


def test_spool_false_and_spool_timeout_zero_reach_the_wire(client: Mxit, sandbox: Sandbox) -> None:
    bodies = sent_bodies(client)
    client.messaging.send_message(
        "mxitdemo", [USER1], "x", contains_markup=False, spool=False, spool_timeout=0
    )
    sent = next(b for b in bodies if "To" in b)
    assert sent["Spool"] is False and sent["SpoolTimeOut"] == 0
    assert sent["ContainsMarkup"] is False
    [msg] = sandbox.control.outbox()
    assert msg["spool"] is False and msg["spool_timeout"] == 0


def test_links_and_falsy_redirect_link_fields(client: Mxit, sandbox: Sandbox) -> None:
    link = client.messaging.create_redirect_link(
        False, "otherapp", "Open", add_to_back_history=False, parameters={}
    )
    assert link == {
        "CreateTemporaryContact": False,
        "TargetService": "otherapp",
        "Text": "Open",
        "AddToBackHistory": False,
        "Parameters": {},
    }
    client.messaging.send_message("mxitdemo", [USER1], "Try {0}", links=[link])
    [msg] = sandbox.control.outbox()
    assert msg["links"][0]["TargetService"] == "otherapp"


def test_empty_links_are_left_out(client: Mxit, sandbox: Sandbox) -> None:
    bodies = sent_bodies(client)
    client.messaging.send_message("mxitdemo", [USER1], "x", links=[])
    assert "Links" not in next(b for b in bodies if "To" in b)


def test_duplicates_are_dropped_and_counted(client: Mxit, sandbox: Sandbox) -> None:
    result = client.messaging.send_batches("mxitdemo", [USER1, USER1, USER2, USER1], "x")
    assert result == {"recipients": 2, "duplicates": 2, "batches": 1}
    assert sandbox.control.outbox()[0]["to"] == [USER1, USER2]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"target_user_ids": ["m1", ""]}, "target_user_ids"),
        ({"target_user_ids": ["m1,m2"]}, "target_user_ids"),
        ({"target_user_ids": [42]}, "target_user_ids"),
        ({"target_user_ids": []}, "target_user_ids"),
        ({"message": "x" * 1001}, "message"),
        ({"message": b"bytes"}, "message"),
        ({"contains_markup": "false"}, "contains_markup"),
        ({"spool": 1}, "spool"),
        ({"spool_timeout": -1}, "spool_timeout"),
        ({"links": [{"Text": "no target"}]}, "links[0].TargetService"),
        ({"app_mxit_id": ""}, "app_mxit_id"),
    ],
)
def test_bad_input_is_refused_before_any_http(
    client: Mxit, sandbox: Sandbox, kwargs: dict[str, Any], field: str
) -> None:
    call: dict[str, Any] = {"app_mxit_id": "mxitdemo", "target_user_ids": [USER1], "message": "x"}
    call.update(kwargs)
    with pytest.raises(MxitValidationError) as info:
        client.messaging.send_message(**call)
    assert info.value.field == field
    assert isinstance(info.value, ValueError)
    assert sandbox.control.stats()["routes"] == {}


def test_a_comma_in_an_id_names_the_id(client: Mxit) -> None:
    with pytest.raises(InvalidRecipientsInput) as info:
        client.messaging.send_message("mxitdemo", ["m1,m2", "ok"], "x")
    assert info.value.bad == ["m1,m2"] and "comma" in str(info.value)


def test_user_to_user_message_comes_from_the_user(client: Mxit, sandbox: Sandbox) -> None:
    consent(client, sandbox, USER0, "message/user")
    client.messaging.send_user_to_user_message(USER0, [USER1], "hey")
    [msg] = sandbox.control.outbox()
    assert msg["from"] == USER0 and msg["to"] == [USER1]
