"""Prometheus metrics scraped from the worker, checked against the sandbox's own counts."""

from __future__ import annotations

import re

import requests

from mxit_tasks import tasks
from tests.conftest import USER1, Sandbox
from tests.tasks.conftest import METRICS_PORT, finished, result_of


def scrape() -> str:
    return requests.get(f"http://127.0.0.1:{METRICS_PORT}/metrics", timeout=5).text


def value(text: str, name: str, **labels: str) -> float:
    """One sample's value (0 when absent)."""
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        m = re.match(r"^(\w+)(?:\{(.*)\})? ([0-9.e+-]+)$", line)
        if not m or m.group(1) != name:
            continue
        got = ",".join(sorted((m.group(2) or "").split(","))) if m.group(2) else ""
        if got == want:
            return float(m.group(3))
    return 0.0


def test_counts_match_the_sandbox(live: Sandbox) -> None:
    before = scrape()
    live.control.faults(
        {"GET /api/user/public/*": {"error_rate": 1.0, "error_status": 503, "times": 2}}
    )
    for _ in range(3):
        result_of(tasks.get_status.delay(USER1))
    ids = [f"m{40_000_000_000 + i}" for i in range(40)] + ["m49999999999"]
    finished(tasks.send_message.delay("mxitdemo", ids, "metrics").id)
    after = scrape()

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    route = "GET /api/user/public/statusmessage/{mxit_id}"
    assert delta("mxit_api_calls_total", operation="users.get_status", status="200") == (
        live.control.route_count(route, 200)
    )
    assert delta("mxit_api_calls_total", operation="users.get_status", status="503") == 2
    assert delta("mxit_task_retries_total", task="mxit.users.get_status", reason="ServerError") == 2
    stats = live.control.stats()
    assert (
        delta("mxit_broadcast_recipients_total", outcome="delivered")
        == stats["recipients_delivered"]
    )
    assert delta("mxit_broadcast_recipients_total", outcome="invalid") == 1
    assert value(after, "mxit_dlq_size") == 0
    assert "mxit_api_call_seconds_bucket" in after
