"""Which queue each task goes to. Queues group work by what it waits on, so one slow class
(uploads, say) can never starve another (messages)."""

from __future__ import annotations

from typing import Any

QUEUES = ("mxit.messaging", "mxit.users", "mxit.media", "mxit.sync")

# Binary transfers: slow, big, retried for hours during outages.
MEDIA_TASKS = frozenset(
    {
        "mxit.users.get_avatar",
        "mxit.users.set_avatar",
        "mxit.users.get_cover_image",
        "mxit.users.set_cover_image",
        "mxit.users.upload_gallery_file",
        "mxit.users.get_gallery_file",
        "mxit.users.upload_file_and_send_file_offer",
        "mxit.users.send_file_offer",
    }
)


def queue_for(name: str) -> str:
    """The queue of task ``name``."""
    if name in MEDIA_TASKS:
        return "mxit.media"
    for queue in QUEUES:
        if name.startswith(queue + "."):
            return queue
    return "mxit.users"


def route(name: str, args: Any, kwargs: Any, options: Any, task: Any = None, **kw: Any) -> dict:
    """Celery router (``task_routes``): explicit ``queue=`` options still win."""
    return {"queue": queue_for(name)}
