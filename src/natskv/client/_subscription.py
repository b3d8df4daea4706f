"""Subscriptions: delivery of messages to a callback or an async iterator.

Delivery happens inside the connection's ``data_received``: a plain-function callback is
called right there (the fastest path, used by JetStream's ordered consumer); otherwise the
message goes to a deque that an async iterator, or one worker task per subscription for a
coroutine callback, drains. No task is created per message.

A :class:`Subscription` asks its connection for nothing but what
:class:`SubscriptionOwner` lists (the connection's :class:`Subscriptions` table).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from natskv.errors import ConnectionClosedError, SlowConsumerError
from natskv.protocol import Msg

__all__ = ["MessageHandler", "Subscription", "SubscriptionOwner"]

MessageHandler = Callable[[Msg], Any] | Callable[[Msg], Awaitable[Any]]


class SubscriptionOwner(Protocol):
    """The narrow interface a subscription uses: its connection's subscription table."""

    def report_error(self, exc: Exception, *, log: bool = True) -> None:
        """Hand a background error to the connection (log and ``error_cb``)."""
        ...

    def unsubscribe(self, sub: Subscription, limit: int = 0) -> None:
        """UNSUB now, or after ``limit`` messages in total."""
        ...

    def remove(self, sub: Subscription) -> None:
        """Forget ``sub``: its auto-unsubscribe limit was reached."""
        ...

    async def drain(self, subs: list[Subscription], timeout: float | None = None) -> None:
        """UNSUB and keep delivering until the server confirms it."""
        ...

    async def wait(self, fut: asyncio.Future[None], timeout: float, what: str) -> None:
        """Await ``fut`` with the connection's deadlines."""
        ...


class Subscription:
    """An interest in a subject. Iterate it (``async for msg in sub``) or give a callback."""

    __slots__ = (
        "_async_cb",
        "_closed",
        "_delivered",
        "_limit_bytes",
        "_limit_msgs",
        "_max_msgs",
        "_owner",
        "_pending",
        "_pending_bytes",
        "_slow",
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
        owner: SubscriptionOwner,
        sid: int,
        subject: str,
        queue: str | None,
        cb: MessageHandler | None,
        *,
        pending_msgs_limit: int,
        pending_bytes_limit: int,
    ) -> None:
        self._owner = owner
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
        self._slow = False
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
                self._owner.report_error(exc)
        else:
            pending = self._pending
            if len(pending) >= self._limit_msgs or self._pending_bytes >= self._limit_bytes:
                self.dropped += 1
                # every drop reaches error_cb; the log says it once per slow spell
                self._owner.report_error(
                    SlowConsumerError(f"slow consumer on {self.subject!r}: message dropped"),
                    log=not self._slow,
                )
                self._slow = True
            else:
                self._slow = False
                pending.append(msg)
                self._pending_bytes += len(msg.data)
                waiter = self._waiter
                if waiter is not None:
                    self._waiter = None
                    if not waiter.done():
                        waiter.set_result(None)
        if self._max_msgs and self._delivered >= self._max_msgs:
            self._owner.remove(self)
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
                self._owner.report_error(exc)

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

        A ``timeout`` raises :class:`natskv.TimeoutError` when nothing arrives in time
        (measured in 50 ms steps, like every timeout of the connection).
        """
        if self._sync_cb is not None:
            raise TypeError("next_msg() is not available on a subscription with a callback")
        pending = self._pending
        while not pending:
            if self._closed:
                raise StopAsyncIteration
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiter = waiter
            try:
                if timeout is None:
                    await waiter
                else:
                    await self._owner.wait(waiter, timeout, f"no message on {self.subject!r}")
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
        self._owner.unsubscribe(self, limit)
        if not limit or self._delivered >= limit:
            await self._stop_worker()

    async def drain(self) -> None:
        """Unsubscribe, then let an async callback finish the messages already received.

        Messages the server sent before it processed the unsubscribe are delivered too.
        """
        await self._owner.drain([self])
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
