"""A 1,000,000-recipient broadcast against the sandbox, with no rate limit, end to end.

Prints recipients/s end to end (enqueue to last batch final), the peak broker message size,
the producer's peak RSS, and the Redis memory one broadcast uses. Then, with the sandbox at
``latency_ms=100`` (a WAN), the speed-up over one sequential loop of the plain client sending
500-recipient batches.

Run: ``python bench/broadcast.py [--recipients 1000000] [--workers 2] [--threads 16]``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import redis
import requests

sys.path.insert(0, os.path.dirname(__file__))
from _common import ROOT, bench_env, bench_redis_url, sandbox_process, workers

PRODUCER = r"""
import json, os, sys, time
from celery.signals import before_task_publish
sizes = []
before_task_publish.connect(lambda body=None, **kw: sizes.append(len(json.dumps(body))), weak=False)
from mxit_tasks.tasks import send_message
n = int(sys.argv[1])
ids = [f"m{40_000_000_000 + i}" for i in range(n)]
t0 = time.time()
result = send_message.delay("mxitdemo", ids, "bench")
t1 = time.time()
with open(f"/proc/{os.getpid()}/status") as fh:
    hwm = [int(l.split()[1]) / 1024 for l in fh if l.startswith("VmHWM:")][0]
print(json.dumps({"id": result.id, "t0": t0, "enqueue_s": t1 - t0, "peak_rss_mb": hwm,
                  "max_msg": max(sizes)}))
"""


def sample_queue(r: redis.Redis, peak: list[int]) -> None:
    """Record the largest message currently waiting in the messaging queue."""
    for raw in r.lrange("mxit.messaging", 0, 50):
        peak[0] = max(peak[0], len(raw))


def run_broadcast(env: dict, r: redis.Redis, n: int) -> dict:
    """Produce one broadcast in its own process and wait until it is finished."""
    out = subprocess.run(
        [sys.executable, "-c", PRODUCER, str(n)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    produced = json.loads(out.stdout.strip().splitlines()[-1])
    bid = produced["id"]
    peak = [produced["max_msg"]]
    while True:
        sample_queue(r, peak)
        counters = r.hgetall(f"mxit:bc:{bid}:c")
        meta = r.hget(f"mxit:bc:{bid}:meta", "batches")
        if meta and int(counters.get(b"batches_final", 0)) >= int(meta):
            break
        time.sleep(0.05)
    elapsed = time.time() - produced["t0"]
    memory = sum(r.memory_usage(k) or 0 for k in r.scan_iter(match=f"mxit:bc:{bid}*", count=5000))
    delivered = int(r.hget(f"mxit:bc:{bid}:c", "delivered"))
    return {
        **produced,
        "elapsed_s": elapsed,
        "peak_msg": peak[0],
        "redis_mb": memory / 2**20,
        "delivered": delivered,
    }


def sequential_baseline(info: dict, n: int) -> float:
    """Seconds for one loop of the plain client sending 500-recipient batches."""
    from mxit_tasks import Mxit

    client = Mxit(
        info["client_id"], info["client_secret"], api_url=info["api_url"], auth_url=info["auth_url"]
    )
    ids = [f"m{40_000_000_000 + i}" for i in range(n)]
    started = time.time()
    client.messaging.send_message("mxitdemo", ids, "sequential")
    return time.time() - started


def main() -> None:
    """Run the benchmark and print its figures."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--recipients", type=int, default=1_000_000)
    ap.add_argument("--wan-recipients", type=int, default=100_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=16)
    args = ap.parse_args()
    url = bench_redis_url()
    r = redis.Redis.from_url(url)
    r.flushdb()
    with sandbox_process(users=args.recipients) as info:
        control = info["control_url"]
        env = bench_env(info, url)
        with workers(env, args.workers, concurrency=args.threads):
            res = run_broadcast(env, r, args.recipients)
            stats = requests.get(control + "/stats").json()
            print(
                f"broadcast: {args.recipients:,} recipients, {args.workers} worker processes "
                f"x {args.threads} threads"
            )
            print(
                f"  end to end        {res['elapsed_s']:.1f} s = "
                f"{args.recipients / res['elapsed_s']:,.0f} recipients/s"
            )
            print(f"  enqueue (staging) {res['enqueue_s']:.2f} s")
            print(
                f"  delivered         {stats['recipients_delivered']:,} "
                f"(duplicates {stats['duplicate_deliveries']})"
            )
            print(f"  peak broker msg   {res['peak_msg']:,} bytes")
            print(f"  producer peak RSS {res['peak_rss_mb']:.0f} MB")
            print(f"  Redis per broadcast {res['redis_mb']:.1f} MB")
            requests.post(control + "/reset")
            requests.put(control + "/faults", json={"/api/*": {"latency_ms": 100}})
            wan = run_broadcast(env, r, args.wan_recipients)
            requests.delete(control + "/faults")
        requests.put(control + "/faults", json={"/api/*": {"latency_ms": 100}})
        base = sequential_baseline(info, min(args.wan_recipients, 20_000))
        base_rate = min(args.wan_recipients, 20_000) / base
        rate = args.wan_recipients / wan["elapsed_s"]
        print(
            f"with latency_ms=100: workers {rate:,.0f} recipients/s; sequential plain client "
            f"{base_rate:,.0f} recipients/s; speed-up {rate / base_rate:.1f}x"
        )


if __name__ == "__main__":
    main()
