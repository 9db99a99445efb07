"""The ``mxit-tasks`` command line (click)."""

from __future__ import annotations

import json
import signal
import sys
import threading
from typing import Any

import click

from mxit_tasks.sandbox.state import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_SERVICE_NAME, App


def emit(data: Any, as_json: bool, text: str | None = None) -> None:
    """Print ``data`` as JSON (``--json``) or ``text`` for people."""
    if as_json:
        click.echo(json.dumps(data, indent=2, default=str))
    else:
        click.echo(text if text is not None else json.dumps(data, indent=2, default=str))


class SafeGroup(click.Group):
    """A group whose failures are one line on stderr and a non-zero exit, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; turn any unexpected error into ``error: ...``."""
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort, SystemExit):
            raise
        except KeyboardInterrupt:
            raise click.Abort() from None
        except Exception as exc:
            raise click.ClickException(_one_line(exc)) from None


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    name = type(exc).__name__
    if "redis" in type(exc).__module__ or name in ("ConnectionError", "ConnectionRefusedError"):
        return f"cannot reach Redis or the broker: {text or name}"
    return f"{name}: {text}" if text else name


@click.group(cls=SafeGroup, context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """mxit-tasks: the Mxit API behind Celery workers, and the Mxit sandbox.

    Example: mxit-tasks send mxitdemo "Hello" --file ids.txt
    """


def _parse_app(value: str | None) -> App | None:
    if not value:
        return None
    parts = value.split(":")
    if len(parts) != 3 or not all(parts):
        raise click.BadParameter("expected CLIENT_ID:SECRET:SERVICE_NAME", param_hint="--app")
    return App(*parts)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535))
@click.option("--users", default=1000, show_default=True, type=click.IntRange(0, 5_000_000))
@click.option("--app", "app_spec", metavar="CLIENT_ID:SECRET:SERVICE_NAME", help="Extra app.")
@click.option("--json", "as_json", is_flag=True, help="Print the start-up facts as JSON.")
def sandbox(host: str, port: int, users: int, app_spec: str | None, as_json: bool) -> None:
    """Run the Mxit sandbox (auth under /auth, API under /api) until Ctrl-C.

    Example: mxit-tasks sandbox --port 8080 --users 10000
    """
    from mxit_tasks.sandbox.server import SandboxServer

    extra = _parse_app(app_spec)
    server = SandboxServer(host, port, users=users, apps=[extra] if extra else None)
    try:
        urls = server.start()
    except RuntimeError as exc:
        raise click.ClickException(f"{exc} (port {port})") from None
    info = {
        "api_url": urls.api,
        "auth_url": urls.auth,
        "control_url": urls.control,
        "inbox_url": f"{urls.control}/ui",
        "client_id": extra.client_id if extra else DEMO_CLIENT_ID,
        "client_secret": extra.client_secret if extra else DEMO_CLIENT_SECRET,
        "service_name": extra.service_name if extra else DEMO_SERVICE_NAME,
        "users": users,
    }
    emit(
        info,
        as_json,
        "Mxit sandbox running\n"
        f"  MXIT_API_URL={urls.api}\n  MXIT_AUTH_URL={urls.auth}\n"
        f"  control: {urls.control}   inbox: {urls.control}/ui\n"
        f"  demo app: MXIT_CLIENT_ID={info['client_id']} MXIT_CLIENT_SECRET={info['client_secret']}"
        f" (service name {info['service_name']})\n"
        f"  users: {users} (m{40_000_000_000} ...)   Ctrl-C stops",
    )
    sys.stdout.flush()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    server.stop()
    click.echo("sandbox stopped", err=True)


from mxit_tasks.cli_ops import register  # noqa: E402 - the operator commands

register(main)

if __name__ == "__main__":
    main()
