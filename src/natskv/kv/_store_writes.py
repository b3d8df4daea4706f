"""The writes of :class:`KVStore`: put (one, or pipelined without waiting), create, update,
and the delete and purge markers.

Every write publishes to ``$KV.<bucket>.<key>`` as a request and waits for JetStream's
acknowledgement, whose sequence is the new revision. Keys are validated and values encoded
before anything is sent; compare-and-set is the ``Nats-Expected-Last-Subject-Sequence``
header (see ``_store_base`` for how the parts make one class).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import timedelta
from typing import Any

from natskv.client import Msg
from natskv.errors import (
    KeyExistsError,
    KeyNotFoundError,
    MaxPayloadError,
    NoRespondersError,
    WrongRevisionError,
)
from natskv.jetstream import JetStream
from natskv.kv._codecs import Codec
from natskv.kv._entry import KVOperation
from natskv.kv._errors import kv_error
from natskv.kv._mapping import (
    EXPECTED_LAST_SUBJECT_SEQUENCE,
    KV_OPERATION,
    NATS_ROLLUP,
    NATS_TTL,
    ROLLUP_SUBJECT,
    validate_key,
    validate_revision,
)
from natskv.kv._plan import RequestPlan
from natskv.kv._replies import ack_revision
from natskv.kv._store_base import KVStoreBase

__all__ = ["KVStoreWrites"]

_DEL_HEADERS = {KV_OPERATION: "DEL"}


class KVStoreWrites(KVStoreBase):
    """Put, create, update, delete and purge (part of :class:`KVStore`)."""

    async def put(self, key: str, value: Any, *, codec: Codec | None = None) -> int:
        """Store ``value`` under ``key``; returns the new revision.

        ``codec`` encodes this value instead of the bucket's registry. There is no per-key
        TTL here (ADR-48: an older revision could come back to life when the newest one
        expires); :meth:`create` and :meth:`purge` take ``ttl``.
        """
        if codec is not None:
            return await self._with_codecs(codec).put(key, value)
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
        return self._put_revision(msg, key)

    def _put_revision(self, msg: Msg, key: str) -> int:
        """The revision a put's acknowledgement gives (pure; raises its error)."""
        seq = JetStream.pub_ack_seq(msg.data)
        return seq if seq > 0 else ack_revision(msg, self.bucket, key, None)

    def _plan_put(
        self, key: str, value: Any, *, codec: Codec | None = None
    ) -> RequestPlan[int] | None:
        """:meth:`put` as one request and a pure finish (kv._plan); a value over the
        server's limit takes the general path, which says so."""
        if codec is not None:
            return None
        validate_key(key, self._max_key)
        data = self._encode(value)
        return RequestPlan(
            self._write_prefix + key,
            data,
            None,
            self._timeout,
            lambda msg: self._put_revision(msg, key),
        )

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
        return ack_revision(msg, self.bucket, key, None)

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
            return await self._with_codecs(codec).create(key, value, ttl=ttl)
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
            return await self._with_codecs(codec).update(key, value, revision)
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
