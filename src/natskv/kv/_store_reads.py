"""The reads of :class:`KVStore`: one key's entry or value, watchers, and the scans of keys
and history.

A read of the latest value is a Direct Get of ``<api>.DIRECT.GET.KV_<bucket>.$KV.<bucket>.<key>``
that any replica answers (``consistent=True`` asks the stream leader with ``STREAM.MSG.GET``
instead: read-after-write); a revision is a Direct Get by sequence, checked to be of the
key. Watchers and scans are ordered consumers built from the bucket's description (see
``_store_base`` for how the parts make one class).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar, overload

from natskv.client import Msg
from natskv.errors import KeyDeletedError, KeyNotFoundError, NoRespondersError
from natskv.kv._bucket import decoder_for
from natskv.kv._codecs import Codec, decode_value
from natskv.kv._entry import KVEntry, KVOperation
from natskv.kv._headers import KV_OPERATION_B, MARKER_REASON_B
from natskv.kv._mapping import (
    NATS_SEQUENCE,
    validate_key,
    validate_revision,
)
from natskv.kv._plan import RequestPlan
from natskv.kv._replies import direct_entry
from natskv.kv._scan import KVScan, iterate_entries, scan_keys, value_decoder
from natskv.kv._scan import list_keys as _list_keys
from natskv.kv._store_base import KVStoreBase
from natskv.kv._watch import DecodeErrorPolicy, KVWatcher

__all__ = ["KVStoreReads"]

T = TypeVar("T")
D = TypeVar("D")

# get()'s default when none is given (None is a default one may give)
_NO_DEFAULT: Any = object()

# "NATS/1.0 " followed by a status code: a direct get that found nothing (404) or failed.
_STATUS_PREFIX = b"NATS/1.0 "


class KVStoreReads(KVStoreBase):
    """get_entry, get, watch, keys, list_keys and history (part of :class:`KVStore`)."""

    @overload
    async def get_entry(
        self,
        key: str,
        type: type[T],
        *,
        revision: int | None = ...,
        consistent: bool = ...,
        codec: Codec | None = ...,
    ) -> KVEntry[T]: ...
    @overload
    async def get_entry(
        self,
        key: str,
        *,
        revision: int | None = ...,
        consistent: bool = ...,
        codec: Codec | None = ...,
    ) -> KVEntry[bytes]: ...
    async def get_entry(
        self,
        key: str,
        type: Any = bytes,
        *,
        revision: int | None = None,
        consistent: bool = False,
        codec: Codec | None = None,
    ) -> KVEntry[Any]:
        """The entry of ``key`` (latest, or exactly ``revision``), its value decoded as ``type``.

        Raises :class:`KeyNotFoundError`, or :class:`KeyDeletedError` (a subclass, with the
        marker's revision) when the latest entry is a delete or purge marker.
        ``consistent=True`` reads from the stream leader (read-after-write); ``codec``
        decodes this value instead of the bucket's registry.
        """
        if codec is not None:
            return await self._with_codecs(codec).get_entry(
                key, type, revision=revision, consistent=consistent
            )
        validate_key(key, self._max_key)
        if revision is None and not consistent and self._allow_direct:
            # the hot path: one subject-appended Direct Get, no extra coroutine layers
            subject = self._direct_prefix + key
            try:
                msg = await self._nc.lowlevel.request_future(
                    subject, b"", timeout=self._timeout, checked=True
                )
            except NoRespondersError as exc:
                msg = await self._recover(exc, subject, b"", None)
            return self._latest_entry(msg, key, type)
        if revision is not None:
            entry = await self._at_revision(key, validate_revision(revision), type, consistent)
        else:
            entry = await self._latest(key, type, consistent=consistent)
        if entry.operation is not KVOperation.PUT:
            raise KeyDeletedError(key, entry.revision, entry.operation)
        return entry

    def _latest_entry(self, msg: Msg, key: str, type_: Any) -> KVEntry[Any]:
        """The reply of a Direct Get of ``key`` as :meth:`get_entry` returns it (pure)."""
        decode = None if type_ is bytes else decoder_for(self._codecs, type_, self.bucket)
        entry = direct_entry(msg, self.bucket, key, decode)
        if entry.operation is not KVOperation.PUT:
            raise KeyDeletedError(key, entry.revision, entry.operation)
        return entry

    def _plan_get_entry(
        self,
        key: str,
        type: Any = bytes,
        *,
        revision: int | None = None,
        consistent: bool = False,
        codec: Codec | None = None,
    ) -> RequestPlan[KVEntry[Any]] | None:
        """:meth:`get_entry` as one request and a pure finish, when it is one (kv._plan)."""
        if revision is not None or consistent or codec is not None or not self._allow_direct:
            return None
        validate_key(key, self._max_key)
        return RequestPlan(
            self._direct_prefix + key,
            b"",
            None,
            self._timeout,
            lambda msg: self._latest_entry(msg, key, type),
        )

    @overload
    async def get(
        self,
        key: str,
        *,
        revision: int | None = ...,
        consistent: bool = ...,
        codec: Codec | None = ...,
    ) -> bytes: ...
    @overload
    async def get(
        self,
        key: str,
        *,
        default: D,
        revision: int | None = ...,
        consistent: bool = ...,
        codec: Codec | None = ...,
    ) -> bytes | D: ...
    @overload
    async def get(
        self,
        key: str,
        type: type[T],
        *,
        revision: int | None = ...,
        consistent: bool = ...,
        codec: Codec | None = ...,
    ) -> T: ...
    @overload
    async def get(
        self,
        key: str,
        type: type[T],
        *,
        default: D,
        revision: int | None = ...,
        consistent: bool = ...,
        codec: Codec | None = ...,
    ) -> T | D: ...
    async def get(
        self,
        key: str,
        type: Any = bytes,
        *,
        default: Any = _NO_DEFAULT,
        revision: int | None = None,
        consistent: bool = False,
        codec: Codec | None = None,
    ) -> Any:
        """The value of ``key`` decoded as ``type`` (see :meth:`get_entry`).

        With ``default``, a missing or deleted key (or revision) returns it instead of
        raising :class:`KeyNotFoundError`, as ``dict.get`` and redis-py's ``get`` do.
        """
        if revision is None and not consistent and codec is None and self._allow_direct:
            # The hot path: a plain value needs no header dict, timestamp or entry object;
            # headers are parsed only for a status reply or a marker (to raise properly).
            validate_key(key, self._max_key)
            subject = self._direct_prefix + key
            try:
                msg = await self._nc.lowlevel.request_future(
                    subject, b"", timeout=self._timeout, checked=True
                )
            except NoRespondersError as exc:
                msg = await self._recover(exc, subject, b"", None)
            return self._latest_value(msg, key, type, default)
        try:
            entry = await self.get_entry(
                key, type, revision=revision, consistent=consistent, codec=codec
            )
        except KeyNotFoundError:
            if default is _NO_DEFAULT:
                raise
            return default
        return entry.value

    def _latest_value(self, msg: Msg, key: str, type_: Any, default: Any) -> Any:
        """The reply of a Direct Get of ``key`` as :meth:`get` returns it (pure). A plain
        value needs no header dict, timestamp or entry object; headers are parsed only for
        a status reply or a marker (to raise properly)."""
        raw = msg.raw_headers
        if raw is None or not (
            raw.startswith(_STATUS_PREFIX) or KV_OPERATION_B in raw or MARKER_REASON_B in raw
        ):
            data = msg.data
            if type_ is bytes:
                return data
            revision_text = msg.headers.get(NATS_SEQUENCE, "0")
            return decode_value(
                self._codecs,
                data,
                type_,
                bucket=self.bucket,
                key=key,
                revision=int(revision_text) if revision_text.isdigit() else 0,
            )
        try:
            decode = None if type_ is bytes else decoder_for(self._codecs, type_, self.bucket)
            entry = direct_entry(msg, self.bucket, key, decode)
        except KeyNotFoundError:
            if default is _NO_DEFAULT:
                raise
            return default
        if entry.operation is not KVOperation.PUT:
            if default is not _NO_DEFAULT:
                return default
            raise KeyDeletedError(key, entry.revision, entry.operation)
        return entry.value

    def _plan_get(
        self,
        key: str,
        type: Any = bytes,
        *,
        default: Any = _NO_DEFAULT,
        revision: int | None = None,
        consistent: bool = False,
        codec: Codec | None = None,
    ) -> RequestPlan[Any] | None:
        """:meth:`get` as one request and a pure finish, when it is one (kv._plan)."""
        if revision is not None or consistent or codec is not None or not self._allow_direct:
            return None
        validate_key(key, self._max_key)
        return RequestPlan(
            self._direct_prefix + key,
            b"",
            None,
            self._timeout,
            lambda msg: self._latest_value(msg, key, type, default),
        )

    # ------------------------------------------------------------------ watching and listing

    @overload
    def watch(
        self,
        keys: str | Iterable[str] = ...,
        *,
        include_history: bool = ...,
        ignore_deletes: bool = ...,
        meta_only: bool = ...,
        updates_only: bool = ...,
        resume_from_revision: int | None = ...,
        codec: Codec | None = ...,
        on_decode_error: DecodeErrorPolicy = ...,
    ) -> KVWatcher[bytes]: ...
    @overload
    def watch(
        self,
        keys: str | Iterable[str],
        type: type[T],
        *,
        include_history: bool = ...,
        ignore_deletes: bool = ...,
        meta_only: bool = ...,
        updates_only: bool = ...,
        resume_from_revision: int | None = ...,
        codec: Codec | None = ...,
        on_decode_error: DecodeErrorPolicy = ...,
    ) -> KVWatcher[T]: ...
    @overload
    def watch(
        self,
        keys: str | Iterable[str] = ...,
        *,
        type: type[T],
        include_history: bool = ...,
        ignore_deletes: bool = ...,
        meta_only: bool = ...,
        updates_only: bool = ...,
        resume_from_revision: int | None = ...,
        codec: Codec | None = ...,
        on_decode_error: DecodeErrorPolicy = ...,
    ) -> KVWatcher[T]: ...
    def watch(
        self,
        keys: str | Iterable[str] = ">",
        type: Any = bytes,
        *,
        include_history: bool = False,
        ignore_deletes: bool = False,
        meta_only: bool = False,
        updates_only: bool = False,
        resume_from_revision: int | None = None,
        codec: Codec | None = None,
        on_decode_error: DecodeErrorPolicy = "raise",
    ) -> KVWatcher[Any]:
        """Watch keys (``>`` = all; subject wildcards ``*`` and ``>``; or a list of filters).

        Use ``async for entry in store.watch(...)`` or ``async with store.watch(...) as w``.
        The watcher first delivers the current values (``include_history`` for every
        revision kept), then live changes; ``watcher.caught_up`` tells when the initial
        values are done, and ``watcher.initial()`` iterates just those. ``on_decode_error``
        (``"raise"``, ``"skip"`` or a callable) says what happens to a value ``type`` cannot
        be decoded from. A watcher that is dropped, or left by ``break`` without being
        referenced, releases its server-side consumer at once. Options are checked here,
        before anything is sent; see :class:`KVWatcher` for the details.
        """
        return KVWatcher(
            self._js,
            self._bucket,
            keys,
            value_decoder(self._codecs, type, self.bucket, codec),
            include_history=include_history,
            ignore_deletes=ignore_deletes,
            meta_only=meta_only,
            updates_only=updates_only,
            resume_from_revision=resume_from_revision,
            on_decode_error=on_decode_error,
        )

    def keys(self, *filters: str) -> KVScan[str]:
        """Every key with a value, filtered on the server (``*`` and ``>`` wildcards).

        Streams: memory stays bounded however many keys there are. Stopping early (a
        ``break``, an exception, dropping the iterator) deletes the server-side scan at
        once; ``aclose()`` or ``async with`` do it explicitly.
        """
        return scan_keys(self._js, self._bucket, filters or (">",))

    async def list_keys(self, *filters: str) -> list[str]:
        """Every key with a value, as a list (like nats.go's ``Keys()``; see :meth:`keys`)."""
        return await _list_keys(self._js, self._bucket, filters or (">",))

    @overload
    def history(self, key: str, *, codec: Codec | None = ...) -> KVScan[KVEntry[bytes]]: ...
    @overload
    def history(
        self, key: str, type: type[T], *, codec: Codec | None = ...
    ) -> KVScan[KVEntry[T]]: ...
    def history(
        self, key: str, type: Any = bytes, *, codec: Codec | None = None
    ) -> KVScan[KVEntry[Any]]:
        """Every kept revision of ``key``, oldest first (markers included; empty if none).

        The key is checked here, before anything is sent; a value that cannot be decoded
        as ``type`` raises :class:`DecodeError` at its step. Released like :meth:`keys`.
        """
        validate_key(key)
        return iterate_entries(
            self._js,
            self._bucket,
            (key,),
            value_decoder(self._codecs, type, self.bucket, codec),
            deliver_policy="all",
        )
