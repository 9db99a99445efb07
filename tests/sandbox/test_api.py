"""Every sandbox API route over real HTTP: success, errors and token enforcement (contract §3)."""

from __future__ import annotations

import hashlib
import json

import pytest
import requests

from mxit_tasks._media import tiny_png
from tests.conftest import USER0, USER1, USER2, Sandbox

PNG = tiny_png((1, 2, 3))

# (method, path, body, needed scope or None, kind): kind is "user" for current-user operations.
ROUTES = [
    ("GET", f"/user/lookup/{USER1}", None, "profile/public", "any"),
    ("PUT", "/user/statusmessage", json.dumps("hi"), "status/write", "user"),
    ("GET", "/user/statusmessage", None, None, "user"),
    ("GET", "/user/avatar", None, None, "user"),
    ("POST", "/user/avatar", PNG, "avatar/write", "user"),
    ("DELETE", "/user/avatar", None, "avatar/write", "user"),
    ("GET", "/user/cover", None, "profile/public", "user"),
    ("POST", "/user/cover", PNG, "avatar/write", "user"),
    ("GET", f"/user/profile/{USER1}", None, "profile/public", "any"),
    ("GET", "/user/profile", None, "profile/private", "user"),
    ("PUT", "/user/profile", json.dumps({"Title": "Dr"}), "profile/write", "user"),
    ("PUT", f"/user/socialgraph/contact/{USER2}", b"{}", "contact/invite", "user"),
    ("GET", "/user/socialgraph/contactlist", None, "graph/read", "user"),
    ("GET", "/user/socialgraph/suggestions", None, "graph/read", "user"),
    ("GET", "/user/media", None, "content/read", "user"),
    ("POST", "/user/media/Photos", b"", "content/write", "user"),
    ("GET", "/user/media/list/Default", None, "content/read", "user"),
    ("POST", "/user/media/file/Default?fileName=a.txt", b"abc", "content/write", "user"),
]


def _call(sandbox: Sandbox, method: str, path: str, body=None, token: str | None = None, **kw):
    headers = kw.pop("headers", {})
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if isinstance(body, str):
        body = body.encode()
    return requests.request(method, sandbox.urls.api + path, data=body, headers=headers, **kw)


@pytest.mark.parametrize(("method", "path", "body", "scope", "kind"), ROUTES)
def test_route_enforces_token_scope_and_kind(sandbox: Sandbox, method, path, body, scope, kind):
    # No token: 401
    missing = _call(sandbox, method, path, body)
    assert missing.status_code == 401 and missing.json()["error"] == "invalid_token"
    # An unknown token: 401
    assert _call(sandbox, method, path, body, "0" * 32).status_code == 401
    if kind == "user":
        # An app token, even with every app scope, is the wrong kind: 403
        app = sandbox.app_token("profile/public message/send content/send")
        wrong = _call(sandbox, method, path, body, app)
        assert wrong.status_code == 403, wrong.text
    if scope:
        # A user token without the scope: 403
        other = "openid" if scope != "openid" else "profile/public"
        lacking = _call(sandbox, method, path, body, sandbox.user_token(scope=other))
        assert lacking.status_code == 403 and lacking.json()["error"] == "insufficient_scope"
    # The right token: success
    ok = _call(sandbox, method, path, body, sandbox.user_token(scope=scope or "openid"))
    assert ok.status_code == 200, ok.text


@pytest.mark.parametrize("kind", ["statusmessage", "displayname", "avatar"])
def test_public_calls_need_no_token_but_a_sent_token_must_be_valid(sandbox: Sandbox, kind) -> None:
    path = f"/user/public/{kind}/{USER1}"
    assert _call(sandbox, "GET", path).status_code == 200
    assert _call(sandbox, "GET", path, token=sandbox.app_token("profile/public")).status_code == 200
    assert _call(sandbox, "GET", path, token="f" * 32).status_code == 401
    missing = _call(sandbox, "GET", f"/user/public/{kind}/m49999999999")
    assert missing.status_code == 404 and missing.json()["error"] == "user_not_found"


def test_lookup_status_and_display_name_are_json_strings(sandbox: Sandbox) -> None:
    sandbox.control.change_user(USER1, status='Say "hi" \u00e9', display_name="Zo\u00eb")
    app = sandbox.app_token("profile/public")
    assert _call(sandbox, "GET", "/user/lookup/user0000001", token=app).text == f'"{USER1}"'
    assert _call(sandbox, "GET", f"/user/public/statusmessage/{USER1}").json() == 'Say "hi" é'
    assert _call(sandbox, "GET", f"/user/public/displayname/{USER1}").json() == "Zoë"


def test_set_status_round_trip_and_validation(sandbox: Sandbox) -> None:
    token = sandbox.user_token()
    assert _call(sandbox, "PUT", "/user/statusmessage", json.dumps("Sawubona 👋"), token).ok
    assert _call(sandbox, "GET", "/user/statusmessage", token=token).json() == "Sawubona 👋"
    assert _call(sandbox, "GET", f"/user/public/statusmessage/{USER0}").json() == "Sawubona 👋"
    for body, error in [
        (b"{not json", "invalid_json"),
        (b"123", "invalid_request"),
        (b"", "invalid_request"),
    ]:
        resp = _call(sandbox, "PUT", "/user/statusmessage", body, token)
        assert resp.status_code == 400 and resp.json()["error"] == error
    long = _call(sandbox, "PUT", "/user/statusmessage", json.dumps("x" * 251), token)
    assert long.status_code == 400 and "at most" in long.json()["error_description"]


def test_avatar_upload_get_delete_and_default(sandbox: Sandbox) -> None:
    token = sandbox.user_token()
    default = _call(sandbox, "GET", f"/user/public/avatar/{USER0}")
    assert default.headers["Content-Type"] == "image/png" and default.content.startswith(b"\x89PNG")
    jpeg = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 40
    up = _call(sandbox, "POST", "/user/avatar", jpeg, token, headers={"Content-Type": "image/jpeg"})
    assert up.status_code == 200 and up.content == b""
    got = _call(sandbox, "GET", f"/user/public/avatar/{USER0}")
    assert got.content == jpeg and got.headers["Content-Type"] == "image/jpeg"
    assert _call(sandbox, "GET", "/user/avatar", token=token).content == jpeg
    assert sandbox.control.media(USER0)["avatar"]["sha256"] == hashlib.sha256(jpeg).hexdigest()
    assert _call(sandbox, "DELETE", "/user/avatar", token=token).status_code == 200
    assert _call(sandbox, "GET", f"/user/public/avatar/{USER0}").content == default.content


def test_avatar_and_cover_reject_bad_uploads(sandbox: Sandbox) -> None:
    token = sandbox.user_token()
    for path in ("/user/avatar", "/user/cover"):
        empty = _call(sandbox, "POST", path, b"", token)
        assert empty.status_code == 400
        text = _call(sandbox, "POST", path, b"hello, not an image", token)
        assert text.status_code == 400 and text.json()["error"] == "invalid_image"
        typed = _call(sandbox, "POST", path, PNG, token, headers={"Content-Type": "text/plain"})
        assert typed.status_code == 400 and typed.json()["error"] == "invalid_content_type"
        big = _call(sandbox, "POST", path, PNG + b"\0" * (1024 * 1024), token)
        assert big.status_code == 413 and big.json()["error"] == "payload_too_large"
    cover = _call(sandbox, "POST", "/user/cover", PNG, token, headers={"Content-Type": "image/png"})
    assert cover.ok and _call(sandbox, "GET", "/user/cover", token=token).content == PNG


def test_profiles_and_update_with_enum_validation(sandbox: Sandbox) -> None:
    app = sandbox.app_token("profile/public")
    basic = _call(sandbox, "GET", f"/user/profile/{USER1}", token=app).json()
    assert basic["UserId"] == USER1 and "Email" not in basic and "State" in basic
    by_login = _call(sandbox, "GET", "/user/profile/user0000001", token=app)
    assert by_login.status_code == 404  # needs the UserId, not the login
    token = sandbox.user_token()
    changes = {"Gender": 0, "RelationshipStatus": 0, "AboutMe": "", "Unknown": 1}
    assert _call(sandbox, "PUT", "/user/profile", json.dumps(changes), token).ok
    full = _call(sandbox, "GET", "/user/profile", token=token).json()
    assert full["Gender"] == 0 and full["RelationshipStatus"] == 0 and full["AboutMe"] == ""
    assert isinstance(full["Email"], str)
    for bad in (
        {"Gender": 2},
        {"RelationshipStatus": 10},
        {"Gender": "1"},
        {"Gender": True},
        {"Title": 5},
    ):
        resp = _call(sandbox, "PUT", "/user/profile", json.dumps(bad), token)
        assert resp.status_code == 400 and next(iter(bad)) in resp.json()["error_description"]
    assert _call(sandbox, "PUT", "/user/profile", b"[1]", token).status_code == 400


def test_contacts_filters_paging_and_invites(sandbox: Sandbox) -> None:
    token = sandbox.user_token(USER1)
    url = "/user/socialgraph/contactlist"
    default = _call(sandbox, "GET", url, token=token).json()["Contacts"]
    assert {c["UserId"] for c in default} >= {USER0, USER2, "mxitdemo"}
    apps = _call(sandbox, "GET", url, token=token, params={"filter": "@Apps"}).json()["Contacts"]
    assert [c["ContactType"] for c in apps] == [1]
    page = _call(sandbox, "GET", url, token=token, params={"filter": "@All", "count": 1, "skip": 1})
    assert len(page.json()["Contacts"]) == 1
    clamped = _call(sandbox, "GET", url, token=token, params={"count": 500}).json()["Contacts"]
    assert len(clamped) <= 26
    bad = _call(sandbox, "GET", url, token=token, params={"filter": "@Nope"})
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_filter"
    assert _call(sandbox, "GET", url, token=token, params={"skip": "x"}).status_code == 400
    invite = _call(sandbox, "PUT", "/user/socialgraph/contact/m40000000010", b"{}", token)
    assert invite.ok
    pending = _call(sandbox, "GET", url, token=token, params={"filter": "@Pending"}).json()
    assert [c["SubscriptionType"] for c in pending["Contacts"]] == [80]
    other = sandbox.user_token("m40000000010")
    invites = _call(sandbox, "GET", url, token=other, params={"filter": "@Invites"}).json()
    assert [c["UserId"] for c in invites["Contacts"]] == [USER1]
    assert _call(sandbox, "PUT", "/user/socialgraph/contact/nobody", b"", token).status_code == 404


def test_friend_suggestions_are_an_array_and_xml_is_refused(sandbox: Sandbox) -> None:
    token = sandbox.user_token("m40000000005")
    resp = _call(sandbox, "GET", "/user/socialgraph/suggestions", token=token)
    assert isinstance(resp.json(), list) and all("UserId" in s for s in resp.json())
    xml = _call(
        sandbox,
        "GET",
        "/user/socialgraph/suggestions",
        token=token,
        headers={"Accept": "application/xml"},
    )
    assert xml.status_code == 400


def test_gallery_folders_and_files(sandbox: Sandbox) -> None:
    token = sandbox.user_token()
    assert _call(sandbox, "GET", "/user/media/", token=token).json() == {"Folders": ["Default"]}
    assert _call(sandbox, "POST", "/user/media/My%20Pics", b"{}", token).ok
    dup = _call(sandbox, "POST", "/user/media/My%20Pics", b"", token)
    assert dup.status_code == 409
    data = bytes(range(256)) * 100
    up = _call(
        sandbox,
        "POST",
        "/user/media/file/My%20Pics",
        data,
        token,
        params={"fileName": "b.bin", "preventShare": "true"},
        headers={"Content-Type": "application/octet-stream"},
    )
    file_id = up.json()
    items = _call(sandbox, "GET", "/user/media/list/My%20Pics", token=token).json()
    assert items[0]["FileId"] == file_id and items[0]["FileName"] == "b.bin"
    assert _call(sandbox, "GET", f"/user/media/content/{file_id}", token=token).content == data
    assert _call(sandbox, "PUT", f"/user/media/file/{file_id}", json.dumps("c.bin"), token).ok
    assert _call(sandbox, "PUT", "/user/media/My%20Pics", json.dumps("Renamed"), token).ok
    items = _call(sandbox, "GET", "/user/media/list/Renamed", token=token).json()
    assert items[0]["FileName"] == "c.bin" and items[0]["FolderName"] == "Renamed"
    other = sandbox.user_token(USER1)
    assert _call(sandbox, "GET", f"/user/media/content/{file_id}", token=other).status_code == 404
    assert _call(sandbox, "DELETE", f"/user/media/file/{file_id}", token=token).ok
    assert _call(sandbox, "GET", f"/user/media/content/{file_id}", token=token).status_code == 404
    assert _call(sandbox, "DELETE", "/user/media/Renamed", token=token).ok
    assert _call(sandbox, "GET", "/user/media/list/Renamed", token=token).status_code == 404
    assert _call(sandbox, "DELETE", "/user/media/Nope", token=token).status_code == 404


@pytest.mark.parametrize("name", ["%2E%2E", "a%2Fb", "a%5Cb", "%2E", "%20", "x%00y"])
def test_folder_names_cannot_traverse_or_smuggle(sandbox: Sandbox, name: str) -> None:
    token = sandbox.user_token()
    resp = _call(sandbox, "POST", f"/user/media/{name}", b"", token)
    assert resp.status_code == 400 and resp.json()["error"] == "invalid_folder_name"


def test_uploads_need_a_file_name_and_a_known_folder(sandbox: Sandbox) -> None:
    token = sandbox.user_token()
    assert _call(sandbox, "POST", "/user/media/file/Default", b"x", token).status_code == 400
    missing = _call(sandbox, "POST", "/user/media/file/Nope", b"x", token, params={"fileName": "a"})
    assert missing.status_code == 404
    empty = _call(sandbox, "POST", "/user/media/file/Default", b"", token, params={"fileName": "a"})
    assert empty.status_code == 400


def test_file_offers_with_app_or_user_token(sandbox: Sandbox) -> None:
    app = sandbox.app_token("content/send")
    params = {"fileName": "song.mp3", "userId": USER1, "autoOpen": "true", "preventShare": "false"}
    up = _call(
        sandbox,
        "POST",
        "/user/media/file/send",
        b"ID3...",
        app,
        params=params,
        headers={"Content-Type": "audio/mpeg"},
    )
    assert up.status_code == 200
    file_id = up.json()
    again = _call(
        sandbox,
        "POST",
        f"/user/media/file/send/{file_id}",
        b"{}",
        app,
        params={"UserId": USER2, "autoOpen": "false"},
    )
    assert again.status_code == 200
    user = sandbox.user_token(scope="content/send")
    assert _call(
        sandbox, "POST", f"/user/media/file/send/{file_id}", b"", user, params={"userId": USER0}
    ).ok
    offers = sandbox.control.offers()
    assert [(o["UserId"], o["AutoOpen"]) for o in offers] == [
        (USER1, True),
        (USER2, False),
        (USER0, False),
    ]
    assert offers[0]["FileId"] == file_id and offers[0]["FileName"] == "song.mp3"
    unknown = _call(
        sandbox, "POST", "/user/media/file/send/nope", b"", app, params={"userId": USER1}
    )
    assert unknown.status_code == 404
    no_user = _call(sandbox, "POST", "/user/media/file/send", b"x", app, params={"fileName": "a"})
    assert no_user.status_code == 400 and "userId" in no_user.json()["error_description"]


def test_unknown_paths_and_methods(sandbox: Sandbox) -> None:
    token = sandbox.user_token()
    assert _call(sandbox, "GET", "/nope", token=token).status_code == 404
    resp = _call(sandbox, "PATCH", "/user/profile", b"{}", token)
    assert resp.status_code == 405 and "PUT" in resp.headers["Allow"]
    assert requests.get(sandbox.urls.base + "/elsewhere").status_code == 404
