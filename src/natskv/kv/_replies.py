"""What the server's replies to one key's operations mean: a read message as a
:class:`KVEntry`, a publish acknowledgement as a revision, and the read of a key's latest
entry that the store and the bulk reads share.

The conversions are pure functions of a message, the bucket's name and a
:data:`~natskv.kv._bucket.Decoder` (``None`` keeps the stored bytes), so the store, the
bulk reads and the tests use one definition and none reaches into :class:`KVStore`.
"""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime
from typing import Any

from natskv.client import Msg
from natskv.errors import APIError, KeyNotFoundError, NoRespondersError
from natskv.jetstream import JetStream, StoredMessage, check_direct_status
from natskv.kv._bucket import Bucket, Decoder
from natskv.kv._entry import KVEntry, KVOperation
from natskv.kv._errors import kv_error, recover_no_responders, translate
from natskv.kv._headers import KV_OPERATION_B, MARKER_REASON_B
from natskv.kv._mapping import (
    NATS_SEQUENCE,
    NATS_TIMESTAMP,
    operation_from_headers,
    parse_timestamp,
)
from natskv.protocol import parse_headers

__all__ = [
    "ack_revision",
    "direct_entry",
    "direct_request",
    "entry_from_msg",
    "read_latest",
    "retry_request",
    "stored_entry",
]

_PUT = KVOperation.PUT


# A Direct Get reply's header block is the stored message's headers followed by the
# server's own "Name: value" lines: the two an entry needs are found without parsing the
# block, and only a block that names an operation is parsed for it.
_SEQUENCE_LINE = b"\r\n" + NATS_SEQUENCE.encode() + b":"
_TIMESTAMP_LINE = b"\r\n" + NATS_TIMESTAMP.encode() + b":"
_SEQUENCE_SKIP = len(_SEQUENCE_LINE)
_TIMESTAMP_SKIP = len(_TIMESTAMP_LINE)
# the server's lines come after the stored message's own: a block that starts with them
# carries no stored header (so no KV-Operation or marker reason)
_SERVER_HEADERS_FIRST = b"NATS/1.0\r\nNats-Stream:"


def entry_from_msg(
    msg: Msg, bucket: str, key: str, decode: Decoder | None, meta_only: bool = False
) -> KVEntry[Any]:
    """A Direct Get's (or a batch's) message of ``key`` as an entry; markers and
    ``meta_only`` reads have no value."""
    raw = msg.raw_headers or b""
    # the two lines found inline (this runs once per get)
    start = raw.find(_SEQUENCE_LINE) + _SEQUENCE_SKIP
    sequence = raw[start : raw.find(b"\r", start)] if start >= _SEQUENCE_SKIP else None
    start = raw.find(_TIMESTAMP_LINE) + _TIMESTAMP_SKIP
    stamp = raw[start : raw.find(b"\r", start)] if start >= _TIMESTAMP_SKIP else None
    created: datetime | str
    if sequence is not None and stamp is not None and sequence.strip().isdigit():
        revision = int(sequence)
        created = stamp.strip().decode("latin-1")  # a datetime when read (KVEntry.created)
        if raw.startswith(_SERVER_HEADERS_FIRST):
            op = _PUT  # the stored message had no headers, so no operation
        else:
            named = KV_OPERATION_B in raw or MARKER_REASON_B in raw
            op = operation_from_headers(msg.headers) if named else _PUT
    else:  # what the fast path does not know: parsed, and said if malformed
        headers = msg.headers
        try:
            revision = int(headers[NATS_SEQUENCE])
            created = parse_timestamp(headers[NATS_TIMESTAMP])
        except (KeyError, ValueError) as exc:
            raise KeyNotFoundError(key, f"malformed reply for key {key!r}: {exc}") from exc
        op = operation_from_headers(headers)
    data = msg.data
    value: Any = None
    if op is _PUT and not meta_only:
        value = data if decode is None else decode(data, key, revision)
    return KVEntry(bucket, key, value, revision, created, 0, op, data)


def direct_entry(
    msg: Msg, bucket: str, key: str, decode: Decoder | None, meta_only: bool = False
) -> KVEntry[Any]:
    """:func:`entry_from_msg` of a Direct Get's reply, whose status (404 and the like)
    raises the KV error of ``bucket`` first."""
    if msg.raw_headers is not None and not msg.data and msg.status:
        with translate(bucket, key):
            check_direct_status(msg)
    return entry_from_msg(msg, bucket, key, decode, meta_only)


def stored_entry(
    sm: StoredMessage, bucket: str, key: str, decode: Decoder | None, meta_only: bool = False
) -> KVEntry[Any]:
    """A ``STREAM.MSG.GET`` answer (the stream leader's) of ``key`` as an entry."""
    headers = parse_headers(sm.hdrs)[2] if sm.hdrs else {}
    op = operation_from_headers(headers)
    value: Any = None
    if op is _PUT and not meta_only:
        value = sm.data if decode is None else decode(sm.data, key, sm.seq)
    return KVEntry(bucket, key, value, sm.seq, parse_timestamp(sm.time), 0, op, sm.data)


def ack_revision(msg: Msg | bytes, bucket: str, key: str, expected: int | None) -> int:
    """The revision a write's acknowledgement gives, or the KV error it carries
    (``expected``: the revision a compare-and-set expected)."""
    try:
        return JetStream.pub_ack(msg).seq
    except APIError as exc:
        mapped = kv_error(exc, bucket, key, expected=expected)
        if mapped is exc:
            raise
        raise mapped from exc


def retry_request(
    js: JetStream,
    bucket: str,
    cause: NoRespondersError,
    subject: str,
    payload: bytes,
    headers: dict[str, str] | None,
    timeout: float,
) -> Awaitable[Msg]:
    """The reply of a request to ``bucket``'s stream that met no responders, retried
    within ``timeout`` (see :func:`~natskv.kv._errors.recover_no_responders`)."""
    request = js.nc.request

    def attempt(left: float) -> Awaitable[Msg]:
        return request(subject, payload, headers=headers, timeout=left)

    return recover_no_responders(js, bucket, attempt, cause=cause, timeout=timeout, subject=subject)


async def direct_request(
    js: JetStream, bucket: str, subject: str, payload: bytes, timeout: float
) -> Msg:
    """A Direct Get (a request any replica answers), retried after no responders."""
    try:
        return await js.nc.lowlevel.request_future(subject, payload, timeout=timeout, checked=True)
    except NoRespondersError as exc:
        return await retry_request(js, bucket, exc, subject, payload, None, timeout)


async def read_latest(
    js: JetStream,
    bucket: Bucket,
    key: str,
    decode: Decoder | None,
    *,
    timeout: float,
    consistent: bool = False,
    meta_only: bool = False,
) -> KVEntry[Any]:
    """The latest entry of ``key`` (a marker too): a Direct Get, or the stream leader's
    answer when ``consistent`` or the stream has no Direct Get."""
    name = bucket.name
    if consistent or not bucket.allow_direct:
        with translate(name, key):
            sm = await js.get_msg(bucket.stream, last_by_subj=bucket.read_prefix + key)
        return stored_entry(sm, name, key, decode, meta_only)
    msg = await direct_request(js, name, bucket.direct_prefix + key, b"", timeout)
    return direct_entry(msg, name, key, decode, meta_only)
