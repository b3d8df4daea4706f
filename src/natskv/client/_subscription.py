"""Subscriptions: delivery of messages to a callback or an async iterator.

Delivery happens inside the connection's ``data_received``: a plain-function callback is
called right there (the fastest path, used by JetStream's ordered consumer); otherwise the
message goes to a deque that an async iterator, or one worker task per subscription for a
coroutine callback, drains. No task is created per message.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from natskv.errors import ConnectionClosedError, SlowConsumerError, TimeoutError
from natskv.protocol import Msg

if TYPE_CHECKING:
    from natskv.client._connection import Connection

__all__ = ["DEFAULT_PENDING_BYTES", "DEFAULT_PENDING_MSGS", "MessageHandler", "Subscription"]

DEFAULT_PENDING_MSGS = 512 * 1024
DEFAULT_PENDING_BYTES = 128 * 1024 * 1024

MessageHandler = Callable[[Msg], Any] | Callable[[Msg], Awaitable[Any]]


class Subscription:
    """An interest in a subject. Iterate it (``async for msg in sub``) or give a callback."""

    __slots__ = (
        "_async_cb",
        "_closed",
        "_conn",
        "_delivered",
        "_limit_bytes",
        "_limit_msgs",
        "_max_msgs",
        "_pending",
        "_pending_bytes",
        "_sync_cb",
        "_waiter",
        "_worker",
        "dropped",
        "queue",
        "sid",
        "subject",
    )

    def __init__(
        self,
        conn: Connection,
        sid: int,
        subject: str,
        queue: str | None,
        cb: MessageHandler | None,
        *,
        pending_msgs_limit: int = DEFAULT_PENDING_MSGS,
        pending_bytes_limit: int = DEFAULT_PENDING_BYTES,
    ) -> None:
        self._conn = conn
        self.sid = sid
        self.subject = subject
        self.queue = queue
        self._sync_cb: Callable[[Msg], Any] | None = None
        self._async_cb: Callable[[Msg], Awaitable[Any]] | None = None
        if cb is not None:
            if inspect.iscoroutinefunction(cb):
                self._async_cb = cb
            else:
                self._sync_cb = cb
        self._pending: deque[Msg] = deque()
        self._pending_bytes = 0
        self._waiter: asyncio.Future[None] | None = None
        self._closed = False
        self._max_msgs = 0
        self._delivered = 0
        self._worker: asyncio.Task[None] | None = None
        self._limit_msgs = pending_msgs_limit
        self._limit_bytes = pending_bytes_limit
        #: messages dropped because this subscription exceeded its pending limits
        self.dropped = 0
        if self._async_cb is not None:
            self._worker = asyncio.get_running_loop().create_task(self._run_async_cb())

    # -- delivery (called from the connection's data_received) -------------------------

    def _deliver(self, msg: Msg) -> None:
        self._delivered += 1
        cb = self._sync_cb
        if cb is not None:
            try:
                cb(msg)
            except Exception as exc:  # a user callback must not break the reader
                self._conn._report_error(exc)
        else:
            pending = self._pending
            if len(pending) >= self._limit_msgs or self._pending_bytes >= self._limit_bytes:
                self.dropped += 1
                self._conn._report_error(
                    SlowConsumerError(f"slow consumer on {self.subject!r}: message dropped")
                )
            else:
                pending.append(msg)
                self._pending_bytes += len(msg.data)
                waiter = self._waiter
                if waiter is not None:
                    self._waiter = None
                    if not waiter.done():
                        waiter.set_result(None)
        if self._max_msgs and self._delivered >= self._max_msgs:
            self._conn._remove_subscription(self)
            self._finish()

    def _finish(self) -> None:
        """No more messages will come: wake any reader so it can end."""
        self._closed = True
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    async def _run_async_cb(self) -> None:
        cb = self._async_cb
        assert cb is not None
        while True:
            try:
                msg = await self.next_msg()
            except (StopAsyncIteration, ConnectionClosedError):
                return
            try:
                await cb(msg)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._conn._report_error(exc)

    # -- reading ----------------------------------------------------------------------

    @property
    def pending_msgs(self) -> int:
        """Messages received but not yet read."""
        return len(self._pending)

    @property
    def delivered(self) -> int:
        """Messages delivered to this subscription so far."""
        return self._delivered

    @property
    def is_active(self) -> bool:
        """True until the subscription is unsubscribed or its connection closes."""
        return not self._closed

    async def next_msg(self, timeout: float | None = None) -> Msg:
        """The next message; raises :class:`StopAsyncIteration` once the subscription ended.

        A ``timeout`` raises :class:`natskv.TimeoutError` when nothing arrives in time.
        """
        if self._sync_cb is not None:
            raise TypeError("next_msg() is not available on a subscription with a callback")
        pending = self._pending
        while not pending:
            if self._closed:
                raise StopAsyncIteration
            waiter = asyncio.get_running_loop().create_future()
            self._waiter = waiter
            if timeout is None:
                await waiter
            else:
                try:
                    await asyncio.wait_for(waiter, timeout)
                except asyncio.TimeoutError:
                    raise TimeoutError(
                        f"no message on {self.subject!r} within {timeout}s"
                    ) from None
                finally:
                    if self._waiter is waiter:
                        self._waiter = None
        msg = pending.popleft()
        self._pending_bytes -= len(msg.data)
        return msg

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Msg:
        return await self.next_msg()

    # -- ending ------------------------------------------------------------------------

    async def unsubscribe(self, limit: int = 0) -> None:
        """Stop the subscription now, or after ``limit`` messages in total."""
        self._conn._unsubscribe(self, limit)
        if not limit or self._delivered >= limit:
            await self._stop_worker()

    async def drain(self) -> None:
        """Unsubscribe, then let an async callback finish the messages already received.

        Messages the server sent before it processed the unsubscribe are delivered too.
        """
        conn = self._conn
        try:
            await conn._drain_subscriptions([self], conn.request_timeout)
        except asyncio.TimeoutError:
            conn._report_error(TimeoutError(f"drain of {self.subject!r} timed out"))
        worker = self._worker
        if worker is not None:
            await asyncio.shield(worker)

    async def _stop_worker(self) -> None:
        worker = self._worker
        if worker is not None and not worker.done() and worker is not asyncio.current_task():
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker

    def __repr__(self) -> str:
        return f"<Subscription sid={self.sid} subject={self.subject!r} queue={self.queue!r}>"
