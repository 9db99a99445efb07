"""User API: lookup, status, avatar and cover, profile, social graph, gallery, file offers
(contract §3.3-§3.8). Scalars are JSON-decoded; binaries are bytes, or streamed to a file."""

from __future__ import annotations

from typing import Any

from mxit_tasks.client import validation as v
from mxit_tasks.client._http import segment
from mxit_tasks.client._service import Service, query_bool
from mxit_tasks.errors import MxitValidationError

CONTACT_LIST_FILTER = {
    "all": "@All",
    "friends": "@Friends",
    "apps": "@Apps",
    "invites": "@Invites",
    "connections": "@Connections",
    "rejected": "@Rejected",
    "pending": "@Pending",
    "deleted": "@Deleted",
    "blocked": "@Blocked",
}
_FILTER_VALUES = set(CONTACT_LIST_FILTER.values())
OCTET = "application/octet-stream"

_PROFILE_FIELDS = {
    "about_me": "AboutMe",
    "display_name": "DisplayName",
    "email": "Email",
    "first_name": "FirstName",
    "last_name": "LastName",
    "mobile_number": "MobileNumber",
    "title": "Title",
    "where_am_i": "WhereAmI",
}


def profile_body(**fields: Any) -> dict[str, Any]:
    """The PUT /user/profile body: every field that is not None, falsy ones included."""
    body: dict[str, Any] = {}
    for name, wire in _PROFILE_FIELDS.items():
        value = fields.get(name)
        if value is None:
            continue
        if not isinstance(value, str):
            raise MxitValidationError(name, f"must be a string, not {type(value).__name__}")
        body[wire] = value
    if fields.get("gender") is not None:
        body["Gender"] = v.enum("gender", fields["gender"], v.GENDERS)
    if fields.get("relationship_status") is not None:
        body["RelationshipStatus"] = v.enum(
            "relationship_status", fields["relationship_status"], v.RELATIONSHIP_STATUSES
        )
    return body


def list_filter_value(list_filter: Any) -> str:
    """``'all'`` or ``'@All'`` (any case) as the wire value."""
    if isinstance(list_filter, str):
        if list_filter.lower() in CONTACT_LIST_FILTER:
            return CONTACT_LIST_FILTER[list_filter.lower()]
        for value in _FILTER_VALUES:
            if value.lower() == list_filter.lower():
                return value
    raise MxitValidationError(
        "list_filter", f"must be one of {', '.join(sorted(_FILTER_VALUES))}, not {list_filter!r}"
    )


def paging(skip: Any, count: Any) -> dict[str, str]:
    """``skip``/``count`` query values; 0 is sent, only None is left out."""
    params: dict[str, str] = {}
    if skip is not None:
        params["skip"] = str(v.non_negative_int("skip", skip))
    if count is not None:
        params["count"] = str(v.non_negative_int("count", count))
    return params


def _upload_type(content_type: Any, sniffed: str | None, default: str) -> str:
    if not isinstance(content_type, str) or "/" not in content_type:
        raise MxitValidationError("content_type", f"must be a MIME type, not {content_type!r}")
    if sniffed and content_type in (OCTET, default):
        return sniffed  # the bytes say what they are; a generic default would hide it
    return content_type


class Users(Service):
    """``client.users``: everything under ``/user``."""

    # ---- lookup, status, display name -------------------------------------------------------

    def get_user_id(self, mxit_id: str, scope: str = "profile/public") -> str:
        """``GET /user/lookup/{mxitId}`` (app token): the UserId for a Mxit ID."""
        v.identifier("mxit_id", mxit_id)
        path = f"/user/lookup/{segment(mxit_id)}"
        return self._decode(self._request("GET", path, auth="app", scope=scope))

    def get_status(self, mxit_id: str, scope: str = "profile/public") -> str:
        """``GET /user/public/statusmessage/{mxitId}`` (app token): the status message."""
        v.identifier("mxit_id", mxit_id)
        path = f"/user/public/statusmessage/{segment(mxit_id)}"
        return self._decode(self._request("GET", path, auth="app", scope=scope))

    def set_status(self, message: str, scope: str = "status/write") -> str:
        """``PUT /user/statusmessage`` (user token, ``status/write``) with a JSON string."""
        message = v.message_body("message", message, self._settings.max_body_chars)
        resp = self._request(
            "PUT", "/user/statusmessage", auth="user", scope=scope, json_body=message
        )
        return self._decode(resp)

    def get_display_name(self, mxit_id: str, scope: str = "profile/public") -> str:
        """``GET /user/public/displayname/{mxitId}`` (app token): the nickname."""
        v.identifier("mxit_id", mxit_id)
        path = f"/user/public/displayname/{segment(mxit_id)}"
        return self._decode(self._request("GET", path, auth="app", scope=scope))

    # ---- avatar and cover -------------------------------------------------------------------

    def get_avatar(
        self, mxit_id: str, output_file_path: str | None = None, scope: str = "profile/public"
    ) -> bytes | None:
        """``GET /user/public/avatar/{mxitId}``: image bytes, or None after writing the file."""
        v.identifier("mxit_id", mxit_id)
        path = f"/user/public/avatar/{segment(mxit_id)}"
        resp = self._request("GET", path, auth="app", scope=scope, stream=True)
        return self._binary(resp, output_file_path)

    def set_avatar(
        self,
        data: bytes | None = None,
        input_file_path: str | None = None,
        scope: str = "avatar/write",
        content_type: str = OCTET,
    ) -> str:
        """``POST /user/avatar`` (user token, ``avatar/write``) with raw image bytes."""
        body, sniffed = v.payload(
            data, input_file_path, max_bytes=self._settings.max_upload_bytes, image=True
        )
        ctype = _upload_type(content_type, sniffed, OCTET)
        resp = self._request(
            "POST", "/user/avatar", auth="user", scope=scope, data=body, content_type=ctype
        )
        return self._decode(resp)

    def delete_avatar(self, scope: str = "avatar/write") -> str:
        """``DELETE /user/avatar`` (user token, ``avatar/write``)."""
        return self._decode(self._request("DELETE", "/user/avatar", auth="user", scope=scope))

    def get_cover_image(
        self, output_file_path: str | None = None, scope: str = "profile/public"
    ) -> bytes | None:
        """``GET /user/cover`` (user token): image bytes, or None after writing the file."""
        resp = self._request("GET", "/user/cover", auth="user", scope=scope, stream=True)
        return self._binary(resp, output_file_path)

    def set_cover_image(
        self,
        data: bytes | None = None,
        input_file_path: str | None = None,
        content_type: str = OCTET,
        scope: str = "avatar/write",
    ) -> str:
        """``POST /user/cover`` (user token, ``avatar/write``) with raw image bytes."""
        body, sniffed = v.payload(
            data, input_file_path, max_bytes=self._settings.max_upload_bytes, image=True
        )
        ctype = _upload_type(content_type, sniffed, OCTET)
        resp = self._request(
            "POST", "/user/cover", auth="user", scope=scope, data=body, content_type=ctype
        )
        return self._decode(resp)

    # ---- profile ----------------------------------------------------------------------------

    def get_basic_profile(self, user_id: str, scope: str = "profile/public") -> dict[str, Any]:
        """``GET /user/profile/{userId}`` (app token): the BasicProfile."""
        v.identifier("user_id", user_id)
        path = f"/user/profile/{segment(user_id)}"
        return self._decode(self._request("GET", path, auth="app", scope=scope))

    def get_full_profile(self, scope: str = "profile/private") -> dict[str, Any]:
        """``GET /user/profile`` (user token, ``profile/private``): the FullProfile."""
        return self._decode(self._request("GET", "/user/profile", auth="user", scope=scope))

    def update_profile(
        self,
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
    ) -> str | None:
        """``PUT /user/profile`` (user token, ``profile/write``) with the fields given.

        ``gender=0``, ``relationship_status=0`` and ``""`` (clear a field) are sent; None is
        left out. With nothing to change no request is made and None is returned.
        """
        body = profile_body(
            about_me=about_me,
            display_name=display_name,
            email=email,
            first_name=first_name,
            gender=gender,
            last_name=last_name,
            mobile_number=mobile_number,
            relationship_status=relationship_status,
            title=title,
            where_am_i=where_am_i,
        )
        if not body:
            return None
        resp = self._request("PUT", "/user/profile", auth="user", scope=scope, json_body=body)
        return self._decode(resp)

    # ---- social graph -----------------------------------------------------------------------

    def add_contact(self, contact_id: str, scope: str = "contact/invite") -> str:
        """``PUT /user/socialgraph/contact/{contact}`` (user token, ``contact/invite``)."""
        v.identifier("contact_id", contact_id)
        path = f"/user/socialgraph/contact/{segment(contact_id)}"
        return self._decode(self._request("PUT", path, auth="user", scope=scope, json_body={}))

    def get_contact_list(
        self,
        list_filter: str,
        skip: int | None = None,
        count: int | None = None,
        scope: str = "graph/read",
    ) -> dict[str, Any]:
        """``GET /user/socialgraph/contactlist?filter&skip&count`` (user token, ``graph/read``)."""
        params = {"filter": list_filter_value(list_filter), **paging(skip, count)}
        resp = self._request(
            "GET", "/user/socialgraph/contactlist", auth="user", scope=scope, params=params
        )
        return self._decode(resp)

    def get_friend_suggestions(self, scope: str = "graph/read") -> list[dict[str, Any]]:
        """``GET /user/socialgraph/suggestions`` (user token, ``graph/read``): a list."""
        resp = self._request("GET", "/user/socialgraph/suggestions", auth="user", scope=scope)
        return self._decode(resp)

    # ---- gallery ----------------------------------------------------------------------------

    def get_gallery_folder_list(self, scope: str = "content/read") -> dict[str, Any]:
        """``GET /user/media`` (user token, ``content/read``): ``{"Folders": [...]}``."""
        return self._decode(self._request("GET", "/user/media", auth="user", scope=scope))

    def create_gallery_folder(self, folder_name: str, scope: str = "content/write") -> str:
        """``POST /user/media/{folderName}`` (user token, ``content/write``)."""
        path = f"/user/media/{segment(v.folder_name('folder_name', folder_name))}"
        return self._decode(self._request("POST", path, auth="user", scope=scope))

    def delete_gallery_folder(self, folder_name: str, scope: str = "content/write") -> str:
        """``DELETE /user/media/{folderName}`` (user token, ``content/write``)."""
        path = f"/user/media/{segment(v.folder_name('folder_name', folder_name))}"
        return self._decode(self._request("DELETE", path, auth="user", scope=scope))

    def rename_gallery_folder(
        self, old_folder_name: str, new_folder_name: str, scope: str = "content/write"
    ) -> str:
        """``PUT /user/media/{folderName}`` with the new name as a JSON string."""
        old = v.folder_name("old_folder_name", old_folder_name)
        new = v.folder_name("new_folder_name", new_folder_name)
        path = f"/user/media/{segment(old)}"
        return self._decode(self._request("PUT", path, auth="user", scope=scope, json_body=new))

    def delete_gallery_file(self, file_id: str, scope: str = "content/write") -> str:
        """``DELETE /user/media/file/{fileId}`` (user token, ``content/write``)."""
        path = f"/user/media/file/{segment(v.identifier('file_id', file_id))}"
        return self._decode(self._request("DELETE", path, auth="user", scope=scope))

    def rename_gallery_file(
        self, file_id: str, new_file_name: str, scope: str = "content/write"
    ) -> str:
        """``PUT /user/media/file/{fileId}`` with the new file name as a JSON string."""
        path = f"/user/media/file/{segment(v.identifier('file_id', file_id))}"
        new = v.folder_name("new_file_name", new_file_name)
        return self._decode(self._request("PUT", path, auth="user", scope=scope, json_body=new))

    def upload_gallery_file(
        self,
        folder_name: str,
        file_name: str,
        data: bytes | None = None,
        input_file_path: str | None = None,
        prevent_share: bool = False,
        content_type: str = "image/png",
        scope: str = "content/write",
    ) -> str:
        """``POST /user/media/file/{folderName}?fileName&preventShare``: the new FileId."""
        folder = v.folder_name("folder_name", folder_name)
        name = v.folder_name("file_name", file_name)
        v.boolean("prevent_share", prevent_share)
        body, sniffed = v.payload(
            data, input_file_path, max_bytes=self._settings.max_upload_bytes, image=False
        )
        ctype = _upload_type(content_type, sniffed, "image/png")
        if sniffed is None and ctype == "image/png":
            ctype = OCTET  # the python-mxit default would mislabel a non-image
        params = {"fileName": name, "preventShare": query_bool(prevent_share)}
        resp = self._request(
            "POST",
            f"/user/media/file/{segment(folder)}",
            auth="user",
            scope=scope,
            params=params,
            data=body,
            content_type=ctype,
        )
        return self._decode(resp)

    def get_gallery_item_list(
        self,
        folder_name: str,
        skip: int | None = None,
        count: int | None = None,
        scope: str = "content/read",
    ) -> list[dict[str, Any]]:
        """``GET /user/media/list/{folderName}?skip&count``: a list of items."""
        path = f"/user/media/list/{segment(v.folder_name('folder_name', folder_name))}"
        resp = self._request("GET", path, auth="user", scope=scope, params=paging(skip, count))
        return self._decode(resp)

    def get_gallery_file(
        self, file_id: str, output_file_path: str | None = None, scope: str = "content/read"
    ) -> bytes | None:
        """``GET /user/media/content/{fileId}``: the bytes, or None after writing the file."""
        path = f"/user/media/content/{segment(v.identifier('file_id', file_id))}"
        resp = self._request("GET", path, auth="user", scope=scope, stream=True)
        return self._binary(resp, output_file_path)

    # ---- file offers (app token) ----------------------------------------------------------

    def upload_file_and_send_file_offer(
        self,
        file_name: str,
        user_id: str,
        data: bytes | None = None,
        input_file_path: str | None = None,
        content_type: str = OCTET,
        auto_open: bool = False,
        prevent_share: bool = False,
        scope: str = "content/send",
    ) -> str:
        """``POST /user/media/file/send?fileName&userId&autoOpen&preventShare`` (app token)."""
        name = v.folder_name("file_name", file_name)
        v.identifier("user_id", user_id)
        v.boolean("auto_open", auto_open)
        v.boolean("prevent_share", prevent_share)
        body, sniffed = v.payload(
            data, input_file_path, max_bytes=self._settings.max_upload_bytes, image=False
        )
        params = {
            "fileName": name,
            "userId": user_id,
            "autoOpen": query_bool(auto_open),
            "preventShare": query_bool(prevent_share),
        }
        resp = self._request(
            "POST",
            "/user/media/file/send",
            auth="app",
            scope=scope,
            params=params,
            data=body,
            content_type=_upload_type(content_type, sniffed, OCTET),
        )
        return self._decode(resp)

    def send_file_offer(
        self, file_id: str, user_id: str, auto_open: bool = False, scope: str = "content/send"
    ) -> str:
        """``POST /user/media/file/send/{fileId}?userId&autoOpen`` (app token, ``content/send``)."""
        v.identifier("user_id", user_id)
        v.boolean("auto_open", auto_open)
        path = f"/user/media/file/send/{segment(v.identifier('file_id', file_id))}"
        params = {"userId": user_id, "autoOpen": query_bool(auto_open)}
        return self._decode(
            self._request("POST", path, auth="app", scope=scope, params=params, json_body={})
        )
