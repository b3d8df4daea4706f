"""Sizes and durations given on the command line, as natscli parses them (natskv.cli._parse)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from natskv.cli import format as fmt


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", -1),
        ("-1", -1),
        ("-5GB", -1),
        ("  -1  ", -1),
        ("0", 0),
        ("1024", 1024),
        ("+5", 5),
        (" 42 ", 42),
        ("1K", 1024),
        ("1k", 1024),
        ("2KB", 2048),
        ("1KiB", 1024),
        ("1kib", 1024),
        ("10M", 10 * 1024**2),
        ("10mb", 10 * 1024**2),
        ("3G", 3 * 1024**3),
        ("3GiB", 3 * 1024**3),
        ("2T", 2 * 1024**4),
        ("2tb", 2 * 1024**4),
        ("10KB!", 10240),  # natscli's regexp is anchored at the start only
    ],
)
def test_parse_byte_size(text: str, expected: int) -> None:
    assert fmt.parse_byte_size(text) == expected


@pytest.mark.parametrize(
    "text",
    ["abc", "10B", "10 KB", "1.5G", "10X", "10PB", "K", "+10K", "99999999999999999999", "9999999T"],
)
def test_parse_byte_size_rejects_bad_input(text: str) -> None:
    with pytest.raises(ValueError, match="invalid bytes specification"):
        fmt.parse_byte_size(text)


@pytest.mark.parametrize(
    ("text", "expected_ns"),
    [
        ("0", 0),
        ("1h", 3_600_000_000_000),
        ("90s", 90_000_000_000),
        ("1m30s", 90_000_000_000),
        ("500ms", 500_000_000),
        ("1.5h", 5_400_000_000_000),
        ("1.5s", 1_500_000_000),
        ("2us", 2_000),
        ("2µs", 2_000),
        ("10ns", 10),
        ("-2h", -7_200_000_000_000),
        ("+3m", 180_000_000_000),
        (" 1h ", 3_600_000_000_000),
        ("1d", 86_400_000_000_000),
        ("1D", 86_400_000_000_000),
        ("1w", 7 * 86_400_000_000_000),
        ("1M", 30 * 86_400_000_000_000),
        ("1y", 365 * 86_400_000_000_000),
        ("1Y1M", 395 * 86_400_000_000_000),
        ("1.5d", 36 * 3_600_000_000_000),
        ("1.1w", 184 * 3_600_000_000_000),  # float32 then truncated to whole hours
        ("1m1.1w", 184 * 3_600_000_000_000 + 60_000_000_000),
        ("1d12h", 36 * 3_600_000_000_000),
        ("-1m1d", -(86_400_000_000_000 + 60_000_000_000)),
        ("0.01d", 0),
    ],
)
def test_parse_duration_ns(text: str, expected_ns: int) -> None:
    assert fmt.parse_duration_ns(text) == expected_ns


@pytest.mark.parametrize(
    "text",
    ["", "   ", "abc", "1", "-1", "1xX", "1h30", "h", "1..5d", "1 h", "1h junk", "1d-1h", "."],
)
def test_parse_duration_rejects_bad_input(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        fmt.parse_duration_ns(text)


def test_parse_duration_returns_timedelta() -> None:
    assert fmt.parse_duration("1m30s") == timedelta(seconds=90)
    assert fmt.parse_duration("2w") == timedelta(days=14)
    assert fmt.parse_duration("1500ns") == timedelta(microseconds=1)
    assert fmt.parse_duration("-1.5s") == timedelta(seconds=-1.5)


def test_parse_duration_rejects_overflow() -> None:
    with pytest.raises(ValueError):
        fmt.parse_duration_ns("9999999999999h")
    with pytest.raises(ValueError):
        fmt.parse_duration_ns("99999999y")
