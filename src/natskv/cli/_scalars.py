"""Go-compatible formatting of scalars: local times, numbers, byte sizes and durations.

natscli prints times with ``f(time.Time)``, counts with go-humanize ``Comma``, sizes with
go-humanize v1.0.1 ``IBytes`` and durations with ``columns.HumanizeDuration`` (falling
back to Go's ``time.Duration.String`` below a second); each is reproduced here exactly.
"""

from __future__ import annotations

import contextlib
import math
from datetime import datetime, timedelta
from typing import Final

__all__ = [
    "MAX_INT64",
    "MIN_INT64",
    "NEVER",
    "NS_PER_H",
    "NS_PER_M",
    "NS_PER_MS",
    "NS_PER_S",
    "NS_PER_US",
    "Duration",
    "format_duration",
    "format_duration_ns",
    "format_ibytes",
    "format_number",
    "format_since",
    "format_time",
    "go_duration_string",
    "to_ns",
]

MAX_INT64: Final = (1 << 63) - 1
"""Largest Go ``int64`` / ``time.Duration``; ``time.Since(zero time)`` saturates to it."""

MIN_INT64: Final = -(1 << 63)

NEVER: Final = "never"
"""How natscli renders a ``MaxInt64`` duration (e.g. the last update of an empty bucket)."""

NS_PER_US: Final = 1_000
NS_PER_MS: Final = 1_000_000
NS_PER_S: Final = 1_000_000_000
NS_PER_M: Final = 60 * NS_PER_S
NS_PER_H: Final = 60 * NS_PER_M

Duration = float | timedelta
"""A duration as seconds (``float``) or ``timedelta``."""


def format_time(dt: datetime) -> str:
    """Format like natscli ``f(time.Time)``: ``2006-01-02 15:04:05`` in local time.

    Aware datetimes are converted with ``astimezone()``; naive ones are taken
    as already local.  Years are zero-padded to four digits like Go.
    """
    if dt.tzinfo is not None:
        # out of range near year 1 or 9999: keep the original offset
        with contextlib.suppress(OverflowError, ValueError):
            dt = dt.astimezone()
    return (
        f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d} {dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}"
    )


def format_number(n: int) -> str:
    """Format an integer like natscli ``F()`` (go-humanize ``Comma``): ``1,234,567``.

    Values above ``MaxInt64`` (only possible for Go ``uint64``) print without
    separators, as ``F()`` does.
    """
    if n > MAX_INT64:
        return str(n)
    return f"{n:,}"


def format_ibytes(n: int) -> str:
    """Format a byte count like go-humanize v1.0.1 ``IBytes``.

    ``n < 10`` gives ``"<n> B"``; otherwise the value is scaled by the
    largest power of 1024 not above it, rounded half up to one decimal
    (``floor(x*10+0.5)/10``) and printed with one decimal when below 10,
    none otherwise (``%.0f``, round half to even): ``1.0 KiB``, ``1.5 KiB``,
    ``10 KiB``, ``1023 B``, ``1024 KiB``.  Negative numbers are treated as
    the Go ``uint64`` conversion would.
    """
    if n < 0:
        n += 1 << 64
    if n < 10:
        return f"{n} B"
    sizes = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")
    value = float(n)
    exp = math.floor(math.log(value) / math.log(1024.0))
    # Go gets exact integers at exact powers of 1024; do not trust libm there
    if exp + 1 < len(sizes) and 1024.0 ** (exp + 1) <= value:
        exp += 1
    exp = min(exp, len(sizes) - 1)
    val = math.floor(value / 1024.0**exp * 10 + 0.5) / 10
    if val < 10:
        return f"{val:.1f} {sizes[exp]}"
    return f"{val:.0f} {sizes[exp]}"


def _go_round(ns: int, multiple: int) -> int:
    """Go ``time.Duration.Round``: halves away from zero, saturating."""
    if multiple <= 0:
        return ns
    rem = abs(ns) % multiple
    if ns < 0:
        if rem + rem < multiple:
            return ns + rem
        result = ns - multiple + rem
        return result if result >= MIN_INT64 else MIN_INT64
    if rem + rem < multiple:
        return ns - rem
    result = ns + multiple - rem
    return result if result <= MAX_INT64 else MAX_INT64


def _frac(value: int, precision: int) -> tuple[str, int]:
    """Split ``value`` into (".fraction" without trailing zeros, integer part)."""
    scale = 10**precision
    integer, fraction = divmod(value, scale)
    if fraction == 0:
        return "", integer
    return "." + f"{fraction:0{precision}d}".rstrip("0"), integer


def go_duration_string(ns: int) -> str:
    """Go ``time.Duration.String()`` for ``ns`` nanoseconds (``1h2m3.5s``, ``1.5ms``, ``0s``)."""
    neg = ns < 0
    u = -ns if neg else ns
    if u < NS_PER_S:
        if u == 0:
            return "0s"
        if u < NS_PER_US:
            text = f"{u}ns"
        elif u < NS_PER_MS:
            frac, integer = _frac(u, 3)
            text = f"{integer}{frac}µs"
        else:
            frac, integer = _frac(u, 6)
            text = f"{integer}{frac}ms"
    else:
        frac, secs = _frac(u, 9)
        text = f"{secs % 60}{frac}s"
        mins = secs // 60
        if mins > 0:
            text = f"{mins % 60}m{text}"
            hours = mins // 60
            if hours > 0:
                text = f"{hours}h{text}"
    return "-" + text if neg else text


def format_duration_ns(ns: int) -> str:
    """natscli ``columns.HumanizeDuration`` for a Go duration in nanoseconds.

    * below 1ms: rounded to the microsecond, Go style (``0s``, ``2µs``);
    * below 1s: rounded to the millisecond, Go style (``1ms``, ``999ms``,
      and ``1s`` when it rounds up);
    * ``MaxInt64`` (or more): ``never``;
    * otherwise ``XyXdXhXmXs`` from the largest non-zero unit down
      (``1m30s``, ``1h0m0s``, ``2d3h0m0s``, ``1y0d0h0m0s``; a year is 365
      days), and under a minute ``%.2fs`` (``1.00s``, ``44.00s``).

    Negative durations print as Go's ``Duration.String`` does (``-1m30s``).
    """
    if ns >= MAX_INT64:
        return NEVER
    ns = max(ns, MIN_INT64)
    if ns < NS_PER_MS:
        return go_duration_string(_go_round(ns, NS_PER_US))
    if ns < NS_PER_S:
        return go_duration_string(_go_round(ns, NS_PER_MS))
    tsecs = ns // NS_PER_S
    tmins = tsecs // 60
    thrs = tmins // 60
    tdays = thrs // 24
    tyrs = tdays // 365
    if tyrs > 0:
        return f"{tyrs}y{tdays % 365}d{thrs % 24}h{tmins % 60}m{tsecs % 60}s"
    if tdays > 0:
        return f"{tdays}d{thrs % 24}h{tmins % 60}m{tsecs % 60}s"
    if thrs > 0:
        return f"{thrs}h{tmins % 60}m{tsecs % 60}s"
    if tmins > 0:
        return f"{tmins}m{tsecs % 60}s"
    seconds = float(ns // NS_PER_S) + float(ns % NS_PER_S) / 1e9  # Go d.Seconds()
    return f"{seconds:.2f}s"


def to_ns(value: Duration) -> int:
    """Nanoseconds in ``value``, exactly for a ``timedelta``; float seconds saturate at
    Go's ``int64`` range (``math.inf`` is ``MaxInt64``), NaN raises ``ValueError``."""
    if isinstance(value, timedelta):
        return (value.days * 86_400 + value.seconds) * NS_PER_S + value.microseconds * NS_PER_US
    if math.isnan(value):
        raise ValueError("duration is NaN")
    if math.isinf(value):
        return MAX_INT64 if value > 0 else MIN_INT64
    ns = round(value * 1e9)
    return max(min(ns, MAX_INT64), MIN_INT64)


def format_duration(value: Duration) -> str:
    """Format a duration (seconds or ``timedelta``) like natscli ``F(time.Duration)``.

    See :func:`format_duration_ns` for the rules; ``math.inf`` and anything at
    or beyond ``MaxInt64`` nanoseconds render as ``never``.
    """
    return format_duration_ns(to_ns(value))


def format_since(dt: datetime | None, now: datetime | None = None) -> str:
    """natscli ``f(time.Since(dt))``, e.g. the "Last Update" column of ``kv ls``.

    ``None`` (and Go's zero time, year 1, whose distance to now saturates Go's
    ``int64`` nanoseconds) gives ``never``.  ``now`` defaults to the current
    time; pass it for deterministic output.
    """
    if dt is None:
        return NEVER
    if now is None:
        now = datetime.now(dt.tzinfo) if dt.tzinfo is not None else datetime.now()
    if (dt.tzinfo is None) != (now.tzinfo is None):
        try:
            if dt.tzinfo is None:
                dt = dt.astimezone()
            else:
                now = now.astimezone()
        except (OverflowError, ValueError):
            return NEVER
    # format_duration_ns saturates, as Go's time.Since does
    return format_duration_ns(to_ns(now - dt))
