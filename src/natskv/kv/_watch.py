"""Watching a bucket, and the finite scans (keys, history) built on the same consumer.

"Caught up" is decided from the consumer's backlog when it was created (``num_pending``,
the number of stored messages the snapshot will deliver), never from the per-message
pending counts, which can reach zero before the snapshot is complete. An empty snapshot
and ``updates_only`` are caught up at once; deleted entries count toward it even when
``ignore_deletes`` hides them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Iterable
from contextlib import aclosing
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from natskv.client import Msg
from natskv.errors import InvalidConfigError
from natskv.jetstream import Delivered, OrderedConsumer
from natskv.kv._entry import KVEntry, KVOperation
from natskv.kv._mapping import operation_from_headers, validate_key_filter

if TYPE_CHECKING:
    from types import TracebackType

    from natskv.kv._store import KVStore

__all__ = ["KVWatcher", "iterate_entries"]

T = TypeVar("T")
_PUT = KVOperation.PUT


def _overlap(a: list[str], b: list[str]) -> bool:
    """Whether two token lists (with ``*`` and a final ``>``) can match the same subject."""
    for x, y in zip(a, b, strict=False):
        if x == ">" or y == ">":
            return True  # both have a token here, and ">" matches one or more
        if x != y and x != "*" and y != "*":
            return False
    return len(a) == len(b)


def _filters(store: KVStore, keys: str | Iterable[str]) -> list[str]:
    items = [keys] if isinstance(keys, str) else list(keys)
    if not items:
        raise InvalidConfigError("watch needs at least one key or filter")
    checked = [validate_key_filter(k) for k in items]
    tokens = [f.split(".") for f in checked]
    for i in range(len(tokens)):
        for j in range(i + 1, len(tokens)):
            if _overlap(tokens[i], tokens[j]):
                raise InvalidConfigError(
                    f"key filters {checked[i]!r} and {checked[j]!r} overlap: "
                    "the server needs filters that match disjoint keys"
                )
    prefix = store._read_prefix
    return [prefix + f for f in checked]


def _operation(msg: Msg) -> KVOperation:
    """The entry's operation; headers are parsed only when they can name one."""
    raw = msg.raw_headers
    if raw is None or (b"KV-Operation" not in raw and b"Nats-Marker-Reason" not in raw):
        return _PUT
    return operation_from_headers(msg.headers)


class _EntryMaker:
    """Turns delivered messages into entries (the per-message hot path)."""

    __slots__ = ("bucket", "decode", "meta_only", "plen", "raw_values")

    def __init__(self, store: KVStore, type_: Any, meta_only: bool) -> None:
        self.bucket = store.bucket
        self.plen = store._read_prefix_len
        self.decode = store._decode_fn(type_)
        self.raw_values = type_ is bytes and not meta_only
        self.meta_only = meta_only

    def __call__(self, item: Delivered) -> KVEntry[Any]:
        msg, sseq, ts, pending = item
        key = msg.subject[self.plen :]
        raw = msg.raw_headers
        data = msg.data
        if raw is None or (b"KV-Operation" not in raw and b"Nats-Marker-Reason" not in raw):
            # a put (_operation inlined)
            if self.raw_values:
                value: Any = data
            else:
                value = None if self.meta_only else self.decode(data, key, sseq)
            return KVEntry(self.bucket, key, value, sseq, ts, pending, _PUT, data)
        op = operation_from_headers(msg.headers)
        value = None
        if op is _PUT and not self.meta_only:
            value = self.decode(data, key, sseq)
        return KVEntry(self.bucket, key, value, sseq, ts, pending, op, data)


class KVWatcher(Generic[T]):
    """A live view of a bucket's keys: the current values, then every change.

    ``async for entry in watcher`` yields :class:`KVEntry` objects; :attr:`caught_up`
    turns true (and :meth:`wait_caught_up` returns) once the initial values are delivered.
    The watcher survives reconnects and server restarts, resuming after the last revision
    it delivered.
    """

    def __init__(
        self,
        store: KVStore,
        keys: str | Iterable[str],
        type_: Any,
        *,
        include_history: bool = False,
        ignore_deletes: bool = False,
        meta_only: bool = False,
        updates_only: bool = False,
        resume_from_revision: int | None = None,
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
        self._store = store
        self._filters = _filters(store, keys)
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
        self._updates_only = updates_only
        self._ignore_deletes = ignore_deletes
        self._meta_only = meta_only
        self._make = _EntryMaker(store, type_, meta_only)
        self._consumer: OrderedConsumer | None = None
        self._batch: list[Delivered] = []
        self._index = 0
        self._target = 0
        self._received = 0
        self._caught_up = asyncio.Event()
        self._is_caught_up = False  # _caught_up.is_set(), without a call on the hot path
        self._started = False
        self._stopped = False
        self._start_lock = asyncio.Lock()

    # ------------------------------------------------------------------ life cycle

    async def start(self) -> KVWatcher[T]:
        """Create the consumer (done automatically by iteration and ``async with``)."""
        async with self._start_lock:
            if self._started:
                return self
            consumer = OrderedConsumer(
                self._store._js,
                self._store.stream,
                filter_subjects=self._filters,
                deliver_policy=self._policy,
                opt_start_seq=self._start,
                headers_only=self._meta_only,
            )
            info = await consumer.start()
            self._consumer = consumer
            self._started = True
            self._target = 0 if self._updates_only else info.num_pending
            if self._target == 0:
                self._set_caught_up()
        return self

    async def stop(self) -> None:
        """Stop watching and delete the server-side consumer."""
        self._stopped = True
        if self._consumer is not None:
            await self._consumer.stop()

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
        """True once every value that existed when the watch started was delivered."""
        return self._is_caught_up

    async def wait_caught_up(self, timeout: float | None = None) -> None:
        """Wait until :attr:`caught_up` (entries must still be read for it to advance)."""
        if timeout is None:
            await self._caught_up.wait()
        else:
            await asyncio.wait_for(self._caught_up.wait(), timeout)

    @property
    def initial_count(self) -> int:
        """How many stored messages the initial snapshot holds."""
        return self._target

    @property
    def last_revision(self) -> int:
        """The revision of the last entry delivered to the consumer (0 before any)."""
        return self._consumer.last_stream_seq if self._consumer else 0

    # ------------------------------------------------------------------ iteration

    def __aiter__(self) -> KVWatcher[T]:
        return self

    async def __anext__(self) -> KVEntry[T]:
        batch, index = self._batch, self._index
        if index < len(batch) and not self._ignore_deletes:
            # the hot path: an entry of the batch in hand, no further awaits
            self._index = index + 1
            entry: KVEntry[T] = self._make(batch[index])
            if not self._is_caught_up:
                self._received += 1
                if self._received >= self._target:
                    self._set_caught_up()
            return entry
        found = await self._next_entry(until_caught_up=False)
        assert found is not None
        return found

    def _count_initial(self) -> None:
        self._received += 1
        if self._received >= self._target:
            self._set_caught_up()

    def _set_caught_up(self) -> None:
        self._is_caught_up = True
        self._caught_up.set()

    async def _next_entry(self, *, until_caught_up: bool) -> KVEntry[T] | None:
        # until_caught_up: return None instead of waiting for live changes when the
        # snapshot ends in entries that ignore_deletes hides.
        while True:
            batch = self._batch
            if self._index >= len(batch):
                if self._stopped:
                    raise StopAsyncIteration
                if not self._started:
                    await self.start()
                consumer = self._consumer
                assert consumer is not None
                try:
                    batch = await consumer.next_batch()
                except StopAsyncIteration:
                    self._stopped = True
                    raise
                self._batch = batch
                self._index = 0
            item = batch[self._index]
            self._index += 1
            entry: KVEntry[T] = self._make(item)
            if not self._is_caught_up:
                self._count_initial()
            if self._ignore_deletes and entry.operation is not _PUT:
                if until_caught_up and self._is_caught_up:
                    return None
                continue
            return entry

    async def next(self, timeout: float | None = None) -> KVEntry[T]:
        """The next entry, waiting at most ``timeout`` seconds (``asyncio.TimeoutError``)."""
        if timeout is None:
            return await self.__anext__()
        return await asyncio.wait_for(self.__anext__(), timeout)

    async def initial_values(self) -> list[KVEntry[T]]:
        """Read and return the initial snapshot (empty if nothing matched)."""
        await self.start()
        out: list[KVEntry[T]] = []
        while not self.caught_up:
            entry = await self._next_entry(until_caught_up=True)
            if entry is None:
                break
            out.append(entry)
        return out


async def iterate_batches(
    store: KVStore,
    keys: Iterable[str],
    *,
    deliver_policy: str,
    headers_only: bool = False,
) -> AsyncGenerator[list[Delivered], None]:
    """A finite scan: every matching stored message at the start, in delivered batches.

    Memory stays bounded: batches come as the flow-controlled consumer delivers them.
    """
    consumer = OrderedConsumer(
        store._js,
        store.stream,
        filter_subjects=_filters(store, keys),
        deliver_policy=deliver_policy,
        headers_only=headers_only,
    )
    info = await consumer.start()
    remaining = info.num_pending
    try:
        while remaining > 0:
            batch = await consumer.next_batch()
            if len(batch) > remaining:
                del batch[remaining:]
            remaining -= len(batch)
            yield batch
    finally:
        await consumer.stop()


async def iterate_entries(
    store: KVStore,
    keys: Iterable[str],
    type_: Any,
    *,
    deliver_policy: str,
    headers_only: bool = False,
) -> AsyncGenerator[KVEntry[Any], None]:
    """:func:`iterate_batches`, as entries."""
    make = _EntryMaker(store, type_, headers_only)
    async with aclosing(
        iterate_batches(store, keys, deliver_policy=deliver_policy, headers_only=headers_only)
    ) as batches:
        async for batch in batches:
            for item in batch:
                yield make(item)


async def iterate_keys(store: KVStore, filters: Iterable[str]) -> AsyncGenerator[str, None]:
    """The keys with a value: headers only, latest per key, no entry objects built."""
    async with aclosing(_key_batches(store, filters)) as batches:
        async for keys in batches:
            for key in keys:
                yield key


async def list_keys(store: KVStore, filters: Iterable[str]) -> list[str]:
    """:func:`iterate_keys` as one list (no per-key step through a generator)."""
    out: list[str] = []
    async with aclosing(_key_batches(store, filters)) as batches:
        async for keys in batches:
            out += keys
    return out


async def _key_batches(store: KVStore, filters: Iterable[str]) -> AsyncGenerator[list[str], None]:
    plen = store._read_prefix_len
    async with aclosing(
        iterate_batches(store, filters, deliver_policy="last_per_subject", headers_only=True)
    ) as batches:
        async for batch in batches:
            # A marker names its operation in a header; a plain put's headers (if any)
            # are parsed only when they could.
            yield [
                item[0].subject[plen:]
                for item in batch
                if (raw := item[0].raw_headers) is None
                or (b"KV-Operation" not in raw and b"Nats-Marker-Reason" not in raw)
                or _operation(item[0]) is _PUT
            ]
