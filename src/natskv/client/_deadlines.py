"""Every timeout of a connection, on one timer.

A timer per request (``call_later`` + ``cancel``) costs more than the request itself at
high rates, so deadlines fall into 50 ms slots and one timer handle, armed for the
earliest slot, sweeps them. Arming a deadline appends a tuple to a list; a reply that
arrives in time pops its future, and the sweep skips what is gone. Requests, ``flush``,
``next_msg``, the handshake and closing all wait this way, so timeouts are measured
alike everywhere (rounded up to the next 50 ms).

Two kinds of entries share the slots: a request's (its reply token, subject and timeout:
the future lives in the request table, so an answered request holds no memory here
beyond a small tuple), and a watched future's (an integer key into this object's own
table, removed as soon as the wait ends).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from natskv.errors import TimeoutError

if TYPE_CHECKING:
    from natskv.client._requests import ReplyWaiter

__all__ = ["TICK", "Deadlines"]

T = TypeVar("T")

TICK = 0.05  # the resolution of every timeout, in seconds
_PER_TICK = 1 / TICK

_Entry = tuple[str | int, str, float]


class Deadlines:
    """The deadline slots of one connection; ``replies`` is its table of pending requests."""

    __slots__ = (
        "_handle",
        "_last_bucket",
        "_last_slot",
        "_loop",
        "_next_key",
        "_now",
        "_replies",
        "_slots",
        "_sweep_slot",
        "_waits",
    )

    def __init__(self, loop: asyncio.AbstractEventLoop, replies: dict[str, ReplyWaiter]) -> None:
        self._loop = loop
        # Arming reads the clock once: asyncio's loop.time() is a Python method around
        # time.monotonic(), so call that directly when it is the same clock (uvloop's
        # loop.time() is already native).
        self._now: Callable[[], float] = (
            time.monotonic if type(loop).time is asyncio.BaseEventLoop.time else loop.time
        )
        self._replies = replies
        self._waits: dict[int, asyncio.Future[Any]] = {}
        self._next_key = 0
        self._slots: dict[int, list[_Entry]] = {}
        self._handle: asyncio.TimerHandle | None = None
        self._sweep_slot = 0
        # the slot armed last and its list: most deadlines land in the slot of the one before
        self._last_slot = 0
        self._last_bucket: list[_Entry] = []

    def request(self, token: str, subject: str, timeout: float) -> None:
        """Fail the pending request ``token`` with a TimeoutError after ``timeout``."""
        slot = int((self._now() + timeout) * _PER_TICK) + 1
        if slot == self._last_slot:
            self._last_bucket.append((token, subject, timeout))
        else:
            self._arm(slot, (token, subject, timeout))

    def watch(self, fut: asyncio.Future[Any], timeout: float, what: str) -> int:
        """Fail ``fut`` with ``TimeoutError(f"{what} within {timeout}s")`` unless it is done
        by then or :meth:`unwatch` was called with the returned key."""
        self._next_key += 1
        key = self._next_key
        self._waits[key] = fut
        slot = int((self._now() + timeout) * _PER_TICK) + 1
        if slot == self._last_slot:
            self._last_bucket.append((key, what, timeout))
        else:
            self._arm(slot, (key, what, timeout))
        return key

    def unwatch(self, key: int) -> None:
        """The wait of ``key`` is over: its deadline no longer applies."""
        self._waits.pop(key, None)

    async def wait(self, fut: asyncio.Future[T], timeout: float | None, what: str) -> T:
        """Await ``fut``; after ``timeout`` (None: no limit) it fails with a TimeoutError."""
        if timeout is None:
            return await fut
        key = self.watch(fut, timeout, what)
        try:
            return await fut
        finally:
            self._waits.pop(key, None)

    async def run(self, aw: Awaitable[T], timeout: float, what: str) -> T:
        """Run ``aw``; after ``timeout`` cancel it and raise :class:`natskv.TimeoutError`."""
        task = asyncio.ensure_future(aw)
        timer: asyncio.Future[None] = self._loop.create_future()
        key = self.watch(timer, timeout, what)
        try:
            await asyncio.wait((task, timer), return_when=asyncio.FIRST_COMPLETED)
        except BaseException:
            task.cancel()  # cancelled from outside: the work stops too
            raise
        finally:
            self._waits.pop(key, None)
            if not timer.done():
                timer.cancel()
        if task.done():
            if not timer.cancelled():
                timer.exception()  # both ended in the same turn: the result wins
            return task.result()
        task.cancel()
        await asyncio.wait((task,))  # let it clean up (close a half-open socket)
        if not task.cancelled():
            task.exception()  # too late either way: the timeout is what counts
        exc = timer.exception()
        assert exc is not None
        raise exc

    def clear(self) -> None:
        """Drop every deadline (the connection is closing and fails its waiters itself)."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        self._slots.clear()
        self._waits.clear()
        self._sweep_slot = 0
        self._last_slot = 0
        self._last_bucket = []

    def _arm(self, slot: int, entry: _Entry) -> None:
        # A slot is never armed once swept: it is later than the time it was computed at,
        # and a sweep takes only the slots that have passed.
        self._last_slot = slot
        bucket = self._slots.get(slot)
        if bucket is None:
            self._slots[slot] = bucket = []
            if self._sweep_slot == 0 or slot < self._sweep_slot:
                if self._handle is not None:
                    self._handle.cancel()
                self._sweep_slot = slot
                self._handle = self._loop.call_at(slot * TICK, self._sweep)
        self._last_bucket = bucket
        bucket.append(entry)

    def _sweep(self) -> None:
        self._handle = None
        self._sweep_slot = 0
        slots = self._slots
        now = int(self._now() * _PER_TICK)
        replies = self._replies
        waits = self._waits
        for slot in sorted(s for s in slots if s <= now):
            for key, what, timeout in slots.pop(slot):
                if isinstance(key, str):
                    fut = replies.pop(key, None)
                    if fut is not None and not fut.done():
                        fut.set_exception(TimeoutError(f"no reply to {what!r} within {timeout:g}s"))
                else:
                    fut = waits.pop(key, None)
                    if fut is not None and not fut.done():
                        fut.set_exception(TimeoutError(f"{what} within {timeout:g}s"))
        if slots:
            slot = min(slots)
            self._sweep_slot = slot
            self._handle = self._loop.call_at(slot * TICK, self._sweep)
