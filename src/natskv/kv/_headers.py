"""What KV messages carry besides the value, and how to read and write it.

Delete and purge markers are messages with a ``KV-Operation`` header (or a server-written
``Nats-Marker-Reason``); compare-and-set is ``Nats-Expected-Last-Subject-Sequence``; a per-key
TTL is ``Nats-TTL``; a Direct Get reply says where the message is stored with
``Nats-Sequence``, ``Nats-Time-Stamp`` and ``Nats-Subject``. Here are those header names, the
operation a message stands for, the TTL and timestamp formats, and the revision a conflict
reports. Constants and pure functions only (wire reference sections 4.4, 4.5 and 4.8); the
timestamp formats are :mod:`._timestamps`, re-exported here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta

from natskv.errors import InvalidConfigError
from natskv.kv._entry import KVOperation
from natskv.kv._timestamps import datetime_from_unix_nanos, format_timestamp, parse_timestamp

__all__ = [
    "EXPECTED_LAST_SUBJECT_SEQUENCE",
    "KV_OPERATION",
    "KV_OPERATION_B",
    "MARKER_REASON",
    "MARKER_REASON_B",
    "NATS_MSG_SIZE",
    "NATS_ROLLUP",
    "NATS_SEQUENCE",
    "NATS_STREAM",
    "NATS_SUBJECT",
    "NATS_TIMESTAMP",
    "NATS_TTL",
    "ROLLUP_SUBJECT",
    "datetime_from_unix_nanos",
    "format_timestamp",
    "format_ttl",
    "operation_from_headers",
    "parse_timestamp",
    "parse_wrong_last_sequence",
]

KV_OPERATION = "KV-Operation"
NATS_ROLLUP = "Nats-Rollup"
ROLLUP_SUBJECT = "sub"
EXPECTED_LAST_SUBJECT_SEQUENCE = "Nats-Expected-Last-Subject-Sequence"
NATS_TTL = "Nats-TTL"
MARKER_REASON = "Nats-Marker-Reason"
# the two names as bytes: a header block that contains neither names no operation (a put)
KV_OPERATION_B = KV_OPERATION.encode()
MARKER_REASON_B = MARKER_REASON.encode()
NATS_SEQUENCE = "Nats-Sequence"
NATS_TIMESTAMP = "Nats-Time-Stamp"
NATS_SUBJECT = "Nats-Subject"
NATS_STREAM = "Nats-Stream"
NATS_MSG_SIZE = "Nats-Msg-Size"

# ---------------------------------------------------------------------------------------------
# Operations and conflicts
# ---------------------------------------------------------------------------------------------

_PUT = KVOperation.PUT
_OPERATIONS = {"DEL": KVOperation.DEL, "PURGE": KVOperation.PURGE}
# Server-written limit markers (ADR-43): MaxAge and Purge read as a purge, Remove as a delete.
_MARKER_OPERATIONS = {
    "MaxAge": KVOperation.PURGE,
    "Purge": KVOperation.PURGE,
    "Remove": KVOperation.DEL,
}


def operation_from_headers(headers: Mapping[str, str] | None) -> KVOperation:
    """The operation of a stored message, from its (case-sensitive) header names.

    ``KV-Operation: DEL|PURGE`` wins; otherwise ``Nats-Marker-Reason`` ``MaxAge``/``Purge``
    is a purge and ``Remove`` a delete; anything else is a put.
    """
    if not headers:
        return _PUT
    op = headers.get(KV_OPERATION)
    if op is not None:
        found = _OPERATIONS.get(op)
        if found is not None:
            return found
    reason = headers.get(MARKER_REASON)
    if reason is not None:
        return _MARKER_OPERATIONS.get(reason, _PUT)
    return _PUT


_WRONG_LAST_SEQ_RE = re.compile(r"wrong last sequence: ([0-9]+)")


def parse_wrong_last_sequence(description: str) -> int | None:
    """The subject's actual revision from ``wrong last sequence: 7`` (error 10071), if present."""
    match = _WRONG_LAST_SEQ_RE.search(description)
    return int(match.group(1)) if match else None


# ---------------------------------------------------------------------------------------------
# Per-key TTL
# ---------------------------------------------------------------------------------------------


def format_ttl(ttl: timedelta | int | float | str) -> str:
    """The ``Nats-TTL`` header value: ``"never"`` or whole seconds such as ``"90s"``.

    Numbers are seconds. The server keeps whole seconds only and rejects anything under
    one second, so a fractional or sub-second TTL raises :class:`InvalidConfigError` here
    rather than being silently truncated.
    """
    if isinstance(ttl, str):
        if ttl.strip().lower() == "never":
            return "never"
        raise InvalidConfigError(
            f"invalid TTL {ttl!r}: give a timedelta, a number of seconds or 'never'"
        )
    if isinstance(ttl, timedelta):
        micros = (ttl.days * 86_400 + ttl.seconds) * 1_000_000 + ttl.microseconds
        if micros % 1_000_000:
            raise InvalidConfigError(
                f"invalid TTL {ttl}: per-key TTLs have whole-second resolution"
            )
        seconds = micros // 1_000_000
    elif isinstance(ttl, bool) or not isinstance(ttl, (int, float)):
        raise InvalidConfigError(
            f"invalid TTL {ttl!r}: give a timedelta, a number of seconds or 'never'"
        )
    elif isinstance(ttl, float):
        if not ttl.is_integer():
            raise InvalidConfigError(
                f"invalid TTL {ttl!r}: per-key TTLs have whole-second resolution"
            )
        seconds = int(ttl)
    else:
        seconds = ttl
    if seconds < 1:
        raise InvalidConfigError(f"invalid TTL {ttl!r}: a per-key TTL must be at least 1 second")
    return f"{seconds}s"
