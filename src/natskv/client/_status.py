"""A connection's status changes as typed events, for ``async for event in nc.status()``.

Callbacks (``disconnected_cb`` & co.) suit code that reacts at once; an iterator suits a
task that watches the connection, and sees every kind of change in one place and in
order: :class:`Disconnected`, :class:`Reconnected`, :class:`LameDuck`, :class:`Closed` and
:class:`AsyncError`. Each :meth:`~natskv.Connection.status` call makes a
:class:`StatusStream` of its own, registered at once (so nothing that happens between
the call and the first ``await`` is missed). Its queue is bounded: when a reader falls
behind, the oldest events are dropped and counted in :attr:`StatusStream.dropped`, so a
forgotten stream never holds more than its bound. The stream ends after
:class:`Closed`, or when its :meth:`~StatusStream.close` is called (also on leaving
``async with``). Events never hold credentials: servers are named by URLs without them.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType

__all__ = [
    "AsyncError",
    "Closed",
    "Disconnected",
    "LameDuck",
    "Reconnected",
    "StatusEvent",
    "StatusStream",
]

DEFAULT_STATUS_QUEUE = 256


@dataclass(frozen=True)
class StatusEvent:
    """Base class of the status events of a connection."""


@dataclass(frozen=True)
class Disconnected(StatusEvent):
    """The socket to ``url`` was lost (``error`` says why, when known); a reconnect follows
    unless reconnecting is off."""

    url: str
    error: Exception | None = None


@dataclass(frozen=True)
class Reconnected(StatusEvent):
    """The connection is up again, to ``url``; subscriptions were restored."""

    url: str


@dataclass(frozen=True)
class LameDuck(StatusEvent):
    """The server at ``url`` (``server_id``) entered lame duck mode: it will close its
    connections soon. ``moving`` is true when the client moves to another server of the
    pool now; false when there is none to move to."""

    url: str
    server_id: str
    moving: bool


@dataclass(frozen=True)
class Closed(StatusEvent):
    """The connection is closed for good (``error`` says why, if it was not ``close()``).
    The last event of every stream."""

    error: Exception | None = None


@dataclass(frozen=True)
class AsyncError(StatusEvent):
    """A background error (also passed to ``error_cb`` and logged)."""

    error: Exception


class StatusStream:
    """The status events of one connection, from the moment it was made; see the module."""

    __slots__ = ("_ended", "_maxsize", "_queue", "_unregister", "_waiter", "dropped")

    def __init__(self, maxsize: int, unregister: Callable[[StatusStream], None]) -> None:
        if isinstance(maxsize, bool) or not isinstance(maxsize, int) or maxsize < 1:
            raise ValueError(f"maxsize must be a positive integer, not {maxsize!r}")
        self._maxsize = maxsize
        self._queue: deque[StatusEvent] = deque()
        self._unregister = unregister
        self._waiter: asyncio.Future[None] | None = None
        self._ended = False
        #: events dropped because the reader fell more than ``maxsize`` behind
        self.dropped = 0

    def push(self, event: StatusEvent) -> None:
        """Called by the connection (on its loop) for each event."""
        if self._ended:
            return
        if len(self._queue) >= self._maxsize:
            self._queue.popleft()
            self.dropped += 1
        self._queue.append(event)
        if isinstance(event, Closed):
            self._end()
        self._wake()

    def close(self) -> None:
        """Stop receiving events; iteration ends after those already queued."""
        self._end()
        self._wake()

    def _end(self) -> None:
        if not self._ended:
            self._ended = True
            self._unregister(self)

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def __aiter__(self) -> StatusStream:
        return self

    async def __anext__(self) -> StatusEvent:
        while not self._queue:
            if self._ended:
                raise StopAsyncIteration
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._queue.popleft()

    async def __aenter__(self) -> StatusStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "ended" if self._ended else "open"
        return f"<StatusStream {state}, {len(self._queue)} queued, {self.dropped} dropped>"
