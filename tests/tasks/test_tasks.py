"""Every task through ``.delay()`` on a real worker; results and the sandbox state checked."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from mxit_tasks import tasks
from mxit_tasks._media import tiny_png
from mxit_tasks.errors import MxitValidationError
from tests.conftest import USER0, USER1, USER2, Sandbox
from tests.tasks.conftest import ROOT, app, authorise, finished, result_of

PNG = tiny_png((200, 100, 50))


def test_send_message_reaches_the_sandbox(live: Sandbox) -> None:
    result = tasks.send_message.delay("mxitdemo", [USER1, USER2], "Hello from Celery")
    summary = result_of(result)
    assert summary["broadcast_id"] == result.id and summary["batches"] == 1
    status = finished(result.id)
    assert status["delivered"] == 2 and status["pending"] == 0
    [msg] = live.control.outbox()
    assert msg["to"] == [USER1, USER2] and msg["body"] == "Hello from Celery"


def test_the_most_used_tasks_are_exported_from_the_package() -> None:
    import mxit_tasks

    assert mxit_tasks.send_message is tasks.send_message
    assert mxit_tasks.set_status is tasks.set_status


def test_lookup_status_display_name_and_basic_profile(live: Sandbox) -> None:
    live.control.change_user(USER1, status="Ngiyabonga ✓", display_name="Thandi")
    assert result_of(tasks.get_user_id.delay("user0000001")) == USER1
    assert result_of(tasks.get_status.delay(USER1)) == "Ngiyabonga ✓"
    assert result_of(tasks.get_display_name.delay(USER1)) == "Thandi"
    assert result_of(tasks.get_basic_profile.delay(USER1))["UserId"] == USER1


def test_user_operations_use_the_stored_token(live: Sandbox) -> None:
    authorise(live, USER0)
    assert result_of(tasks.set_status.delay("from a worker", user_id=USER0)) == ""
    assert result_of(tasks.get_status.delay(USER0)) == "from a worker"
    result_of(tasks.update_profile.delay(gender=0, relationship_status=0, user_id=USER0))
    full = result_of(tasks.get_full_profile.delay(user_id=USER0))
    assert full["Gender"] == 0 and full["RelationshipStatus"] == 0
    result_of(tasks.add_contact.delay("mxitdemo", user_id=USER0))
    contacts = result_of(tasks.get_contact_list.delay("apps", user_id=USER0))
    assert any(c["ContactType"] == 1 for c in contacts["Contacts"])
    assert isinstance(result_of(tasks.get_friend_suggestions.delay(user_id=USER0)), list)
    result_of(tasks.send_user_to_user_message.delay(USER0, [USER1], "psst"))
    assert live.control.outbox(to=USER1)[-1]["from"] == USER0


def test_avatar_upload_and_download_are_byte_exact(live: Sandbox, tmp_path: Path) -> None:
    authorise(live, USER0)
    result_of(tasks.set_avatar.delay(PNG, user_id=USER0))
    assert live.control.media(USER0)["avatar"]["sha256"] == hashlib.sha256(PNG).hexdigest()
    meta = result_of(tasks.get_avatar.delay(USER0))
    assert meta["sha256"] == hashlib.sha256(PNG).hexdigest() and meta["size"] == len(PNG)
    assert meta["content_type"] == "image/png"
    assert Path(meta["path"]).read_bytes() == PNG
    result_of(tasks.delete_avatar.delay(user_id=USER0))
    assert live.control.media(USER0)["avatar"] is None


def test_cover_from_a_file_path(live: Sandbox, tmp_path: Path) -> None:
    authorise(live, USER0)
    source = tmp_path / "cover.png"
    source.write_bytes(PNG)
    result_of(tasks.set_cover_image.delay(input_file_path=str(source), user_id=USER0))
    meta = result_of(tasks.get_cover_image.delay(user_id=USER0))
    assert meta["sha256"] == hashlib.sha256(PNG).hexdigest()


def test_gallery_round_trip(live: Sandbox) -> None:
    authorise(live, USER0)
    u = USER0
    result_of(tasks.create_gallery_folder.delay("Pics", user_id=u))
    assert "Pics" in result_of(tasks.get_gallery_folder_list.delay(user_id=u))["Folders"]
    blob = bytes(range(256)) * 100
    file_id = result_of(tasks.upload_gallery_file.delay("Pics", "blob.bin", blob, user_id=u))
    [item] = result_of(tasks.get_gallery_item_list.delay("Pics", user_id=u))
    assert item["FileId"] == file_id
    meta = result_of(tasks.get_gallery_file.delay(file_id, user_id=u))
    assert Path(meta["path"]).read_bytes() == blob
    result_of(tasks.rename_gallery_file.delay(file_id, "b2.bin", user_id=u))
    result_of(tasks.rename_gallery_folder.delay("Pics", "Photos", user_id=u))
    result_of(tasks.delete_gallery_file.delay(file_id, user_id=u))
    result_of(tasks.delete_gallery_folder.delay("Photos", user_id=u))
    assert "Photos" not in result_of(tasks.get_gallery_folder_list.delay(user_id=u))["Folders"]


def test_file_offers(live: Sandbox) -> None:
    file_id = result_of(tasks.upload_file_and_send_file_offer.delay("f.png", USER1, PNG))
    result_of(tasks.send_file_offer.delay(file_id, USER2, auto_open=True))
    assert [(o["UserId"], o["AutoOpen"]) for o in live.control.offers()] == [
        (USER1, False),
        (USER2, True),
    ]


def test_bad_uploads_fail_at_delay_and_enqueue_nothing(live: Sandbox, tmp_path: Path) -> None:
    cases = [
        ({"data": b"not an image"}, "data"),
        ({"data": PNG + bytes(2 * 1024 * 1024)}, "data"),
        ({"input_file_path": str(tmp_path / "missing.png")}, "input_file_path"),
    ]
    for kwargs, field in cases:
        with pytest.raises(MxitValidationError) as info:
            tasks.set_avatar.delay(user_id=USER0, **kwargs)
        assert info.value.field == field
    assert live.control.stats()["routes"] == {}


def test_inspect_registered_lists_every_task(live: Sandbox) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "celery", "-A", "mxit_tasks", "inspect", "registered", "-t", "10"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    ours = {n for n in app.tasks if n.startswith("mxit.")}
    assert len(ours) >= 29
    missing = [name for name in ours if name not in out.stdout]
    assert missing == []
