"""A fault-injecting TCP proxy for reconnect tests.

::

    async with FaultProxy("127.0.0.1", server.port) as proxy:
        nc = await natskv.connect(proxy.url)
        proxy.reset()      # cut every connection with a TCP RST
        proxy.pause()      # stall the open connections: bytes are held, not forwarded
        proxy.resume()     # forward again, held bytes first
        proxy.pause(to_server=False)   # hold only what the server sends

``pause`` stalls only the connections open at that moment, so a client that gives up on
a stalled connection can reconnect through the proxy straight away; ``refuse()`` makes
new connections fail (accepted, then closed at once) until ``accept()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from types import TracebackType

__all__ = ["FaultProxy"]

_CHUNK = 64 * 1024


class _Link:
    """One client connection and its upstream connection."""

    def __init__(
        self,
        client: tuple[asyncio.StreamReader, asyncio.StreamWriter],
        upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter],
    ) -> None:
        self.client = client
        self.upstream = upstream
        self.to_server = asyncio.Event()
        self.to_server.set()
        self.to_client = asyncio.Event()
        self.to_client.set()
        self.tasks: list[asyncio.Task[None]] = []

    def writers(self) -> tuple[asyncio.StreamWriter, asyncio.StreamWriter]:
        return self.client[1], self.upstream[1]

    def reset(self) -> None:
        for writer in self.writers():
            sock = writer.get_extra_info("socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    # linger 0: close() sends RST instead of FIN
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()

    def close(self) -> None:
        for writer in self.writers():
            writer.transport.abort()


class FaultProxy:
    """Forwards ``127.0.0.1:<free port>`` to ``target_host:target_port``."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target_host = target_host
        self.target_port = target_port
        self._server: asyncio.Server | None = None
        self._links: set[_Link] = set()
        self._handlers: set[asyncio.Task[None]] = set()
        self._refusing = False
        self._closing = False
        #: connections accepted so far (including refused ones)
        self.accepted = 0
        #: bytes forwarded so far, per direction ("to_server", "to_client")
        self.forwarded = {"to_server": 0, "to_client": 0}
        self.port = 0

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    @property
    def connections(self) -> int:
        """Connections currently forwarded."""
        return len(self._links)

    async def start(self) -> FaultProxy:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        """Stop listening and cut every connection (handlers end on their own: cancelling
        a ``start_server`` handler task makes asyncio log a spurious error on 3.11)."""
        self._closing = True
        if self._server is not None:
            self._server.close()
        for link in list(self._links):
            link.close()
        if self._handlers:
            await asyncio.gather(*self._handlers, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> FaultProxy:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- faults -------------------------------------------------------------------------

    def reset(self) -> None:
        """Cut every open connection, both sides, with a TCP reset."""
        for link in list(self._links):
            link.reset()

    def pause(self, *, to_server: bool = True, to_client: bool = True) -> None:
        """Stop forwarding on the open connections, in one or both directions (bytes are
        held until :meth:`resume`)."""
        for link in self._links:
            if to_server:
                link.to_server.clear()
            if to_client:
                link.to_client.clear()

    def resume(self, *, to_server: bool = True, to_client: bool = True) -> None:
        """Forward again on every connection (held bytes first), in one or both directions."""
        for link in self._links:
            if to_server:
                link.to_server.set()
            if to_client:
                link.to_client.set()

    def refuse(self) -> None:
        """Close new connections right after accepting them."""
        self._refusing = True

    def accept(self) -> None:
        """Forward new connections again (the default)."""
        self._refusing = False

    # -- forwarding ---------------------------------------------------------------------

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        self.accepted += 1
        try:
            if self._refusing or self._closing:
                writer.transport.abort()
                return
            try:
                upstream = await asyncio.open_connection(self.target_host, self.target_port)
            except OSError:
                writer.transport.abort()
                return
            if self._closing:
                writer.transport.abort()
                upstream[1].transport.abort()
                return
            link = _Link((reader, writer), upstream)
            self._links.add(link)
            try:
                link.tasks = [
                    asyncio.create_task(
                        self._pipe(link.to_server, "to_server", reader, upstream[1])
                    ),
                    asyncio.create_task(
                        self._pipe(link.to_client, "to_client", upstream[0], writer)
                    ),
                ]
                # when one direction ends, the whole link goes
                await asyncio.wait(link.tasks, return_when=asyncio.FIRST_COMPLETED)
            finally:
                self._links.discard(link)
                link.close()
                for t in link.tasks:
                    t.cancel()
                for t in link.tasks:
                    with contextlib.suppress(asyncio.CancelledError):
                        await t
        finally:
            self._handlers.discard(task)

    async def _pipe(
        self,
        flowing: asyncio.Event,
        direction: str,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        held: list[bytes] = []
        try:
            while True:
                data = await reader.read(_CHUNK)
                if not data:
                    return
                held.append(data)
                if not flowing.is_set():
                    # keep reading so a stalled peer's close is still seen, but hold the bytes
                    resumed = asyncio.ensure_future(flowing.wait())
                    read = asyncio.ensure_future(reader.read(_CHUNK))
                    try:
                        while not resumed.done():
                            await asyncio.wait({resumed, read}, return_when=asyncio.FIRST_COMPLETED)
                            if read.done():
                                more = read.result()
                                if not more:
                                    return
                                held.append(more)
                                read = asyncio.ensure_future(reader.read(_CHUNK))
                    finally:
                        resumed.cancel()
                        read.cancel()
                        with contextlib.suppress(asyncio.CancelledError, OSError):
                            await read
                        # the pending read was created after the last result was held, and
                        # cancelling StreamReader.read leaves unread bytes in its buffer
                data = b"".join(held)
                held.clear()
                writer.write(data)
                self.forwarded[direction] += len(data)
                await writer.drain()
        except (OSError, asyncio.IncompleteReadError):
            return
