"""Watching a bucket: its current values (the initial snapshot), then every change.

Caught up
    :attr:`KVWatcher.caught_up` turns true when the reader has been handed every entry of
    the initial snapshot: for the default watch the latest revision of every matching key
    as it was when the watch started (every kept revision with ``include_history``, every
    revision from ``resume_from_revision`` on). Exactly:

    - It is decided by position, not by counting what the reader received: the server-side
      consumer numbers its deliveries, and its snapshot (``N`` messages, its ``num_pending``
      when it was created) ends at its ``N``-th delivery, or earlier where the stream's last
      sequence at that moment is passed (see :mod:`natskv.jetstream._ordered`).
    - It turns true as the last entry of the snapshot is returned (before the next step), so
      ``if watcher.caught_up`` right after that entry holds. Pending counts (``delta``) are
      not used: a clustered server can report a stale 0.
    - An empty snapshot, ``updates_only`` and a ``resume_from_revision`` beyond the last
      revision are caught up at once, before anything is read.
    - Expiry: snapshot values that expire (or are purged) before the server sends them are
      not waited for; when the tail of the snapshot is gone, caught up comes with the
      server's next idle heartbeat (at most 5 s) or the next change, whichever is first.
    - Resets: when the consumer is recreated in the middle of the snapshot (a gap, a missed
      heartbeat, a reconnect), the new consumer takes a new snapshot and skips what was
      delivered; caught up then waits for the end of the new snapshot, so a key delivered
      before the reset and written since is not mistaken for one not yet delivered.
    - ``ignore_deletes``: hidden markers count where they fall, so caught up can turn true
      with no entry to return. Readers that need that moment in one task iterate
      :meth:`KVWatcher.initial` (it ends there) or call :meth:`KVWatcher.initial_values`,
      then go on with ``async for`` over the watcher for the changes; other tasks can
      :meth:`KVWatcher.wait_caught_up` while one reads.

Releasing
    The watcher's consumer is deleted by :meth:`KVWatcher.stop` (or ``async with``), and as
    soon as the watcher is dropped unstopped: ``async for e in store.watch(): break``, an
    exception out of the loop or a cancelled reader free the watcher at once, and its
    finalizer removes the subscription and sends the consumer's deletion (see
    :meth:`~natskv.jetstream.OrderedConsumer.stop_nowait`). Leaving a loop over a watcher
    that is still referenced does not stop it: it can be read again.

Undecodable values
    ``on_decode_error`` says what a typed watcher does with a value its type cannot be
    decoded from (another client wrote ``b"not json"``): ``"raise"`` (the default) raises
    :class:`~natskv.DecodeError` from that step, which ends an ``async for``; the entry is
    consumed and the watcher stays usable, so iterating again goes on after it. ``"skip"``
    leaves the entry out and logs a warning on ``natskv.kv`` (bucket, key, revision). A
    callable is called with the :class:`~natskv.DecodeError` and the entry left out (what
    it raises reaches the reader). Markers and ``meta_only`` entries are never decoded.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import AsyncIterator, Callable, Iterable
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

from natskv.errors import (
    DecodeError,
    InvalidConfigError,
    StreamNotFoundError,
    TimeoutError,
)
from natskv.jetstream import Delivered, JetStream, OrderedConsumer
from natskv.kv._bucket import Bucket, Decoder
from natskv.kv._entry import KVEntry, KVOperation
from natskv.kv._errors import kv_error
from natskv.kv._scan import EntryMaker, key_filters

if TYPE_CHECKING:
    from types import TracebackType

__all__ = ["DecodeErrorPolicy", "KVWatcher"]

T = TypeVar("T")
_PUT = KVOperation.PUT
_log = logging.getLogger("natskv.kv")

#: What a watcher does with a value that cannot be decoded (see the module docstring).
DecodeErrorPolicy = Literal["raise", "skip"] | Callable[[DecodeError], object]


class KVWatcher(Generic[T]):
    """A live view of a bucket's keys: the current values, then every change.

    ``async for entry in watcher`` yields :class:`KVEntry` objects; :attr:`caught_up`
    turns true (and :meth:`wait_caught_up` returns) once the initial values are delivered,
    and :meth:`initial` iterates just those. The watcher survives reconnects and server
    restarts, resuming after the last revision it delivered, and releases its server-side
    consumer when stopped or dropped. Get one from :meth:`KVStore.watch`.
    """

    def __init__(
        self,
        js: JetStream,
        bucket: Bucket,
        keys: str | Iterable[str],
        decode: Decoder | None,
        *,
        include_history: bool = False,
        ignore_deletes: bool = False,
        meta_only: bool = False,
        updates_only: bool = False,
        resume_from_revision: int | None = None,
        on_decode_error: DecodeErrorPolicy = "raise",
    ) -> None:
        if updates_only and include_history:
            raise InvalidConfigError("updates_only and include_history cannot be combined")
        if resume_from_revision is not None:
            if updates_only or include_history:
                raise InvalidConfigError(
                    "resume_from_revision cannot be combined with updates_only or include_history"
                )
            if int(resume_from_revision) < 1:
                raise InvalidConfigError("resume_from_revision must be at least 1")
        if on_decode_error not in ("raise", "skip") and not callable(on_decode_error):
            raise InvalidConfigError(
                f"on_decode_error must be 'raise', 'skip' or a callable, not {on_decode_error!r}"
            )
        self._js = js
        self._bucket = bucket
        self._filters = key_filters(bucket, keys)
        if resume_from_revision is not None:
            policy, start = "by_start_sequence", int(resume_from_revision)
        elif updates_only:
            policy, start = "new", None
        elif include_history:
            policy, start = "all", None
        else:
            policy, start = "last_per_subject", None
        self._policy = policy
        self._start = start
        self._ignore_deletes = ignore_deletes
        self._meta_only = meta_only
        self._on_decode_error = on_decode_error
        # the one-step path of __anext__ serves every entry when nothing is hidden or caught
        self._plain = not ignore_deletes and on_decode_error == "raise"
        self._make = EntryMaker(bucket, decode, meta_only)
        self._consumer: OrderedConsumer | None = None
        self._batch: list[Delivered] = []
        self._index = 0
        # the index in _batch of the snapshot's last entry (-1: it is not in this batch)
        self._mark = -1
        self._caught_up = asyncio.Event()
        self._is_caught_up = False  # _caught_up.is_set(), without a call on the hot path
        self._started = False
        self._stopped = False
        self._start_lock = asyncio.Lock()
        self._finalizer: weakref.finalize[Any, Any] | None = None

    # ------------------------------------------------------------------ life cycle

    async def start(self) -> KVWatcher[T]:
        """Create the consumer (done automatically by iteration and ``async with``).

        Raises :class:`~natskv.BucketNotFoundError` when the bucket does not exist.
        """
        async with self._start_lock:
            if self._started or self._stopped:
                return self
            consumer = OrderedConsumer(
                self._js,
                self._bucket.stream,
                filter_subjects=self._filters,
                deliver_policy=self._policy,
                opt_start_seq=self._start,
                headers_only=self._meta_only,
            )
            try:
                await consumer.start()
            except StreamNotFoundError as exc:
                raise kv_error(exc, self._bucket.name) from exc
            self._consumer = consumer
            # Holds the consumer, not the watcher: a dropped watcher is collected at once,
            # and its consumer released with it.
            self._finalizer = weakref.finalize(self, consumer.stop_nowait)
            self._finalizer.atexit = False
            self._started = True
            if consumer.caught_up:
                self._set_caught_up()
        return self

    async def stop(self) -> None:
        """Stop watching and delete the server-side consumer."""
        self._stopped = True
        consumer = self._consumer
        if consumer is not None:
            if self._finalizer is not None:
                self._finalizer.detach()
            await consumer.stop()

    async def __aenter__(self) -> KVWatcher[T]:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # ------------------------------------------------------------------ state

    @property
    def caught_up(self) -> bool:
        """True once every entry of the initial snapshot was handed out (module docstring)."""
        return self._is_caught_up

    async def wait_caught_up(self, timeout: float | None = None) -> None:
        """Wait until :attr:`caught_up`; entries must still be read (by another task) for it
        to advance. Raises :class:`natskv.TimeoutError` after ``timeout`` seconds."""
        if self._is_caught_up:
            return
        if timeout is None:
            await self._caught_up.wait()
            return
        try:
            await asyncio.wait_for(self._caught_up.wait(), timeout)
        except asyncio.TimeoutError:
            raise TimeoutError(
                f"the watch of bucket {self._bucket.name!r} was not caught up within "
                f"{timeout:g}s (the initial values must be read for it to advance)"
            ) from None

    @property
    def initial_count(self) -> int:
        """How many stored messages the initial snapshot held when the watch started."""
        return self._consumer.initial_pending if self._consumer else 0

    @property
    def last_revision(self) -> int:
        """The revision of the last entry delivered to the consumer (0 before any)."""
        return self._consumer.last_stream_seq if self._consumer else 0

    def _set_caught_up(self) -> None:
        self._is_caught_up = True
        self._caught_up.set()

    # ------------------------------------------------------------------ iteration

    def __aiter__(self) -> KVWatcher[T]:
        return self

    async def __anext__(self) -> KVEntry[T]:
        batch, index = self._batch, self._index
        if index < len(batch) and self._plain:
            # the hot path: an entry of the batch in hand, no further awaits
            self._index = index + 1
            if index == self._mark:
                self._set_caught_up()
            entry: KVEntry[T] = self._make(batch[index])
            return entry
        found = await self._next_entry(None, False)
        assert found is not None
        return found

    async def next(self, timeout: float | None = None) -> KVEntry[T]:
        """The next entry, waiting at most ``timeout`` seconds (:class:`natskv.TimeoutError`).

        Raises :class:`StopAsyncIteration` once the watcher is stopped.
        """
        if timeout is None:
            return await self.__anext__()
        deadline = (asyncio.get_running_loop().time() + timeout, timeout)
        found = await self._next_entry(deadline, False)
        assert found is not None
        return found

    def initial(self) -> AsyncIterator[KVEntry[T]]:
        """The initial values as they come: an async iterator that ends when caught up.

        It ends there even when the snapshot ends in entries ``ignore_deletes`` hides, so
        one task can read the snapshot, act on its end, then read the changes::

            async with store.watch(ignore_deletes=True) as w:
                async for entry in w.initial():
                    cache[entry.key] = entry.value
                ready.set()
                async for entry in w:  # the changes
                    ...
        """
        return _Initial(self)

    async def initial_values(self) -> list[KVEntry[T]]:
        """Read and return the initial snapshot (empty if nothing matched)."""
        return [entry async for entry in self.initial()]

    async def _next_entry(
        self, deadline: tuple[float, float] | None, until_caught_up: bool
    ) -> KVEntry[T] | None:
        # deadline: (loop time, the timeout it came from); until_caught_up: return None
        # instead of waiting for a change once caught up
        while True:
            batch, index = self._batch, self._index
            if index >= len(batch):
                if until_caught_up and self._is_caught_up:
                    return None
                await self._fetch(deadline)
                continue
            self._index = index + 1
            if index == self._mark:
                self._set_caught_up()
            try:
                entry: KVEntry[T] = self._make(batch[index])
            except DecodeError as exc:
                policy = self._on_decode_error
                if policy == "raise":
                    raise
                if policy == "skip":
                    _log.warning(
                        "watch of bucket %s: left out key %s revision %d: %s",
                        exc.bucket,
                        exc.key,
                        exc.revision,
                        exc,
                    )
                elif callable(policy):
                    policy(exc)
                if until_caught_up and self._is_caught_up:
                    return None
                continue
            if self._ignore_deletes and entry.operation is not _PUT:
                if until_caught_up and self._is_caught_up:
                    return None
                continue
            return entry

    async def _fetch(self, deadline: tuple[float, float] | None) -> None:
        """Take the next batch from the consumer (starting it first if need be)."""
        if self._stopped:
            raise StopAsyncIteration
        if not self._started:
            await self.start()
            if self._stopped:
                raise StopAsyncIteration
        consumer = self._consumer
        assert consumer is not None
        timeout = None
        if deadline is not None:
            timeout = max(0.0, deadline[0] - asyncio.get_running_loop().time())
        try:
            batch = await consumer.next_batch(timeout)
        except StopAsyncIteration:
            self._stopped = True
            raise
        except StreamNotFoundError as exc:
            raise kv_error(exc, self._bucket.name) from exc
        except TimeoutError:
            asked = deadline[1] if deadline is not None else 0.0
            raise TimeoutError(
                f"nothing from the watch of bucket {self._bucket.name!r} within {asked:g}s"
            ) from None
        self._batch = batch
        self._index = 0
        self._mark = -1
        if not self._is_caught_up and consumer.caught_up:
            # this batch ends where the snapshot does
            if batch:
                self._mark = len(batch) - 1
            else:
                self._set_caught_up()


class _Initial(Generic[T]):
    """:meth:`KVWatcher.initial`: the watcher's entries up to caught up."""

    __slots__ = ("_watcher",)

    def __init__(self, watcher: KVWatcher[T]) -> None:
        self._watcher = watcher

    def __aiter__(self) -> _Initial[T]:
        return self

    async def __anext__(self) -> KVEntry[T]:
        watcher = self._watcher
        if not watcher._started:
            await watcher.start()
        if watcher._is_caught_up:
            raise StopAsyncIteration
        entry = await watcher._next_entry(None, True)
        if entry is None:
            raise StopAsyncIteration
        return entry
