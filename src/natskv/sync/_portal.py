"""The private event-loop thread behind one sync connection.

Why a thread, and not a second, blocking implementation: natskv's I/O core is an
``asyncio.Protocol`` whose ``data_received`` feeds the parser and resolves replies, and
watchers, heartbeats, flow control and reconnect all run as loop callbacks. A loop thread
runs that same code for sync callers, so both APIs share one implementation, one set of
tests and one behaviour, and the sync API works where an event loop already runs in the
calling thread (a notebook, a thread of an asyncio application) because it never touches
that loop.

A call hands its coroutine to the loop thread and blocks on a plain lock until the task is
done; no ``concurrent.futures.Future`` chain is built, which halves the cost of a hop
against ``asyncio.run_coroutine_threadsafe``. Many threads may call at once: the loop
thread interleaves their operations on the one connection, as it would for many tasks.
"""

from __future__ import annotations

import asyncio
import enum
import threading
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from contextlib import suppress
from typing import TYPE_CHECKING, Any, Final, Generic, Literal, Protocol, TypeVar

from natskv.errors import ConnectionClosedError, MaxPayloadError, NoRespondersError

if TYPE_CHECKING:
    from natskv.client import Connection
    from natskv.kv import RequestPlan

__all__ = ["FALLBACK", "Portal", "SyncIterator"]

T = TypeVar("T")


class _Fallback(enum.Enum):
    TOKEN = 0


#: what :meth:`Portal.request` returns when the general path must run the call instead
FALLBACK: Final = _Fallback.TOKEN


class _Wrapped(Protocol):
    _async: Any


def _unwrap(obj: _Wrapped) -> Any:
    """The async object behind a sync one (``KVContext(js)`` takes the sync ``JetStream``)."""
    return obj._async


class Portal:
    """One event loop, running forever on a daemon thread of its own, until :meth:`stop`."""

    __slots__ = ("_closed", "_loop", "_thread", "_thread_id")

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._closed = False
        ready = threading.Event()
        self._thread = threading.Thread(
            target=self._serve, args=(ready,), name="natskv-sync", daemon=True
        )
        self._thread.start()
        ready.wait()
        self._thread_id = self._thread.ident

    def _serve(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.call_soon(ready.set)
        try:
            self._loop.run_forever()
        finally:
            with suppress(Exception):
                self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            self._loop.close()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    def _check(self) -> None:
        if self._closed:
            raise ConnectionClosedError("the sync connection is closed")
        if threading.get_ident() == self._thread_id:
            raise RuntimeError(
                "the sync API was called from its own event-loop thread (from a callback?): "
                "use the async API there"
            )

    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the loop thread and return its result (or raise its error)."""
        try:
            self._check()
        except BaseException:
            coro.close()
            raise
        done = threading.Lock()
        done.acquire()
        box: list[asyncio.Task[T]] = []

        def start() -> None:
            task = self._loop.create_task(coro)
            box.append(task)
            task.add_done_callback(lambda _: done.release())

        self._loop.call_soon_threadsafe(start)
        try:
            done.acquire()
        except BaseException:  # KeyboardInterrupt: cancel the operation, then give up on it
            self._loop.call_soon_threadsafe(lambda: box and box[0].cancel())
            raise
        try:
            return box[0].result()
        except StopAsyncIteration:
            raise StopIteration from None

    def request(self, nc: Connection, plan: RequestPlan[T]) -> T | Literal[_Fallback.TOKEN]:
        """One request made from this thread, its reply finished here: the call's result.

        The hot path of the sync key operations: the request is written by the calling
        thread when the socket allows (else the loop sends it with others), and its reply
        wakes this thread directly. :data:`FALLBACK` when nobody answered (a stream leader
        being elected) or the payload is over the server's limit: the caller then runs the
        operation on the loop, which retries the one and reports the other as KV errors do.
        """
        if self._closed:
            raise ConnectionClosedError("the sync connection is closed")
        reply = nc.lowlevel.request_threadsafe(
            plan.subject, plan.payload, headers=plan.headers, timeout=plan.timeout, checked=True
        )
        try:
            msg = reply.wait()
        except (NoRespondersError, MaxPayloadError):
            return FALLBACK
        return plan.finish(msg)

    def run(self, fn: Callable[[], T]) -> T:
        """Call ``fn`` on the loop thread (where the async objects live) and return its result."""
        self._check()
        done = threading.Lock()
        done.acquire()
        result: list[Any] = []

        def step() -> None:
            try:
                result.append((True, fn()))
            except BaseException as exc:
                result.append((False, exc))
            finally:
                done.release()

        self._loop.call_soon_threadsafe(step)
        done.acquire()
        ok, value = result[0]
        if not ok:
            raise value
        return value  # type: ignore[no-any-return]

    def next(self, ait: AsyncIterator[T]) -> T:
        """The next item of an async iterator, as ``next()`` would give it."""
        return self.call(ait.__anext__())  # type: ignore[arg-type]

    def iterate(self, make: Callable[[], AsyncIterator[T]]) -> SyncIterator[T]:
        return SyncIterator(self, self.run(make))

    def release(self, obj: Any, method: str) -> None:
        """From any thread, without waiting: have ``obj.<method>()`` run on the loop thread.

        For sync objects dropped without being closed (a ``for`` loop left by ``break``):
        the server resources they hold are freed promptly, and the async object is
        dropped on the loop thread it belongs to.
        """
        if self._closed or self._loop.is_closed():
            return

        def go() -> None:
            result = getattr(obj, method)()
            if asyncio.iscoroutine(result):
                task = self._loop.create_task(result)
                task.add_done_callback(_consume)

        with suppress(RuntimeError):  # the loop is closing
            self._loop.call_soon_threadsafe(go)

    def stop(self) -> None:
        """Stop the loop and its thread (after the connection is closed)."""
        if self._closed:
            return
        self._closed = True
        if threading.get_ident() == self._thread_id:
            self._loop.call_soon(self._loop.stop)
            return
        with suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)


def _consume(task: asyncio.Task[Any]) -> None:
    if not task.cancelled():
        task.exception()  # retrieved: a release that failed has nothing left to report to


class SyncIterator(Generic[T]):
    """A sync iterator over an async one on the loop thread; closing it closes that one.

    Left early (``break``, an exception, or just dropped), it closes the async iterator, so
    the consumer or subscription behind it is released at once.
    """

    __slots__ = ("_ait", "_done", "_portal")

    def __init__(self, portal: Portal, ait: AsyncIterator[T]) -> None:
        self._portal = portal
        self._ait = ait
        self._done = False

    def __iter__(self) -> Iterator[T]:
        return self

    def __next__(self) -> T:
        if self._done:
            raise StopIteration
        try:
            return self._portal.next(self._ait)
        except BaseException:
            self._done = True
            raise

    def close(self) -> None:
        """Stop iterating and release what the iteration holds on the server."""
        if self._done:
            return
        self._done = True
        aclose = getattr(self._ait, "aclose", None)
        if aclose is not None:
            self._portal.call(aclose())

    def __enter__(self) -> SyncIterator[T]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __del__(self) -> None:
        if not getattr(self, "_done", True) and hasattr(self._ait, "aclose"):
            self._portal.release(self._ait, "aclose")
