"""Sandbox throughput and outbox memory.

Prints requests/s for ``POST /api/message/send/`` with 500 recipients and for
``GET /api/user/public/statusmessage/{id}``, driven by wrk (a C load generator, so the driver is
not the limit) or, where wrk is missing, by several Python client processes. Then the memory the
outbox needs for a million deliveries.

Run: ``python bench/sandbox_throughput.py [--seconds 10]``
"""

from __future__ import annotations

import argparse
import gc
import json
import multiprocessing
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc

import requests

sys.path.insert(0, os.path.dirname(__file__))
from _common import rss_mb, sandbox_process

RECIPIENTS = 500


def _token(info: dict) -> str:
    resp = requests.post(
        info["auth_url"] + "/token",
        auth=(info["client_id"], info["client_secret"]),
        data={"grant_type": "client_credentials", "scope": "message/send profile/public"},
    )
    resp.raise_for_status()
    return resp.json()["access_token"]


def _send_body() -> str:
    to = ",".join(f"m{40_000_000_000 + i}" for i in range(RECIPIENTS))
    return json.dumps({"From": "mxitdemo", "To": to, "Body": "Benchmark broadcast"})


def _wrk(url: str, seconds: int, lua: str) -> float:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(lua)
    out = subprocess.run(
        ["wrk", "-t2", "-c32", f"-d{seconds}s", "-s", fh.name, url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    os.unlink(fh.name)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        print(f"  warning: {non2xx.group(1)} non-2xx responses", file=sys.stderr)
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def _py_worker(args: tuple[str, str, str | None, str, float]) -> int:
    method, url, body, token, seconds = args
    session = requests.Session()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    n = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        session.request(method, url, data=body, headers=headers).raise_for_status()
        n += 1
    return n


def _python_clients(method: str, url: str, body: str | None, token: str, seconds: int) -> float:
    procs = 4
    with multiprocessing.Pool(procs) as pool:
        counts = pool.map(_py_worker, [(method, url, body, token, seconds)] * procs)
    return sum(counts) / seconds


def measure(seconds: int) -> dict[str, float]:
    """Requests/s for the two routes against a sandbox process."""
    results = {}
    with sandbox_process(users=100_000) as info:
        token = _token(info)
        send_url = info["api_url"] + "/message/send/"
        status_url = info["api_url"] + "/user/public/statusmessage/m40000000042"
        if shutil.which("wrk"):
            driver = "wrk -t2 -c32"
            body = json.dumps(_send_body())
            lua = (
                f'wrk.method = "POST"\nwrk.body = {body}\n'
                f'wrk.headers["Content-Type"] = "application/json"\n'
                f'wrk.headers["Authorization"] = "Bearer {token}"\n'
            )
            results["send_500_rps"] = _wrk(send_url, seconds, lua)
            results["status_rps"] = _wrk(status_url, seconds, "")
        else:
            driver = "4 python processes"
            results["send_500_rps"] = _python_clients(
                "POST", send_url, _send_body(), token, seconds
            )
            results["status_rps"] = _python_clients("GET", status_url, None, token, seconds)
        stats = requests.get(info["control_url"] + "/stats").json()
        results["duplicates_seen"] = stats["duplicate_deliveries"]
        results["sandbox_rss_mb"] = rss_mb(info["pid"])
    print(f"driver: {driver}, {seconds}s per route")
    return results


def outbox_memory(deliveries: int = 1_000_000) -> float:
    """MB the outbox needs to hold ``deliveries`` (2,000 sends of 500 to 1M users)."""
    from mxit_tasks.sandbox.state import State

    state = State(users=deliveries)
    ids = [state.users.user_id(i) for i in range(deliveries)]
    gc.collect()
    tracemalloc.start()
    for start in range(0, deliveries, RECIPIENTS):
        state.deliver(
            "c",
            "mxitdemo",
            "One body, stored once",
            ids[start : start + RECIPIENTS],
            contains_markup=True,
            spool=True,
            spool_timeout=604800,
            links=[],
            app_service="mxitdemo",
        )
    current, _peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert state.stats.recipients_delivered == deliveries
    return current / 1024 / 1024


def main() -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    res = measure(args.seconds)
    mem = outbox_memory()
    print(
        f"POST /message/send/ (500 recipients): {res['send_500_rps']:,.0f} requests/s "
        f"= {res['send_500_rps'] * RECIPIENTS:,.0f} recipients/s"
    )
    print(f"GET /user/public/statusmessage/{{id}}: {res['status_rps']:,.0f} requests/s")
    print(f"sandbox RSS after the run: {res['sandbox_rss_mb']:,.0f} MB")
    print(f"outbox memory for 1,000,000 deliveries: {mem:,.1f} MB")


if __name__ == "__main__":
    main()
