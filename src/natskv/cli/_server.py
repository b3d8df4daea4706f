"""``natskv server start|status|stop|url``: the local background nats-server.

Commands without ``--server`` and ``NATS_URL`` start this server on first use; these
commands manage it explicitly. Its data lives in the natskv home directory
(``$NATSKV_HOME``, else the platform's user data directory). It keeps its port from one
start to the next while the port is free (``natskv server start --port N`` picks one), and
``natskv server url`` prints its URL for
other tools: ``nats --server "$(natskv server url)" kv ls``.
"""

from __future__ import annotations

import click

from natskv.cli._main import fail, out
from natskv.server import (
    BackgroundStatus,
    ServerStartError,
    background_status,
    ensure_background_server,
    natskv_home,
    stop_background_server,
)

__all__ = ["server_group"]

_NONE_RUNNING = "no natskv server is running"


def _running_line(url: str, status: BackgroundStatus) -> str:
    return f"nats-server running at {url} (pid {status.pid}, data {status.data_dir})\n"


@click.group("server")
def server_group() -> None:
    """Manage the local background nats-server used when no server is given."""


@server_group.command("start")
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=None,
    help="Client port to listen on (kept for later starts); default: the last one, if free.",
)
def start_cmd(port: int | None) -> None:
    """Start the background server (or report the one already running)."""
    try:
        url = ensure_background_server(port=port)
    except ServerStartError as exc:
        fail(str(exc).splitlines()[0])
    status = background_status()
    if status is None:  # pragma: no cover - ensure_background_server wrote the state
        fail(f"nats-server started at {url}, but its state file in {natskv_home()} is missing")
    out(_running_line(url, status))


@server_group.command("status")
def status_cmd() -> None:
    """Show whether the background server runs (exit status 1 when it does not)."""
    status = background_status()
    if status is None or not status.running:
        out(_NONE_RUNNING + "\n")
        raise click.exceptions.Exit(1)
    out(_running_line(status.url, status))


@server_group.command("stop")
def stop_cmd() -> None:
    """Stop the background server; its data is kept for the next start."""
    status = background_status()
    if status is not None and stop_background_server():
        out(f"stopped nats-server (pid {status.pid})\n")
    else:
        out(_NONE_RUNNING + "\n")


@server_group.command("url")
def url_cmd() -> None:
    """Print the background server's URL (starting it if needed), for other tools."""
    out(ensure_background_server() + "\n")
