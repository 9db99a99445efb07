"""The global rate limit vs Celery's built-in ``rate_limit``, with 3 worker processes.

For each limiter: a broadcast of one-recipient batches (so every batch is one request) runs for
about ``--seconds`` at ``--rate`` requests/s; the sandbox counts the requests it receives per
second. Prints the configured limit, the observed mean and the worst one-second count.

Run: ``python bench/ratelimit.py [--rate 50] [--seconds 30] [--burst 5]``
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

import redis
import requests

sys.path.insert(0, os.path.dirname(__file__))
from _common import ROOT, bench_env, bench_redis_url, sandbox_process, workers

PRODUCER = r"""
import sys
from mxit_tasks.tasks import send_message
n = int(sys.argv[1])
print(send_message.delay("mxitdemo", [f"m{40_000_000_000 + i}" for i in range(n)], "rl").id)
"""

CELERY_LIMIT = r"""
import sys, time
from mxit_tasks.celery_app import app
want = int(sys.argv[2]) if len(sys.argv) > 2 else 1
for _ in range(20):  # until every worker confirmed the new limit
    replies = app.control.rate_limit("mxit.messaging.send_batch", sys.argv[1], reply=True, timeout=3)
    if len(replies) >= want:
        break
    time.sleep(0.5)
else:
    sys.exit(f"only {len(replies)} of {want} workers confirmed the rate limit")
print(replies)
"""


def run(env: dict, r: redis.Redis, control: str, n: int, cap: float = 600) -> dict:
    """One broadcast of ``n`` one-recipient batches; the sandbox's per-second counts
    (measured until done, or for at most ``cap`` seconds)."""
    requests.post(control + "/reset")
    bid = subprocess.run(
        [sys.executable, "-c", PRODUCER, str(n)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()[-1]
    deadline = time.monotonic() + cap
    while int(r.hget(f"mxit:bc:{bid}:c", "batches_final") or 0) < n:
        if time.monotonic() > deadline:
            break
        time.sleep(0.2)
    per_second = {
        int(k): v for k, v in requests.get(control + "/stats").json()["sends_per_second"].items()
    }
    seconds = sorted(per_second)
    span = max(seconds[-1] - seconds[0], 1) if seconds else 1
    # the mean over the full seconds of the run (the first and last are partial)
    inner = sum(per_second.get(s, 0) for s in range(seconds[0] + 1, seconds[-1]))
    return {
        "max": max(per_second.values()),
        "mean_full": inner / max(span - 1, 1),
        "total": sum(per_second.values()),
        "span": span,
    }


def main() -> None:
    """Measure both limiters and print a table."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--rate", type=float, default=50)
    ap.add_argument("--burst", type=int, default=5)
    ap.add_argument("--seconds", type=int, default=30)
    ap.add_argument("--workers", type=int, default=3)
    args = ap.parse_args()
    url = bench_redis_url(13)
    r = redis.Redis.from_url(url)
    r.flushdb()
    n = int(args.rate * args.seconds)
    rows = []
    with sandbox_process(users=max(n, 1000)) as info:
        control = info["control_url"]
        ours = bench_env(
            info,
            url,
            MXIT_BATCH_SIZE="1",
            MXIT_RATE_LIMITS=f"messaging={args.rate:g}/s",
            MXIT_RATE_BURST=str(args.burst),
        )
        with workers(ours, args.workers, concurrency=8):
            rows.append(("mxit-tasks global limiter", run(ours, r, control, n)))
        r.flushdb()
        plain = bench_env(info, url, MXIT_BATCH_SIZE="1")
        with workers(plain, args.workers, concurrency=8):
            subprocess.run(
                [sys.executable, "-c", CELERY_LIMIT, f"{args.rate:g}/s"],
                cwd=ROOT,
                env=plain,
                check=True,
                capture_output=True,
            )
            rows.append(("celery rate_limit (per worker)", run(plain, r, control, n)))
    print(
        f"{args.workers} worker processes, limit {args.rate:g}/s, burst {args.burst}, {n} requests"
    )
    print(
        f"{'limiter':<32} {'limit':>6} {'mean/s':>8} {'max 1s':>7} {'seconds':>8} "
        f"{'limit+burst':>12}"
    )
    for name, res in rows:
        print(
            f"{name:<32} {args.rate:>6g} {res['mean_full']:>8.1f} {res['max']:>7} "
            f"{res['span']:>8} {args.rate + args.burst:>12g}"
        )


if __name__ == "__main__":
    main()
