"""User API tasks: lookup, status, profile, social graph and gallery management.

Each takes the client method's arguments; operations that act as a user take ``user_id=``
(whose stored token to use) instead of a token.
"""

from __future__ import annotations

from typing import Any

from mxit_tasks.tasks._define import op_task
from mxit_tasks.tasks.base import MxitTask


@op_task("mxit.users.get_user_id")
def get_user_id(self: MxitTask, mxit_id: str, scope: str = "profile/public") -> str:
    """GET /user/lookup/{mxitId} (app token): the UserId."""
    return self.call("users.get_user_id", mxit_id, scope=scope)


@op_task("mxit.users.get_status")
def get_status(self: MxitTask, mxit_id: str, scope: str = "profile/public") -> str:
    """GET /user/public/statusmessage/{mxitId} (app token)."""
    return self.call("users.get_status", mxit_id, scope=scope)


@op_task("mxit.users.get_display_name")
def get_display_name(self: MxitTask, mxit_id: str, scope: str = "profile/public") -> str:
    """GET /user/public/displayname/{mxitId} (app token)."""
    return self.call("users.get_display_name", mxit_id, scope=scope)


@op_task("mxit.users.set_status")
def set_status(self: MxitTask, message: str, scope: str = "status/write", *, user_id: str) -> str:
    """PUT /user/statusmessage as ``user_id`` (idempotent: safe to repeat)."""
    return self.call("users.set_status", message, scope=scope, as_user=user_id)


@op_task("mxit.users.delete_avatar")
def delete_avatar(self: MxitTask, scope: str = "avatar/write", *, user_id: str) -> str:
    """DELETE /user/avatar as ``user_id``."""
    return self.call("users.delete_avatar", scope=scope, as_user=user_id)


@op_task("mxit.users.get_basic_profile")
def get_basic_profile(self: MxitTask, user_id: str, scope: str = "profile/public") -> dict:
    """GET /user/profile/{userId} (app token): the BasicProfile."""
    return self.call("users.get_basic_profile", user_id, scope=scope)


@op_task("mxit.users.get_full_profile")
def get_full_profile(self: MxitTask, scope: str = "profile/private", *, user_id: str) -> dict:
    """GET /user/profile as ``user_id``: the FullProfile."""
    return self.call("users.get_full_profile", scope=scope, as_user=user_id)


@op_task("mxit.users.update_profile")
def update_profile(
    self: MxitTask,
    about_me: str | None = None,
    display_name: str | None = None,
    email: str | None = None,
    first_name: str | None = None,
    gender: int | None = None,
    last_name: str | None = None,
    mobile_number: str | None = None,
    relationship_status: int | None = None,
    title: str | None = None,
    where_am_i: str | None = None,
    scope: str = "profile/write",
    *,
    user_id: str,
) -> str | None:
    """PUT /user/profile as ``user_id`` with the fields given (idempotent)."""
    fields: dict[str, Any] = {
        "about_me": about_me,
        "display_name": display_name,
        "email": email,
        "first_name": first_name,
        "gender": gender,
        "last_name": last_name,
        "mobile_number": mobile_number,
        "relationship_status": relationship_status,
        "title": title,
        "where_am_i": where_am_i,
    }
    return self.call("users.update_profile", scope=scope, as_user=user_id, **fields)


@op_task("mxit.users.add_contact")
def add_contact(
    self: MxitTask, contact_id: str, scope: str = "contact/invite", *, user_id: str
) -> str:
    """PUT /user/socialgraph/contact/{contact} as ``user_id`` (adding twice is harmless)."""
    return self.call("users.add_contact", contact_id, scope=scope, as_user=user_id)


@op_task("mxit.users.get_contact_list")
def get_contact_list(
    self: MxitTask,
    list_filter: str,
    skip: int | None = None,
    count: int | None = None,
    scope: str = "graph/read",
    *,
    user_id: str,
) -> dict:
    """GET /user/socialgraph/contactlist as ``user_id``."""
    return self.call(
        "users.get_contact_list", list_filter, skip, count, scope=scope, as_user=user_id
    )


@op_task("mxit.users.get_friend_suggestions")
def get_friend_suggestions(self: MxitTask, scope: str = "graph/read", *, user_id: str) -> list:
    """GET /user/socialgraph/suggestions as ``user_id``."""
    return self.call("users.get_friend_suggestions", scope=scope, as_user=user_id)


@op_task("mxit.users.get_gallery_folder_list")
def get_gallery_folder_list(self: MxitTask, scope: str = "content/read", *, user_id: str) -> dict:
    """GET /user/media as ``user_id``."""
    return self.call("users.get_gallery_folder_list", scope=scope, as_user=user_id)


@op_task("mxit.users.create_gallery_folder", safe=False)
def create_gallery_folder(
    self: MxitTask, folder_name: str, scope: str = "content/write", *, user_id: str
) -> str:
    """POST /user/media/{folderName} as ``user_id`` (a repeat would answer 409)."""
    return self.call("users.create_gallery_folder", folder_name, scope=scope, as_user=user_id)


@op_task("mxit.users.delete_gallery_folder", safe=False)
def delete_gallery_folder(
    self: MxitTask, folder_name: str, scope: str = "content/write", *, user_id: str
) -> str:
    """DELETE /user/media/{folderName} as ``user_id``."""
    return self.call("users.delete_gallery_folder", folder_name, scope=scope, as_user=user_id)


@op_task("mxit.users.rename_gallery_folder", safe=False)
def rename_gallery_folder(
    self: MxitTask,
    old_folder_name: str,
    new_folder_name: str,
    scope: str = "content/write",
    *,
    user_id: str,
) -> str:
    """PUT /user/media/{folderName} as ``user_id``."""
    return self.call(
        "users.rename_gallery_folder",
        old_folder_name,
        new_folder_name,
        scope=scope,
        as_user=user_id,
    )


@op_task("mxit.users.delete_gallery_file", safe=False)
def delete_gallery_file(
    self: MxitTask, file_id: str, scope: str = "content/write", *, user_id: str
) -> str:
    """DELETE /user/media/file/{fileId} as ``user_id``."""
    return self.call("users.delete_gallery_file", file_id, scope=scope, as_user=user_id)


@op_task("mxit.users.rename_gallery_file")
def rename_gallery_file(
    self: MxitTask, file_id: str, new_file_name: str, scope: str = "content/write", *, user_id: str
) -> str:
    """PUT /user/media/file/{fileId} as ``user_id`` (idempotent)."""
    return self.call(
        "users.rename_gallery_file", file_id, new_file_name, scope=scope, as_user=user_id
    )


@op_task("mxit.users.get_gallery_item_list")
def get_gallery_item_list(
    self: MxitTask,
    folder_name: str,
    skip: int | None = None,
    count: int | None = None,
    scope: str = "content/read",
    *,
    user_id: str,
) -> list:
    """GET /user/media/list/{folderName} as ``user_id``."""
    return self.call(
        "users.get_gallery_item_list", folder_name, skip, count, scope=scope, as_user=user_id
    )
