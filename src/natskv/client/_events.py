"""How a connection tells the application what happens: listeners, callbacks, status
streams (:mod:`._status`), the log.

Connection events (connected, disconnected, reconnecting, reconnected, lame duck, closed) and
background errors (server ``-ERR`` lines, slow consumers, errors raised by message
handlers or by the application's own callbacks) go to the ``natskv.client`` logger;
errors also go to ``error_cb`` when one is given, and every change goes to each open
status stream as a typed event. A callback may be a coroutine
function: it runs as a task, and what it raises is reported like the rest, never lost.
Nothing logged here holds a credential: servers are named by their URL without them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from natskv.client._options import ErrorCallback, EventCallback
from natskv.client._status import (
    AsyncError,
    Closed,
    Disconnected,
    LameDuck,
    Reconnected,
    StatusEvent,
    StatusStream,
)
from natskv.errors import NatsConnectionError, NatsError, SlowConsumerError, TimeoutError

__all__ = ["Events", "logger"]

logger = logging.getLogger("natskv.client")

# Our own conditions the connection recovers from, or the application can fix: warnings.
_WARNINGS = (SlowConsumerError, TimeoutError, NatsConnectionError)


class Events:
    """The listeners and callbacks of one connection, and its last background error."""

    __slots__ = (
        "_disconnect",
        "_error_cb",
        "_loop",
        "_reconnect",
        "_streams",
        "_tasks",
        "last_error",
    )

    def __init__(self, loop: asyncio.AbstractEventLoop, error_cb: ErrorCallback | None) -> None:
        self._loop = loop
        self._error_cb = error_cb
        self._reconnect: list[EventCallback] = []
        self._disconnect: list[EventCallback] = []
        # tasks of coroutine callbacks (and of work started from the reader), kept alive
        self._tasks: set[asyncio.Task[Any]] = set()
        self._streams: list[StatusStream] = []
        #: the last background error (also passed to ``error_cb``)
        self.last_error: Exception | None = None

    def add_reconnect_listener(self, cb: EventCallback) -> Callable[[], None]:
        self._reconnect.append(cb)
        return lambda: _discard(self._reconnect, cb)

    def add_disconnect_listener(self, cb: EventCallback) -> Callable[[], None]:
        self._disconnect.append(cb)
        return lambda: _discard(self._disconnect, cb)

    def status(self, maxsize: int) -> StatusStream:
        stream = StatusStream(maxsize, self._streams.remove)
        self._streams.append(stream)
        return stream

    def _publish(self, event: StatusEvent) -> None:
        for stream in list(self._streams):
            stream.push(event)

    def disconnected(
        self, user_cb: EventCallback | None, url: str, error: Exception | None
    ) -> None:
        self._publish(Disconnected(url, error))
        self._notify(self._disconnect, user_cb)

    def reconnected(self, user_cb: EventCallback | None, url: str) -> None:
        self._publish(Reconnected(url))
        self._notify(self._reconnect, user_cb)

    def lame_duck(self, user_cb: EventCallback | None, event: LameDuck) -> None:
        self._publish(event)
        self._notify([], user_cb)

    def closed(self, user_cb: EventCallback | None, error: Exception | None) -> None:
        self._notify([], user_cb)
        self._publish(Closed(error))

    def end_streams(self) -> None:
        """The connection closed without having been up: no event, the streams just end."""
        for stream in list(self._streams):
            stream.close()

    def _notify(self, listeners: list[EventCallback], user_cb: EventCallback | None) -> None:
        for cb in list(listeners) + ([user_cb] if user_cb is not None else []):
            self.call(cb)

    def report_error(self, exc: Exception, log: bool = True) -> None:
        """A background error: logged, kept as :attr:`last_error`, passed to ``error_cb``."""
        self.last_error = exc
        if self._streams:
            self._publish(AsyncError(exc))
        if log:
            if isinstance(exc, NatsError):
                logger.log(
                    logging.WARNING if isinstance(exc, _WARNINGS) else logging.ERROR, "%s", exc
                )
            else:  # raised by application code: the traceback helps
                logger.error("%s: %s", type(exc).__name__, exc, exc_info=exc)
        if self._error_cb is not None:
            self.call(self._error_cb, exc, reporting=False)

    def call(self, cb: Callable[..., Any], *args: Any, reporting: bool = True) -> None:
        """Run an application callback; a coroutine it returns runs as a task. What it
        raises is logged and (unless it is ``error_cb`` itself) reported."""
        try:
            result = cb(*args)
        except Exception as exc:
            self._failed(cb, exc, reporting)
            return
        if asyncio.iscoroutine(result):
            self.spawn(result, cb, reporting)

    def spawn(
        self,
        coro: Coroutine[Any, Any, Any],
        cb: Callable[..., Any] | None = None,
        reporting: bool = True,
    ) -> None:
        """Run ``coro`` as a task kept alive until it ends; what it raises is reported."""
        task = self._loop.create_task(coro)
        self._tasks.add(task)

        def done(t: asyncio.Task[Any]) -> None:
            self._tasks.discard(t)
            if not t.cancelled():
                exc = t.exception()
                if isinstance(exc, Exception):
                    self._failed(cb, exc, reporting)

        task.add_done_callback(done)

    def _failed(self, cb: Callable[..., Any] | None, exc: Exception, reporting: bool) -> None:
        name = getattr(cb, "__qualname__", None) or type(cb).__name__
        what = "callback" if reporting else "error_cb"
        logger.error("%s %s raised %s: %s", what, name, type(exc).__name__, exc, exc_info=exc)
        if reporting:
            self.report_error(exc, log=False)


def _discard(items: list[EventCallback], item: EventCallback) -> None:
    with contextlib.suppress(ValueError):
        items.remove(item)
