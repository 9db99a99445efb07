"""Scheduled status updates, persisted in Redis by celery-redbeat.

Entries survive a beat restart, can be added while beat runs (it reads Redis on every tick),
and fire once even with several beat processes: RedBeat lets only the holder of its Redis lock
schedule, and a standby takes over when the lock (``MXIT_BEAT_LOCK_TIMEOUT``) expires.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from celery.schedules import crontab
from redbeat import RedBeatSchedulerEntry
from redbeat.schedules import rrule

from mxit_tasks.client.validation import identifier, message_body
from mxit_tasks.errors import MxitValidationError

TASK = "mxit.users.scheduled_status"
NAME_PREFIX = "status:"


def _crontab(expression: str) -> crontab:
    parts = expression.split()
    if len(parts) != 5:
        raise MxitValidationError("cron", f"needs 5 fields (m h dom mon dow), not {expression!r}")
    minute, hour, dom, month, dow = parts
    try:
        return crontab(
            minute=minute, hour=hour, day_of_month=dom, month_of_year=month, day_of_week=dow
        )
    except (ValueError, TypeError) as exc:
        raise MxitValidationError("cron", f"{expression!r}: {exc}") from None


def _when(at: Any) -> dt.datetime:
    if isinstance(at, str):
        try:
            at = dt.datetime.fromisoformat(at)
        except ValueError:
            raise MxitValidationError("at", f"{at!r} is not an ISO time") from None
    if not isinstance(at, dt.datetime):
        raise MxitValidationError("at", "must be a datetime or an ISO 8601 string")
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.UTC)
    return at.astimezone(dt.UTC)


def add(
    app: Any,
    user_id: str,
    message: str,
    *,
    at: Any = None,
    cron: str | None = None,
    name: str | None = None,
) -> dict[str, Any]:
    """Schedule ``set_status(message)`` for ``user_id``: once ``at`` a time, or on ``cron``."""
    identifier("user_id", user_id)
    message_body("message", message, 1000)
    if (at is None) == (cron is None):
        raise MxitValidationError("at", "give exactly one of at= (once) or cron= (repeating)")
    schedule: Any
    if cron is not None:
        schedule = _crontab(cron)
    else:
        when = _when(at)
        schedule = rrule("SECONDLY", dtstart=when, count=1)
    name = NAME_PREFIX + (name or f"{user_id}:{dt.datetime.now(dt.UTC).strftime('%Y%m%d%H%M%S%f')}")
    entry = RedBeatSchedulerEntry(
        name, TASK, schedule, args=[user_id, message, name], app=app, options={"expires": 3600}
    )
    entry.save()
    return describe(entry)


def describe(entry: Any) -> dict[str, Any]:
    """A schedule entry as plain data."""
    user_id, message = [*entry.args, None, None][:2]
    schedule = entry.schedule
    if isinstance(schedule, rrule):
        text = f"once at {schedule.dtstart.isoformat(timespec='seconds')}"
    elif isinstance(schedule, crontab):
        text = "cron " + " ".join(
            str(x)
            for x in (
                schedule._orig_minute,
                schedule._orig_hour,
                schedule._orig_day_of_month,
                schedule._orig_month_of_year,
                schedule._orig_day_of_week,
            )
        )
    else:
        text = str(schedule)
    return {
        "name": entry.name,
        "user_id": user_id,
        "message": message,
        "schedule": text,
        "enabled": entry.enabled,
        "due_at": _due(entry),
    }


def _due(entry: Any) -> str | None:
    try:
        remaining = entry.is_due()[1]
    except Exception:
        return None
    if remaining is None:
        return None
    return (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=remaining)).isoformat(timespec="seconds")


def entries(app: Any) -> list[Any]:
    """Every status schedule entry."""
    from redbeat.schedulers import ensure_conf, get_redis

    conf = ensure_conf(app)
    redis = get_redis(app)
    keys = redis.zrange(conf.schedule_key, 0, -1)
    out = []
    for key in keys:
        try:
            entry = RedBeatSchedulerEntry.from_key(
                key if isinstance(key, str) else key.decode(), app=app
            )
        except KeyError:
            continue
        if entry.name.startswith(NAME_PREFIX):
            out.append(entry)
    return out


def list_(app: Any) -> list[dict[str, Any]]:
    """Every status schedule, described."""
    return [describe(e) for e in entries(app)]


def remove(app: Any, name: str) -> bool:
    """Delete a schedule; False when there is none of that name."""
    for entry in entries(app):
        if entry.name == name:
            entry.delete()
            return True
    return False


def disable(app: Any, name: str) -> None:
    """Stop a schedule from firing again (kept, visible as disabled)."""
    for entry in entries(app):
        if entry.name == name:
            entry.enabled = False
            entry.save()
