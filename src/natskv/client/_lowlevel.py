"""The low-level entry points of a connection, for natskv's own layers.

Reached through one attribute, ``Connection.lowlevel``, so the main surface of
:class:`~natskv.Connection` stays the awaitable API users need. What is here serves the
hot paths of JetStream and Key/Value: calls that queue without awaiting (so many leave in
one socket write), requests returning a bare future, reply streams handled inline from
the reader, and ``checked=True`` to skip the whitespace check of subjects the caller
built from parts it validated itself. The protocol limits (``max_payload``,
``max_control_line``) are always checked.

Not part of the stable API: names and signatures may change with natskv's layers.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import select
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final

from natskv.client._deadlines import Deadlines
from natskv.client._requests import ReplyWaiter, RequestMux, StreamCloser
from natskv.client._subscription import MessageHandler, Subscription
from natskv.client._subscriptions import Subscriptions
from natskv.client._writer import Writer
from natskv.errors import ConnectionClosedError, NoRespondersError, TimeoutError
from natskv.protocol import Msg, check_subject, encode_headers

if TYPE_CHECKING:
    from natskv.client._connection import Connection

__all__ = ["Headers", "LowLevel", "ThreadReply", "header_block"]

Headers = Mapping[str, str] | Mapping[str, str | list[str] | tuple[str, ...]] | bytes | None


def header_block(headers: Mapping[str, str | list[str] | tuple[str, ...]] | bytes) -> bytes:
    """``headers`` as an encoded header block (a block already encoded passes through)."""
    return headers if isinstance(headers, bytes) else encode_headers(headers)


class _FdWaker:
    """A thread's wake-up: an eventfd the loop thread writes to and the thread reads.

    One per thread, reused by every request it makes. ``os.eventfd_write`` runs without
    the GIL, unlike ``Lock.release``, which holds it through the futex wake: with many
    threads waiting, the loop thread's wake-ups no longer stall every other thread.
    A wake that finds nobody waiting (a reply whose thread stopped waiting) only makes the
    next wait look once more, so a waker never needs to be thrown away.
    """

    __slots__ = ("fd", "poller")

    def __init__(self) -> None:
        self.fd = os.eventfd(0, os.EFD_CLOEXEC)
        self.poller = select.poll()
        self.poller.register(self.fd, select.POLLIN)

    def wake(self) -> None:
        os.eventfd_write(self.fd, 1)

    def wait(self, timeout: float | None) -> bool:
        """Block until woken (True), or until ``timeout`` seconds pass (False)."""
        if timeout is not None and not self.poller.poll(timeout * 1000):
            return False
        os.eventfd_read(self.fd)
        return True

    def __del__(self) -> None:
        os.close(self.fd)


class _LockWaker:
    """A lock held until the one reply it waits for is in.

    For a request alone in flight (sent from its thread): ``Lock.release`` holding the GIL
    costs nothing when no other thread wants it, and a lock wait with a timeout is one
    system call where poll and read are two. Also the waker where there is no eventfd.
    """

    __slots__ = ("_lock",)

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lock.acquire()

    def wake(self) -> None:
        self._lock.release()

    def wait(self, timeout: float | None) -> bool:
        if not self._lock.acquire(timeout=-1 if timeout is None else timeout):
            return False
        self._lock.release()  # woken once, seen by every later look
        return True


_SHARED_WAKERS: Final = hasattr(os, "eventfd")
_wakers = threading.local()


def _thread_waker() -> _FdWaker | _LockWaker:
    """This thread's waker (an eventfd), or a new lock where eventfd is missing."""
    if not _SHARED_WAKERS:
        return _LockWaker()
    try:
        return _wakers.w  # type: ignore[no-any-return]
    except AttributeError:
        try:
            waker = _FdWaker()
        except OSError:  # out of file descriptors: this request waits on a lock
            return _LockWaker()
        _wakers.w = waker
        return waker


def _forget_wakers() -> None:  # a forked child must not share its parent's eventfds
    global _wakers
    _wakers = threading.local()


if _SHARED_WAKERS:
    os.register_at_fork(after_in_child=_forget_wakers)


class ThreadReply:
    """The reply of a request made from another thread (:meth:`LowLevel.request_threadsafe`).

    The loop thread resolves it as it would a future and wakes the waiting thread directly,
    with no future callback or task in between: through a lock of the request's own when it
    was alone in flight, else through an eventfd of the thread (where the OS has one).
    :meth:`wait` may be called from any thread, but by one at a time.
    """

    __slots__ = ("_exc", "_futs", "_msg", "_subject", "_timeout", "_token", "_waker")

    def __init__(self, waker: _FdWaker | _LockWaker) -> None:
        self._waker = waker
        self._msg: Msg | None = None
        self._exc: BaseException | None = None
        # set for a request sent from its own thread: wait() keeps its deadline itself
        self._timeout: float | None = None
        self._subject = ""
        # where the request waits once sent (its token in the request table)
        self._futs: dict[str, ReplyWaiter] | None = None
        self._token = ""

    def done(self) -> bool:
        return self._msg is not None or self._exc is not None

    def set_result(self, result: Msg, /) -> None:
        self._msg = result
        self._waker.wake()

    def set_exception(self, exception: BaseException, /) -> None:
        self._exc = exception
        self._waker.wake()

    def cancel(self, msg: Any | None = None) -> bool:
        if self.done():
            return False
        self.set_exception(asyncio.CancelledError(msg))
        return True

    def wait(self) -> Msg:
        """Block until the reply (or its error: timeout, no responders, closed) is in."""
        waker = self._waker
        if type(waker) is _FdWaker:
            mine = _thread_waker()
            if waker is not mine:  # waited for by another thread than the one that asked
                self._waker = waker = mine  # a wake already sent went to the other one...
        # ... and was sent after the result was set: the loop below sees that result
        timeout = self._timeout
        try:
            if type(waker) is _LockWaker:  # alone in flight: as short as it can be
                lock = waker._lock
                if not lock.acquire(timeout=timeout or -1):
                    self._expire(waker)
                else:
                    lock.release()
            elif not timeout:
                while not self.done():
                    waker.wait(None)
            else:
                deadline = time.monotonic() + timeout
                while not self.done():
                    left = deadline - time.monotonic()
                    if left <= 0 or not waker.wait(left):
                        self._expire(waker)
        except BaseException:  # KeyboardInterrupt: a late reply finds nobody waiting
            self._forget()
            raise
        if self._exc is not None:
            raise self._exc
        assert self._msg is not None
        return self._msg

    def _forget(self) -> ReplyWaiter | None:
        """Take the request out of the table (None: it is not there, or was answered)."""
        futs = self._futs
        return None if futs is None else futs.pop(self._token, None)

    def _expire(self, waker: _FdWaker | _LockWaker) -> None:
        if self._forget() is not None:  # still unanswered: nobody will answer it now
            raise TimeoutError(f"no reply to {self._subject!r} within {self._timeout:g}s")
        while not self.done():  # answered as the wait ran out: it is being set now
            waker.wait(None)


class LowLevel:
    """Non-awaiting publish, subscribe and request calls of one connection (see the module)."""

    def __init__(
        self,
        conn: Connection,
        writer: Writer,
        subs: Subscriptions,
        mux: RequestMux,
        deadlines: Deadlines,
    ) -> None:
        self._conn = conn
        self._writer = writer
        self._subs = subs
        self._mux = mux
        self._deadlines = deadlines
        self._loop = conn._loop
        # requests from other threads, sent by the loop thread in batches: one wake-up of
        # the loop carries every request queued since the last one
        self._cross: deque[tuple[str, bytes, Headers, float | None, bool, ThreadReply]] = deque()
        self._cross_scheduled = False
        # tokens of requests sent from their own threads, apart from the loop's numbers
        self._thread_tokens = itertools.count(1)

    # -- publish ------------------------------------------------------------------------

    def publish_nowait(
        self,
        subject: str,
        payload: bytes = b"",
        *,
        reply: str | None = None,
        headers: Headers = None,
        checked: bool = False,
    ) -> None:
        """Queue a message without awaiting (it leaves with the writes of this loop turn)."""
        if not checked:
            check_subject(subject)
            if reply is not None:
                check_subject(reply, "reply subject")
        self._writer.publish(
            subject, reply, payload, None if headers is None else header_block(headers)
        )

    def publish_many(
        self, messages: Iterable[tuple[str, bytes, str | None]], *, checked: bool = False
    ) -> int:
        """Queue many ``(subject, payload, reply)`` messages at once; returns how many.

        All or nothing: every message is checked before any is queued. They leave in the
        same write, in order.
        """
        if not checked:
            messages = list(messages)
            for subject, _, reply in messages:
                check_subject(subject)
                if reply is not None:
                    check_subject(reply, "reply subject")
        return self._writer.publish_many(messages)

    # -- subscribe ----------------------------------------------------------------------

    def subscribe_nowait(
        self,
        subject: str,
        *,
        queue: str | None = None,
        cb: MessageHandler | None = None,
        max_msgs: int = 0,
        pending_msgs_limit: int | None = None,
        pending_bytes_limit: int | None = None,
    ) -> Subscription:
        """``Connection.subscribe`` without awaiting (the SUB leaves in this loop turn)."""
        return self._subs.add(
            subject,
            queue,
            cb,
            max_msgs=max_msgs,
            pending_msgs_limit=pending_msgs_limit,
            pending_bytes_limit=pending_bytes_limit,
        )

    # -- request / reply ----------------------------------------------------------------

    def request_future(
        self,
        subject: str,
        payload: bytes = b"",
        *,
        headers: Headers = None,
        timeout: float | None = None,
        checked: bool = False,
    ) -> asyncio.Future[Msg]:
        """Send a request now and return the future of its reply.

        The future fails with :class:`NoRespondersError` (without the subject) or
        :class:`natskv.TimeoutError`. A cancelled future's entry is freed when its
        timeout passes.
        """
        return self._conn._start_request(subject, payload, headers, timeout, checked)[1]

    def request_nowait(
        self,
        subject: str,
        payload: bytes = b"",
        *,
        headers: Headers = None,
        timeout: float | None = None,
    ) -> tuple[str, asyncio.Future[Msg]]:
        """Send a request now and return ``(token, future)``; used for pipelining.

        Await it with :meth:`await_reply`, or drop it with :meth:`cancel_reply`.
        """
        return self._conn._start_request(subject, payload, headers, timeout, False)

    def request_threadsafe(
        self,
        subject: str,
        payload: bytes = b"",
        *,
        headers: Headers = None,
        timeout: float | None = None,
        checked: bool = False,
    ) -> ThreadReply:
        """From a thread other than the loop's: send a request, return its reply to wait on.

        Alone in flight, the request is written by this thread; otherwise it is queued for
        the loop thread, which sends it (with every other one queued meanwhile, in one
        write). The loop resolves the reply as it resolves any and wakes this thread;
        errors (a bad subject, no responders, a timeout, a closed connection) come out of
        :meth:`ThreadReply.wait`. ``checked=True`` skips the whitespace check of a subject
        built from validated parts, as :meth:`request_future` does.
        """
        mux = self._mux
        if mux.sid and not mux.futs and not self._cross and self._writer._sock is not None:
            # Nothing else in flight: sent from this thread, if the writer can keep the
            # order of bytes, and the loop thread is woken only by the reply. With other
            # requests out (many threads), queued for the loop instead: one wake-up of
            # it sends them all in one write, where a send per thread would each drop
            # and retake the GIL and reach the server as a packet of its own.
            reply = ThreadReply(_LockWaker())
            token = f"t{next(self._thread_tokens)}"
            try:
                if not checked:
                    check_subject(subject)
                block = None if headers is None else header_block(headers)
                frame = self._writer.frame(subject, mux.prefix + token, payload, block)
            except Exception as exc:  # refused before sending, as on the loop's path
                reply.set_exception(exc)
                return reply
            futs = mux.futs
            futs[token] = reply
            if self._writer.send_from_thread(frame):
                reply._timeout = self._conn._request_timeout if timeout is None else timeout
                reply._subject = subject
                reply._futs = futs
                reply._token = token
                return reply
            del futs[token]
        else:
            reply = ThreadReply(_thread_waker())
        self._cross.append((subject, payload, headers, timeout, checked, reply))
        if not self._cross_scheduled:
            self._cross_scheduled = True
            try:
                self._loop.call_soon_threadsafe(self._send_cross)
            except RuntimeError:  # the loop is closed
                self._cross_scheduled = False
                self._fail_cross(ConnectionClosedError("the connection is closed"))
        return reply

    def _send_cross(self) -> None:
        # cleared before the queue is emptied: a request queued after this sees the flag
        # down and schedules the next batch itself
        self._cross_scheduled = False
        queue = self._cross
        start = self._conn._start_request
        while queue:
            subject, payload, headers, timeout, checked, reply = queue.popleft()
            try:
                reply._token = start(subject, payload, headers, timeout, checked, reply)[0]
                reply._futs = self._mux.futs
            except Exception as exc:  # refused before sending: that request fails alone
                reply.set_exception(exc)

    def _fail_cross(self, exc: BaseException) -> None:
        while self._cross:
            self._cross.popleft()[-1].set_exception(exc)

    async def await_reply(
        self, token: str, fut: asyncio.Future[Msg], subject: str, timeout: float | None = None
    ) -> Msg:
        """Wait for a reply started by :meth:`request_nowait` (``timeout`` may shorten it)."""
        if timeout is not None and not fut.done():
            self._deadlines.request(token, subject, timeout)
        try:
            return await fut
        except NoRespondersError:
            raise NoRespondersError(subject) from None
        except asyncio.CancelledError:
            self._mux.futs.pop(token, None)
            raise

    def cancel_reply(self, token: str) -> None:
        """Forget a pending reply started by :meth:`request_nowait`."""
        self._mux.forget(token)

    def open_reply_stream(
        self,
        handler: Callable[[Msg], None],
        *,
        many_subjects: bool = False,
        on_close: StreamCloser | None = None,
    ) -> tuple[str, Callable[[], None]]:
        """Route every reply to a new inbox to ``handler`` (called inline from the reader).

        Returns ``(reply_subject, close)``; used for requests answered by many messages,
        such as a batch direct get. With ``many_subjects=True`` the first item is a prefix:
        replies to ``prefix + <token>`` for any single token all go to ``handler``, which
        tells them apart by ``msg.subject`` (pipelined requests that share one handler and
        no per-request future). That inbox has a subscription of its own, so its replies
        are routed by subscription id like any delivery.

        ``on_close`` is called (once, from the closing connection) if the connection
        closes while the stream is open: whoever waits on the stream stops waiting then.
        """
        if many_subjects:
            inbox = f"{self._conn.new_inbox()}."
            sub = self._subs.add(inbox + "*", None, handler)
            remove = self._mux.add_closer(on_close) if on_close is not None else None

            def close_sub() -> None:
                if remove is not None:
                    remove()
                self._subs.unsubscribe(sub)

            return inbox, close_sub
        self._conn._ensure_resp_sub()
        return self._mux.open_stream(handler, on_close)
