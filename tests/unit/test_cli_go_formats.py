"""Go-compatible times, numbers, sizes and durations (natskv.cli._scalars)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest

from natskv.cli import format as fmt

CREATED = datetime(2023, 10, 12, 15, 29, 40)  # naive = local, so tests are TZ independent


@pytest.fixture
def utc_tz(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Run with the process local time zone set to UTC."""
    if not hasattr(time, "tzset"):
        pytest.skip("time.tzset is not available on this platform")
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_format_time_naive_is_local_wall_clock() -> None:
    assert fmt.format_time(CREATED) == "2023-10-12 15:29:40"
    assert fmt.format_time(datetime(1, 1, 1)) == "0001-01-01 00:00:00"


@pytest.mark.usefixtures("utc_tz")
def test_format_time_converts_aware_datetimes_to_local() -> None:
    aware = datetime(2023, 10, 12, 17, 29, 40, tzinfo=timezone(timedelta(hours=2)))
    assert fmt.format_time(aware) == "2023-10-12 15:29:40"


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (0, "0"),
        (999, "999"),
        (1000, "1,000"),
        (1234567, "1,234,567"),
        (-1234, "-1,234"),
        (2**64 - 1, "18446744073709551615"),
    ],
)
def test_format_number_groups_thousands(n: int, expected: str) -> None:
    assert fmt.format_number(n) == expected


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (0, "0 B"),
        (9, "9 B"),
        (10, "10 B"),
        (1023, "1023 B"),
        (1024, "1.0 KiB"),
        (1536, "1.5 KiB"),
        (10239, "10 KiB"),  # 9.999 rounds up to 10.0, then printed without decimals
        (10752, "10 KiB"),  # 10.5 with %.0f rounds half to even
        (11776, "12 KiB"),  # 11.5 rounds to even 12
        (1048575, "1024 KiB"),
        (1048576, "1.0 MiB"),
        (5 * 1024**3, "5.0 GiB"),
        (1024**4, "1.0 TiB"),
        (1024**5, "1.0 PiB"),
        (1024**6, "1.0 EiB"),
        (2**64 - 1, "16 EiB"),
    ],
)
def test_format_ibytes_matches_go_humanize(n: int, expected: str) -> None:
    assert fmt.format_ibytes(n) == expected


@pytest.mark.parametrize(
    ("ns", "expected"),
    [
        (0, "0s"),
        (1, "0s"),
        (499, "0s"),
        (500, "1µs"),
        (1500, "2µs"),
        (999_499, "999µs"),
        (999_500, "1ms"),
        (1_500_000, "2ms"),
        (999_499_999, "999ms"),
        (999_500_000, "1s"),
        (1_000_000_000, "1.00s"),
        (44_000_000_000, "44.00s"),
        (1_234_000_000, "1.23s"),
        (59_999_000_000, "60.00s"),
        (60_000_000_000, "1m0s"),
        (90_000_000_000, "1m30s"),
        (3_600_000_000_000, "1h0m0s"),
        (86_400_000_000_000, "1d0h0m0s"),
        (93_784_000_000_000, "1d2h3m4s"),
        (365 * 86_400_000_000_000, "1y0d0h0m0s"),
        (400 * 86_400_000_000_000 + 1, "1y35d0h0m0s"),
        (-5_000_000_000, "-5s"),
        (-90_000_000_000, "-1m30s"),
        (-1_500, "-2µs"),
        (fmt.MAX_INT64, "never"),
    ],
)
def test_format_duration_ns_matches_natscli_humanize(ns: int, expected: str) -> None:
    assert fmt.format_duration_ns(ns) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, "0s"),
        (0.0005, "500µs"),
        (1.5, "1.50s"),
        (3600, "1h0m0s"),
        (timedelta(days=2, hours=3), "2d3h0m0s"),
        (timedelta(milliseconds=250), "250ms"),
        (float("inf"), "never"),
        (1e30, "never"),
    ],
)
def test_format_duration_accepts_seconds_and_timedelta(
    value: float | timedelta, expected: str
) -> None:
    assert fmt.format_duration(value) == expected


def test_format_duration_rejects_nan() -> None:
    with pytest.raises(ValueError, match="NaN"):
        fmt.format_duration(float("nan"))


@pytest.mark.parametrize(
    ("ns", "expected"),
    [
        (0, "0s"),
        (1, "1ns"),
        (1_500, "1.5µs"),
        (1_500_000, "1.5ms"),
        (1_500_000_000, "1.5s"),
        (3_723_000_000_000, "1h2m3s"),
        (-61_000_000_000, "-1m1s"),
    ],
)
def test_go_duration_string(ns: int, expected: str) -> None:
    assert fmt.go_duration_string(ns) == expected


def test_format_since_none_and_zero_time_are_never() -> None:
    now = datetime(2024, 1, 1, tzinfo=timezone.utc)
    assert fmt.format_since(None, now) == "never"
    assert fmt.format_since(datetime(1, 1, 1, tzinfo=timezone.utc), now) == "never"


def test_format_since_measures_elapsed_time() -> None:
    now = datetime(2024, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
    assert fmt.format_since(now - timedelta(seconds=5), now) == "5.00s"
    assert fmt.format_since(now - timedelta(days=3, minutes=1), now) == "3d0h1m0s"
