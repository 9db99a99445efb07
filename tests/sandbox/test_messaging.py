"""Sending messages through the sandbox: delivery semantics and limits (contract §3.2, §4.2)."""

from __future__ import annotations

import requests

from tests.conftest import USER0, USER1, USER2, Sandbox


def _send(sandbox: Sandbox, token: str, **fields):
    body = {"From": "mxitdemo", "To": USER0, "Body": "hello", **fields}
    return requests.post(
        f"{sandbox.urls.api}/message/send/", json=body, headers={"Authorization": f"Bearer {token}"}
    )


def test_send_delivers_and_records_in_the_outbox(sandbox: Sandbox) -> None:
    token = sandbox.app_token("message/send")
    link = {"CreateTemporaryContact": True, "TargetService": "other", "Text": "go"}
    resp = _send(
        sandbox,
        token,
        To=f"{USER0},{USER1}",
        Body="Try {0}",
        Links=[link],
        Spool=False,
        SpoolTimeOut=0,
        ContainsMarkup="false",
    )
    assert resp.status_code == 200 and resp.content == b""
    [msg] = sandbox.control.outbox()
    assert msg["to"] == [USER0, USER1] and msg["body"] == "Try {0}" and msg["links"] == [link]
    assert msg["spool"] is False and msg["spool_timeout"] == 0 and msg["contains_markup"] is False
    assert sandbox.control.outbox(to=USER1)[0]["seq"] == msg["seq"]
    assert sandbox.control.outbox(to=USER2) == []
    assert sandbox.control.outbox(since=msg["seq"]) == []


def test_defaults_follow_the_contract(sandbox: Sandbox) -> None:
    _send(sandbox, sandbox.app_token("message/send"))
    [msg] = sandbox.control.outbox()
    assert (
        msg["spool"] is True and msg["spool_timeout"] == 604800 and msg["contains_markup"] is True
    )


def test_unknown_recipients_get_400_but_valid_ones_are_delivered(sandbox: Sandbox) -> None:
    resp = _send(
        sandbox, sandbox.app_token("message/send"), To=f"{USER0},m49999999999,ghost,{USER1}"
    )
    assert resp.status_code == 400
    body = resp.json()
    assert body["error"] == "invalid_recipients"
    assert "m49999999999" in body["error_description"] and "ghost" in body["error_description"]
    assert body["invalid_user_ids"] == ["m49999999999", "ghost"]
    stats = sandbox.control.stats()
    assert stats["recipients_delivered"] == 2 and stats["invalid_recipients"] == 2


def test_users_without_the_app_are_silently_dropped_and_counted(sandbox: Sandbox) -> None:
    sandbox.control.change_user(USER1, apps=False)
    resp = _send(sandbox, sandbox.app_token("message/send"), To=f"{USER0},{USER1}")
    assert resp.status_code == 200
    assert sandbox.control.outbox()[0]["to"] == [USER0]
    assert sandbox.control.stats()["not_subscribed"] == 1


def test_limits_on_recipients_and_body(sandbox: Sandbox) -> None:
    token = sandbox.app_token("message/send")
    sandbox.control.add_users(count=600)
    ids = ",".join(f"m{40_000_000_000 + i}" for i in range(501))
    many = _send(sandbox, token, To=ids)
    assert many.status_code == 400 and many.json()["error"] == "too_many_recipients"
    long = _send(sandbox, token, Body="x" * 1001)
    assert long.status_code == 400 and long.json()["error"] == "body_too_long"
    assert sandbox.control.stats()["recipients_delivered"] == 0
    sandbox.control.config(max_recipients=0, max_body_chars=0)  # limits can be switched off
    assert _send(sandbox, token, To=ids, Body="x" * 1001).status_code == 200


def test_duplicate_deliveries_are_counted(sandbox: Sandbox) -> None:
    token = sandbox.app_token("message/send")
    _send(sandbox, token, To=f"{USER0},{USER1}")
    _send(sandbox, token, To=f"{USER1},{USER2}")
    _send(sandbox, token, To=USER1, Body="different")
    assert sandbox.control.stats()["duplicate_deliveries"] == 1


def test_user_to_user_messages_need_message_user_and_from_self(sandbox: Sandbox) -> None:
    token = sandbox.user_token(USER0, "message/user")
    assert _send(sandbox, token, From=USER0, To=USER1).status_code == 200
    other = _send(sandbox, token, From=USER2, To=USER1)
    assert other.status_code == 403
    app_scope = _send(sandbox, sandbox.user_token(USER0, "profile/public"), From=USER0)
    assert app_scope.status_code == 403


def test_bad_send_bodies_get_clear_400s(sandbox: Sandbox) -> None:
    token = sandbox.app_token("message/send")
    headers = {"Authorization": f"Bearer {token}"}
    url = f"{sandbox.urls.api}/message/send"
    cases = [
        (b"{bad json", "invalid_json"),
        (b"[]", "JSON object"),
        (b'{"From": "a", "Body": "x"}', "To"),
        (b'{"From": "a", "To": 5, "Body": "x"}', "To"),
        (b'{"From": "a", "To": "m1", "Body": "x", "Spool": "maybe"}', "Spool"),
        (b'{"From": "a", "To": "m1", "Body": "x", "SpoolTimeOut": -1}', "SpoolTimeOut"),
        (b'{"From": "a", "To": "m1", "Body": "x", "Links": {}}', "Links"),
        (b'{"From": "a", "To": "m1", "Body": "x", "Links": [{"Text": "t"}]}', "TargetService"),
        (b"\xff\xfe", "JSON"),
    ]
    for body, needle in cases:
        resp = requests.post(url, data=body, headers=headers)
        assert resp.status_code == 400, body
        assert needle in resp.json()["error_description"] or needle == resp.json()["error"], body
    big = requests.post(url, data=b"x" * (2 * 1024 * 1024), headers=headers)
    assert big.status_code == 413


def test_per_second_send_counts(sandbox: Sandbox) -> None:
    token = sandbox.app_token("message/send")
    for _ in range(3):
        _send(sandbox, token)
    stats = sandbox.control.stats()
    assert sum(stats["sends_per_second"].values()) == 3
    assert stats["routes"]["POST /api/message/send"] == {"200": 3}
