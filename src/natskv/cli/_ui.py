"""``natskv ui``: the buckets in a browser, on the connection options of every command.

The web server lives in :mod:`natskv.ui` and needs the ``ui`` extra (aiohttp); it is
imported only when the command runs, so the rest of the CLI works without it. The command
connects through :meth:`Session.run`, like the kv verbs, serves until Ctrl-C, and exits 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import webbrowser
from typing import TYPE_CHECKING

import click

from natskv.cli._main import connection_options, fail, out, session
from natskv.errors import NatsError
from natskv.kv import KVContext

if TYPE_CHECKING:
    from natskv.ui import UIServer

__all__ = ["ui_cmd"]

BROWSER_WAIT = 10.0
"""Seconds to wait for the browser launcher (a console browser would never return)."""


async def _open_browser(url: str) -> None:
    """Open ``url`` in the user's browser, waiting a bounded time for the launcher.

    The launcher runs in a daemon thread (``webbrowser`` may start a console browser that
    never returns) while the loop goes on serving, so the page loads as the browser starts.
    """
    loop = asyncio.get_running_loop()
    launched: asyncio.Future[bool] = loop.create_future()

    def finish(opened: bool) -> None:
        if not launched.done():
            launched.set_result(opened)

    def launch() -> None:
        try:
            opened = webbrowser.open(url)
        except Exception:  # any launcher failure means the same: open the URL yourself
            opened = False
        with contextlib.suppress(RuntimeError):  # the loop ended meanwhile
            loop.call_soon_threadsafe(finish, opened)

    threading.Thread(target=launch, name="natskv-ui-browser", daemon=True).start()
    try:
        opened = await asyncio.wait_for(launched, BROWSER_WAIT)
    except asyncio.TimeoutError:
        return
    if not opened:
        click.echo("natskv: no browser could be opened: open the URL above", err=True)


@click.command("ui")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on: loopback unless --allow-remote.",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=0,
    help="Port to listen on (default: a free one).",
)
@click.option("--no-browser", is_flag=True, help="Print the URL; do not open a browser.")
@click.option(
    "--allow-remote",
    is_flag=True,
    help="Allow a --host that is not loopback. Anyone who reaches it and learns the token "
    "can change every bucket, over plain HTTP.",
)
@click.option(
    "--allow-host",
    "allowed_hosts",
    multiple=True,
    metavar="NAME",
    help="Also accept requests for this host name (the name others reach a remote UI by).",
)
@connection_options
def ui_cmd(
    host: str, port: int, no_browser: bool, allow_remote: bool, allowed_hosts: tuple[str, ...]
) -> None:
    """Browse and edit the buckets in a local web page, with live changes (until Ctrl-C).

    The page is served on 127.0.0.1 at a free port; its URL carries a random token that
    every request needs, so keep it to yourself.
    """
    try:
        from natskv.ui import InsecureBindError, UIServer, check_listen_address
    except ImportError as exc:
        fail(
            f"natskv ui needs the ui extra ({exc.name or exc} is missing): pip install 'natskv[ui]'"
        )
    # checked before connecting: bad input fails before anything is sent
    try:
        warning = check_listen_address(host, allow_remote=allow_remote)
    except InsecureBindError as exc:
        fail(str(exc))
    if warning:
        click.echo(f"natskv: warning: {warning}", err=True)

    async def work(kv: KVContext) -> None:
        ui: UIServer = UIServer(
            kv, host=host, port=port, allow_remote=allow_remote, allowed_hosts=allowed_hosts
        )
        async with ui:
            out(f"natskv ui is serving the buckets at\n\n    {ui.url}\n\n")
            if not no_browser:
                await _open_browser(ui.url)
            out("Press Ctrl-C to stop.\n")
            await ui.wait_closed()

    try:
        session().run(work)
    except KeyboardInterrupt:
        out("natskv ui stopped\n")
    except NatsError:
        raise  # printed by the root group, as for every command
    except OSError as exc:  # e.g. the port is taken
        fail(f"cannot serve the UI: {exc}")
