"""The times KV messages carry: ``Nats-Time-Stamp`` and the times JetStream takes.

Pure functions, no natskv imports: :mod:`._entry` parses an entry's time with them when it
is first read, and :mod:`._headers` (which imports ``_entry`` for the operations) re-exports
them with the other header formats (wire reference section 4.8).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

__all__ = ["datetime_from_unix_nanos", "format_timestamp", "parse_timestamp"]

_NS_PER_US = 1_000
_NS_PER_S = 1_000_000_000
_UTC = timezone.utc
_EPOCH = datetime(1970, 1, 1, tzinfo=_UTC)


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
