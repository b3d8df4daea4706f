"""``KVStore``: one bucket's keys.

Writes are publishes to ``$KV.<bucket>.<key>`` awaited for their acknowledgement (the
revision); reads are Direct Gets answered by any replica (or, with ``consistent=True``, a
``STREAM.MSG.GET`` answered by the stream leader). Keys are validated and values encoded
before anything is sent.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import inspect
from collections.abc import Awaitable, Callable, Iterable
from datetime import timedelta
from typing import Any, TypeVar, overload

from natskv.client import Msg
from natskv.errors import (
    APIError,
    InvalidBucketNameError,
    KeyDeletedError,
    KeyExistsError,
    KeyNotFoundError,
    KeyValueError,
    MaxPayloadError,
    NoRespondersError,
    TTLNotSupportedError,
    ValueTooLargeError,
    WrongRevisionError,
)
from natskv.jetstream import JetStream, StoredMessage, check_direct_status
from natskv.kv._bucket import Bucket
from natskv.kv._codecs import Codec, CodecRegistry, decode_value
from natskv.kv._entry import KVEntry, KVOperation
from natskv.kv._errors import kv_error, recover_no_responders, translate
from natskv.kv._mapping import (
    EXPECTED_LAST_SUBJECT_SEQUENCE,
    KV_OPERATION,
    MARKER_REASON,
    MAX_CONTROL_LINE,
    NATS_ROLLUP,
    NATS_SEQUENCE,
    NATS_SUBJECT,
    NATS_TIMESTAMP,
    NATS_TTL,
    ROLLUP_SUBJECT,
    format_ttl,
    max_key_length,
    operation_from_headers,
    parse_timestamp,
    validate_key,
    validate_revision,
)
from natskv.kv._result import KVResult
from natskv.kv._scan import KVScan, iterate_entries, scan_keys, value_decoder
from natskv.kv._scan import list_keys as _list_keys
from natskv.kv._status import KVStatus
from natskv.kv._watch import DecodeErrorPolicy, KVWatcher

__all__ = ["KVStore"]

T = TypeVar("T")
D = TypeVar("D")

# get()'s default when none is given (None is a default one may give)
_NO_DEFAULT: Any = object()

# "NATS/1.0 " followed by a status code: a direct get that found nothing (404) or failed.
_STATUS_PREFIX = b"NATS/1.0 "
_KV_OPERATION_B = KV_OPERATION.encode()
_MARKER_REASON_B = MARKER_REASON.encode()
_ENCODE_FAST = (bytes, bytearray)
_DEL_HEADERS = {KV_OPERATION: "DEL"}


class KVStore:
    """A Key/Value bucket. Get one from :class:`natskv.KVContext`."""

    def __init__(
        self,
        js: JetStream,
        bucket: str,
        *,
        stream_config: dict[str, Any],
        codecs: CodecRegistry,
    ) -> None:
        self._js = js
        self._nc = js.nc
        self.bucket = bucket
        self.stream = f"KV_{bucket}"
        self._codecs = codecs
        self._config = stream_config
        self._bucket = desc = Bucket.from_stream_config(bucket, stream_config, api_prefix=js.prefix)
        self._max_value = desc.max_value
        self._allow_direct = desc.allow_direct
        self._ttl_enabled = desc.ttl_enabled
        self._read_prefix = desc.read_prefix
        self._read_prefix_len = desc.read_prefix_len
        self._write_prefix = desc.write_prefix
        self._direct_prefix = desc.direct_prefix
        self._timeout = js.timeout
        self._max_key = max_key_length(
            read_prefix=desc.read_prefix,
            write_prefix=desc.write_prefix,
            api_prefix=js.prefix,
            stream=desc.stream,
            inbox_length=len(js.nc.new_inbox()),
        )
        self._bucket = dataclasses.replace(desc, max_key=self._max_key)
        if self._max_key < 1:
            raise InvalidBucketNameError(
                bucket,
                f"its subjects (with API prefix {js.prefix!r}) leave no room for a key in a "
                f"{MAX_CONTROL_LINE}-byte NATS control line",
            )

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
        clone = copy.copy(self)
        clone._codecs = (
            codecs if isinstance(codecs, CodecRegistry) else self._codecs.with_codec(codecs)
        )
        return clone

    @property
    def js(self) -> JetStream:
        """The JetStream context of this store."""
        return self._js

    # ------------------------------------------------------------------ encoding

    def _encode(self, value: Any) -> bytes:
        data = bytes(value) if type(value) in _ENCODE_FAST else self._codecs.encode(value)
        size = len(data)
        if self._max_value > 0 and size > self._max_value:
            raise ValueTooLargeError(
                f"value of {size} bytes exceeds the bucket's max value size of {self._max_value}"
            )
        if size > self._nc.max_payload:
            raise ValueTooLargeError(
                f"value of {size} bytes exceeds the server's max_payload of {self._nc.max_payload}"
            )
        return data

    # ------------------------------------------------------------------ writes

    async def _publish(
        self, key: str, data: bytes, headers: dict[str, str] | None, expected: int | None = None
    ) -> int:
        subject = self._write_prefix + key
        try:
            msg = await self._nc.lowlevel.request_future(
                subject, data, headers=headers, timeout=self._timeout, checked=True
            )
        except NoRespondersError as exc:
            msg = await self._recover(exc, subject, data, headers)
        except MaxPayloadError as exc:
            raise kv_error(exc, self.bucket, key) from exc
        return self._ack(msg, key, expected)

    def _recover(
        self, exc: NoRespondersError, subject: str, payload: bytes, headers: dict[str, str] | None
    ) -> Awaitable[Msg]:
        """The reply of a request that met no responders, retried (see ``kv._errors``)."""
        request = self._nc.request

        def attempt(timeout: float) -> Awaitable[Msg]:
            return request(subject, payload, headers=headers, timeout=timeout)

        return recover_no_responders(
            self._js, self.bucket, attempt, cause=exc, timeout=self._timeout, subject=subject
        )

    def _ack(self, msg: Msg | bytes, key: str, expected: int | None) -> int:
        try:
            return JetStream.pub_ack(msg).seq
        except APIError as exc:
            mapped = kv_error(exc, self.bucket, key, expected=expected)
            if mapped is exc:
                raise
            raise mapped from exc

    async def put(self, key: str, value: Any, *, codec: Codec | None = None) -> int:
        """Store ``value`` under ``key``; returns the new revision.

        ``codec`` encodes this value instead of the bucket's registry. There is no per-key
        TTL here (ADR-48: an older revision could come back to life when the newest one
        expires); :meth:`create` and :meth:`purge` take ``ttl``.
        """
        if codec is not None:
            return await self.with_codecs(codec).put(key, value)
        validate_key(key, self._max_key)
        data = self._encode(value)
        subject = self._write_prefix + key
        try:  # _publish without its coroutine: put is the hot write path
            msg = await self._nc.lowlevel.request_future(
                subject, data, timeout=self._timeout, checked=True
            )
        except NoRespondersError as exc:
            msg = await self._recover(exc, subject, data, None)
        except MaxPayloadError as exc:
            raise kv_error(exc, self.bucket, key) from exc
        seq = JetStream.pub_ack_seq(msg.data)
        return seq if seq > 0 else self._ack(msg, key, None)

    def put_nowait(self, key: str, value: Any) -> Awaitable[int]:
        """Send a put now and return an awaitable of its revision (for pipelining).

        Many ``put_nowait`` calls issued together leave in one socket write; await the
        results (e.g. with ``asyncio.gather``) to learn each revision or error.
        """
        validate_key(key, self._max_key)
        data = self._encode(value)
        try:
            token, fut = self._nc.lowlevel.request_nowait(
                self._write_prefix + key, data, timeout=self._timeout
            )
        except MaxPayloadError as exc:
            raise kv_error(exc, self.bucket, key) from exc
        return self._finish_put(token, fut, key, data)

    async def _finish_put(self, token: str, fut: asyncio.Future[Msg], key: str, data: bytes) -> int:
        subject = self._write_prefix + key
        try:
            msg = await self._nc.lowlevel.await_reply(token, fut, subject)
        except NoRespondersError as exc:
            msg = await self._recover(exc, subject, data, None)
        return self._ack(msg, key, None)

    async def put_many(self, items: Iterable[tuple[str, Any]], *, window: int = 4096) -> list[int]:
        """Put many values pipelined (up to ``window`` in flight); returns their revisions.

        Every key and value is validated and encoded before the first one is sent. The
        revisions come in the order of ``items``; the first failed put (in that order)
        raises its error, and puts sent after it may have been stored.
        """
        from natskv.kv._put_many import put_many

        return await put_many(self, items, window)

    async def create(
        self,
        key: str,
        value: Any,
        *,
        ttl: timedelta | float | str | None = None,
        codec: Codec | None = None,
    ) -> int:
        """Store ``value`` only if ``key`` has no value (never written, deleted or purged).

        Raises :class:`KeyExistsError` with the current revision otherwise. A re-create
        after a delete is race-free: it is a compare-and-set on the delete marker.
        ``ttl`` (at least 1 s) expires the key, on buckets with ``limit_marker_ttl``.
        """
        if codec is not None:
            return await self.with_codecs(codec).create(key, value, ttl=ttl)
        validate_key(key, self._max_key)
        data = self._encode(value)
        headers = {EXPECTED_LAST_SUBJECT_SEQUENCE: "0"}
        if ttl is not None:
            headers[NATS_TTL] = self._ttl_header(ttl)
        try:
            return await self._publish(key, data, headers, 0)
        except WrongRevisionError as exc:
            conflict = exc
        for _ in range(3):
            try:
                entry = await self._latest(key, decode=False)
            except KeyNotFoundError:
                # purged in between: "0" is expected again
                revision = 0
            else:
                if entry.operation is KVOperation.PUT:
                    raise KeyExistsError(key, entry.revision) from conflict
                revision = entry.revision
            headers[EXPECTED_LAST_SUBJECT_SEQUENCE] = str(revision)
            try:
                return await self._publish(key, data, headers, revision)
            except WrongRevisionError as exc:
                conflict = exc
        raise KeyExistsError(key, conflict.actual) from conflict

    async def update(
        self,
        key: str,
        value: Any,
        revision: int,
        *,
        codec: Codec | None = None,
    ) -> int:
        """Store ``value`` only if ``key`` is at ``revision`` (else :class:`WrongRevisionError`).

        ``revision`` 0 expects the key to have no message at all. No per-key TTL (see
        :meth:`put`).
        """
        if codec is not None:
            return await self.with_codecs(codec).update(key, value, revision)
        validate_key(key, self._max_key)
        expected = validate_revision(revision, expected=True)
        data = self._encode(value)
        return await self._publish(
            key, data, {EXPECTED_LAST_SUBJECT_SEQUENCE: str(expected)}, expected
        )

    async def delete(self, key: str, *, revision: int | None = None) -> int:
        """Write a delete marker (history is kept). With ``revision``, only if at that revision.

        No per-key TTL (see :meth:`put`); :meth:`purge` takes one for its marker.
        """
        validate_key(key, self._max_key)
        headers = _DEL_HEADERS
        if revision is not None:
            revision = validate_revision(revision, expected=True)
            headers = {KV_OPERATION: "DEL", EXPECTED_LAST_SUBJECT_SEQUENCE: str(revision)}
        return await self._publish(key, b"", headers, revision)

    async def purge(
        self,
        key: str,
        *,
        revision: int | None = None,
        ttl: timedelta | float | str | None = None,
    ) -> int:
        """Write a purge marker that removes every earlier revision of ``key``.

        ``ttl`` removes the marker itself after that time (buckets with limit markers).
        """
        validate_key(key, self._max_key)
        headers = {KV_OPERATION: "PURGE", NATS_ROLLUP: ROLLUP_SUBJECT}
        if revision is not None:
            revision = validate_revision(revision, expected=True)
            headers[EXPECTED_LAST_SUBJECT_SEQUENCE] = str(revision)
        if ttl is not None:
            headers[NATS_TTL] = self._ttl_header(ttl)
        return await self._publish(key, b"", headers, revision)

    def _ttl_header(self, ttl: timedelta | float | str) -> str:
        if not self._ttl_enabled:
            raise TTLNotSupportedError(
                f"bucket {self.bucket!r} has no per-key TTL: create it with limit_marker_ttl"
            )
        return format_ttl(ttl)

    # ------------------------------------------------------------------ reads

    def _entry(self, msg: Msg, key: str, type_: Any, decode: bool) -> KVEntry[Any]:
        headers = msg.headers
        try:
            revision = int(headers[NATS_SEQUENCE])
            created = parse_timestamp(headers[NATS_TIMESTAMP])
        except (KeyError, ValueError) as exc:
            raise KeyNotFoundError(key, f"malformed reply for key {key!r}: {exc}") from exc
        op = operation_from_headers(headers)
        data = msg.data
        value: Any = None
        if op is KVOperation.PUT and decode:
            if type_ is bytes:
                value = data
            else:
                value = decode_value(
                    self._codecs, data, type_, bucket=self.bucket, key=key, revision=revision
                )
        return KVEntry(self.bucket, key, value, revision, created, 0, op, data)

    def _stored_entry(self, sm: StoredMessage, key: str, type_: Any) -> KVEntry[Any]:
        from natskv.protocol import parse_headers

        headers = parse_headers(sm.hdrs)[2] if sm.hdrs else {}
        op = operation_from_headers(headers)
        value: Any = None
        if op is KVOperation.PUT:
            value = (
                sm.data
                if type_ is bytes
                else decode_value(
                    self._codecs, sm.data, type_, bucket=self.bucket, key=key, revision=sm.seq
                )
            )
        return KVEntry(self.bucket, key, value, sm.seq, parse_timestamp(sm.time), 0, op, sm.data)

    def _direct_entry(self, msg: Msg, key: str, type_: Any, decode: bool) -> KVEntry[Any]:
        if msg.raw_headers is not None and not msg.data and msg.status:
            with translate(self.bucket, key):
                check_direct_status(msg)
        return self._entry(msg, key, type_, decode)

    async def _direct_request(self, subject: str, payload: bytes = b"") -> Msg:
        """A Direct Get (a request any replica answers), recovered after no responders."""
        try:
            return await self._nc.lowlevel.request_future(
                subject, payload, timeout=self._timeout, checked=True
            )
        except NoRespondersError as exc:
            return await self._recover(exc, subject, payload, None)

    async def _latest(
        self, key: str, type_: Any = bytes, *, decode: bool = True, consistent: bool = False
    ) -> KVEntry[Any]:
        if consistent or not self._allow_direct:
            with translate(self.bucket, key):
                sm = await self._js.get_msg(self.stream, last_by_subj=self._read_prefix + key)
            return self._stored_entry(sm, key, type_)
        msg = await self._direct_request(self._direct_prefix + key)
        return self._direct_entry(msg, key, type_, decode)

    async def _at_revision(
        self, key: str, revision: int, type_: Any, consistent: bool
    ) -> KVEntry[Any]:
        subject = self._read_prefix + key
        with translate(self.bucket, key, revision=revision):
            if consistent or not self._allow_direct:
                sm = await self._js.get_msg(self.stream, seq=revision)
                if sm.subject != subject:
                    raise KeyNotFoundError(key, f"revision {revision} is not of key {key!r}")
                return self._stored_entry(sm, key, type_)
            msg = await self._direct_request(
                self._js.direct_subject(self.stream), b'{"seq":%d}' % revision
            )
            check_direct_status(msg)
        if msg.headers.get(NATS_SUBJECT) != subject:
            raise KeyNotFoundError(key, f"revision {revision} is not of key {key!r}")
        return self._entry(msg, key, type_, True)

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
            return await self.with_codecs(codec).get_entry(
                key, type, revision=revision, consistent=consistent
            )
        validate_key(key, self._max_key)
        if revision is None and not consistent and self._allow_direct:
            # the hot path: one subject-appended Direct Get, no extra coroutine layers
            msg = await self._direct_request(self._direct_prefix + key)
            entry = self._direct_entry(msg, key, type, True)
        elif revision is not None:
            entry = await self._at_revision(key, validate_revision(revision), type, consistent)
        else:
            entry = await self._latest(key, type, consistent=consistent)
        if entry.operation is not KVOperation.PUT:
            raise KeyDeletedError(key, entry.revision, entry.operation)
        return entry

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
            raw = msg.raw_headers
            if raw is None or not (
                raw.startswith(_STATUS_PREFIX) or _KV_OPERATION_B in raw or _MARKER_REASON_B in raw
            ):
                data = msg.data
                if type is bytes:
                    return data
                revision_text = msg.headers.get(NATS_SEQUENCE, "0")
                return decode_value(
                    self._codecs,
                    data,
                    type,
                    bucket=self.bucket,
                    key=key,
                    revision=int(revision_text) if revision_text.isdigit() else 0,
                )
            try:
                entry = self._direct_entry(msg, key, type, True)
            except KeyNotFoundError:
                if default is _NO_DEFAULT:
                    raise
                return default
            if entry.operation is not KVOperation.PUT:
                if default is not _NO_DEFAULT:
                    return default
                raise KeyDeletedError(key, entry.revision, entry.operation)
            return entry.value
        try:
            entry = await self.get_entry(
                key, type, revision=revision, consistent=consistent, codec=codec
            )
        except KeyNotFoundError:
            if default is _NO_DEFAULT:
                raise
            return default
        return entry.value

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
        from natskv.kv._bulk import get_many

        store = self if codec is None else self.with_codecs(codec)
        return await get_many(
            store, keys, type, up_to_revision=up_to_revision, include_deleted=include_deleted
        )

    async def purge_deletes(self, older_than: timedelta | None = timedelta(minutes=30)) -> int:
        """Remove the history of deleted keys (markers older than ``older_than`` too).

        Only keys whose latest entry is a delete or purge marker are touched; a key
        written again after the scan keeps its value. Returns the number of keys purged.
        """
        from natskv.kv._bulk import purge_deletes

        return await purge_deletes(self, older_than)

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

    async def status(self) -> KVStatus:
        """The bucket's configuration and state; :class:`BucketNotFoundError` once deleted."""
        with translate(self.bucket):
            info = await self._js.stream_info(self.stream)
        self._config = info.config
        return KVStatus.from_stream_info(info)
