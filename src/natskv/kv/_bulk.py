"""Reads and maintenance over many keys: ``get_many`` (batch Direct Get) and ``purge_deletes``.

``get_many`` asks the server for the latest message of up to 1024 subjects per request
(``multi_last``), pages past each batch with the ``Nats-Num-Pending`` /
``Nats-Last-Sequence`` of the ``204 EOB`` reply, and pins every page and chunk to the
``Nats-UpTo-Sequence`` of the first one, so the result is one consistent point in time.
Servers without batch Direct Get (API level 0) get pipelined single gets instead; a
wildcard matching more than 1024 keys falls back to a consumer scan.

Both are built from the JetStream context, the bucket's frozen description and a decode
function (``None``: the stored bytes), never from the store.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from contextlib import aclosing
from datetime import datetime, timedelta, timezone
from typing import Any

from natskv.client import Msg
from natskv.errors import APIError, KeyNotFoundError, NoRespondersError
from natskv.jetstream import JetStream
from natskv.kv._bucket import Bucket, Decoder
from natskv.kv._entry import KVEntry, KVOperation
from natskv.kv._errors import recover_no_responders, translate
from natskv.kv._mapping import (
    NATS_SUBJECT,
    validate_key,
    validate_key_filter,
    validate_revision,
)
from natskv.kv._replies import entry_from_msg, read_latest
from natskv.kv._scan import iterate_entries

__all__ = ["get_many", "purge_deletes"]

MULTI_LAST_LIMIT = 1024
_TOO_MANY = 413
# the rest of a multi_last request: {"multi_last":[],"batch":1024,"up_to_seq":N,"seq":N}
_REQUEST_OVERHEAD = 128


def _is_filter(key: str) -> bool:
    return "*" in key or ">" in key


def _chunks(subjects: list[str], max_payload: int) -> list[list[str]]:
    """``subjects`` in requests of at most 1024 whose JSON fits ``max_payload``."""
    room = max_payload - _REQUEST_OVERHEAD
    chunks: list[list[str]] = []
    chunk: list[str] = []
    size = 0
    for subject in subjects:
        cost = len(subject) + 3  # quoted, and a comma
        if chunk and (len(chunk) == MULTI_LAST_LIMIT or size + cost > room):
            chunks.append(chunk)
            chunk, size = [], 0
        chunk.append(subject)
        size += cost
    if chunk:
        chunks.append(chunk)
    return chunks


async def _multi_last(
    js: JetStream, stream: str, subjects: list[str], up_to: int | None, out: list[Msg]
) -> int | None:
    """Fetch the latest message of each subject; returns the point-in-time sequence."""
    req: dict[str, Any] = {"multi_last": subjects, "batch": MULTI_LAST_LIMIT}
    if up_to is not None:
        req["up_to_seq"] = up_to
    while True:
        end = await js.direct_get_batch(stream, req, on_message=out.append)
        if end.status == 404:
            return up_to
        headers = end.headers
        upto = headers.get("Nats-UpTo-Sequence")
        if up_to is None and upto is not None and upto.isdigit():
            up_to = int(upto)
        pending = headers.get("Nats-Num-Pending", "0")
        last = headers.get("Nats-Last-Sequence", "0")
        if not pending.isdigit() or int(pending) == 0 or not last.isdigit():
            return up_to
        req["seq"] = int(last) + 1
        if up_to is not None:
            req["up_to_seq"] = up_to


async def get_many(
    js: JetStream,
    bucket: Bucket,
    keys: Iterable[str] | str,
    decode: Decoder | None,
    *,
    up_to_revision: int | None,
    include_deleted: bool,
    timeout: float,
) -> dict[str, KVEntry[Any]]:
    """See :meth:`KVStore.get_many`; ``timeout`` bounds the retries after no responders
    (and the single gets of the fallback)."""
    if up_to_revision is not None:
        up_to_revision = validate_revision(up_to_revision)
    items = [keys] if isinstance(keys, str) else list(keys)
    subjects: list[str] = []
    wildcards: list[str] = []
    prefix = bucket.read_prefix
    limit = bucket.max_key
    for item in items:
        if isinstance(item, str) and _is_filter(item):
            subjects.append(prefix + validate_key_filter(item, limit))
            wildcards.append(item)
        else:
            subjects.append(prefix + validate_key(item, limit))
    result: dict[str, KVEntry[Any]] = {}
    if not subjects:
        return result
    if await js.api_level() < 1 or not bucket.allow_direct:
        return await _get_one_by_one(
            js, bucket, items, decode, up_to_revision, include_deleted, timeout
        )

    chunks = _chunks(subjects, js.nc.max_payload)
    stream = bucket.stream

    async def fetch(timeout: float = 0.0) -> list[Msg]:
        msgs: list[Msg] = []
        up_to = up_to_revision
        for chunk in chunks:
            up_to = await _multi_last(js, stream, chunk, up_to, msgs)
        return msgs

    name = bucket.name
    try:
        try:
            msgs = await fetch()
        except NoRespondersError as exc:
            msgs = await recover_no_responders(js, name, fetch, cause=exc, timeout=timeout)
    except APIError as exc:
        if exc.code != _TOO_MANY or not wildcards:
            raise
        # A wildcard matched more than 1024 keys: scan with a consumer instead.
        return await _scan(js, bucket, items, decode, include_deleted, up_to_revision)
    plen = bucket.read_prefix_len
    for msg in msgs:
        subject = msg.headers.get(NATS_SUBJECT, "")
        key = subject[plen:]
        entry = entry_from_msg(msg, name, key, decode)
        if include_deleted or entry.operation is KVOperation.PUT:
            result[key] = entry
        else:
            result.pop(key, None)
    return result


async def _get_one_by_one(
    js: JetStream,
    bucket: Bucket,
    items: list[str],
    decode: Decoder | None,
    up_to_revision: int | None,
    include_deleted: bool,
    timeout: float,
) -> dict[str, KVEntry[Any]]:
    if any(_is_filter(k) for k in items) or up_to_revision is not None:
        return await _scan(js, bucket, items, decode, include_deleted, up_to_revision)

    async def one(key: str) -> KVEntry[Any] | None:
        try:
            return await read_latest(js, bucket, key, decode, timeout=timeout)
        except KeyNotFoundError:
            return None

    entries = await asyncio.gather(*(one(k) for k in items))
    return {
        e.key: e
        for e in entries
        if e is not None and (include_deleted or e.operation is KVOperation.PUT)
    }


async def _scan(
    js: JetStream,
    bucket: Bucket,
    items: list[str],
    decode: Decoder | None,
    include_deleted: bool,
    up_to_revision: int | None,
) -> dict[str, KVEntry[Any]]:
    """The latest entry per key from a consumer; with ``up_to_revision``, the latest one
    at or before it (reading every kept revision, in stream order)."""
    policy = "last_per_subject" if up_to_revision is None else "all"
    result: dict[str, KVEntry[Any]] = {}
    scan = iterate_entries(js, bucket, items, decode, deliver_policy=policy)
    with translate(bucket.name):
        async with aclosing(scan) as entries:
            async for entry in entries:
                if up_to_revision is not None and entry.revision > up_to_revision:
                    continue
                if include_deleted or entry.operation is KVOperation.PUT:
                    result[entry.key] = entry
                else:
                    result.pop(entry.key, None)
    return result


async def purge_deletes(js: JetStream, bucket: Bucket, older_than: timedelta | None) -> int:
    """Remove the history of keys whose latest entry is a delete/purge marker.

    Markers older than ``older_than`` go too; newer ones are kept so that watchers still
    see the delete (a negative ``older_than`` removes every marker). Returns how many keys
    were purged.
    """
    threshold = older_than if older_than is not None else timedelta(minutes=30)
    now = datetime.now(timezone.utc)
    markers: list[KVEntry[Any]] = []
    scan = iterate_entries(
        js, bucket, (">",), None, deliver_policy="last_per_subject", headers_only=True
    )
    with translate(bucket.name):
        async with aclosing(scan) as entries:
            async for entry in entries:
                if entry.operation is not KVOperation.PUT:
                    markers.append(entry)
        count = 0
        for entry in markers:
            # Purge by sequence, not with keep=0: a value written after the scan has a
            # higher sequence and survives (no race with a concurrent re-create).
            upto = entry.revision + 1
            if threshold > timedelta(0) and now - entry.created < threshold:
                upto = entry.revision  # keep the recent marker: watchers still see the delete
            subject = bucket.read_prefix + entry.key
            await js.purge_stream(bucket.stream, subject=subject, seq=upto)
            count += 1
    return count
