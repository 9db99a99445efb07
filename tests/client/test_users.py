"""Every User API method through the client: success, errors, Unicode and binary round trips."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from mxit_tasks import Mxit, MxitValidationError, NotFound
from mxit_tasks._media import tiny_png
from mxit_tasks.errors import Conflict, Forbidden
from tests.client.conftest import consent
from tests.conftest import USER0, USER1, Sandbox

PNG = tiny_png((10, 20, 30))


def urls_sent(client: Mxit) -> list[str]:
    """Record every URL this thread's session requests."""
    urls: list[str] = []
    client.requestor.session.hooks["response"].append(
        lambda resp, **_: urls.append(resp.request.url)
    )
    return urls


def test_lookup_status_and_display_name_are_json_decoded(client: Mxit, sandbox: Sandbox) -> None:
    sandbox.control.change_user(USER1, status='Café "quoted" \\ back', display_name="Zoë ☀")
    assert client.users.get_user_id("user0000001") == USER1
    assert client.users.get_status(USER1) == 'Café "quoted" \\ back'
    assert client.users.get_display_name(USER1) == "Zoë ☀"


def test_unknown_user_is_not_found(client: Mxit) -> None:
    with pytest.raises(NotFound) as info:
        client.users.get_status("nobody-here")
    assert info.value.status == 404 and info.value.error == "user_not_found"


def test_path_segments_are_quoted(client: Mxit) -> None:
    urls = urls_sent(client)
    for tricky in ("a/b", "a?b", "a#b", "ñandú"):
        with pytest.raises(NotFound):
            client.users.get_status(tricky)
    assert [u.rsplit("/", 1)[1] for u in urls[-4:]] == [
        "a%2Fb",
        "a%3Fb",
        "a%23b",
        "%C3%B1and%C3%BA",
    ]


def test_set_status_with_unicode(user_client: Mxit) -> None:
    user_client.users.set_status("Sawubona 🌍 “quotes”")
    assert user_client.users.get_status(USER0) == "Sawubona 🌍 “quotes”"


def test_avatar_round_trip_is_byte_exact(user_client: Mxit, sandbox: Sandbox) -> None:
    user_client.users.set_avatar(PNG)
    assert user_client.users.get_avatar(USER0) == PNG
    assert sandbox.control.media(USER0)["avatar"]["sha256"] == hashlib.sha256(PNG).hexdigest()
    user_client.users.delete_avatar()
    assert user_client.users.get_avatar(USER0) != PNG  # the default avatar again


def test_avatar_to_a_file_is_written_in_binary(user_client: Mxit, tmp_path: Path) -> None:
    big = PNG + bytes(range(256)) * 1000  # still an image by its magic bytes; 256 KB
    source = tmp_path / "in.png"
    source.write_bytes(big)
    user_client.users.set_avatar(input_file_path=str(source))
    out = tmp_path / "avatar.png"
    assert user_client.users.get_avatar(USER0, output_file_path=str(out)) is None
    assert out.read_bytes() == big
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".mxit-")] == []


def test_cover_image_round_trip(user_client: Mxit, tmp_path: Path) -> None:
    jpeg = b"\xff\xd8\xff\xe0" + b"\x00\x10JFIF" + bytes(100)
    user_client.users.set_cover_image(jpeg)
    assert user_client.users.get_cover_image() == jpeg
    user_client.users.get_cover_image(output_file_path=str(tmp_path / "c.jpg"))
    assert (tmp_path / "c.jpg").read_bytes() == jpeg


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({}, "data"),
        ({"data": b"not an image at all"}, "data"),
        ({"data": "a string"}, "data"),
        ({"input_file_path": "/no/such/file.png"}, "input_file_path"),
        ({"data": PNG, "content_type": "nonsense"}, "content_type"),
    ],
)
def test_bad_avatar_input_is_refused_before_any_http(
    user_client: Mxit, sandbox: Sandbox, kwargs: dict[str, Any], field: str
) -> None:
    before = sandbox.control.stats()["routes"]
    with pytest.raises(MxitValidationError) as info:
        user_client.users.set_avatar(**kwargs)
    assert info.value.field == field
    assert sandbox.control.stats()["routes"] == before


def test_profiles(user_client: Mxit) -> None:
    basic = user_client.users.get_basic_profile(USER1)
    assert basic["UserId"] == USER1 and "Email" not in basic
    full = user_client.users.get_full_profile()
    assert full["UserId"] == USER0 and isinstance(full["Email"], str)


def test_update_profile_sends_falsy_values(user_client: Mxit) -> None:
    user_client.users.update_profile(gender=1, relationship_status=5, about_me="x", title="Dr")
    user_client.users.update_profile(gender=0, relationship_status=0, about_me="", title=None)
    full = user_client.users.get_full_profile()
    assert full["Gender"] == 0 and full["RelationshipStatus"] == 0
    assert full["AboutMe"] == "" and full["Title"] == "Dr"


def test_update_profile_with_nothing_makes_no_request(user_client: Mxit, sandbox: Sandbox) -> None:
    assert user_client.users.update_profile() is None
    assert sandbox.control.route_count("PUT /api/user/profile") == 0


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"gender": 2}, "gender"),
        ({"gender": True}, "gender"),
        ({"relationship_status": 10}, "relationship_status"),
        ({"relationship_status": "3"}, "relationship_status"),
        ({"email": 5}, "email"),
    ],
)
def test_update_profile_rejects_bad_enums(
    user_client: Mxit, kwargs: dict[str, Any], field: str
) -> None:
    with pytest.raises(MxitValidationError) as info:
        user_client.users.update_profile(**kwargs)
    assert info.value.field == field


def test_contacts_and_suggestions(user_client: Mxit) -> None:
    user_client.users.add_contact("mxitdemo")
    apps = user_client.users.get_contact_list("apps")
    assert [c["DisplayName"] for c in apps["Contacts"]] and all(
        c["ContactType"] == 1 for c in apps["Contacts"]
    )
    friends = user_client.users.get_contact_list("@Friends", skip=0, count=5)
    assert isinstance(friends["Contacts"], list)
    assert isinstance(user_client.users.get_friend_suggestions(), list)


def test_count_and_skip_zero_reach_the_wire(user_client: Mxit) -> None:
    urls = urls_sent(user_client)
    user_client.users.get_contact_list("all", skip=0, count=0)
    assert "skip=0" in urls[-1] and "count=0" in urls[-1] and "filter=%40All" in urls[-1]


def test_bad_contact_filter_names_the_choices(user_client: Mxit) -> None:
    with pytest.raises(MxitValidationError, match="@Friends"):
        user_client.users.get_contact_list("everyone")


def test_gallery_folders_files_and_binary_round_trip(
    user_client: Mxit, sandbox: Sandbox, tmp_path: Path
) -> None:
    users = user_client.users
    users.create_gallery_folder("Holiday ñ")
    with pytest.raises(Conflict):
        users.create_gallery_folder("Holiday ñ")
    assert "Holiday ñ" in users.get_gallery_folder_list()["Folders"]
    blob = bytes(range(256)) * 40  # not an image: any file type may go in a gallery
    file_id = users.upload_gallery_file("Holiday ñ", "notes.bin", data=blob, prevent_share=True)
    assert isinstance(file_id, str) and len(file_id) == 36
    [item] = users.get_gallery_item_list("Holiday ñ", skip=0, count=10)
    assert item["FileId"] == file_id and item["FileName"] == "notes.bin"
    assert users.get_gallery_item_list("Holiday ñ", skip=1) == []
    assert users.get_gallery_file(file_id) == blob
    users.get_gallery_file(file_id, output_file_path=str(tmp_path / "n.bin"))
    assert (tmp_path / "n.bin").read_bytes() == blob
    [stored] = sandbox.control.files()
    assert stored["sha256"] == hashlib.sha256(blob).hexdigest()
    users.rename_gallery_file(file_id, "renamed.bin")
    users.rename_gallery_folder("Holiday ñ", "Trips")
    assert users.get_gallery_item_list("Trips")[0]["FileName"] == "renamed.bin"
    users.delete_gallery_file(file_id)
    assert users.get_gallery_item_list("Trips") == []
    users.delete_gallery_folder("Trips")
    with pytest.raises(NotFound):
        users.get_gallery_item_list("Trips")


def test_folder_names_with_a_slash_are_refused(user_client: Mxit) -> None:
    with pytest.raises(MxitValidationError, match="folder_name"):
        user_client.users.create_gallery_folder("a/b")
    with pytest.raises(MxitValidationError, match="new_folder_name"):
        user_client.users.rename_gallery_folder("a", "../b")


def test_file_offers_use_the_app_token(client: Mxit, sandbox: Sandbox) -> None:
    file_id = client.users.upload_file_and_send_file_offer(
        "hello.png", USER1, data=PNG, auto_open=True, prevent_share=False
    )
    client.users.send_file_offer(file_id, USER0, auto_open=False)
    offers = sandbox.control.offers()
    assert [(o["FileId"], o["UserId"], o["AutoOpen"]) for o in offers] == [
        (file_id, USER1, True),
        (file_id, USER0, False),
    ]
    assert client.user_id is None  # no user token was needed


def test_a_missing_scope_in_the_token_is_forbidden(client: Mxit, sandbox: Sandbox) -> None:
    consent(client, sandbox, USER0, "profile/public")
    with pytest.raises(Forbidden):
        # ask for the cover with a scope the API checks differently: the token lacks it
        client.users._request("GET", "/user/media", auth="user", scope="profile/public")


def test_results_are_json_types(user_client: Mxit) -> None:
    assert isinstance(user_client.users.get_gallery_folder_list(), dict)
    assert isinstance(user_client.users.get_friend_suggestions(), list)
    json.dumps(user_client.users.get_full_profile())
