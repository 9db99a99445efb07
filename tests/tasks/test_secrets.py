"""No secret in broker messages, results, Redis keys or logs: client secret, access and refresh
tokens, auth codes."""

from __future__ import annotations

import json
from typing import Any

import pytest
import redis
from celery.signals import before_task_publish

from mxit_tasks import runtime, tasks
from mxit_tasks._media import tiny_png
from tests.conftest import ALL_USER_SCOPES, REDIRECT, TEST_REDIS_URL, USER0, USER1, Sandbox
from tests.tasks.conftest import Worker, finished, result_of


def redis_dump() -> str:
    """Every key and value in the test database, as text."""
    r = redis.Redis.from_url(TEST_REDIS_URL)
    parts: list[str] = []
    for key in r.scan_iter(count=1000):
        kind = r.type(key).decode()
        parts.append(key.decode(errors="replace"))
        if kind == "string":
            parts.append(r.get(key).decode(errors="replace"))
        elif kind == "list":
            parts.extend(v.decode(errors="replace") for v in r.lrange(key, 0, -1))
        elif kind == "hash":
            parts.extend(
                f"{k.decode(errors='replace')}={v.decode(errors='replace')}"
                for k, v in r.hgetall(key).items()
            )
        elif kind == "set":
            parts.extend(v.decode(errors="replace") for v in r.smembers(key))
        elif kind == "zset":
            parts.extend(v.decode(errors="replace") for v in r.zrange(key, 0, -1))
        elif kind == "stream":
            for _, fields in r.xrange(key):
                parts.extend(v.decode(errors="replace") for v in fields.values())
    return "\n".join(parts)


def test_no_secret_is_written_anywhere(
    live: Sandbox, worker: Worker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    published: list[str] = []

    def record(body: Any = None, headers: Any = None, **_: Any) -> None:
        published.append(json.dumps([body, headers], default=str))

    before_task_publish.connect(record, weak=False)
    try:
        # Given a user who consented (the code and the tokens pass through our code) ...
        code = live.control.consent(live.client_id, USER0, ALL_USER_SCOPES, REDIRECT)
        grant = live.token_response(
            grant_type="authorization_code", code=code, redirect_uri=REDIRECT
        )
        assert grant.status_code == 200
        code2 = live.control.consent(live.client_id, USER0, ALL_USER_SCOPES, REDIRECT)
        runtime.client().for_user(USER0).oauth.get_user_token(ALL_USER_SCOPES, code2)
        record_ = runtime.client().tokens.store.get(f"user:{live.client_id}:{USER0}")
        secrets = {
            live.client_secret,
            code,
            code2,
            record_["access_token"],
            record_["refresh_token"],
        }
        # ... when tasks run, retry, refresh, fail and dead-letter ...
        live.control.expire("access", USER0)
        result_of(tasks.set_status.delay("secret-free", user_id=USER0))
        result_of(tasks.set_avatar.delay(tiny_png((1, 1, 1)), user_id=USER0))
        finished(tasks.send_message.delay("mxitdemo", [USER1, "m49999999999"], "hi").id)
        live.control.expire("all", USER0)
        failed = tasks.get_full_profile.delay(user_id=USER0)
        with pytest.raises(Exception):  # noqa: B017 - any failure; the text is what we scan
            result_of(failed)
        # every token and code the sandbox issued during the test
        issued = live.control.call("GET", "/secrets")
        for values in issued.values():
            secrets.update(values)
        assert len(secrets) > 6
    finally:
        before_task_publish.disconnect(record)
    # ... then no secret appears in Redis (broker, results, our keys), messages or logs.
    haystacks = {
        "redis": redis_dump(),
        "published": "\n".join(published),
        "worker log": worker.log(),
        "test log": caplog.text,
    }
    assert published and "mxit.users.set_status" in haystacks["worker log"]
    for where, text in haystacks.items():
        for secret in secrets:
            assert secret not in text, f"a secret leaked into the {where}"
