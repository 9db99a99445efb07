"""The python-mxit README examples, verbatim except for the import line; and the public names."""

from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path

import pytest

import mxit_tasks
from mxit_tasks._media import tiny_png
from tests.conftest import REDIRECT, Sandbox


def test_readme_examples_run_unchanged(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MXIT_API_URL", sandbox.urls.api)
    monkeypatch.setenv("MXIT_AUTH_URL", sandbox.urls.auth)
    MXIT_CLIENT_ID, MXIT_CLIENT_SECRET = sandbox.client_id, sandbox.client_secret
    SCOPE = "profile/public status/write profile/write"
    avatar = base64.b64encode(tiny_png((9, 9, 9))).decode()
    sandbox.control.change_user("m40000000003", avatar=avatar)

    # ---- verbatim from the python-mxit README (import line aside) ----
    from mxit_tasks import Mxit

    client = Mxit(MXIT_CLIENT_ID, MXIT_CLIENT_SECRET, redirect_uri="http://example.org")
    auth_url = client.oauth.auth_url(SCOPE)
    # ------------------------------------------------------------------
    assert auth_url.startswith(sandbox.urls.auth + "/authorize?")

    client = Mxit(MXIT_CLIENT_ID, MXIT_CLIENT_SECRET, redirect_uri=REDIRECT)
    RECEIVED_CODE = sandbox.control.consent(MXIT_CLIENT_ID, "m40000000000", SCOPE, REDIRECT)
    client.oauth.get_user_token(SCOPE, RECEIVED_CODE)
    client.messaging.send_message("mxitdemo", ["m40000000001", "m40000000002"], "text")
    client.users.get_avatar("user0000003", output_file_path=str(tmp_path / "avatar.png"))
    client.users.set_status("Hello from python-mxit")
    client.users.update_profile(display_name="New name", relationship_status=3)

    assert sandbox.control.outbox()[0]["to"] == ["m40000000001", "m40000000002"]
    assert (tmp_path / "avatar.png").read_bytes() == tiny_png((9, 9, 9))
    assert client.users.get_display_name("m40000000000") == "New name"
    # The README's other spelling of the keyword works too.
    assert Mxit(MXIT_CLIENT_ID, MXIT_CLIENT_SECRET, redirect_url="http://x.org").redirect_uri


def test_public_names_are_exported() -> None:
    # The lazy ones (the Celery app and the most used tasks) resolve too.
    assert sorted(mxit_tasks.__all__) == mxit_tasks.__all__
    for name in mxit_tasks.__all__:
        assert getattr(mxit_tasks, name) is not None, name


def test_the_client_does_not_import_celery() -> None:
    code = "import sys, mxit_tasks; mxit_tasks.Mxit; print('celery' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
