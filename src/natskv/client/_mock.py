"""A mock network: connections without sockets, for tests that play the server.

:class:`MockNetwork` is a :class:`~natskv.client.Dialer`: give it to
:func:`natskv.connect` (``dialer=network``) and every connection the client opens is a
:class:`MockTransport`. The test then scripts the server's bytes (:meth:`MockTransport.send`)
and reads what the client wrote (:meth:`MockTransport.read_line`, ``writes``)::

    network = MockNetwork()
    connecting = asyncio.create_task(natskv.connect("nats://mock:4222", dialer=network))
    server = await network.accept()
    connect = await server.handshake()          # INFO -> CONNECT + PING -> PONG
    nc = await connecting                       # (network.serve(...) does these four)
    await nc.publish("a", b"x")
    assert await server.read_msg() == (b"PUB a 1", b"x")

What the client does in response (replies, reconnects, PONGs) is the real client code;
only the socket is simulated. The waits of the server side are bounded (``timeout``
seconds, then :class:`AssertionError`) so a test fails instead of hanging.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import Awaitable, Iterable
from typing import Any, TypeVar

from natskv.client._options import ServerAddress
from natskv.errors import NatsConnectionError

__all__ = ["DEFAULT_INFO", "MockNetwork", "MockTransport"]

T = TypeVar("T")

#: the INFO a :meth:`MockTransport.handshake` sends unless told otherwise
DEFAULT_INFO: dict[str, Any] = {
    "server_id": "MOCK",
    "server_name": "mock",
    "version": "2.12.0",
    "proto": 1,
    "headers": True,
    "max_payload": 1024 * 1024,
}


class MockTransport(asyncio.Transport):
    """One client connection, seen from the server: scripted input, recorded output."""

    def __init__(
        self, loop: asyncio.AbstractEventLoop, protocol: asyncio.Protocol, server: ServerAddress
    ) -> None:
        super().__init__()
        self._loop = loop
        self._protocol = protocol
        #: the server the client meant to reach
        self.server = server
        #: every ``write`` the client made, in order (one item per call)
        self.writes: list[bytes] = []
        self._unread = bytearray()
        self._waiters: list[asyncio.Future[None]] = []
        self._closing = False
        #: True once the client aborted the connection (rather than closing it)
        self.aborted = False

    # -- the transport, as the client sees it ---------------------------------------------

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._closing:
            return
        chunk = bytes(data)
        self.writes.append(chunk)
        self._unread += chunk
        self._wake()

    def writelines(self, list_of_data: Iterable[bytes | bytearray | memoryview]) -> None:
        self.write(b"".join(bytes(d) for d in list_of_data))

    def close(self) -> None:
        if not self._closing:
            self._closing = True
            self._loop.call_soon(self._protocol.connection_lost, None)
            self._wake()

    def abort(self) -> None:
        self.aborted = True
        self.close()

    def is_closing(self) -> bool:
        return self._closing

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        extra = {"peername": (self.server.host, self.server.port), "sockname": ("mock", 0)}
        return extra.get(name, default)

    def can_write_eof(self) -> bool:
        return False

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def is_reading(self) -> bool:
        return not self._closing

    def get_write_buffer_size(self) -> int:
        return 0

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        pass

    # -- the server's side ----------------------------------------------------------------

    @property
    def closed(self) -> bool:
        """True once either side ended the connection."""
        return self._closing

    @property
    def written(self) -> bytes:
        """Everything the client wrote so far."""
        return b"".join(self.writes)

    def send(self, data: bytes) -> None:
        """The server sends ``data``: the client reads it now, as from one socket read."""
        if self._closing:
            raise RuntimeError("the mock connection is closed")
        self._protocol.data_received(data)

    def send_info(self, **fields: Any) -> None:
        """Send an ``INFO`` made of :data:`DEFAULT_INFO` and ``fields``."""
        info = {**DEFAULT_INFO, **fields}
        self.send(b"INFO " + json.dumps(info).encode() + b"\r\n")

    def drop(self, exc: Exception | None = None) -> None:
        """The server or the network ends the connection (a reset by default)."""
        if not self._closing:
            self._closing = True
            self._protocol.connection_lost(exc or ConnectionResetError("mock: connection reset"))
            self._wake()

    def block_writes(self) -> None:
        """The socket buffer is full: the client is told to stop writing."""
        self._protocol.pause_writing()

    def unblock_writes(self) -> None:
        self._protocol.resume_writing()

    async def read_line(self, timeout: float = 5.0) -> bytes:
        """The next control line the client wrote, without its CRLF."""
        while True:
            end = self._unread.find(b"\r\n")
            if end >= 0:
                line = bytes(self._unread[:end])
                del self._unread[: end + 2]
                return line
            await self._more(timeout, "a line")

    async def read(self, size: int, timeout: float = 5.0) -> bytes:
        """The next ``size`` bytes the client wrote."""
        while len(self._unread) < size:
            await self._more(timeout, f"{size} bytes")
        data = bytes(self._unread[:size])
        del self._unread[:size]
        return data

    async def read_msg(
        self, timeout: float = 5.0, *, skip: tuple[bytes, ...] = ()
    ) -> tuple[bytes, bytes]:
        """The next ``PUB`` / ``HPUB`` and its payload (with headers).

        Control lines of the operations in ``skip`` (say ``b"SUB"``) before it are read
        and dropped; anything else is an :class:`AssertionError`.
        """
        line = await self.read_line(timeout)
        op, _, _ = line.partition(b" ")
        while op in skip:
            line = await self.read_line(timeout)
            op, _, _ = line.partition(b" ")
        if op not in (b"PUB", b"HPUB"):
            raise AssertionError(f"expected PUB or HPUB, the client wrote {line[:80]!r}")
        size = int(line.rsplit(b" ", 1)[1])
        payload = await self.read(size + 2, timeout)
        if payload[-2:] != b"\r\n":
            raise AssertionError(f"payload of {line[:80]!r} not followed by CRLF")
        return line, payload[:-2]

    def unread(self) -> bytes:
        """What the client wrote and no read took yet."""
        return bytes(self._unread)

    async def handshake(self, timeout: float = 5.0, **info: Any) -> dict[str, Any]:
        """Play the server's part of a handshake: INFO, then read CONNECT + PING, answer
        PONG. Returns the client's CONNECT object."""
        self.send_info(**info)
        line = await self.read_line(timeout)
        if not line.startswith(b"CONNECT "):
            raise AssertionError(f"expected CONNECT, the client wrote {line[:80]!r}")
        connect: dict[str, Any] = json.loads(line[8:])
        ping = await self.read_line(timeout)
        if ping != b"PING":
            raise AssertionError(f"expected PING after CONNECT, the client wrote {ping[:80]!r}")
        self.send(b"PONG\r\n")
        return connect

    async def wait_closed(self, timeout: float = 5.0) -> None:
        """Wait until the client closed (or aborted) the connection."""
        while not self._closing:
            await self._more(timeout, "the connection to close")

    async def _more(self, timeout: float, what: str) -> None:
        if self._closing and not self._unread:
            raise AssertionError(f"waiting for {what}: the connection is closed")
        fut: asyncio.Future[None] = self._loop.create_future()
        self._waiters.append(fut)
        try:
            await asyncio.wait_for(fut, timeout)
        except asyncio.TimeoutError:
            raise AssertionError(
                f"waiting for {what}: nothing within {timeout}s (unread: {self.unread()[:80]!r})"
            ) from None

    def _wake(self) -> None:
        waiters, self._waiters = self._waiters, []
        for fut in waiters:
            if not fut.done():
                fut.set_result(None)

    def __repr__(self) -> str:
        state = "closed" if self._closing else "open"
        return f"<MockTransport {self.server.url} {state}>"


class MockNetwork:
    """A :class:`~natskv.client.Dialer` whose connections are :class:`MockTransport` s."""

    def __init__(self) -> None:
        #: every server the client dialled, in order (refused attempts too)
        self.dials: list[ServerAddress] = []
        #: every connection opened, in order
        self.transports: list[MockTransport] = []
        self._accepted = 0
        self._refuse = 0
        self._waiters: list[asyncio.Future[None]] = []

    def refuse(self, count: int = 1) -> None:
        """The next ``count`` dials fail with :class:`ConnectionRefusedError`."""
        self._refuse += count

    async def connect(
        self,
        protocol: asyncio.Protocol,
        server: ServerAddress,
        tls: ssl.SSLContext | None,
        server_hostname: str | None,
    ) -> asyncio.Transport:
        self.dials.append(server)
        if self._refuse:
            self._refuse -= 1
            raise ConnectionRefusedError(f"mock: {server.url} refused the connection")
        if tls is not None:
            raise NatsConnectionError("the mock network has no TLS")
        transport = MockTransport(asyncio.get_running_loop(), protocol, server)
        protocol.connection_made(transport)
        self.transports.append(transport)
        waiters, self._waiters = self._waiters, []
        for fut in waiters:
            if not fut.done():
                fut.set_result(None)
        return transport

    async def start_tls(
        self,
        transport: asyncio.Transport,
        protocol: asyncio.Protocol,
        tls: ssl.SSLContext,
        server_hostname: str | None,
    ) -> asyncio.Transport:
        raise NatsConnectionError("the mock network has no TLS")

    async def serve(
        self, connecting: Awaitable[T], timeout: float = 5.0, **info: Any
    ) -> tuple[T, MockTransport]:
        """Run ``connecting`` (say ``natskv.connect(url, dialer=network)``), accept the
        connection it opens and play the handshake (``info`` added to the INFO).

        Returns what ``connecting`` returned, and the server side of the connection.
        """
        task = asyncio.ensure_future(connecting)
        try:
            transport = await self.accept(timeout)
            await transport.handshake(timeout, **info)
            return await asyncio.wait_for(task, timeout), transport
        finally:
            if not task.done():
                task.cancel()

    async def accept(self, timeout: float = 5.0) -> MockTransport:
        """The next connection the client opens (in order), once it is open."""
        while self._accepted >= len(self.transports):
            fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiters.append(fut)
            try:
                await asyncio.wait_for(fut, timeout)
            except asyncio.TimeoutError:
                raise AssertionError(f"no connection within {timeout}s") from None
        transport = self.transports[self._accepted]
        self._accepted += 1
        return transport
