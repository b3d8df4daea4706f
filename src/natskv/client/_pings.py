"""PING/PONG: ``flush()`` waiters, the handshake's PING and keepalives, in server order.

The server answers PINGs in the order it gets them, so one queue holds an entry per
PING in flight or queued, oldest first: the waiter of a ``flush()`` (or of the
handshake), or ``None`` for a keepalive. Every PONG completes the oldest entry, even
when nobody waits on it any more (a flush that timed out), so a later flush never
returns on the PONG of an earlier PING. PINGs still in the write buffer when a socket
is lost keep their waiters: they go out after the next handshake.

Keepalive: every ``ping_interval`` a PING is sent; when ``max_outstanding_pings`` of
them are unanswered the connection is stale and ``on_stale`` is called.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable

from natskv.client._writer import Writer
from natskv.protocol import PING_CMD

__all__ = ["Pings"]


class Pings:
    """The PING/PONG bookkeeping of one connection."""

    __slots__ = (
        "_handle",
        "_interval",
        "_loop",
        "_max_outstanding",
        "_on_stale",
        "_waiters",
        "_writer",
        "outstanding",
    )

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        writer: Writer,
        *,
        interval: float,
        max_outstanding: int,
        on_stale: Callable[[], None],
    ) -> None:
        self._loop = loop
        self._writer = writer
        self._interval = interval
        self._max_outstanding = max_outstanding
        self._on_stale = on_stale
        self._waiters: deque[asyncio.Future[None] | None] = deque()
        self._handle: asyncio.TimerHandle | None = None
        #: keepalive PINGs sent and not answered yet
        self.outstanding = 0

    def ping(self, fut: asyncio.Future[None] | None) -> None:
        """Queue a PING; ``fut`` (if any) is resolved by its PONG."""
        self._waiters.append(fut)
        self._writer.pings += 1
        self._writer.enqueue(PING_CMD)

    def first(self, fut: asyncio.Future[None]) -> None:
        """``fut`` waits for the PONG of the handshake's PING, the first on a new socket.

        PINGs of flush() calls made while disconnected wait in the write buffer until
        after it, so its entry goes first.
        """
        self._waiters.appendleft(fut)

    def forget(self, fut: asyncio.Future[None]) -> None:
        """Remove a handshake's entry: its socket is gone, so its PONG never comes."""
        with contextlib.suppress(ValueError):
            self._waiters.remove(fut)

    def pong(self) -> None:
        """A PONG arrived: it answers the oldest PING."""
        self.outstanding = 0
        if self._waiters:
            fut = self._waiters.popleft()  # this PONG's PING, even if nobody waits
            if fut is not None and not fut.done():
                fut.set_result(None)

    def fail_sent(self, exc: Exception) -> None:
        """The socket is gone: fail the waiters of PINGs written to it."""
        waiters = self._waiters
        for _ in range(len(waiters) - self._writer.pings):
            fut = waiters.popleft()
            if fut is not None and not fut.done():
                fut.set_exception(exc)

    def fail_all(self, exc: Exception) -> None:
        """The connection closed: every waiter fails."""
        waiters = self._waiters
        while waiters:
            fut = waiters.popleft()
            if fut is not None and not fut.done():
                fut.set_exception(exc)

    # -- keepalive ------------------------------------------------------------------------

    def start(self) -> None:
        """A socket is up: answer-less PINGs count from zero, keepalives start."""
        self.outstanding = 0
        if self._interval > 0 and self._handle is None:
            self._handle = self._loop.call_later(self._interval, self._keepalive)

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _keepalive(self) -> None:
        self._handle = None
        if self.outstanding >= self._max_outstanding:
            self._on_stale()
            return
        self.outstanding += 1
        self.ping(None)
        self._handle = self._loop.call_later(self._interval, self._keepalive)
