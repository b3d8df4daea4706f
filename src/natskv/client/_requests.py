"""Request/reply over one muxed inbox.

Every request of a connection gets its reply subject under one wildcard subscription,
``<inbox prefix>.<random id>.*``: the last token tells the requests apart. A reply is
routed by subscription id and token straight from ``data_received`` to the future of
its request (or to the handler of a reply stream); no task is created per message and
no subscription per request. Deadlines are the connection's :class:`Deadlines`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from natskv.errors import ConnectionClosedError, NoRespondersError
from natskv.protocol import Msg

__all__ = ["ReplyWaiter", "RequestMux", "StreamCloser"]

_NO_RESPONDERS = b"NATS/1.0 503"

StreamCloser = Callable[[ConnectionClosedError], None]


class ReplyWaiter(Protocol):
    """What waits for a reply: an ``asyncio.Future``, or a :class:`ThreadReply` for a
    request made from another thread. Only the loop thread calls these."""

    def done(self) -> bool: ...

    def set_result(self, result: Msg, /) -> None: ...

    def set_exception(self, exception: BaseException, /) -> None: ...

    def cancel(self, msg: Any | None = None) -> bool: ...


class RequestMux:
    """The table of pending requests and reply streams of one connection.

    Its fields are read on the request hot path by the connection that owns it:
    ``prefix`` (the reply subject of request ``token`` is ``prefix + token``), ``sid``
    (of the wildcard subscription, 0 until the first request), ``token`` (the last one
    handed out) and ``futs`` (token -> future of the reply).
    """

    __slots__ = ("closers", "futs", "prefix", "prefix_len", "sid", "streams", "token")

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.prefix_len = len(prefix)
        self.sid = 0
        self.token = 0
        self.futs: dict[str, ReplyWaiter] = {}
        self.streams: dict[str, Callable[[Msg], None]] = {}
        self.closers: dict[str, StreamCloser] = {}

    def next_token(self) -> str:
        self.token += 1
        return str(self.token)

    def route(self, msg: Msg) -> None:
        """A message on the wildcard subscription: resolve its request, or feed its stream.

        A late reply (its request timed out or was cancelled) is dropped. A status 503
        without payload is the server saying nobody listens: the request fails with
        :class:`NoRespondersError` (the caller adds the subject).
        """
        token = msg.subject[self.prefix_len :]
        fut = self.futs.pop(token, None)
        if fut is None:
            handler = self.streams.get(token)
            if handler is not None:
                handler(msg)
        elif not fut.done():
            raw = msg.raw_headers
            if raw is not None and not msg.data and raw.startswith(_NO_RESPONDERS):
                fut.set_exception(NoRespondersError())
            else:
                fut.set_result(msg)

    def forget(self, token: str) -> None:
        """Drop a pending request (its caller stopped waiting)."""
        fut = self.futs.pop(token, None)
        if fut is not None and not fut.done():
            fut.cancel()

    def open_stream(
        self, handler: Callable[[Msg], None], on_close: StreamCloser | None
    ) -> tuple[str, Callable[[], None]]:
        """Route every reply to a new token to ``handler``: ``(reply subject, close)``."""
        token = self.next_token()
        if on_close is not None:
            self.closers[token] = on_close
        self.streams[token] = handler

        def close() -> None:
            self.closers.pop(token, None)
            self.streams.pop(token, None)

        return self.prefix + token, close

    def add_closer(self, on_close: StreamCloser) -> Callable[[], None]:
        """Call ``on_close`` if the connection closes before the returned remover is called."""
        token = self.next_token()
        self.closers[token] = on_close

        def remove() -> None:
            self.closers.pop(token, None)

        return remove

    def close(self, report: Callable[[Exception], None]) -> None:
        """The connection closed: every waiter fails with :class:`ConnectionClosedError`."""
        closed = ConnectionClosedError("the connection was closed")
        futs = list(self.futs.values())
        self.futs.clear()  # the same dict: the connection's Deadlines holds it too
        for fut in futs:
            if not fut.done():
                fut.set_exception(closed)
        self.streams.clear()
        closers, self.closers = self.closers, {}
        for on_close in closers.values():
            try:
                on_close(closed)
            except Exception as exc:  # a waiter's callback must not stop the shutdown
                report(exc)
