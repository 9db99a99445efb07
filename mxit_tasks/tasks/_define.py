"""How tasks are declared: one decorator that sets the name, queue class and repeat safety."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from typing import Any

from mxit_tasks import runtime
from mxit_tasks._media import sniff_image
from mxit_tasks.celery_app import app
from mxit_tasks.tasks.base import MxitTask


def op_task(name: str, *, safe: bool = True, api_class: str = "users", **options: Any) -> Callable:
    """``@app.task`` for one Mxit operation. ``safe`` tasks ack late and retry ambiguous errors."""
    return app.task(
        bind=True,
        base=options.pop("base", MxitTask),
        name=name,
        api_class=api_class,
        safe_to_repeat=safe,
        acks_late=safe,
        reject_on_worker_lost=safe,
        **options,
    )


def binary_result(
    task: MxitTask, fetch: Callable[[str], Any], output_file_path: str | None
) -> dict:
    """Stream a binary answer to the media directory (or ``output_file_path``) and describe it:
    ``{path, content_type, size, sha256}``. No megabytes in the result backend."""
    if output_file_path:
        path = os.path.abspath(output_file_path)
    else:
        folder = os.path.abspath(runtime.settings().media_dir)
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, f"{task.request.id or 'local'}.bin")
    fetch(path)
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        head = fh.read(32)
        fh.seek(0)
        for chunk in iter(lambda: fh.read(1 << 16), b""):
            digest.update(chunk)
            size += len(chunk)
    content_type = sniff_image(head) or "application/octet-stream"
    return {"path": path, "content_type": content_type, "size": size, "sha256": digest.hexdigest()}
