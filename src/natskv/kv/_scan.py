"""Finite scans of a bucket (keys, history, the bulk reads' fallback) and what watching shares.

A scan reads the initial snapshot of an ordered consumer and ends where the snapshot ends
(see :mod:`natskv.jetstream._ordered` for where that is: expired values, a consumer
recreated in the middle and markers are all accounted for). It is built from the JetStream
context, a frozen :class:`~natskv.kv._bucket.Bucket` and a decode function, never from the
store.

Releasing: a scan's server-side consumer is created on its first step and deleted at its
end, by :meth:`KVScan.aclose` (or ``async with``), or as soon as the scan is dropped before
its end (``break`` out of ``async for``, an exception, a dropped reference): a finalizer
removes the subscription and sends the consumer's deletion at once, so nothing waits for
the garbage collector's asynchronous-generator hooks, and nothing is left if the event loop
is closing.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable
from typing import Any, Generic, TypeVar

from natskv.client import Msg
from natskv.errors import InvalidConfigError, StreamNotFoundError
from natskv.jetstream import Delivered, JetStream, OrderedConsumer
from natskv.kv._bucket import Bucket, Decoder, decoder_for
from natskv.kv._codecs import Codec, CodecRegistry
from natskv.kv._entry import KVEntry, KVOperation
from natskv.kv._errors import kv_error
from natskv.kv._headers import KV_OPERATION_B, MARKER_REASON_B
from natskv.kv._mapping import operation_from_headers, validate_key_filter

__all__ = [
    "EntryMaker",
    "KVScan",
    "iterate_entries",
    "key_filters",
    "list_keys",
    "scan_keys",
    "value_decoder",
]

T = TypeVar("T")
X = TypeVar("X")
_PUT = KVOperation.PUT


def _overlap(a: list[str], b: list[str]) -> bool:
    """Whether two token lists (with ``*`` and a final ``>``) can match the same subject."""
    for x, y in zip(a, b, strict=False):
        if x == ">" or y == ">":
            return True  # both have a token here, and ">" matches one or more
        if x != y and x != "*" and y != "*":
            return False
    return len(a) == len(b)


def key_filters(bucket: Bucket, keys: str | Iterable[str]) -> list[str]:
    """The consumer filter subjects of key filters: validated, disjoint, prefixed."""
    items = [keys] if isinstance(keys, str) else list(keys)
    if not items:
        raise InvalidConfigError("watch needs at least one key or filter")
    checked = [validate_key_filter(k, bucket.max_key) for k in items]
    tokens = [f.split(".") for f in checked]
    for i in range(len(tokens)):
        for j in range(i + 1, len(tokens)):
            if _overlap(tokens[i], tokens[j]):
                raise InvalidConfigError(
                    f"key filters {checked[i]!r} and {checked[j]!r} overlap: "
                    "the server needs filters that match disjoint keys"
                )
    prefix = bucket.read_prefix
    return [prefix + f for f in checked]


def _is_put(msg: Msg) -> bool:
    """Whether a message whose headers may name an operation is a value after all."""
    return operation_from_headers(msg.headers) is _PUT


class EntryMaker:
    """A delivered message as a :class:`KVEntry` of one bucket (the per-message hot path).

    ``decode`` turns a stored value into the wanted type; ``None`` keeps the bytes as they
    are. Markers are never decoded; with ``meta_only`` nothing is.
    """

    __slots__ = ("bucket", "decode", "meta_only", "plen", "raw_values")

    def __init__(self, bucket: Bucket, decode: Decoder | None, meta_only: bool) -> None:
        self.bucket = bucket.name
        self.plen = bucket.read_prefix_len
        self.decode: Decoder = decode if decode is not None else _raw
        self.raw_values = decode is None and not meta_only
        self.meta_only = meta_only

    def __call__(self, item: Delivered) -> KVEntry[Any]:
        msg, sseq, ts, pending = item
        key = msg.subject[self.plen :]
        raw = msg.raw_headers
        data = msg.data
        if raw is None or (KV_OPERATION_B not in raw and MARKER_REASON_B not in raw):
            # a put (the common case: no header names an operation)
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


def _raw(data: bytes, key: str, revision: int) -> bytes:
    return data


def value_decoder(
    codecs: CodecRegistry, type_: Any, bucket: str, codec: Codec | None = None
) -> Decoder | None:
    """How entries of ``bucket`` get values of ``type_`` (``None``: the stored bytes as they
    are); ``codec`` goes in front of the registry's own."""
    if type_ is bytes:
        return None
    return decoder_for(codecs if codec is None else codecs.with_codec(codec), type_, bucket)


class KVScan(Generic[X]):
    """What the bucket held when the scan started, as an async iterator.

    Memory stays bounded: items come as the flow-controlled consumer delivers them. Its
    server-side consumer is created on the first step and deleted at the end, by
    :meth:`aclose` (or ``async with``), or as soon as the scan is dropped unfinished.
    Raises :class:`~natskv.BucketNotFoundError` when the bucket does not exist (or is
    deleted during the scan).
    """

    def __init__(
        self,
        js: JetStream,
        bucket: Bucket,
        filters: list[str],
        *,
        deliver_policy: str,
        headers_only: bool,
    ) -> None:
        self._js = js
        self._bucket = bucket
        self._filters = filters
        self._policy = deliver_policy
        self._headers_only = headers_only
        self._consumer: OrderedConsumer | None = None
        self._done = False
        self._finalizer: weakref.finalize[Any, Any] | None = None
        # what the last batch gave and is not yielded yet (from _index on)
        self._pending: list[Any] = []
        self._index = 0

    def __aiter__(self) -> KVScan[X]:
        return self

    async def __anext__(self) -> X:
        raise NotImplementedError

    async def __aenter__(self) -> KVScan[X]:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """End the scan now and delete its consumer (nothing more is yielded)."""
        self._done = True
        self._pending, self._index = [], 0
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            if self._finalizer is not None:
                self._finalizer.detach()
            await consumer.stop()

    async def _next_batch(self) -> list[Delivered] | None:
        """The next batch of the snapshot, or ``None`` at its end (then the scan is closed)."""
        consumer = self._consumer
        if consumer is None:
            if self._done:
                return None
            consumer = await self._start()
        while not consumer.caught_up:
            try:
                batch = await consumer.next_batch()
            except StreamNotFoundError as exc:
                raise kv_error(exc, self._bucket.name) from exc
            if batch:
                return batch  # the last one when consumer.caught_up is now true
        await self.aclose()
        return None

    async def _start(self) -> OrderedConsumer:
        consumer = OrderedConsumer(
            self._js,
            self._bucket.stream,
            filter_subjects=self._filters,
            deliver_policy=self._policy,
            headers_only=self._headers_only,
        )
        try:
            await consumer.start()
        except StreamNotFoundError as exc:
            raise kv_error(exc, self._bucket.name) from exc
        self._consumer = consumer
        # Holds the consumer, not the scan: the scan can be collected, and then the
        # consumer goes too.
        self._finalizer = weakref.finalize(self, consumer.stop_nowait)
        self._finalizer.atexit = False
        return consumer


class _EntryScan(KVScan[KVEntry[T]]):
    """Entries, each made (and decoded) when it is reached."""

    def __init__(
        self,
        js: JetStream,
        bucket: Bucket,
        filters: list[str],
        decode: Decoder | None,
        *,
        deliver_policy: str,
        headers_only: bool,
    ) -> None:
        super().__init__(
            js, bucket, filters, deliver_policy=deliver_policy, headers_only=headers_only
        )
        self._make = EntryMaker(bucket, decode, headers_only)

    async def __anext__(self) -> KVEntry[T]:
        batch, index = self._pending, self._index
        if index >= len(batch):
            got = await self._next_batch()
            if got is None:
                raise StopAsyncIteration
            self._pending = batch = got
            index = 0
        self._index = index + 1
        return self._make(batch[index])


class _KeyScan(KVScan[str]):
    """The keys with a value: headers only, latest per key, no entry objects built."""

    def __init__(self, js: JetStream, bucket: Bucket, filters: list[str]) -> None:
        super().__init__(js, bucket, filters, deliver_policy="last_per_subject", headers_only=True)

    def _keys_of(self, batch: list[Delivered]) -> list[str]:
        plen = self._bucket.read_prefix_len
        # A marker names its operation in a header; a plain put's headers (if any) are
        # parsed only when they could.
        return [
            item[0].subject[plen:]
            for item in batch
            if (raw := item[0].raw_headers) is None
            or (KV_OPERATION_B not in raw and MARKER_REASON_B not in raw)
            or _is_put(item[0])
        ]

    async def __anext__(self) -> str:
        keys, index = self._pending, self._index
        while index >= len(keys):
            got = await self._next_batch()
            if got is None:
                raise StopAsyncIteration
            self._pending = keys = self._keys_of(got)
            index = 0
        self._index = index + 1
        key: str = keys[index]
        return key

    async def all(self) -> list[str]:
        """Every remaining key, as one list (no per-key step through the iterator)."""
        out: list[str] = self._pending[self._index :]
        self._pending, self._index = [], 0
        while (got := await self._next_batch()) is not None:
            out += self._keys_of(got)
        return out


def iterate_entries(
    js: JetStream,
    bucket: Bucket,
    keys: str | Iterable[str],
    decode: Decoder | None,
    *,
    deliver_policy: str,
    headers_only: bool = False,
) -> KVScan[KVEntry[Any]]:
    """Every stored message matching ``keys`` when the scan starts, as entries.

    ``deliver_policy`` is ``"all"`` (every kept revision) or ``"last_per_subject"``.
    """
    filters = key_filters(bucket, keys)
    return _EntryScan(
        js, bucket, filters, decode, deliver_policy=deliver_policy, headers_only=headers_only
    )


def scan_keys(js: JetStream, bucket: Bucket, filters: Iterable[str]) -> KVScan[str]:
    """The keys with a value (markers left out) matching ``filters``."""
    return _KeyScan(js, bucket, key_filters(bucket, filters))


async def list_keys(js: JetStream, bucket: Bucket, filters: Iterable[str]) -> list[str]:
    """:func:`scan_keys` as one list."""
    scan = _KeyScan(js, bucket, key_filters(bucket, filters))
    async with scan:
        return await scan.all()
