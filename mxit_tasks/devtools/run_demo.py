"""``make run``: the whole Procfile (sandbox, worker pools, beat) on embedded defaults, plus a demo.

Runs under ``with_redis`` (so a Redis answers), starts every Procfile process with honcho
against the sandbox, then enqueues a demo once the workers answer: a 10,000-user broadcast with
a progress bar, a status update, and an avatar upload that first meets an outage. Ctrl-C stops
everything (honcho stops the children; ``with_redis`` stops a Redis it started).
"""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

from honcho.environ import parse_procfile
from honcho.manager import Manager

from mxit_tasks.sandbox.state import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_SERVICE_NAME

ROOT = Path(__file__).resolve().parents[2]
DEMO_USERS = 10_000


def demo_env(port: int) -> dict[str, str]:
    """The environment every process of the demo shares."""
    base = f"http://127.0.0.1:{port}"
    env = {
        "MXIT_CLIENT_ID": os.environ.get("MXIT_CLIENT_ID", DEMO_CLIENT_ID),
        "MXIT_CLIENT_SECRET": os.environ.get("MXIT_CLIENT_SECRET", DEMO_CLIENT_SECRET),
        "MXIT_API_URL": os.environ.get("MXIT_API_URL", f"{base}/api"),
        "MXIT_AUTH_URL": os.environ.get("MXIT_AUTH_URL", f"{base}/auth"),
        "MXIT_REDIRECT_URI": os.environ.get("MXIT_REDIRECT_URI", "http://localhost/callback"),
        "SANDBOX_PORT": str(port),
        "SANDBOX_USERS": str(DEMO_USERS),
        "MXIT_SYNC_INTERVAL": os.environ.get("MXIT_SYNC_INTERVAL", "30"),
        "PYTHONUNBUFFERED": "1",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    return env


def say(text: str) -> None:
    """Print a demo line (distinct from the processes' output)."""
    print(f"\033[1m[demo]\033[0m {text}", flush=True)


def wait_until(check: object, what: str, timeout: float = 90) -> None:
    """Poll ``check`` until it is true."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():  # type: ignore[operator]
                return
        except Exception:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"timed out waiting for {what}")


def run_demo(port: int) -> None:
    """Enqueue the demo work and report on it."""
    from mxit_tasks import runtime, tasks
    from mxit_tasks._media import tiny_png
    from mxit_tasks.celery_app import app
    from mxit_tasks.sandbox.remote import SandboxControl

    control = SandboxControl(f"http://127.0.0.1:{port}")
    wait_until(lambda: control.stats() is not None, "the sandbox")
    wait_until(lambda: len(app.control.ping(timeout=1.0)) >= 3, "the worker pools")
    say("sandbox and workers are up")

    ids = [f"m{40_000_000_000 + i}" for i in range(DEMO_USERS)]
    started = time.monotonic()
    result = tasks.send_message.delay(DEMO_SERVICE_NAME, ids, "Welcome to *mxit-tasks*!")
    say(f"broadcast {result.id}: {DEMO_USERS:,} recipients")
    store = runtime.broadcasts()
    while True:
        try:
            st = store.status(result.id, invalid_limit=0)
        except KeyError:
            time.sleep(0.1)
            continue
        done = st["delivered"] + st["invalid"] + st["failed"]
        bar = "#" * int(30 * done / max(st["targets"], 1))
        print(f"\r[demo] [{bar:<30}] {done:,}/{st['targets']:,}", end="", flush=True)
        if st["state"] == "finished":
            break
        time.sleep(0.2)
    print()
    say(
        f"delivered {st['delivered']:,} in {time.monotonic() - started:.1f}s "
        f"(invalid {st['invalid']}, failed {st['failed']})"
    )

    user = ids[0]
    code = control.consent(
        runtime.settings().client_id, user, "status/write avatar/write", "http://localhost/callback"
    )
    runtime.client().for_user(user).oauth.get_user_token("status/write avatar/write", code)
    tasks.set_status.delay("Status set by a Celery worker", user_id=user).get(timeout=30)
    say(f"{user}'s status is now: {tasks.get_status.delay(user).get(timeout=30)!r}")

    from mxit_tasks import schedules
    from mxit_tasks.sync import Tracker

    tracker = Tracker(runtime.redis())
    tracker.add(ids[:50])
    from mxit_tasks.tasks import sync_tracked

    sync_tracked.delay()
    wait_until(lambda: tracker.run().get("finished_at"), "the tracked-user sync", 60)
    run = tracker.run()
    say(f"synced 50 tracked users: ok {run['ok']}, changed {run['changed']}, gone {run['gone']}")
    control.change_user(ids[1], status="Changed in the sandbox")
    say(f"changed {ids[1]}'s status in the sandbox; the next sync puts it on mxit:changes")

    import datetime as dt

    when = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=5)
    entry = schedules.add(app, user, "Scheduled by beat", at=when, name="demo")
    say(f"scheduled a status update for {user} at {when:%H:%M:%S}Z ({entry['name']})")
    wait_until(
        lambda: tasks.get_status.delay(user).get(timeout=10) == "Scheduled by beat",
        "the scheduled status update",
        60,
    )
    say(f"{user}'s status is now: 'Scheduled by beat' (set by beat)")

    control.faults({"POST /api/user/avatar": {"error_rate": 1.0, "error_status": 503, "times": 3}})
    say("avatar route is down (3 x 503); uploading an avatar anyway ...")
    avatar = tasks.set_avatar.delay(tiny_png((0, 120, 200)), user_id=user)
    avatar.get(timeout=120)
    control.clear_faults()
    say(f"avatar uploaded after the outage: {control.media(user)['avatar']}")

    say("where to look:")
    say(f"  inbox:    http://127.0.0.1:{port}/_emulator/ui")
    say("  metrics:  http://127.0.0.1:9101/metrics (messaging), :9102 (users), :9103 (media)")
    say("  flower:   .venv/bin/celery -A mxit_tasks flower   (then http://127.0.0.1:5555)")
    say("  changes:  redis-cli XRANGE mxit:changes - +")
    say(f"  CLI:      .venv/bin/mxit-tasks --help   (broadcast status {result.id})")
    say("  celery:   .venv/bin/celery -A mxit_tasks inspect active")
    say("Ctrl-C stops everything.")


def main() -> int:
    """Start the Procfile under honcho and the demo beside it."""
    port = int(os.environ.get("SANDBOX_PORT", "8080"))
    env = {**os.environ, **demo_env(port)}
    os.environ.update(env)
    procfile = parse_procfile((ROOT / "Procfile").read_text())
    manager = Manager()
    for name, process in procfile.processes.items():
        manager.add_process(name, process, env=env, cwd=str(ROOT))

    def demo() -> None:
        try:
            run_demo(port)
        except Exception as exc:  # the processes keep running; say what went wrong
            say(f"demo failed: {type(exc).__name__}: {exc}")

    threading.Thread(target=demo, name="demo", daemon=True).start()
    manager.loop()
    return manager.returncode or 0


if __name__ == "__main__":
    sys.exit(main())
