"""The ``mxit-tasks`` CLI against the real Redis, the session worker and the sandbox."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner, Result

from mxit_tasks import runtime
from mxit_tasks.cli import main
from tests.conftest import REDIRECT, USER0, USER1, USER2, Sandbox
from tests.tasks.conftest import ROOT

COMMANDS = [
    ["send"],
    ["broadcast", "status"],
    ["broadcast", "list"],
    ["broadcast", "cancel"],
    ["track", "add"],
    ["track", "remove"],
    ["track", "list"],
    ["schedule", "add"],
    ["schedule", "list"],
    ["schedule", "remove"],
    ["dlq", "list"],
    ["dlq", "show"],
    ["dlq", "replay"],
    ["dlq", "purge"],
    ["token", "exchange"],
    ["ratelimit", "show"],
    ["ratelimit", "set"],
    ["ratelimit", "clear"],
    ["doctor"],
    ["sandbox"],
]


def run(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)


def js(*args: str, input: str | None = None) -> object:
    result = run(*args, "--json", input=input)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_has_help_with_an_example(command: list[str]) -> None:
    result = run(*command, "--help")
    assert result.exit_code == 0
    example = result.output.split("Example:", 1)[1].split()
    assert "mxit-tasks" in example[:6]
    assert "--json" in result.output


def test_send_to_a_file_from_stdin_with_progress(live: Sandbox) -> None:
    out = js("send", "mxitdemo", "Hi *all*", "--file", "-", input=f"{USER0}\n{USER1},{USER2}\n")
    assert out["delivered"] == 3 and out["state"] == "finished"
    status = js("broadcast", "status", out["broadcast_id"])
    assert status["delivered"] == 3
    assert out["broadcast_id"] in [b["broadcast_id"] for b in js("broadcast", "list")]


def test_send_no_wait_prints_the_id(live: Sandbox) -> None:
    result = run("send", "mxitdemo", "x", "--to", USER1, "--no-wait")
    assert result.exit_code == 0 and result.stdout.strip().startswith("bc-")


def test_track_and_schedule_round_trip(live: Sandbox) -> None:
    assert js("track", "add", USER0, USER1)["added"] == 2
    assert js("track", "add", USER1)["added"] == 0
    assert js("track", "list")["count"] == 2
    assert js("track", "remove", USER0)["removed"] == 1
    entry = js("schedule", "add", USER0, "Morning", "--cron", "0 7 * * 1-5", "--name", "m")
    assert entry["name"] == "status:m" and entry["schedule"] == "cron 0 7 * * 1-5"
    assert [e["name"] for e in js("schedule", "list")] == ["status:m"]
    js("schedule", "remove", "status:m")
    assert js("schedule", "list") == []


def test_dlq_commands(live: Sandbox) -> None:
    dlq = runtime.dead_letters()
    entry_id = dlq.add("mxit.users.get_status", [USER1], {}, ValueError("boom"), 2, 0.0)
    [row] = js("dlq", "list")
    assert row["id"] == entry_id and row["error"] == "boom"
    assert js("dlq", "show", entry_id)["args"] == [USER1]
    replayed = js("dlq", "replay", entry_id)
    assert replayed["replayed"] == 1 and dlq.count() == 0
    dlq.add("mxit.users.get_status", [USER1], {}, ValueError("again"), 1, 0.0)
    assert js("dlq", "purge")["purged"] == 1


def test_token_exchange_stores_the_user_token(live: Sandbox) -> None:
    code = live.control.consent(live.client_id, USER2, "status/write", REDIRECT)
    out = js("token", "exchange", code, "--scope", "status/write", "--redirect-uri", REDIRECT)
    assert out["user_id"] == USER2
    assert runtime.client().oauth.has_user_token(USER2)


def test_ratelimit_set_show_clear(live: Sandbox) -> None:
    js("ratelimit", "set", "messaging=50/s", "--burst", "7")
    runtime._rates.clear()
    shown = js("ratelimit", "show")
    assert shown["messaging"] == {"per_second": 50.0, "burst": 7}
    js("ratelimit", "clear")


def test_doctor_is_all_ok_with_the_stack_up(live: Sandbox) -> None:
    result = run("doctor", "--json")
    rows = json.loads(result.stdout)
    assert result.exit_code == 0, rows
    assert {r["check"] for r in rows} >= {"redis", "broker", "api reachable", "workers"}


@pytest.mark.parametrize(
    "args",
    [
        ["send", "mxitdemo", "x"],
        ["send", "mxitdemo", "x" * 1001, "--to", "m1"],
        ["send", "", "x", "--to", "m1"],
        ["broadcast", "status", "bc-nope"],
        ["track", "add", "bad,id"],
        ["schedule", "add", USER0, "x", "--cron", "61 * * *"],
        ["schedule", "add", USER0, "x", "--at", "tomorrow"],
        ["schedule", "remove", "status:nope"],
        ["dlq", "show", "0-1"],
        ["dlq", "replay"],
        ["ratelimit", "set", "messaging=fast"],
        ["token", "exchange", "bad-code", "--scope", "status/write"],
    ],
    ids=lambda a: " ".join(a)[:40],
)
def test_bad_input_is_one_line_and_a_non_zero_exit(live: Sandbox, args: list[str]) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "mxit_tasks.cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    assert len([line for line in proc.stderr.splitlines() if line.startswith("Error")]) == 1
