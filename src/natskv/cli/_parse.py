"""Parsing of command-line sizes and durations, accepting exactly what natscli accepts.

Sizes follow natscli ``ParseStringAsBytes``; durations are Go's ``time.ParseDuration``
plus the day, week, month and year units of choria-io/fisk ``ParseDuration``. Bad input
raises ``ValueError`` with Go's wording, which the CLI's parameter types show as is.
"""

from __future__ import annotations

import math
import re
import struct
from datetime import timedelta
from typing import Final

from natskv.cli._scalars import (
    MAX_INT64,
    MIN_INT64,
    NS_PER_H,
    NS_PER_M,
    NS_PER_MS,
    NS_PER_S,
    NS_PER_US,
)

__all__ = ["parse_byte_size", "parse_duration", "parse_duration_ns"]

_BYTES_RE: Final = re.compile(r"(\d+)(\w+)", re.ASCII)
_INT_RE: Final = re.compile(r"[+-]?[0-9]+", re.ASCII)
_BYTE_SUFFIXES: Final = {
    "K": 10,
    "KB": 10,
    "KIB": 10,
    "M": 20,
    "MB": 20,
    "MIB": 20,
    "G": 30,
    "GB": 30,
    "GIB": 30,
    "T": 40,
    "TB": 40,
    "TIB": 40,
}
_BYTES_HINT: Final = "bytes must end in K, KB, M, MB, G, GB, T or TB"


def parse_byte_size(text: str) -> int:
    """Parse a size like natscli ``ParseStringAsBytes`` (``--max-value-size`` etc.).

    Empty text or anything starting with ``-`` gives ``-1`` (unlimited); a
    plain integer is bytes; otherwise ``<digits><suffix>`` with a 1024-based,
    case-insensitive suffix ``K``/``KB``/``KiB``, ``M``/``MB``/``MiB``,
    ``G``/``GB``/``GiB``, ``T``/``TB``/``TiB`` (no ``B``, no fractions, no
    space between number and unit).  Bad input raises ``ValueError``; so does
    a result beyond ``int64`` (where Go would silently wrap).
    """
    if text == "":
        return -1
    s = text.strip()
    if s.startswith("-"):
        return -1
    if _INT_RE.fullmatch(s):
        num = int(s)
        if num <= MAX_INT64:
            return num
    match = _BYTES_RE.match(s)
    if match is None:
        raise ValueError(f"invalid bytes specification {s}: {_BYTES_HINT}")
    num = int(match.group(1))
    if num > MAX_INT64:
        raise ValueError(f"invalid bytes specification {s}: value out of range")
    shift = _BYTE_SUFFIXES.get(match.group(2).upper())
    if shift is None:
        raise ValueError(f"invalid bytes specification {s}: {_BYTES_HINT}")
    result = num << shift
    if result > MAX_INT64:
        raise ValueError(f"invalid bytes specification {s}: value out of range")
    return result


_GO_UNITS: Final = {
    "ns": 1,
    "us": NS_PER_US,
    "µs": NS_PER_US,  # U+00B5 micro sign
    "μs": NS_PER_US,  # U+03BC greek mu
    "ms": NS_PER_MS,
    "s": NS_PER_S,
    "m": NS_PER_M,
    "h": NS_PER_H,
}
_TWO63: Final = 1 << 63


def _go_parse_duration(text: str) -> int:
    """Go ``time.ParseDuration``; returns nanoseconds or raises ``ValueError``."""
    invalid = ValueError(f'time: invalid duration "{text}"')
    s = text
    neg = False
    if s and s[0] in "+-":
        neg = s[0] == "-"
        s = s[1:]
    if s == "0":
        return 0
    if s == "":
        raise invalid
    total = 0
    while s:
        if not (s[0] == "." or "0" <= s[0] <= "9"):
            raise invalid
        i = 0
        whole = 0
        while i < len(s) and "0" <= s[i] <= "9":
            if whole > _TWO63 // 10:
                raise invalid
            whole = whole * 10 + int(s[i])
            if whole > _TWO63:
                raise invalid
            i += 1
        pre = i > 0
        s = s[i:]
        frac = 0
        scale = 1.0
        post = False
        if s and s[0] == ".":
            s = s[1:]
            i = 0
            overflow = False
            while i < len(s) and "0" <= s[i] <= "9":
                if not overflow:
                    if frac > (_TWO63 - 1) // 10:
                        overflow = True
                    else:
                        candidate = frac * 10 + int(s[i])
                        if candidate > _TWO63:
                            overflow = True
                        else:
                            frac = candidate
                            scale *= 10
                i += 1
            post = i > 0
            s = s[i:]
        if not pre and not post:
            raise invalid
        i = 0
        while i < len(s) and not (s[i] == "." or "0" <= s[i] <= "9"):
            i += 1
        if i == 0:
            raise ValueError(f'time: missing unit in duration "{text}"')
        unit_name, s = s[:i], s[i:]
        unit = _GO_UNITS.get(unit_name)
        if unit is None:
            raise ValueError(f'time: unknown unit "{unit_name}" in duration "{text}"')
        if whole > _TWO63 // unit:
            raise invalid
        value = whole * unit
        if frac > 0:
            value += int(float(frac) * (float(unit) / scale))
            if value > _TWO63:
                raise invalid
        total += value
        if total > _TWO63:
            raise invalid
    if neg:
        return -total
    if total > MAX_INT64:
        raise invalid
    return total


_FISK_FULL_RE: Final = re.compile(r"[-+]?[\d.]+[a-zA-Z]+(?:[\d.]+[a-zA-Z]+)*", re.ASCII)
_FISK_PART_RE: Final = re.compile(r"([-+]?)(([\d.]+)([a-zA-Z]+))", re.ASCII)
# fisk multiplies the float32 value by these factors, left to right, in float64
_FISK_FACTORS: Final[dict[str, tuple[int, ...]]] = {
    "w": (7, 24),
    "W": (7, 24),
    "d": (24,),
    "D": (24,),
    "M": (24, 30),
    "y": (24, 365),
    "Y": (24, 365),
}


def _float32(text: str) -> float:
    try:
        value = float(text)
        return float(struct.unpack("f", struct.pack("f", value))[0])
    except (ValueError, OverflowError) as exc:
        raise ValueError(f"invalid duration: invalid number {text!r}") from exc


def parse_duration_ns(text: str) -> int:
    """Parse a duration to nanoseconds, accepting what natscli accepts.

    Go ``time.ParseDuration`` syntax (``90s``, ``1m30s``, ``500ms``,
    ``1.5h``, ``-2h``, ``0``) plus the extra units of fisk's
    ``ParseDuration`` used by natscli: ``w``/``W`` (7 days), ``d``/``D``
    (24 hours), ``M`` (30 days) and ``y``/``Y`` (365 days).  For those the
    number is read as a float32 and the result truncated to whole hours, as
    in fisk (``1.5d`` is ``36h``, ``0.01d`` is ``0s``).  Units combine
    (``1d12h``); a leading ``-`` negates the whole.  Surrounding spaces are
    ignored.  Unlike fisk, text between the parts is not ignored: anything
    unparseable raises ``ValueError``.
    """
    s = text.strip()
    if s == "":
        raise ValueError("invalid duration: empty string")
    try:
        return _go_parse_duration(s)
    except ValueError as go_error:
        if not _FISK_FULL_RE.fullmatch(s):
            raise ValueError(f"invalid duration {text!r}: {go_error}") from None
    negative = s.startswith("-")
    total = 0
    for part in _FISK_PART_RE.finditer(s):
        number, unit = part.group(3), part.group(4)
        factors = _FISK_FACTORS.get(unit)
        if factors is not None:
            value = _float32(number)
            for factor in factors:
                value *= factor
            if math.isinf(value) or abs(value) >= _TWO63 / NS_PER_H:
                raise ValueError(f"invalid duration {text!r}: out of range")
            total += int(value) * NS_PER_H
        elif unit in ("ns", "us", "ms", "s", "m", "h"):
            total += _go_parse_duration(part.group(2))
        else:
            raise ValueError(f"invalid duration {text!r}: invalid unit {unit}")
    if negative:
        total = -total
    if not MIN_INT64 <= total <= MAX_INT64:
        raise ValueError(f"invalid duration {text!r}: out of range")
    return total


def parse_duration(text: str) -> timedelta:
    """Parse a duration like :func:`parse_duration_ns` and return a ``timedelta``.

    Sub-microsecond precision is truncated (``timedelta`` cannot hold it).
    """
    ns = parse_duration_ns(text)
    return timedelta(seconds=ns // NS_PER_S, microseconds=(ns % NS_PER_S) // NS_PER_US)
