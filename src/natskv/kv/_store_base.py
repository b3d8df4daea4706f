"""What every part of :class:`KVStore` stands on: the bucket it was opened on, the encoding of
values, acknowledged writes, and the reads of one key (replies become entries and revisions
in ``kv._replies``, pure functions the bulk operations share).

``KVStore`` is one class for its users, built from parts by job: this base (state and the
steps the others share), the writes (``_store_writes``), the reads, watchers and scans
(``_store_reads``), and the class itself (``_store``: bulk operations, compare-and-set
helpers, the non-throwing forms, status). The parts are base classes rather than helper
functions so that the hot paths, ``put``, ``get`` and ``get_entry``, stay single methods
that reach the connection directly, with no call layer added, and so that
``tools/gen_sync.py`` finds every public method on ``KVStore`` (it walks the class's MRO).
Type checkers name the part that defines a method (``No overload variant of "get" of
"KVStoreReads"``), so each part's name says whose it is.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Awaitable
from datetime import timedelta
from typing import Any, TypeVar

from natskv.client import Msg
from natskv.errors import (
    InvalidBucketNameError,
    KeyNotFoundError,
    MaxPayloadError,
    NoRespondersError,
    TTLNotSupportedError,
    ValueTooLargeError,
)
from natskv.jetstream import JetStream, check_direct_status
from natskv.kv._bucket import Bucket, decoder_for
from natskv.kv._codecs import Codec, CodecRegistry
from natskv.kv._entry import KVEntry
from natskv.kv._errors import kv_error, translate
from natskv.kv._mapping import MAX_CONTROL_LINE, NATS_SUBJECT, format_ttl, max_key_length
from natskv.kv._replies import (
    ack_revision,
    direct_request,
    entry_from_msg,
    read_latest,
    retry_request,
    stored_entry,
)

__all__ = ["KVStoreBase"]

_ENCODE_FAST = (bytes, bytearray)

S = TypeVar("S", bound="KVStoreBase")


class KVStoreBase:
    """The state of one opened bucket and the steps every :class:`KVStore` operation shares."""

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
        self.stream: str = f"KV_{bucket}"
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

    def _with_codecs(self: S, codecs: CodecRegistry | Codec) -> S:
        """A shallow copy with another registry, or with ``codecs`` in front of this one."""
        clone = copy.copy(self)
        clone._codecs = (
            codecs if isinstance(codecs, CodecRegistry) else self._codecs.with_codec(codecs)
        )
        return clone

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

    # ------------------------------------------------------------------ acknowledged writes

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
        return ack_revision(msg, self.bucket, key, expected)

    def _recover(
        self, exc: NoRespondersError, subject: str, payload: bytes, headers: dict[str, str] | None
    ) -> Awaitable[Msg]:
        """The reply of a request that met no responders, retried (see ``kv._replies``)."""
        return retry_request(self._js, self.bucket, exc, subject, payload, headers, self._timeout)

    def _ttl_header(self, ttl: timedelta | float | str) -> str:
        if not self._ttl_enabled:
            raise TTLNotSupportedError(
                f"bucket {self.bucket!r} has no per-key TTL: create it with limit_marker_ttl"
            )
        return format_ttl(ttl)

    # ------------------------------------------------------------------ reads of one key

    async def _latest(
        self, key: str, type_: Any = bytes, *, decode: bool = True, consistent: bool = False
    ) -> KVEntry[Any]:
        return await read_latest(
            self._js,
            self._bucket,
            key,
            None if type_ is bytes else decoder_for(self._codecs, type_, self.bucket),
            timeout=self._timeout,
            consistent=consistent,
            meta_only=not decode,
        )

    async def _at_revision(
        self, key: str, revision: int, type_: Any, consistent: bool
    ) -> KVEntry[Any]:
        subject = self._read_prefix + key
        decode = None if type_ is bytes else decoder_for(self._codecs, type_, self.bucket)
        with translate(self.bucket, key, revision=revision):
            if consistent or not self._allow_direct:
                sm = await self._js.get_msg(self.stream, seq=revision)
                if sm.subject != subject:
                    raise KeyNotFoundError(key, f"revision {revision} is not of key {key!r}")
                return stored_entry(sm, self.bucket, key, decode)
            msg = await direct_request(
                self._js,
                self.bucket,
                self._js.direct_subject(self.stream),
                b'{"seq":%d}' % revision,
                self._timeout,
            )
            check_direct_status(msg)
        if msg.headers.get(NATS_SUBJECT) != subject:
            raise KeyNotFoundError(key, f"revision {revision} is not of key {key!r}")
        return entry_from_msg(msg, self.bucket, key, decode)
