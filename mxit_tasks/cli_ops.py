"""The operator commands of ``mxit-tasks``: send, broadcast, track, schedule, dlq, token,
ratelimit and doctor. Every command takes ``--json`` and fails with one line, never a traceback.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from collections.abc import Iterator
from typing import Any

import click


def _emit(data: Any, as_json: bool, text: str | None = None) -> None:
    if as_json:
        click.echo(json.dumps(data, indent=2, default=str))
    else:
        click.echo(text if text is not None else json.dumps(data, indent=2, default=str))


def _runtime() -> Any:
    from mxit_tasks import runtime

    return runtime


def _app() -> Any:
    import mxit_tasks.tasks  # noqa: F401 - register the tasks
    from mxit_tasks.celery_app import app

    return app


def _read_ids(values: tuple[str, ...], file: Any) -> Iterator[str]:
    yield from values
    if file is not None:
        for line in file:
            yield from line.replace(",", " ").split()


def _when(ts: float | None) -> str:
    if not ts:
        return "-"
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat(timespec="seconds")


def _key_error(exc: KeyError) -> str:
    return str(exc.args[0]) if exc.args else "not found"


def _rate_text(rate: float) -> str:
    return "no limit" if rate <= 0 else f"{rate:g}/s"


JSON = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")


def _progress(broadcast_id: str, as_json: bool, timeout: float) -> dict:
    store = _runtime().broadcasts()
    deadline = time.monotonic() + timeout
    status = store.status(broadcast_id, invalid_limit=0)
    with click.progressbar(
        length=max(status["targets"], 1),
        label=f"broadcast {broadcast_id}",
        file=sys.stderr if not as_json else open("/dev/null", "w"),
    ) as bar:
        shown = 0
        while True:
            status = store.status(broadcast_id, invalid_limit=0)
            done = min(status["targets"], status["targets"] - status["pending"])
            bar.update(done - shown)
            shown = done
            if status["state"] == "finished":
                break
            if time.monotonic() > deadline:
                raise click.ClickException(f"broadcast {broadcast_id} not finished in {timeout}s")
            time.sleep(0.2)
    return store.status(broadcast_id)


def _status_text(st: dict) -> str:
    lines = [
        f"broadcast {st['broadcast_id']}: {st['state']}",
        f"  targets {st['targets']:,}  batches {st['batches_final']}/{st['batches']}",
        f"  delivered {st['delivered']:,}  invalid {st['invalid']:,}  failed {st['failed']:,}"
        f"  pending {st['pending']:,}  possibly duplicated {st['possibly_duplicated']:,}",
        f"  started {_when(st['started_at'])}  finished {_when(st['finished_at'])}",
    ]
    if st["invalid_ids"]:
        shown = ", ".join(st["invalid_ids"][:10])
        lines.append(f"  invalid ids: {shown}{' ...' if st['invalid'] > 10 else ''}")
    for failure in st["failures"][:5]:
        lines.append(f"  failed batch {failure['batch']} ({failure['count']}): {failure['reason']}")
    return "\n".join(lines)


def register(main: click.Group) -> None:
    """Add the operator commands to the ``mxit-tasks`` group."""

    # ---- send & broadcast -------------------------------------------------------------------

    @main.command()
    @click.argument("app_mxit_id")
    @click.argument("message")
    @click.option("--to", "to", multiple=True, help="A recipient UserId (repeatable).")
    @click.option("--file", "file", type=click.File("r"), help="Ids, one per line; - for stdin.")
    @click.option("--idempotency-key", help="The same key never sends twice.")
    @click.option("--no-markup", is_flag=True, help="The body holds no Mxit markup.")
    @click.option("--no-wait", is_flag=True, help="Enqueue and print the broadcast id only.")
    @click.option("--timeout", default=3600.0, show_default=True, help="Seconds to wait.")
    @JSON
    def send(
        app_mxit_id: str,
        message: str,
        to: tuple[str, ...],
        file: Any,
        idempotency_key: str | None,
        no_markup: bool,
        no_wait: bool,
        timeout: float,
        as_json: bool,
    ) -> None:
        """Send MESSAGE from the app to one user or a broadcast (a file of ids or stdin).

        Example: cut -f1 users.csv | mxit-tasks send mxitdemo "Hello *all*" --file -
        """
        from mxit_tasks.tasks import send_message

        ids = list(_read_ids(to, file))
        if not ids:
            raise click.UsageError("give recipients with --to or --file")
        result = send_message.delay(
            app_mxit_id,
            ids,
            message,
            contains_markup=not no_markup,
            idempotency_key=idempotency_key,
        )
        if no_wait:
            _emit({"broadcast_id": result.id}, as_json, result.id)
            return
        st = _progress(result.id, as_json, timeout)
        _emit(st, as_json, _status_text(st))
        if st["failed"]:
            sys.exit(1)

    @main.group()
    def broadcast() -> None:
        """Inspect and cancel broadcasts.

        Example: mxit-tasks broadcast status bc-0123abcd
        """

    @broadcast.command("status")
    @click.argument("broadcast_id")
    @JSON
    def broadcast_status(broadcast_id: str, as_json: bool) -> None:
        """Totals of a broadcast: delivered, invalid, failed, pending, times.

        Example: mxit-tasks broadcast status bc-0123abcd --json
        """
        try:
            st = _runtime().broadcasts().status(broadcast_id)
        except KeyError as exc:
            raise click.ClickException(_key_error(exc)) from None
        _emit(st, as_json, _status_text(st))

    @broadcast.command("list")
    @click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 1000))
    @JSON
    def broadcast_list(limit: int, as_json: bool) -> None:
        """The newest broadcasts and their state.

        Example: mxit-tasks broadcast list --limit 5
        """
        store = _runtime().broadcasts()
        rows = []
        for bid in store.list(limit):
            try:
                rows.append(store.status(bid, invalid_limit=0))
            except KeyError:
                continue
        text = "\n".join(
            f"{r['broadcast_id']}  {r['state']:<9} {r['delivered']:>9,}/{r['targets']:<9,} "
            f"{_when(r['started_at'])}"
            for r in rows
        )
        _emit(rows, as_json, text or "no broadcasts")

    @broadcast.command("cancel")
    @click.argument("broadcast_id")
    @JSON
    def broadcast_cancel(broadcast_id: str, as_json: bool) -> None:
        """Stop sending the batches of a broadcast that have not started.

        Example: mxit-tasks broadcast cancel bc-0123abcd
        """
        store = _runtime().broadcasts()
        if not store.exists(broadcast_id):
            raise click.ClickException(f"no broadcast {broadcast_id}")
        store.cancel(broadcast_id)
        _emit({"broadcast_id": broadcast_id, "cancelled": True}, as_json, "cancelled")

    # ---- tracked users ----------------------------------------------------------------------

    def _tracker() -> Any:
        from mxit_tasks.sync import Tracker

        rt = _runtime()
        return Tracker(rt.redis(), rt.settings().changes_maxlen)

    @main.group()
    def track() -> None:
        """The tracked users that beat syncs (status, display name, profiles).

        Example: mxit-tasks track add --file ids.txt
        """

    @track.command("add")
    @click.argument("user_ids", nargs=-1)
    @click.option("--file", "file", type=click.File("r"), help="Ids, one per line; - for stdin.")
    @JSON
    def track_add(user_ids: tuple[str, ...], file: Any, as_json: bool) -> None:
        """Track users (idempotent).

        Example: mxit-tasks track add m40000000001 m40000000002
        """
        ids = list(_read_ids(user_ids, file))
        if not ids:
            raise click.UsageError("give UserIds or --file")
        added = _tracker().add(ids)
        _emit({"added": added, "given": len(ids)}, as_json, f"{added} added ({len(ids)} given)")

    @track.command("remove")
    @click.argument("user_ids", nargs=-1, required=True)
    @JSON
    def track_remove(user_ids: tuple[str, ...], as_json: bool) -> None:
        """Stop tracking users.

        Example: mxit-tasks track remove m40000000001
        """
        removed = _tracker().remove(list(user_ids))
        _emit({"removed": removed}, as_json, f"{removed} removed")

    @track.command("list")
    @click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 10**7))
    @JSON
    def track_list(limit: int, as_json: bool) -> None:
        """Tracked users with their last sync.

        Example: mxit-tasks track list --limit 10 --json
        """
        t = _tracker()
        rows = []
        for user_id in t.iter():
            snap = t.snapshot(user_id)
            rows.append(
                {
                    "user_id": user_id,
                    "synced_at": snap.get("synced_at"),
                    "gone": snap["gone"],
                    "status": snap.get("status"),
                }
            )
            if len(rows) >= limit:
                break
        text = "\n".join(
            f"{r['user_id']}  {'GONE' if r['gone'] else _when(r['synced_at'])}  {r['status'] or ''}"
            for r in rows
        )
        _emit({"count": t.count(), "users": rows, "last_run": t.run()}, as_json, text or "none")

    # ---- schedules --------------------------------------------------------------------------

    @main.group()
    def schedule() -> None:
        """Scheduled status updates (kept in Redis by RedBeat).

        Example: mxit-tasks schedule add m40000000000 "Good morning" --cron "0 7 * * 1-5"
        """

    @schedule.command("add")
    @click.argument("user_id")
    @click.argument("message")
    @click.option("--at", "at", help="Once, at an ISO time (UTC unless it has an offset).")
    @click.option("--cron", help='Repeating: "minute hour day month weekday".')
    @click.option("--name", help="A name for the entry (default: user and time).")
    @JSON
    def schedule_add(
        user_id: str,
        message: str,
        at: str | None,
        cron: str | None,
        name: str | None,
        as_json: bool,
    ) -> None:
        """Schedule set_status for a user who authorised the app.

        Example: mxit-tasks schedule add m40000000000 "Lunch" --at 2026-12-05T12:00:00
        """
        from mxit_tasks import schedules

        entry = schedules.add(_app(), user_id, message, at=at, cron=cron, name=name)
        _emit(entry, as_json, f"{entry['name']}: {entry['schedule']}, next {entry['due_at']}")

    @schedule.command("list")
    @JSON
    def schedule_list(as_json: bool) -> None:
        """Every status schedule.

        Example: mxit-tasks schedule list --json
        """
        from mxit_tasks import schedules

        rows = schedules.list_(_app())
        text = "\n".join(
            f"{r['name']}  {'on ' if r['enabled'] else 'OFF'}  {r['schedule']}  "
            f"next {r['due_at']}  {r['message']!r}"
            for r in rows
        )
        _emit(rows, as_json, text or "no schedules")

    @schedule.command("remove")
    @click.argument("name")
    @JSON
    def schedule_remove(name: str, as_json: bool) -> None:
        """Delete a schedule by name.

        Example: mxit-tasks schedule remove status:m40000000000:morning
        """
        from mxit_tasks import schedules

        if not schedules.remove(_app(), name):
            raise click.ClickException(f"no schedule {name}")
        _emit({"removed": name}, as_json, f"removed {name}")

    # ---- dead letters -----------------------------------------------------------------------

    @main.group()
    def dlq() -> None:
        """Tasks that failed for good: list, show, replay, purge.

        Example: mxit-tasks dlq replay --all --task mxit.users.set_avatar
        """

    def _enqueue(name: str, args: list, kwargs: dict) -> str:
        return _app().send_task(name, args=args, kwargs=kwargs).id

    @dlq.command("list")
    @click.option("--task", help="Only this task name.")
    @click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 10**6))
    @JSON
    def dlq_list(task: str | None, limit: int, as_json: bool) -> None:
        """Dead-letter entries, oldest first.

        Example: mxit-tasks dlq list --task mxit.users.set_avatar
        """
        rows = _runtime().dead_letters().list(count=limit, task=task)
        text = "\n".join(
            f"{r['id']}  {r['task']}  {r['error_class']}: {r['error'][:80]}  "
            f"attempts {r['attempts']}  last {_when(r['last_failure'])}"
            for r in rows
        )
        _emit(rows, as_json, text or "the dead-letter queue is empty")

    @dlq.command("show")
    @click.argument("entry_id")
    @JSON
    def dlq_show(entry_id: str, as_json: bool) -> None:
        """One entry in full.

        Example: mxit-tasks dlq show 1733300000000-0
        """
        entry = _runtime().dead_letters().show(entry_id)
        if entry is None:
            raise click.ClickException(f"no dead-letter entry {entry_id}")
        _emit(entry, bool(as_json))

    @dlq.command("replay")
    @click.argument("entry_id", required=False)
    @click.option("--all", "replay_all", is_flag=True, help="Replay every entry.")
    @click.option("--task", help="With --all: only this task name.")
    @JSON
    def dlq_replay(entry_id: str | None, replay_all: bool, task: str | None, as_json: bool) -> None:
        """Re-enqueue with the original arguments and a fresh retry budget.

        Example: mxit-tasks dlq replay --all --task mxit.users.set_avatar
        """
        store = _runtime().dead_letters()
        if replay_all == bool(entry_id):
            raise click.UsageError("give an ENTRY_ID or --all")
        if replay_all:
            ids = store.replay_all(_enqueue, task=task)
        else:
            try:
                ids = [store.replay(entry_id or "", _enqueue)]
            except KeyError as exc:
                raise click.ClickException(_key_error(exc)) from None
        _emit({"replayed": len(ids), "task_ids": ids}, as_json, f"replayed {len(ids)}")

    @dlq.command("purge")
    @click.option("--task", help="Only this task name.")
    @click.option("--yes", is_flag=True, help="Do not ask.")
    @JSON
    def dlq_purge(task: str | None, yes: bool, as_json: bool) -> None:
        """Delete entries (and their staged payloads).

        Example: mxit-tasks dlq purge --task mxit.users.get_status --yes
        """
        if not yes and not as_json:
            click.confirm("delete dead-letter entries?", abort=True)
        purged = _runtime().dead_letters().purge(task=task)
        _emit({"purged": purged}, as_json, f"purged {purged}")

    # ---- tokens and rate limits ---------------------------------------------------------------

    @main.group()
    def token() -> None:
        """User tokens in the shared store.

        Example: mxit-tasks token exchange CODE --scope "status/write profile/private"
        """

    @token.command("exchange")
    @click.argument("code")
    @click.option("--scope", required=True, help="The scopes the user consented to.")
    @click.option("--redirect-uri", help="As sent to /authorize (default MXIT_REDIRECT_URI).")
    @JSON
    def token_exchange(code: str, scope: str, redirect_uri: str | None, as_json: bool) -> None:
        """Exchange an authorization code and store the user's token for the workers.

        Example: mxit-tasks token exchange 5f2c... --scope status/write
        """
        clone = _runtime().client().without_user()
        clone.oauth.get_user_token(scope, code, redirect_uri=redirect_uri)
        _emit({"user_id": clone.user_id, "scope": scope}, as_json, f"stored for {clone.user_id}")

    @main.group()
    def ratelimit() -> None:
        """The global rate limits, changed at run time for every worker.

        Example: mxit-tasks ratelimit set messaging=50/s --burst 10
        """

    @ratelimit.command("show")
    @JSON
    def ratelimit_show(as_json: bool) -> None:
        """The limits in force (run-time overrides over MXIT_RATE_LIMITS).

        Example: mxit-tasks ratelimit show
        """
        rt = _runtime()
        rows = {
            c: dict(zip(("per_second", "burst"), rt.rate_for(c), strict=True))
            for c in ("messaging", "users", "media")
        }
        text = "\n".join(
            f"{c:<10} {_rate_text(r['per_second'])}  burst {r['burst']}" for c, r in rows.items()
        )
        _emit(rows, as_json, text)

    @ratelimit.command("set")
    @click.argument("limits", nargs=-1, required=True)
    @click.option("--burst", type=click.IntRange(1, 100_000))
    @JSON
    def ratelimit_set(limits: tuple[str, ...], burst: int | None, as_json: bool) -> None:
        """Set CLASS=N/s limits (messaging, users, media) for every worker, now.

        Example: mxit-tasks ratelimit set messaging=50/s users=20/s
        """
        from mxit_tasks.settings import parse_rate_limits

        rt = _runtime()
        mapping: dict[str, Any] = {}
        for item in limits:
            parse_rate_limits(item)
            name, _, value = item.partition("=")
            if name not in ("messaging", "users", "media"):
                raise click.BadParameter(f"unknown class {name!r}", param_hint="LIMITS")
            mapping[name] = value
        if burst:
            mapping["burst"] = burst
        rt.redis().hset(rt.RATE_OVERRIDES, mapping=mapping)
        _emit(mapping, as_json, "set: " + ", ".join(f"{k}={v}" for k, v in mapping.items()))

    @ratelimit.command("clear")
    @JSON
    def ratelimit_clear(as_json: bool) -> None:
        """Drop run-time overrides (back to MXIT_RATE_LIMITS).

        Example: mxit-tasks ratelimit clear
        """
        rt = _runtime()
        rt.redis().delete(rt.RATE_OVERRIDES)
        _emit({"cleared": True}, as_json, "cleared")

    # ---- doctor -------------------------------------------------------------------------------

    @main.command()
    @click.option("--timeout", default=3.0, show_default=True, help="Seconds per check.")
    @JSON
    def doctor(timeout: float, as_json: bool) -> None:
        """Check Redis, broker, result backend, API, auth, credentials, clock and workers.

        Example: mxit-tasks doctor --json
        """
        from mxit_tasks.doctor import run_checks

        rows = run_checks(timeout)
        width = max(len(r["check"]) for r in rows)
        text = "\n".join(
            f"{'OK  ' if r['ok'] else 'FAIL'}  {r['check']:<{width}}  {r['detail']}" for r in rows
        )
        _emit(rows, as_json, text)
        if not all(r["ok"] for r in rows):
            sys.exit(1)
