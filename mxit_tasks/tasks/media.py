"""Media tasks: avatar, cover and gallery files, file offers.

Uploads are validated and staged when they are enqueued (at ``.delay()``): at most
``max_upload_bytes``, and for avatars and covers a real image by its magic bytes. The broker
message carries only ``payload_ref``; every retry sends exactly the staged bytes, which are
deleted after success (or when their dead-letter entry goes). Uploads retry outages for
``upload_retry_window`` (default 24 h) with capped exponential backoff and jitter.

Downloads are streamed to the media directory; the result is ``{path, content_type, size,
sha256}``.
"""

from __future__ import annotations

import inspect
import json
from typing import Any

from mxit_tasks import runtime
from mxit_tasks.client import validation
from mxit_tasks.tasks._define import binary_result, op_task
from mxit_tasks.tasks.base import MxitTask


class UploadTask(MxitTask):
    """A task whose ``data=`` / ``input_file_path=`` are staged at enqueue time."""

    abstract = True
    image_only = False
    api_class = "media"
    windowed = True  # retried for the upload window, not a count (see MxitTask.window)

    def apply_async(self, args: Any = None, kwargs: Any = None, **options: Any) -> Any:
        """Validate and stage the payload, then enqueue a reference to it."""
        bound = inspect.signature(self.run).bind_partial(*(args or ()), **(kwargs or {}))
        arguments = dict(bound.arguments)
        if not arguments.get("payload_ref"):
            data = arguments.pop("data", None)
            path = arguments.pop("input_file_path", None)
            body, _ = validation.payload(
                data,
                path,
                max_bytes=runtime.settings().max_upload_bytes,
                image=self.image_only,
            )
            arguments["payload_ref"] = runtime.payloads().put(body)
        return super().apply_async((), arguments, **options)

    def upload(self, operation: str, payload_ref: str, **kwargs: Any) -> Any:
        """Fetch the staged bytes, upload them, and drop them after success.

        A copy of this task delivered again after it succeeded (a worker killed between
        publishing a retry and acking the original, say) finds the done marker and returns the
        first result instead of uploading twice or failing on the deleted payload.
        """
        r = runtime.redis()
        done_key = f"mxit:upload:done:{payload_ref}"
        previous = r.get(done_key)
        if previous is not None:
            return json.loads(previous)
        # Two copies restored together must not upload in parallel: one holds a short lease.
        lock_key = f"mxit:upload:lock:{payload_ref}"
        owner = self.request.id or "local"
        if not r.set(lock_key, owner, nx=True, ex=runtime.settings().send_lease):
            self.defer(2.0, "another worker is uploading this payload")
        try:
            store = runtime.payloads()
            data = store.get(payload_ref)
            result = self.call(operation, data=data, **kwargs)
            r.set(done_key, json.dumps(result), ex=runtime.settings().payload_ttl)
            store.delete(payload_ref)
            return result
        finally:
            if r.get(lock_key) == owner.encode():
                r.delete(lock_key)


class ImageUploadTask(UploadTask):
    """Avatars and covers: the payload must be an image."""

    abstract = True
    image_only = True


@op_task("mxit.users.get_avatar", api_class="media")
def get_avatar(
    self: MxitTask,
    mxit_id: str,
    output_file_path: str | None = None,
    scope: str = "profile/public",
) -> dict:
    """GET /user/public/avatar/{mxitId}: the image saved to disk, described."""
    return binary_result(
        self,
        lambda path: self.call("users.get_avatar", mxit_id, output_file_path=path, scope=scope),
        output_file_path,
    )


@op_task("mxit.users.get_cover_image", api_class="media")
def get_cover_image(
    self: MxitTask,
    output_file_path: str | None = None,
    scope: str = "profile/public",
    *,
    user_id: str,
) -> dict:
    """GET /user/cover as ``user_id``: the image saved to disk, described."""
    return binary_result(
        self,
        lambda path: self.call(
            "users.get_cover_image", output_file_path=path, scope=scope, as_user=user_id
        ),
        output_file_path,
    )


@op_task("mxit.users.get_gallery_file", api_class="media")
def get_gallery_file(
    self: MxitTask,
    file_id: str,
    output_file_path: str | None = None,
    scope: str = "content/read",
    *,
    user_id: str,
) -> dict:
    """GET /user/media/content/{fileId} as ``user_id``: the file saved to disk, described."""
    return binary_result(
        self,
        lambda path: self.call(
            "users.get_gallery_file", file_id, output_file_path=path, scope=scope, as_user=user_id
        ),
        output_file_path,
    )


@op_task("mxit.users.set_avatar", base=ImageUploadTask, api_class="media")
def set_avatar(
    self: UploadTask,
    data: bytes | None = None,
    input_file_path: str | None = None,
    scope: str = "avatar/write",
    content_type: str = "application/octet-stream",
    *,
    user_id: str,
    payload_ref: str | None = None,
) -> str:
    """POST /user/avatar as ``user_id`` with the staged image (idempotent)."""
    assert payload_ref, "set_avatar is enqueued with a staged payload"
    return self.upload(
        "users.set_avatar", payload_ref, scope=scope, content_type=content_type, as_user=user_id
    )


@op_task("mxit.users.set_cover_image", base=ImageUploadTask, api_class="media")
def set_cover_image(
    self: UploadTask,
    data: bytes | None = None,
    input_file_path: str | None = None,
    content_type: str = "application/octet-stream",
    scope: str = "avatar/write",
    *,
    user_id: str,
    payload_ref: str | None = None,
) -> str:
    """POST /user/cover as ``user_id`` with the staged image (idempotent)."""
    assert payload_ref, "set_cover_image is enqueued with a staged payload"
    return self.upload(
        "users.set_cover_image",
        payload_ref,
        content_type=content_type,
        scope=scope,
        as_user=user_id,
    )


@op_task("mxit.users.upload_gallery_file", base=UploadTask, api_class="media", safe=False)
def upload_gallery_file(
    self: UploadTask,
    folder_name: str,
    file_name: str,
    data: bytes | None = None,
    input_file_path: str | None = None,
    prevent_share: bool = False,
    content_type: str = "image/png",
    scope: str = "content/write",
    *,
    user_id: str,
    payload_ref: str | None = None,
) -> str:
    """POST /user/media/file/{folderName} as ``user_id``: the new FileId."""
    assert payload_ref, "upload_gallery_file is enqueued with a staged payload"
    return self.upload(
        "users.upload_gallery_file",
        payload_ref,
        folder_name=folder_name,
        file_name=file_name,
        prevent_share=prevent_share,
        content_type=content_type,
        scope=scope,
        as_user=user_id,
    )


@op_task(
    "mxit.users.upload_file_and_send_file_offer", base=UploadTask, api_class="media", safe=False
)
def upload_file_and_send_file_offer(
    self: UploadTask,
    file_name: str,
    user_id: str,
    data: bytes | None = None,
    input_file_path: str | None = None,
    content_type: str = "application/octet-stream",
    auto_open: bool = False,
    prevent_share: bool = False,
    scope: str = "content/send",
    payload_ref: str | None = None,
) -> str:
    """POST /user/media/file/send (app token): store the file, offer it to ``user_id``."""
    assert payload_ref, "upload_file_and_send_file_offer is enqueued with a staged payload"
    return self.upload(
        "users.upload_file_and_send_file_offer",
        payload_ref,
        file_name=file_name,
        user_id=user_id,
        content_type=content_type,
        auto_open=auto_open,
        prevent_share=prevent_share,
        scope=scope,
    )


@op_task("mxit.users.send_file_offer", api_class="media", safe=False)
def send_file_offer(
    self: MxitTask,
    file_id: str,
    user_id: str,
    auto_open: bool = False,
    scope: str = "content/send",
) -> str:
    """POST /user/media/file/send/{fileId} (app token): offer a stored file to ``user_id``."""
    return self.call("users.send_file_offer", file_id, user_id, auto_open, scope=scope)
