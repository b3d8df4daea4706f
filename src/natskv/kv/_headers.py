"""What KV messages carry besides the value, and how to read and write it.

Delete and purge markers are messages with a ``KV-Operation`` header (or a server-written
``Nats-Marker-Reason``); compare-and-set is ``Nats-Expected-Last-Subject-Sequence``; a per-key
TTL is ``Nats-TTL``; a Direct Get reply says where the message is stored with
``Nats-Sequence``, ``Nats-Time-Stamp`` and ``Nats-Subject``. Here are those header names, the
operation a message stands for, the TTL and timestamp formats, and the revision a conflict
reports. Constants and pure functions only (wire reference sections 4.4, 4.5 and 4.8).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone

from natskv.errors import InvalidConfigError
from natskv.kv._entry import KVOperation

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

_NS_PER_US = 1_000
_NS_PER_S = 1_000_000_000
_UTC = timezone.utc
_EPOCH = datetime(1970, 1, 1, tzinfo=_UTC)


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


# ---------------------------------------------------------------------------------------------
# Timestamps
# ---------------------------------------------------------------------------------------------

_RFC3339_RE = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}):([0-9]{2}):([0-9]{2})"
    r"(?:\.([0-9]{1,9}))?(?:([Zz])|([+-])([0-9]{2}):([0-9]{2}))"
)
# Go's time.Time.String(): "2006-01-02 15:04:05.999999999 +0000 UTC" (maybe " m=+0.001").
_GO_TIME_RE = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2}) ([0-9]{2}):([0-9]{2}):([0-9]{2})"
    r"(?:\.([0-9]{1,9}))? ([+-])([0-9]{2})([0-9]{2})(?: [A-Za-z0-9+-]+)?(?: m=[+-][0-9.]+)?"
)


def _micros(fraction: str | None) -> int:
    if not fraction:
        return 0
    return int(fraction[:6].ljust(6, "0"))


def parse_timestamp(value: str) -> datetime:
    """An aware UTC datetime from ``Nats-Time-Stamp``.

    Accepts RFC 3339 (``2024-05-01T12:34:56.123456789Z`` or with an offset such as
    ``+02:00``) and the Go ``time.String()`` form older servers sent
    (``2006-01-02 15:04:05.999999999 +0000 UTC``). Nanoseconds are truncated to
    microseconds. Raises :class:`ValueError` for anything else.
    """
    # Fast path: what every current server sends, "YYYY-MM-DDTHH:MM:SS[.fffffffff]Z",
    # rewritten into the one form datetime.fromisoformat accepts on every Python >= 3.7
    # ("...SS.ffffff+00:00", which also yields the timezone.utc singleton).
    n = len(value)
    if 20 <= n <= 30 and value[-1] == "Z" and value[10] == "T" and value[4] == "-":
        if n == 20:
            iso = value[:19] + ".000000+00:00"
        elif value[19] == "." and n > 21:
            iso = value[:20] + (value[20:-1] + "00000")[:6] + "+00:00"
        else:
            iso = ""
        if iso and iso.isascii():
            try:
                return datetime.fromisoformat(iso)
            except ValueError:
                pass  # the slow path explains what is wrong
    return _parse_timestamp_slow(value)


def _parse_timestamp_slow(value: str) -> datetime:
    match = _RFC3339_RE.fullmatch(value)
    try:
        if match:
            year, month, day, hour, minute, second, fraction, zulu, sign, oh, om = match.groups()
            offset = 0 if zulu else int(oh) * 60 + int(om)
        else:
            match = _GO_TIME_RE.fullmatch(value)
            if not match:
                raise ValueError("not RFC 3339 or Go time format")
            year, month, day, hour, minute, second, fraction, sign, oh, om = match.groups()
            offset = int(oh) * 60 + int(om)
        if sign == "-":
            offset = -offset
        tz = _UTC if offset == 0 else timezone(timedelta(minutes=offset))
        parsed = datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second),
            _micros(fraction),
            tz,
        )
    except ValueError as err:
        raise ValueError(f"invalid timestamp {value!r}: {err}") from None
    return parsed if tz is _UTC else parsed.astimezone(_UTC)


def datetime_from_unix_nanos(ns: int) -> datetime:
    """An aware UTC datetime from Unix nanoseconds (truncated to microseconds)."""
    return _EPOCH + timedelta(0, ns // _NS_PER_S, (ns // _NS_PER_US) % 1_000_000)


def format_timestamp(value: datetime) -> str:
    """RFC 3339 in UTC with microseconds, as JetStream takes times (e.g. ``opt_start_time``)."""
    return value.astimezone(_UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
