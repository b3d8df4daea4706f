"""``KVStore``: one bucket's keys.

Writes are publishes to ``$KV.<bucket>.<key>`` awaited for their acknowledgement (the
revision); reads are Direct Gets answered by any replica (or, with ``consistent=True``, a
``STREAM.MSG.GET`` answered by the stream leader). Keys are validated and values encoded
before anything is sent.

The class is put together from parts by job: the writes (``_store_writes``), the reads,
watchers and scans (``_store_reads``), on the state and steps they share (``_store_base``,
which says why they are base classes). Here: what the class is, the bulk operations, the
compare-and-set helpers built on reads and writes, the non-throwing ``try_*`` forms and
the bucket's status.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Awaitable, Callable, Iterable
from datetime import timedelta
from typing import Any, TypeVar, overload

from natskv.errors import (
    KeyDeletedError,
    KeyExistsError,
    KeyNotFoundError,
    KeyValueError,
    WrongRevisionError,
)
from natskv.jetstream import JetStream
from natskv.kv._bulk import get_many, purge_deletes
from natskv.kv._codecs import Codec, CodecRegistry
from natskv.kv._entry import KVEntry
from natskv.kv._errors import translate
from natskv.kv._mapping import validate_key, validate_revision
from natskv.kv._put_many import put_many
from natskv.kv._result import KVResult
from natskv.kv._scan import value_decoder
from natskv.kv._status import KVStatus
from natskv.kv._store_reads import KVStoreReads
from natskv.kv._store_writes import KVStoreWrites
from natskv.kv._sync_policy import fetch_sync_policy

__all__ = ["KVStore"]

T = TypeVar("T")


class KVStore(KVStoreWrites, KVStoreReads):
    """A Key/Value bucket. Get one from :class:`natskv.KVContext`."""

    def __repr__(self) -> str:
        return f"<KVStore bucket={self.bucket!r}>"

    @property
    def max_key_length(self) -> int:
        """The longest key this bucket takes (longer ones raise :class:`InvalidKeyError`).

        Every subject made of a key has to fit a NATS control line (4096 bytes) with the
        bucket's prefixes, a reply inbox and the sizes: about 3,700 characters for a
        short bucket name.
        """
        return self._max_key

    @property
    def codecs(self) -> CodecRegistry:
        """The codec registry this bucket encodes and decodes values with."""
        return self._codecs

    def with_codecs(self, codecs: CodecRegistry | Codec) -> KVStore:
        """This bucket with another codec registry, or with one codec in front of its own.

        The per-call ``codec=`` arguments use this; it is cheap (a shallow copy).
        """
        return self._with_codecs(codecs)

    @property
    def js(self) -> JetStream:
        """The JetStream context of this store."""
        return self._js

    # ------------------------------------------------------------------ bulk operations

    async def put_many(self, items: Iterable[tuple[str, Any]], *, window: int = 4096) -> list[int]:
        """Put many values pipelined (up to ``window`` in flight); returns their revisions.

        Every key and value is validated and encoded before the first one is sent. The
        revisions come in the order of ``items``; the first failed put (in that order)
        raises its error, and puts sent after it may have been stored.
        """
        if window < 1:
            raise ValueError("window must be at least 1")
        limit = self._max_key
        encode = self._encode
        keys: list[str] = []
        payloads: list[bytes] = []
        for key, value in items:
            validate_key(key, limit)
            keys.append(key)
            payloads.append(encode(value))
        return await put_many(
            self._js, self._bucket, keys, payloads, window=window, timeout=self._timeout
        )

    @overload
    async def get_many(
        self,
        keys: Iterable[str] | str,
        *,
        up_to_revision: int | None = ...,
        include_deleted: bool = ...,
        codec: Codec | None = ...,
    ) -> dict[str, KVEntry[bytes]]: ...
    @overload
    async def get_many(
        self,
        keys: Iterable[str] | str,
        type: type[T],
        *,
        up_to_revision: int | None = ...,
        include_deleted: bool = ...,
        codec: Codec | None = ...,
    ) -> dict[str, KVEntry[T]]: ...
    async def get_many(
        self,
        keys: Iterable[str] | str,
        type: Any = bytes,
        *,
        up_to_revision: int | None = None,
        include_deleted: bool = False,
        codec: Codec | None = None,
    ) -> dict[str, KVEntry[Any]]:
        """The latest entries of many keys (or filters) at one consistent point in time.

        Uses the server's batch Direct Get: up to 1024 keys per round trip, every page
        pinned to the same stream position (or to ``up_to_revision``: the bucket as it
        was then). Missing and deleted keys are left out unless ``include_deleted``.
        """
        return await get_many(
            self._js,
            self._bucket,
            keys,
            value_decoder(self._codecs, type, self.bucket, codec),
            up_to_revision=up_to_revision,
            include_deleted=include_deleted,
            timeout=self._timeout,
        )

    async def purge_deletes(self, older_than: timedelta | None = timedelta(minutes=30)) -> int:
        """Remove the history of deleted keys (markers older than ``older_than`` too).

        Only keys whose latest entry is a delete or purge marker are touched; a key
        written again after the scan keeps its value. Returns the number of keys purged.
        """
        return await purge_deletes(self._js, self._bucket, older_than)

    # ------------------------------------------------------------------ compare-and-set helpers

    async def revert(self, key: str, revision: int) -> int:
        """Write the value ``key`` had at ``revision`` as its newest revision (CAS-safe)."""
        old = await self.get_entry(key, revision=validate_revision(revision))
        try:
            latest = (await self._latest(key, decode=False)).revision
        except KeyNotFoundError:
            latest = 0
        return await self.update(key, old.raw, latest)

    @overload
    async def update_with(
        self,
        key: str,
        fn: Callable[[bytes | None], bytes | Awaitable[bytes]],
        *,
        retries: int = ...,
    ) -> int: ...
    @overload
    async def update_with(
        self,
        key: str,
        fn: Callable[[T | None], T | Awaitable[T]],
        type: type[T],
        *,
        retries: int = ...,
    ) -> int: ...
    async def update_with(
        self,
        key: str,
        fn: Callable[[Any], Any],
        type: Any = bytes,
        *,
        retries: int = 10,
    ) -> int:
        """Optimistic locking: ``fn(current value or None)`` -> new value, retried on conflict.

        ``fn`` may be a coroutine function. The read and the compare-and-set write repeat
        until no other writer got in between (at most ``retries`` times, then the last
        conflict is raised).
        """
        conflict: KeyValueError | None = None
        for _ in range(max(1, retries)):
            try:
                entry = await self.get_entry(key, type)
            except KeyDeletedError as exc:
                current, revision = None, exc.revision
            except KeyNotFoundError:
                current, revision = None, 0
            else:
                current, revision = entry.value, entry.revision
            new = fn(current)
            if inspect.isawaitable(new):
                new = await new
            try:
                if revision == 0:
                    return await self.create(key, new)
                return await self.update(key, new, revision)
            except (WrongRevisionError, KeyExistsError) as exc:
                conflict = exc
        assert conflict is not None
        raise conflict

    # ------------------------------------------------------------------ non-throwing forms

    @overload
    async def try_get_entry(
        self, key: str, *, revision: int | None = ...
    ) -> KVResult[KVEntry[bytes], KeyNotFoundError]: ...
    @overload
    async def try_get_entry(
        self, key: str, type: type[T], *, revision: int | None = ...
    ) -> KVResult[KVEntry[T], KeyNotFoundError]: ...
    async def try_get_entry(
        self, key: str, type: Any = bytes, *, revision: int | None = None
    ) -> KVResult[KVEntry[Any], KeyNotFoundError]:
        """:meth:`get_entry` returning a :class:`KVResult` instead of raising not-found
        (:class:`KeyDeletedError` included)."""
        try:
            return KVResult(await self.get_entry(key, type, revision=revision))
        except KeyNotFoundError as exc:
            return KVResult(error=exc)

    async def try_create(
        self, key: str, value: Any, *, ttl: timedelta | float | str | None = None
    ) -> KVResult[int, KeyExistsError]:
        """:meth:`create` returning a :class:`KVResult` instead of raising KeyExistsError."""
        try:
            return KVResult(await self.create(key, value, ttl=ttl))
        except KeyExistsError as exc:
            return KVResult(error=exc)

    async def try_update(
        self, key: str, value: Any, revision: int
    ) -> KVResult[int, WrongRevisionError]:
        """:meth:`update` returning a :class:`KVResult` instead of raising WrongRevisionError."""
        try:
            return KVResult(await self.update(key, value, revision))
        except WrongRevisionError as exc:
            return KVResult(error=exc)

    async def try_delete(
        self, key: str, *, revision: int | None = None
    ) -> KVResult[int, WrongRevisionError]:
        """:meth:`delete` returning a :class:`KVResult` instead of raising WrongRevisionError."""
        try:
            return KVResult(await self.delete(key, revision=revision))
        except WrongRevisionError as exc:
            return KVResult(error=exc)

    # ------------------------------------------------------------------ status

    async def status(self, *, monitoring_url: str | None = None) -> KVStatus:
        """The bucket's configuration and state; :class:`BucketNotFoundError` once deleted.

        ``monitoring_url`` (``http://host:8222``, the server's monitoring endpoint; an
        :class:`~natskv.EmbeddedServer`'s ``monitor_url``) lets natskv read the server's
        sync policy from ``/varz`` into :attr:`KVStatus.sync_policy`; without it, or if the
        endpoint does not answer, the policy is ``"unknown"``. The client protocol does
        not carry it.
        """
        with translate(self.bucket):
            info = await self._js.stream_info(self.stream)
        self._config = info.config
        status = KVStatus.from_stream_info(info)
        if monitoring_url is None:
            return status
        policy = await fetch_sync_policy(monitoring_url, self._timeout)
        return dataclasses.replace(status, sync_policy=policy)
