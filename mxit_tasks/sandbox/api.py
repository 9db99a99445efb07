"""The sandbox's REST API (api.mxit.com), served under ``/api`` (contract §3).

Authorization follows the contract's model (§2.8): 401 for a missing, unknown or expired token,
403 for a missing scope or the wrong kind of token; public calls take no token, but a token that
is sent must be valid.
"""

from __future__ import annotations

import time
from typing import Any

from mxit_tasks._media import IMAGE_TYPES, sniff_image
from mxit_tasks.sandbox.auth import bearer
from mxit_tasks.sandbox.http import Request, Response, Router, json_response
from mxit_tasks.sandbox.state import (
    CONTACT_FILTERS,
    DEFAULT_AVATAR,
    ENUM_RANGES,
    PROFILE_WRITABLE,
    SUBSCRIPTION,
    GalleryFile,
    SandboxError,
    Token,
)

router = Router("/api")
OK = Response(200)


def _auth(req: Request, scope: str | None, kind: str = "any") -> Token:
    """Check the bearer token: ``kind`` is ``any`` or ``user`` (operations on the current user)."""
    token = bearer(req)
    if token is None:
        raise SandboxError(
            401, "invalid_token", "a bearer token is required", {"WWW-Authenticate": "Bearer"}
        )
    if kind == "user" and token.user is None:
        raise SandboxError(403, "forbidden", "this operation needs a user token, not an app token")
    if scope and scope not in token.scopes:
        raise SandboxError(403, "insufficient_scope", f"the token lacks the {scope} scope")
    req.token = token
    return token


def _user_token(req: Request, scope: str | None) -> int:
    """Authorize a current-user operation and return the token owner's index."""
    token = _auth(req, scope, "user")
    assert token.user is not None
    if req.state.users.get(token.user, "gone"):
        raise SandboxError(404, "user_not_found", "the token's user no longer exists")
    return token.user


def _public(req: Request) -> None:
    """Public calls: no token needed, but one that is sent must be valid (§3.3)."""
    bearer(req)


def _user(req: Request, ident: str) -> int:
    """The live user named by a Mxit ID or UserId path segment, or 404."""
    if not ident:
        raise SandboxError(400, "invalid_request", "user id is empty")
    idx = req.state.users.live(ident)
    if idx is None:
        raise SandboxError(404, "user_not_found", f"no Mxit user {ident!r}")
    return idx


def _bool(value: Any, name: str, default: bool) -> bool:
    """A JSON or query boolean: true/false, or the strings "true"/"false"."""
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise SandboxError(400, "invalid_request", f"{name} must be true or false")


def _int_query(req: Request, name: str, default: int) -> int:
    raw = req.q(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SandboxError(400, "invalid_request", f"{name} must be an integer") from None
    if value < 0:
        raise SandboxError(400, "invalid_request", f"{name} must not be negative")
    return value


def _string(value: str) -> Response:
    """A scalar answer: a JSON string literal (§3.1)."""
    return json_response(value)


# ---- messaging ---------------------------------------------------------------------------------


def _links(raw: Any) -> list[dict[str, Any]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise SandboxError(400, "invalid_request", "Links must be an array")
    links = []
    for i, link in enumerate(raw):
        if not isinstance(link, dict):
            raise SandboxError(400, "invalid_request", f"Links[{i}] must be an object")
        for key in ("TargetService", "Text"):
            if not isinstance(link.get(key), str) or not link[key]:
                raise SandboxError(400, "invalid_request", f"Links[{i}].{key} must be a string")
        for key in ("CreateTemporaryContact", "AddToBackHistory"):
            if key in link:
                link[key] = _bool(link[key], f"Links[{i}].{key}", False)
        links.append(link)
    return links


@router.route("POST", "/message/send")
def send_message(req: Request) -> Response:
    """POST /message/send/: deliver to the valid recipients; 400 names the unknown ones."""
    token = _auth(req, None)
    state = req.state
    data = req.json_object()
    sender, to, body = data.get("From"), data.get("To"), data.get("Body")
    for name, value in (("From", sender), ("To", to), ("Body", body)):
        if not isinstance(value, str) or (name != "Body" and not value.strip()):
            raise SandboxError(400, "invalid_request", f"{name} is required and must be a string")
    if token.user is None:
        if "message/send" not in token.scopes:
            raise SandboxError(403, "insufficient_scope", "the token lacks the message/send scope")
        app_service: str | None = state.apps[token.client_id].service_name
    else:
        if "message/user" not in token.scopes:
            raise SandboxError(403, "insufficient_scope", "the token lacks the message/user scope")
        if sender != state.users.user_id(token.user):
            raise SandboxError(403, "forbidden", "From must be the token owner's UserId")
        app_service = None
    cfg = state.config
    if cfg.max_body_chars and len(body) > cfg.max_body_chars:
        raise SandboxError(
            400, "body_too_long", f"Body has {len(body)} characters; at most {cfg.max_body_chars}"
        )
    recipients = [r.strip() for r in to.split(",")]
    if cfg.max_recipients and len(recipients) > cfg.max_recipients:
        raise SandboxError(
            400,
            "too_many_recipients",
            f"To has {len(recipients)} recipients; at most {cfg.max_recipients}",
        )
    spool_timeout = data.get("SpoolTimeOut", data.get("SpoolTimeout"))
    if spool_timeout is None:
        spool_timeout = cfg.spool_timeout_default
    if isinstance(spool_timeout, bool) or not isinstance(spool_timeout, int) or spool_timeout < 0:
        raise SandboxError(400, "invalid_request", "SpoolTimeOut must be a non-negative integer")
    invalid, _ = state.deliver(
        token.client_id,
        sender,
        body,
        recipients,
        contains_markup=_bool(data.get("ContainsMarkup"), "ContainsMarkup", True),
        spool=_bool(data.get("Spool"), "Spool", cfg.spool_default),
        spool_timeout=spool_timeout,
        links=_links(data.get("Links")),
        app_service=app_service,
    )
    if invalid:
        shown = ", ".join(repr(i) for i in invalid[:50]) + (" ..." if len(invalid) > 50 else "")
        raise SandboxError(
            400,
            "invalid_recipients",
            f"unknown UserIds in To: {shown}; the other recipients were delivered",
            extra={"invalid_user_ids": invalid},
        )
    return OK


# ---- lookup, status, display name ---------------------------------------------------------------


@router.route("GET", "/user/lookup/{mxit_id}")
def lookup(req: Request) -> Response:
    """GET /user/lookup/{mxitId}: the UserId."""
    _auth(req, "profile/public")
    return _string(req.state.users.user_id(_user(req, req.params["mxit_id"])))


@router.route("GET", "/user/public/statusmessage/{mxit_id}")
def public_status(req: Request) -> Response:
    """GET /user/public/statusmessage/{mxitId}."""
    _public(req)
    return _string(req.state.users.status(_user(req, req.params["mxit_id"])))


@router.route("GET", "/user/public/displayname/{mxit_id}")
def public_display_name(req: Request) -> Response:
    """GET /user/public/displayname/{mxitId}."""
    _public(req)
    return _string(req.state.users.display_name(_user(req, req.params["mxit_id"])))


@router.route("GET", "/user/statusmessage")
def own_status(req: Request) -> Response:
    """GET /user/statusmessage: the token owner's status."""
    return _string(req.state.users.status(_user_token(req, None)))


@router.route("PUT", "/user/statusmessage")
def set_status(req: Request) -> Response:
    """PUT /user/statusmessage with a JSON string body."""
    idx = _user_token(req, "status/write")
    status = req.json_string("the status message")
    limit = req.state.config.max_status_chars
    if len(status) > limit:
        raise SandboxError(
            400, "status_too_long", f"status has {len(status)} chars; at most {limit}"
        )
    req.state.users.set(idx, StatusMessage=status, status_modified_ms=int(time.time() * 1000))
    return OK


# ---- avatar and cover ----------------------------------------------------------------------------


def _image_response(stored: tuple[bytes, str] | None) -> Response:
    data, mime = stored if stored else (DEFAULT_AVATAR, "image/png")
    return Response(200, data, mime)


def _image_upload(req: Request) -> tuple[bytes, str]:
    data = req.body
    if not data:
        raise SandboxError(400, "invalid_request", "image body is empty")
    limit = req.state.config.max_upload_bytes
    if len(data) > limit:
        raise SandboxError(
            413, "payload_too_large", f"upload is {len(data)} bytes; at most {limit}"
        )
    declared = req.headers.get("content-type", "application/octet-stream").split(";")[0].strip()
    sniffed = sniff_image(data)
    if sniffed is None:
        raise SandboxError(400, "invalid_image", "body is not a PNG, JPEG, GIF, BMP or WebP image")
    if declared not in IMAGE_TYPES and declared != "application/octet-stream":
        raise SandboxError(400, "invalid_content_type", f"Content-Type {declared} is not an image")
    return data, sniffed


@router.route("GET", "/user/public/avatar/{mxit_id}")
def public_avatar(req: Request) -> Response:
    """GET /user/public/avatar/{mxitId}: image bytes, or the default avatar."""
    _public(req)
    return _image_response(req.state.users.get(_user(req, req.params["mxit_id"]), "avatar"))


@router.route("GET", "/user/avatar")
def own_avatar(req: Request) -> Response:
    """GET /user/avatar: the token owner's avatar."""
    return _image_response(req.state.users.get(_user_token(req, None), "avatar"))


@router.route("POST", "/user/avatar")
def set_avatar(req: Request) -> Response:
    """POST /user/avatar with raw image bytes."""
    idx = _user_token(req, "avatar/write")
    data, mime = _image_upload(req)
    req.state.users.set(idx, avatar=(data, mime), AvatarId=f"av{abs(hash(data)) % 10**10}")
    return OK


@router.route("DELETE", "/user/avatar")
def delete_avatar(req: Request) -> Response:
    """DELETE /user/avatar: back to the default avatar."""
    idx = _user_token(req, "avatar/write")
    req.state.users.set(idx, avatar=None, AvatarId="")
    return OK


@router.route("GET", "/user/cover")
def get_cover(req: Request) -> Response:
    """GET /user/cover: the token owner's cover image (user token, profile/public)."""
    idx = _user_token(req, "profile/public")
    return _image_response(req.state.users.get(idx, "cover"))


@router.route("POST", "/user/cover")
def set_cover(req: Request) -> Response:
    """POST /user/cover with raw image bytes."""
    idx = _user_token(req, "avatar/write")
    req.state.users.set(idx, cover=_image_upload(req))
    return OK


# ---- profile -------------------------------------------------------------------------------------


@router.route("GET", "/user/profile/{user_id}")
def basic_profile(req: Request) -> Response:
    """GET /user/profile/{userId}: the BasicProfile (needs the UserId, not the login)."""
    _auth(req, "profile/public")
    ident = req.params["user_id"]
    idx = req.state.users.live(ident)
    if idx is None or req.state.users.user_id(idx) != ident:
        raise SandboxError(404, "user_not_found", f"no Mxit user with UserId {ident!r}")
    return json_response(req.state.users.basic_profile(idx))


@router.route("GET", "/user/profile")
def full_profile(req: Request) -> Response:
    """GET /user/profile: the token owner's FullProfile."""
    return json_response(req.state.users.full_profile(_user_token(req, "profile/private")))


@router.route("PUT", "/user/profile")
def update_profile(req: Request) -> Response:
    """PUT /user/profile with only the fields to change; enums are validated."""
    idx = _user_token(req, "profile/write")
    data = req.json_object()
    changes: dict[str, Any] = {}
    for name, kind in PROFILE_WRITABLE.items():
        if name not in data:
            continue
        value = data[name]
        if kind is int:
            if isinstance(value, bool) or not isinstance(value, int):
                raise SandboxError(400, "invalid_request", f"{name} must be an integer")
            if value not in ENUM_RANGES[name]:
                rng = ENUM_RANGES[name]
                raise SandboxError(
                    400, "invalid_request", f"{name} must be {rng.start}..{rng.stop - 1}"
                )
        elif not isinstance(value, str):
            raise SandboxError(400, "invalid_request", f"{name} must be a string")
        changes[name] = value
    req.state.users.set(idx, **changes)
    return OK


# ---- social graph --------------------------------------------------------------------------------


@router.route("PUT", "/user/socialgraph/contact/{contact}")
def add_contact(req: Request) -> Response:
    """PUT /user/socialgraph/contact/{contact}: add an app, or invite a user."""
    idx = _user_token(req, "contact/invite")
    state = req.state
    contact = req.params["contact"]
    app = state.app_by_service(contact) if contact else None
    if app is not None:
        roster = state.rosters.get(idx)
        if roster is not None:
            roster.add(app.service_name.lower())
        return OK
    other = _user(req, contact)
    if other == idx:
        raise SandboxError(400, "invalid_request", "a user cannot add themselves")
    book = state.contact_book(idx)
    key = f"u{other}"
    if key not in book or book[key]["sub"] in ("D", "R"):
        book[key] = {"user": other, "sub": "P", "group": ""}
        state.contact_book(other)[f"u{idx}"] = {"user": idx, "sub": "A", "group": ""}
    return OK


def _contacts(req: Request, idx: int, flt: str) -> list[dict[str, Any]]:
    state = req.state
    out = []
    if flt in ("@all", "@apps", "@connections"):
        for app in state.apps_of(idx):
            out.append(
                {
                    "DisplayName": app.service_name,
                    "AvatarId": "",
                    "State": {"Availability": 1, "IsOnline": True, "StatusMessage": ""},
                    "UserId": app.service_name,
                    "Blocked": False,
                    "Group": "Apps",
                    "ContactType": 1,
                    "SubscriptionType": SUBSCRIPTION["B"],
                }
            )
    wanted = {
        "@all": None,
        "@friends": {"B"},
        "@connections": {"B"},
        "@invites": {"A"},
        "@rejected": {"R"},
        "@pending": {"P"},
        "@deleted": {"D"},
        "@apps": set(),
        "@blocked": None,
    }[flt]
    for entry in state.contact_book(idx).values():
        if flt == "@blocked" and not entry.get("blocked"):
            continue
        if wanted is not None and entry["sub"] not in wanted:
            continue
        if state.users.get(entry["user"], "gone"):
            continue
        item = state.users.base(entry["user"])
        item.update(
            {
                "Blocked": bool(entry.get("blocked")),
                "Group": entry.get("group", ""),
                "ContactType": 0,
                "SubscriptionType": SUBSCRIPTION[entry["sub"]],
            }
        )
        out.append(item)
    return out


@router.route("GET", "/user/socialgraph/contactlist")
def contact_list(req: Request) -> Response:
    """GET /user/socialgraph/contactlist?filter&skip&count: one page (count clamped to 1..26)."""
    idx = _user_token(req, "graph/read")
    cfg = req.state.config
    flt = (req.q("filter") or "@Connections").lower()
    if flt not in CONTACT_FILTERS:
        raise SandboxError(
            400,
            "invalid_filter",
            f"unknown filter {req.q('filter')!r}; use one of @All, @Friends, "
            "@Apps, @Invites, @Connections, @Rejected, @Pending, @Deleted, @Blocked",
        )
    skip = _int_query(req, "skip", 0)
    count = min(max(_int_query(req, "count", cfg.contact_page_max), 1), cfg.contact_page_max)
    if cfg.count_plus_one:
        count += 1
    return json_response({"Contacts": _contacts(req, idx, flt)[skip : skip + count]})


@router.route("GET", "/user/socialgraph/suggestions")
def suggestions(req: Request) -> Response:
    """GET /user/socialgraph/suggestions: a JSON array of base user objects."""
    idx = _user_token(req, "graph/read")
    if "xml" in req.headers.get("accept", ""):
        raise SandboxError(400, "unsupported_format", "suggestions are only available as JSON")
    state = req.state
    book = state.contact_book(idx)
    out = []
    for other in (idx - 2, idx + 2, idx - 3, idx + 3):
        known = 0 <= other < state.users.count and f"u{other}" not in book
        if known and not state.users.get(other, "gone"):
            out.append(state.users.base(other))
    return json_response(out)


@router.route("POST", "/user/recommend")
def recommend(req: Request) -> Response:
    """POST /user/recommend (mxit-rails only): recommend an app to a contact."""
    _auth(req, "contact/recommend")
    data = req.json_object()
    for key in ("Application", "ToUserId"):
        if not isinstance(data.get(key), str) or not data[key]:
            raise SandboxError(400, "invalid_request", f"{key} is required")
    _user(req, data["ToUserId"])
    return OK


# ---- gallery -------------------------------------------------------------------------------------


def _folder_name(name: str) -> str:
    if not name or not name.strip():
        raise SandboxError(400, "invalid_folder_name", "folder name is empty")
    if name in (".", "..") or any(c in name for c in "/\\") or any(ord(c) < 32 for c in name):
        raise SandboxError(
            400, "invalid_folder_name", "folder name may not be '.', '..' or hold / \\ or controls"
        )
    if len(name) > 255:
        raise SandboxError(400, "invalid_folder_name", "folder name is longer than 255 characters")
    return name


def _folder(req: Request, idx: int, name: str) -> list[str]:
    folders = req.state.gallery(idx)
    if _folder_name(name) not in folders:
        raise SandboxError(404, "folder_not_found", f"no gallery folder {name!r}")
    return folders[name]


def _own_file(req: Request, idx: int, file_id: str) -> GalleryFile:
    file = req.state.files.get(file_id)
    if file is None or file.owner != idx:
        raise SandboxError(404, "file_not_found", f"no gallery file {file_id!r}")
    return file


def _file_name(raw: str | None) -> str:
    if raw is None or not raw.strip():
        raise SandboxError(400, "invalid_request", "fileName is required")
    if any(c in raw for c in "/\\") or any(ord(c) < 32 for c in raw) or raw in (".", ".."):
        raise SandboxError(400, "invalid_file_name", "fileName may not hold / \\ or controls")
    return raw


def _upload_body(req: Request) -> tuple[bytes, str]:
    data = req.body
    if not data:
        raise SandboxError(400, "invalid_request", "file body is empty")
    limit = req.state.config.max_upload_bytes
    if len(data) > limit:
        raise SandboxError(
            413, "payload_too_large", f"upload is {len(data)} bytes; at most {limit}"
        )
    mime = req.q("mimeType") or req.headers.get("content-type") or "application/octet-stream"
    return data, mime.split(";")[0].strip()


@router.route("GET", "/user/media")
def folder_list(req: Request) -> Response:
    """GET /user/media: ``{"Folders": [names]}``."""
    idx = _user_token(req, "content/read")
    return json_response({"Folders": list(req.state.gallery(idx))})


@router.route("POST", "/user/media/{folder}")
def create_folder(req: Request) -> Response:
    """POST /user/media/{folderName}: 409 when it exists."""
    idx = _user_token(req, "content/write")
    name = _folder_name(req.params["folder"])
    folders = req.state.gallery(idx)
    if name in folders:
        raise SandboxError(409, "folder_exists", f"gallery folder {name!r} already exists")
    folders[name] = []
    return OK


@router.route("DELETE", "/user/media/{folder}")
def delete_folder(req: Request) -> Response:
    """DELETE /user/media/{folderName}: its files go too."""
    idx = _user_token(req, "content/write")
    name = req.params["folder"]
    for file_id in _folder(req, idx, name):
        req.state.files.pop(file_id, None)
    del req.state.gallery(idx)[name]
    return OK


@router.route("PUT", "/user/media/{folder}")
def rename_folder(req: Request) -> Response:
    """PUT /user/media/{folderName} with the new name as a JSON string."""
    idx = _user_token(req, "content/write")
    name = req.params["folder"]
    files = _folder(req, idx, name)
    new = _folder_name(req.json_string("the new folder name"))
    folders = req.state.gallery(idx)
    if new != name and new in folders:
        raise SandboxError(409, "folder_exists", f"gallery folder {new!r} already exists")
    folders[new] = folders.pop(name)
    for file_id in files:
        req.state.files[file_id].folder = new
    return OK


@router.route("GET", "/user/media/list/{folder}")
def item_list(req: Request) -> Response:
    """GET /user/media/list/{folderName}?skip&count: a JSON array of items."""
    idx = _user_token(req, "content/read")
    ids = _folder(req, idx, req.params["folder"])
    skip = _int_query(req, "skip", 0)
    count = _int_query(req, "count", 100)
    files = req.state.files
    items = [
        {
            "FileId": f.file_id,
            "FileName": f.name,
            "MimeType": f.mime,
            "Size": len(f.data),
            "FolderName": f.folder,
        }
        for f in (files[i] for i in ids[skip : skip + count])
    ]
    return json_response(items)


@router.route("POST", "/user/media/file/{folder}")
def upload_file(req: Request) -> Response:
    """POST /user/media/file/{folderName}?fileName&preventShare: the new FileId."""
    idx = _user_token(req, "content/write")
    folder = req.params["folder"]
    _folder(req, idx, folder)
    name = _file_name(req.q("fileName"))
    data, mime = _upload_body(req)
    file = req.state.add_file(idx, folder, name, mime, data)
    file.prevent_share = _bool(req.q("preventShare"), "preventShare", False)
    return _string(file.file_id)


@router.route("GET", "/user/media/content/{file_id}")
def get_file(req: Request) -> Response:
    """GET /user/media/content/{fileId}: the raw bytes."""
    idx = _user_token(req, "content/read")
    file = _own_file(req, idx, req.params["file_id"])
    return Response(200, file.data, file.mime)


@router.route("PUT", "/user/media/file/{file_id}")
def rename_file(req: Request) -> Response:
    """PUT /user/media/file/{fileId} with the new name as a JSON string."""
    idx = _user_token(req, "content/write")
    file = _own_file(req, idx, req.params["file_id"])
    file.name = _file_name(req.json_string("the new file name"))
    return OK


@router.route("DELETE", "/user/media/file/{file_id}")
def delete_file(req: Request) -> Response:
    """DELETE /user/media/file/{fileId}."""
    idx = _user_token(req, "content/write")
    file = _own_file(req, idx, req.params["file_id"])
    del req.state.files[file.file_id]
    req.state.gallery(idx)[file.folder].remove(file.file_id)
    return OK


# ---- file offers ---------------------------------------------------------------------------------


def _offer(req: Request, file_id: str, user: int, name: str, prevent_share: bool) -> None:
    req.state.offers.append(
        {
            "FileId": file_id,
            "UserId": req.state.users.user_id(user),
            "FileName": name,
            "AutoOpen": _bool(req.q("autoOpen"), "autoOpen", False),
            "PreventShare": prevent_share,
            "client_id": req.token.client_id if req.token else None,
            "ts": time.time(),
        }
    )


def _offer_target(req: Request) -> int:
    target = req.q("userId")
    if not target:
        raise SandboxError(400, "invalid_request", "userId is required")
    return _user(req, target)


@router.route("POST", "/user/media/file/send/{file_id}")
def send_file_offer(req: Request) -> Response:
    """POST /user/media/file/send/{fileId}?userId&autoOpen: offer a stored file."""
    _auth(req, "content/send")
    user = _offer_target(req)
    file = req.state.files.get(req.params["file_id"])
    if file is None:
        raise SandboxError(404, "file_not_found", f"no file {req.params['file_id']!r}")
    _offer(req, file.file_id, user, file.name, file.prevent_share)
    return OK


def upload_and_offer(req: Request) -> Response:
    """POST /user/media/file/send?fileName&userId&autoOpen&preventShare: store, offer, FileId."""
    token = _auth(req, "content/send")
    user = _offer_target(req)
    name = _file_name(req.q("fileName"))
    data, mime = _upload_body(req)
    owner = token.user if token.user is not None else user
    folders = req.state.gallery(owner)
    folders.setdefault("Sent", [])
    file = req.state.add_file(owner, "Sent", name, mime, data)
    file.prevent_share = _bool(req.q("preventShare"), "preventShare", False)
    _offer(req, file.file_id, user, name, file.prevent_share)
    return _string(file.file_id)


# The literal route must win over POST /user/media/file/{folder}.
router.route("POST", "/user/media/file/send")(upload_and_offer)
router.routes.insert(0, router.routes.pop())
