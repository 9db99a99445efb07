"""``make bench``: every comparison in one run on this machine; prints tables, writes
docs/benchmarks.md and docs/benchmarks.png.

1. Broadcast throughput (recipients/s end to end): mxit-tasks, one Celery task per recipient,
   a sequential loop of the plain client, and the raw HTTP ceiling (one pooled requests session
   per core posting 500-recipient batches straight to the sandbox).
2. Task overhead: get_status through a task vs a direct client call.
3. Rate-limit precision: our global limiter vs Celery's rate_limit, 1, 3 and 6 workers.
4. Memory: producer RSS, largest broker message, Redis per broadcast and after expiry.
5. Scale curve: recipients 10k/100k/1M; worker processes 1/2/4.

Run: ``python bench/run_all.py [--quick]`` (``--quick`` shrinks every load ~10x).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path

import redis
import requests

sys.path.insert(0, os.path.dirname(__file__))
from _common import ROOT, bench_env, bench_redis_url, sandbox_process, workers
from broadcast import run_broadcast
from ratelimit import CELERY_LIMIT
from ratelimit import run as run_limited

DOCS = Path(ROOT) / "docs"

NAIVE = r"""
import json, sys, time
from naive_tasks import naive_send_one

n = int(sys.argv[1])
t0 = time.time()
results = [naive_send_one.apply_async((f"m{40_000_000_000 + i}",), queue="mxit.messaging")
           for i in range(n)]
for r in results:
    r.get(timeout=600)
print(json.dumps({"seconds": time.time() - t0}))
"""

OVERHEAD = r"""
import json, statistics, sys, time
from mxit_tasks import runtime, tasks
n = int(sys.argv[1])
client = runtime.client()
client.users.get_status("m40000000001")
t0 = time.perf_counter()
for i in range(n):
    client.users.get_status(f"m{40_000_000_000 + i % 1000}")
direct = n / (time.perf_counter() - t0)
lat = []
for i in range(min(n, 300)):
    s = time.perf_counter()
    tasks.get_status.delay(f"m{40_000_000_000 + i % 1000}").get(timeout=30)
    lat.append((time.perf_counter() - s) * 1000)
t0 = time.perf_counter()
rs = [tasks.get_status.delay(f"m{40_000_000_000 + i % 1000}") for i in range(n)]
for r in rs:
    r.get(timeout=120)
through = n / (time.perf_counter() - t0)
lat.sort()
print(json.dumps({"direct_per_s": direct, "task_per_s": through,
                  "p50_ms": lat[len(lat) // 2], "p99_ms": lat[int(len(lat) * 0.99) - 1]}))
"""


def _ceiling_worker(args: tuple[str, str, int, int]) -> None:
    api, token, start, count = args
    session = requests.Session()
    for b in range(start, start + count, 500):
        to = ",".join(f"m{40_000_000_000 + i}" for i in range(b, min(b + 500, start + count)))
        session.post(
            f"{api}/message/send/",
            json={"From": "mxitdemo", "To": to, "Body": "raw"},
            headers={"Authorization": f"Bearer {token}"},
        ).raise_for_status()


def raw_ceiling(info: dict, n: int) -> float:
    """Recipients/s with one pooled session per core posting 500-recipient batches."""
    token = requests.post(
        info["auth_url"] + "/token",
        auth=(info["client_id"], info["client_secret"]),
        data={"grant_type": "client_credentials", "scope": "message/send"},
    ).json()["access_token"]
    cores = os.cpu_count() or 2
    per = n // cores
    t0 = time.time()
    with multiprocessing.Pool(cores) as pool:
        pool.map(_ceiling_worker, [(info["api_url"], token, i * per, per) for i in range(cores)])
    return per * cores / (time.time() - t0)


def sequential(info: dict, n: int) -> float:
    """Recipients/s of one loop of the plain client (what python-mxit users did)."""
    from mxit_tasks import Mxit

    client = Mxit(
        info["client_id"], info["client_secret"], api_url=info["api_url"], auth_url=info["auth_url"]
    )
    ids = [f"m{40_000_000_000 + i}" for i in range(n)]
    t0 = time.time()
    client.messaging.send_message("mxitdemo", ids, "sequential")
    return n / (time.time() - t0)


def script(code: str, env: dict, *args: object, timeout: float = 3600) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", code, *map(str, args)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if out.returncode:
        raise RuntimeError(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    """Run everything and write the docs."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--render-only", action="store_true", help="Rewrite the docs from the JSON.")
    args = ap.parse_args()
    if args.render_only:
        report = json.loads((DOCS / "benchmarks.json").read_text())
        (DOCS / "benchmarks.md").write_text(render(report))
        plot(report)
        return
    q = 10 if args.quick else 1
    big = 1_000_000 // q
    url = bench_redis_url(12)
    r = redis.Redis.from_url(url)
    r.flushdb()
    report: dict = {"machine": f"{os.cpu_count()} cores", "quick": args.quick}
    with sandbox_process(users=big) as info:
        control = info["control_url"]
        env = bench_env(
            info, url, MXIT_TASK_MODULES="naive_tasks", PYTHONPATH=os.path.dirname(__file__)
        )

        # 1 + 4: throughput and memory
        with workers(env, 2, concurrency=16):
            res = run_broadcast(env, r, big)
            report["ours"] = {"recipients": big, "per_s": big / res["elapsed_s"], **res}
            naive_n = 20_000 // q
            requests.post(control + "/reset")
            naive = script(NAIVE, env, naive_n)
            report["naive"] = {"recipients": naive_n, "per_s": naive_n / naive["seconds"]}
        report["sequential"] = {"recipients": 100_000 // q, "per_s": sequential(info, 100_000 // q)}
        # With 100 ms of API latency (a WAN), concurrency has to do the work.
        requests.put(control + "/faults", json={"/api/*": {"latency_ms": 100}})
        with workers(env, 2, concurrency=32):
            requests.post(control + "/reset")
            requests.put(control + "/faults", json={"/api/*": {"latency_ms": 100}})
            wan = run_broadcast(env, r, 100_000 // q)
        report["wan"] = {
            "recipients": 100_000 // q,
            "ours_per_s": (100_000 // q) / wan["elapsed_s"],
            "sequential_per_s": sequential(info, 10_000 // q),
            "sequential_recipients": 10_000 // q,
        }
        requests.delete(control + "/faults")
        report["ceiling"] = {"recipients": big, "per_s": raw_ceiling(info, big)}
        used_before = r.info("memory")["used_memory"]
        short = bench_env(info, url, MXIT_BROADCAST_TTL="3")
        with workers(short, 2, concurrency=16):
            run_broadcast(short, r, 100_000 // q)
        time.sleep(4)
        for _ in r.scan_iter(match="mxit:bc:*", count=5000):
            pass  # touching keys lets Redis expire them now rather than lazily later
        report["memory"] = {
            "producer_peak_rss_mb": res["peak_rss_mb"],
            "largest_message_bytes": res["peak_msg"],
            "redis_mb_per_broadcast": res["redis_mb"],
            "redis_mb_after_expiry_delta": (r.info("memory")["used_memory"] - used_before) / 2**20,
        }

        # 2: task overhead
        with workers(env, 2, pool="users", concurrency=8):
            report["overhead"] = script(OVERHEAD, env, 2000 // q)

        # 5: scale curve
        curve_r = []
        with workers(env, 2, concurrency=16):
            for n in (10_000, 100_000, 1_000_000):
                n //= q
                requests.post(control + "/reset")
                curve_r.append((n, n / run_broadcast(env, r, n)["elapsed_s"]))
        curve_w = []
        for count in (1, 2, 4):
            n = 500_000 // q
            with workers(env, count, concurrency=16):
                requests.post(control + "/reset")
                curve_w.append((count, n / run_broadcast(env, r, n)["elapsed_s"]))
        report["scale"] = {"by_recipients": curve_r, "by_workers": curve_w}

        # 3: rate-limit precision
        rl = []
        rate, burst = 50, 5
        for count in (1, 3, 6):
            n = int(rate * 20 / q)
            r.flushdb()
            ours = bench_env(
                info,
                url,
                MXIT_BATCH_SIZE="1",
                MXIT_RATE_LIMITS=f"messaging={rate}/s",
                MXIT_RATE_BURST=str(burst),
            )
            with workers(ours, count, concurrency=4):
                mine = run_limited(ours, r, control, n)
            r.flushdb()
            plain = bench_env(info, url, MXIT_BATCH_SIZE="1")
            with workers(plain, count, concurrency=4):
                subprocess.run(
                    [sys.executable, "-c", CELERY_LIMIT, f"{rate}/s"],
                    cwd=ROOT,
                    env=plain,
                    check=True,
                    capture_output=True,
                )
                theirs = run_limited(plain, r, control, n, cap=60)
            rl.append({"workers": count, "ours": mine, "celery": theirs})
        report["ratelimit"] = {"rate": rate, "burst": burst, "runs": rl}

    (DOCS / "benchmarks.json").write_text(json.dumps(report, indent=2, default=str))
    text = render(report)
    (DOCS / "benchmarks.md").write_text(text)
    plot(report)
    print(text)


def render(rep: dict) -> str:
    """docs/benchmarks.md."""
    ceiling = rep["ceiling"]["per_s"]
    lines = [
        "# Benchmarks",
        "",
        f"Generated by `make bench` (`bench/run_all.py`) on this machine ({rep['machine']}); "
        "the sandbox, Redis, workers and producer all share it.",
        "",
        "## Broadcast throughput (recipients/s, end to end)",
        "",
        "| approach | measured on | recipients/s | vs raw HTTP ceiling |",
        "|---|---:|---:|---:|",
    ]
    for key, name in (
        ("ours", "mxit-tasks (2 worker processes x 16 threads)"),
        ("naive", "one Celery task per recipient, plain client"),
        ("sequential", "sequential loop, plain client (python-mxit style)"),
        ("ceiling", "raw HTTP ceiling (1 pooled session per core)"),
    ):
        row = rep[key]
        lines.append(
            f"| {name} | {row['recipients']:,} | {row['per_s']:,.0f} | {row['per_s'] / ceiling:.0%} |"
        )
    w = rep["wan"]
    lines += [
        "",
        "With `latency_ms=100` on the sandbox (a WAN): mxit-tasks (2 processes x 32 threads) "
        f"{w['ours_per_s']:,.0f} recipients/s on {w['recipients']:,}; the sequential loop "
        f"{w['sequential_per_s']:,.0f} on {w['sequential_recipients']:,}: "
        f"**{w['ours_per_s'] / w['sequential_per_s']:.1f}x**. Without latency the sequential loop "
        "is faster than our pipeline here: on 2 cores shared with the sandbox and Redis, the "
        "per-batch cost of Celery, markers and counters, not the network, is the limit.",
    ]
    o = rep["overhead"]
    m = rep["memory"]
    lines += [
        "",
        "## Task overhead (get_status)",
        "",
        "| | value |",
        "|---|---:|",
        f"| direct client calls/s (1 thread) | {o['direct_per_s']:,.0f} |",
        f"| through tasks/s (2 workers x 8 threads) | {o['task_per_s']:,.0f} |",
        f"| .delay() to result, p50 | {o['p50_ms']:.1f} ms |",
        f"| .delay() to result, p99 | {o['p99_ms']:.1f} ms |",
        "",
        "## Memory",
        "",
        "| | value |",
        "|---|---:|",
        f"| producer peak RSS for {rep['ours']['recipients']:,} ids (the id list included) | {m['producer_peak_rss_mb']:.0f} MB |",
        f"| largest broker message | {m['largest_message_bytes']:,} bytes |",
        f"| Redis per {rep['ours']['recipients']:,}-recipient broadcast | {m['redis_mb_per_broadcast']:.1f} MB |",
        f"| Redis after the broadcast keys expired (delta) | {m['redis_mb_after_expiry_delta']:.1f} MB |",
        "",
        "## Rate-limit precision",
        "",
        f"Limit {rep['ratelimit']['rate']}/s, burst {rep['ratelimit']['burst']}; "
        "one request per batch; counts from the sandbox, per calendar second.",
        "",
        "| workers | limiter | mean/s | max in 1 s | seconds |",
        "|---:|---|---:|---:|---:|",
    ]
    for run in rep["ratelimit"]["runs"]:
        for key, name in (("ours", "mxit-tasks global"), ("celery", "Celery rate_limit")):
            x = run[key]
            lines.append(
                f"| {run['workers']} | {name} | {x['mean_full']:.1f} | {x['max']} | {x['span']} |"
            )
    limit = rep["ratelimit"]["rate"] + rep["ratelimit"]["burst"]
    over = [str(run["workers"]) for run in rep["ratelimit"]["runs"] if run["ours"]["max"] > limit]
    if over:
        lines += [
            "",
            f"With {', '.join(over)} worker processes our observed maximum exceeded limit + burst "
            f"({limit}). The limiter grants at most that many per second; the sandbox counts "
            "arrivals, and with more busy processes than cores a worker can be descheduled between "
            "the grant and the send, so late sends land in the next second. Leave headroom (a "
            "lower limit or burst) when workers oversubscribe the CPU.",
        ]
    lines += [
        "",
        "Celery's `rate_limit` is per worker: the total grows with the number of workers; with "
        "prefetch 1 and the threads pool its per-worker bucket also starved the workers here "
        "(far below the limit with 1 and 3 workers).",
    ]
    lines += [
        "",
        "## Scale",
        "",
        "![throughput](benchmarks.png)",
        "",
        "| recipients | recipients/s |",
        "|---:|---:|",
    ]
    lines += [f"| {n:,} | {v:,.0f} |" for n, v in rep["scale"]["by_recipients"]]
    lines += ["", "| worker processes | recipients/s |", "|---:|---:|"]
    lines += [f"| {n} | {v:,.0f} |" for n, v in rep["scale"]["by_workers"]]
    rates = [v for _, v in rep["scale"]["by_recipients"]]
    lines += [
        "",
        f"Throughput at {rep['scale']['by_recipients'][-1][0]:,} recipients is "
        f"{rates[-1] / rates[1]:.0%} of that at {rep['scale']['by_recipients'][1][0]:,} "
        f"(100% would be perfectly linear cost), and at {rep['scale']['by_recipients'][0][0]:,} "
        f"{rates[0] / rates[1]:.0%} (fixed start-up: fan-out, first tokens).",
    ]
    return "\n".join(lines) + "\n"


def plot(rep: dict) -> None:
    """docs/benchmarks.png: throughput vs recipients and vs workers."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    xs, ys = zip(*rep["scale"]["by_recipients"], strict=True)
    a.plot(xs, ys, marker="o")
    a.set_xscale("log")
    a.set_xlabel("recipients")
    a.set_ylabel("recipients/s")
    a.set_title("throughput vs broadcast size (2 workers)")
    a.axhline(rep["ceiling"]["per_s"], color="grey", linestyle="--", label="raw HTTP ceiling")
    a.legend()
    xs, ys = zip(*rep["scale"]["by_workers"], strict=True)
    b.plot(xs, ys, marker="o")
    b.set_xlabel("worker processes (16 threads each)")
    b.set_ylabel("recipients/s")
    b.set_title("throughput vs workers")
    fig.tight_layout()
    fig.savefig(DOCS / "benchmarks.png", dpi=100)


if __name__ == "__main__":
    main()
