"""The socket side of a connection: the asyncio protocol and the dialer that opens it.

The hot path is an :class:`asyncio.Protocol`: ``data_received`` hands the bytes straight
to the connection, which parses and dispatches them right there (no reader task, no
await per message). A :class:`Dialer` opens the byte stream; :class:`TCPDialer` is the
default, and :class:`natskv.client.MockNetwork` replaces it in tests.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Protocol, cast

from natskv.client._options import ServerAddress
from natskv.errors import NatsConnectionError

__all__ = ["ConnectionProtocol", "Dialer", "ProtocolOwner", "TCPDialer"]


class ProtocolOwner(Protocol):
    """What a :class:`ConnectionProtocol` reports to: its connection."""

    def _is_current(self, proto: ConnectionProtocol) -> bool: ...

    def _data_received(self, data: bytes) -> None: ...

    def _connection_lost(self, proto: ConnectionProtocol, exc: Exception | None) -> None: ...

    def _pause_writing(self) -> None: ...

    def _resume_writing(self) -> None: ...


class ConnectionProtocol(asyncio.Protocol):
    """One per socket; forwards to the connection while it is the current one."""

    __slots__ = ("_owner", "lost", "transport")

    def __init__(self, owner: ProtocolOwner, loop: asyncio.AbstractEventLoop) -> None:
        self._owner = owner
        self.transport: asyncio.Transport | None = None
        #: resolved once the socket is closed (for TLS: after the close_notify exchange)
        self.lost: asyncio.Future[None] = loop.create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not subclass asyncio.Transport; they are duck-typed.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        owner = self._owner
        if owner._is_current(self):
            owner._data_received(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.lost.done():
            self.lost.set_result(None)
        self._owner._connection_lost(self, exc)

    def pause_writing(self) -> None:
        if self._owner._is_current(self):
            self._owner._pause_writing()

    def resume_writing(self) -> None:
        if self._owner._is_current(self):
            self._owner._resume_writing()

    def eof_received(self) -> bool | None:
        return None


class Dialer(Protocol):
    """How a connection reaches a server.

    ``connect`` opens a byte stream to ``server`` and attaches ``protocol`` to it (TLS
    from the first byte when ``tls`` is given); ``start_tls`` upgrades an open stream
    after the server's INFO asked for it. Both raise :class:`OSError` (or a
    :class:`natskv.NatsConnectionError`) when they fail.
    """

    async def connect(
        self,
        protocol: asyncio.Protocol,
        server: ServerAddress,
        tls: ssl.SSLContext | None,
        server_hostname: str | None,
    ) -> asyncio.Transport: ...

    async def start_tls(
        self,
        transport: asyncio.Transport,
        protocol: asyncio.Protocol,
        tls: ssl.SSLContext,
        server_hostname: str | None,
    ) -> asyncio.Transport: ...


class TCPDialer:
    """The default :class:`Dialer`: TCP (and TLS) through the running event loop."""

    async def connect(
        self,
        protocol: asyncio.Protocol,
        server: ServerAddress,
        tls: ssl.SSLContext | None,
        server_hostname: str | None,
    ) -> asyncio.Transport:
        loop = asyncio.get_running_loop()
        if tls is None:
            transport, _ = await loop.create_connection(lambda: protocol, server.host, server.port)
        else:
            transport, _ = await loop.create_connection(
                lambda: protocol,
                server.host,
                server.port,
                ssl=tls,
                server_hostname=server_hostname,
            )
        return transport

    async def start_tls(
        self,
        transport: asyncio.Transport,
        protocol: asyncio.Protocol,
        tls: ssl.SSLContext,
        server_hostname: str | None,
    ) -> asyncio.Transport:
        loop = asyncio.get_running_loop()
        upgraded = await loop.start_tls(transport, protocol, tls, server_hostname=server_hostname)
        if upgraded is None:
            raise NatsConnectionError("TLS upgrade failed")
        return upgraded
