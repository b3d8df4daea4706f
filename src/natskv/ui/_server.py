"""The UI's web server: the app, its static files, and running it on the caller's loop.

:class:`UIServer` runs inside the event loop that holds the NATS connection (aiohttp's
``AppRunner``, no thread, no signal handlers of its own), so ``natskv ui`` is one
``asyncio.run`` like every other command. The socket is bound before anything is served,
on port 0 by default: the operating system picks a free port and the URL says which.
"""

from __future__ import annotations

import asyncio
import socket
from importlib import resources
from types import TracebackType

from aiohttp import web

from natskv.kv import KVContext
from natskv.ui._api import MAX_BODY, Api, error_middleware
from natskv.ui._events import Events
from natskv.ui._guard import (
    Guard,
    add_security_headers,
    check_listen_address,
    format_host,
    new_token,
)

__all__ = ["STATIC_FILES", "UIServer"]

STATIC_FILES = {
    "app.js": "text/javascript",
    "app.css": "text/css",
}
"""The files under ``/static/`` (package data of ``natskv.ui``), with their types."""

_TOKEN_MARK = "__NATSKV_TOKEN__"


def _read_static(name: str) -> bytes:
    return (resources.files("natskv.ui") / "static" / name).read_bytes()


class UIServer:
    """``natskv ui`` as a library: serve the buckets of ``kv`` to a browser.

    ::

        async with UIServer(kv) as ui:
            print(ui.url)           # http://127.0.0.1:<port>/?token=<token>
            await ui.wait_closed()  # until ui.close() (or cancellation)

    ``host`` must be a loopback address unless ``allow_remote`` (then show the user
    :func:`~natskv.ui.check_listen_address`'s warning); ``allowed_hosts`` adds names the
    browser may use for the server (``Host`` headers), beside the loopback names.
    """

    def __init__(
        self,
        kv: KVContext,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        allow_remote: bool = False,
        allowed_hosts: tuple[str, ...] = (),
        token: str | None = None,
    ) -> None:
        check_listen_address(host, allow_remote=allow_remote)
        self._kv = kv
        self._host = host
        self._requested_port = port
        self._allowed_hosts = allowed_hosts
        self.token = token or new_token()
        self._events = Events(kv)
        self._runner: web.AppRunner | None = None
        self._closed = asyncio.Event()
        self.port = 0

    @property
    def url(self) -> str:
        """The page's address, with its token: what the user opens."""
        host = self._host if self._host not in ("0.0.0.0", "::", "") else "127.0.0.1"
        return f"http://{format_host(host)}:{self.port}/?token={self.token}"

    def _app(self, guard: Guard) -> web.Application:
        app = web.Application(
            middlewares=[guard.middleware(), error_middleware], client_max_size=MAX_BODY
        )
        app.on_response_prepare.append(add_security_headers)
        index = _read_static("index.html").decode().replace(_TOKEN_MARK, self.token).encode()
        static = {name: (_read_static(name), kind) for name, kind in STATIC_FILES.items()}

        async def page(request: web.Request) -> web.Response:
            return web.Response(body=index, content_type="text/html", charset="utf-8")

        async def static_file(request: web.Request) -> web.Response:
            found = static.get(request.match_info["name"])
            if found is None:
                raise web.HTTPNotFound()
            body, kind = found
            return web.Response(body=body, content_type=kind, charset="utf-8")

        app.add_routes(
            [
                web.get("/", page),
                web.get("/static/{name}", static_file),
                *Api(self._kv).routes(),
                *self._events.routes(),
            ]
        )
        return app

    async def start(self) -> UIServer:
        """Bind the socket and start serving (``async with`` does this)."""
        if self._runner is not None:
            return self
        family = socket.AF_INET6 if ":" in self._host else socket.AF_INET
        sock = socket.create_server((self._host.strip("[]"), self._requested_port), family=family)
        self.port = sock.getsockname()[1]
        guard = Guard(self.token, self._host, self.port, allowed_hosts=self._allowed_hosts)
        # handler_cancellation: a page that goes away ends its key scan and its watcher
        runner = web.AppRunner(
            self._app(guard),
            handle_signals=False,
            access_log=None,
            handler_cancellation=True,
            shutdown_timeout=1.0,
        )
        await runner.setup()
        try:
            await web.SockSite(runner, sock).start()
        except BaseException:
            await runner.cleanup()
            sock.close()
            raise
        self._runner = runner
        return self

    async def close(self) -> None:
        """Stop serving: end the live streams, close the socket and every connection."""
        self._events.close()
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
        self._closed.set()

    async def wait_closed(self) -> None:
        """Wait until :meth:`close` (the CLI waits here until Ctrl-C)."""
        await self._closed.wait()

    async def __aenter__(self) -> UIServer:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
