"""What KV messages carry: the operation a message stands for, the revision a conflict
reports, the Nats-TTL format and timestamps (``kv/_headers.py``)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from natskv.errors import InvalidConfigError
from natskv.kv._entry import KVOperation
from natskv.kv._headers import (
    datetime_from_unix_nanos,
    format_ttl,
    operation_from_headers,
    parse_timestamp,
    parse_wrong_last_sequence,
)

UTC = timezone.utc

# --------------------------------------------------------------------------------------------
# Operations, errors
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "op"),
    [
        (None, KVOperation.PUT),
        ({}, KVOperation.PUT),
        ({"Nats-Sequence": "3"}, KVOperation.PUT),
        ({"KV-Operation": "DEL"}, KVOperation.DEL),
        ({"KV-Operation": "PURGE", "Nats-Rollup": "sub"}, KVOperation.PURGE),
        ({"KV-Operation": "bogus"}, KVOperation.PUT),
        ({"Nats-Marker-Reason": "MaxAge", "Nats-TTL": "15m0s"}, KVOperation.PURGE),
        ({"Nats-Marker-Reason": "Purge"}, KVOperation.PURGE),
        ({"Nats-Marker-Reason": "Remove"}, KVOperation.DEL),
        ({"Nats-Marker-Reason": "Other"}, KVOperation.PUT),
        ({"KV-Operation": "DEL", "Nats-Marker-Reason": "MaxAge"}, KVOperation.DEL),
        ({"KV-Operation": "bogus", "Nats-Marker-Reason": "MaxAge"}, KVOperation.PURGE),
    ],
)
def test_operation_from_headers(headers: dict[str, str] | None, op: KVOperation) -> None:
    assert operation_from_headers(headers) is op


@pytest.mark.parametrize(
    ("description", "seq"),
    [
        ("wrong last sequence: 7", 7),
        ("wrong last sequence: 0", 0),
        ("wrong last sequence: 123456789012", 123456789012),
        ("wrong last sequence", None),
        ("stream not found", None),
        ("", None),
    ],
)
def test_parse_wrong_last_sequence(description: str, seq: int | None) -> None:
    assert parse_wrong_last_sequence(description) == seq


# --------------------------------------------------------------------------------------------
# TTL header
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ttl", "header"),
    [
        ("never", "never"),
        ("NEVER", "never"),
        (" Never ", "never"),
        (1, "1s"),
        (90, "90s"),
        (3600.0, "3600s"),
        (timedelta(seconds=1), "1s"),
        (timedelta(minutes=15), "900s"),
        (timedelta(days=2), "172800s"),
    ],
)
def test_format_ttl(ttl: Any, header: str) -> None:
    assert format_ttl(ttl) == header


@pytest.mark.parametrize(
    ("ttl", "reason"),
    [
        (0, "at least 1 second"),
        (-5, "at least 1 second"),
        (timedelta(0), "at least 1 second"),
        (timedelta(milliseconds=500), "whole-second"),
        (timedelta(seconds=1, milliseconds=500), "whole-second"),
        (1.5, "whole-second"),
        (0.5, "whole-second"),
        (float("nan"), "whole-second"),
        ("10s", "'never'"),
        ("", "'never'"),
        (True, "'never'"),
        (None, "'never'"),
    ],
)
def test_format_ttl_rejects(ttl: Any, reason: str) -> None:
    with pytest.raises(InvalidConfigError, match=reason):
        format_ttl(ttl)


# --------------------------------------------------------------------------------------------
# Timestamps
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-05-01T12:34:56.123456789Z", datetime(2024, 5, 1, 12, 34, 56, 123456, UTC)),
        ("2024-05-01T12:34:56.123456Z", datetime(2024, 5, 1, 12, 34, 56, 123456, UTC)),
        ("2024-05-01T12:34:56.1234Z", datetime(2024, 5, 1, 12, 34, 56, 123400, UTC)),
        ("2024-05-01T12:34:56.1Z", datetime(2024, 5, 1, 12, 34, 56, 100000, UTC)),
        ("2024-05-01T12:34:56.999999999Z", datetime(2024, 5, 1, 12, 34, 56, 999999, UTC)),
        ("2024-05-01T12:34:56Z", datetime(2024, 5, 1, 12, 34, 56, 0, UTC)),
        ("2024-05-01t12:34:56z", datetime(2024, 5, 1, 12, 34, 56, 0, UTC)),
        ("2024-05-01T12:34:56.5+02:00", datetime(2024, 5, 1, 10, 34, 56, 500000, UTC)),
        ("2024-05-01T00:30:00-01:30", datetime(2024, 5, 1, 2, 0, 0, 0, UTC)),
        ("2024-05-01T12:34:56.123456789+00:00", datetime(2024, 5, 1, 12, 34, 56, 123456, UTC)),
        # Go's time.String(), sent by servers before 2.9
        ("2024-05-01 12:34:56.123456789 +0000 UTC", datetime(2024, 5, 1, 12, 34, 56, 123456, UTC)),
        ("2024-05-01 12:34:56 +0000 UTC", datetime(2024, 5, 1, 12, 34, 56, 0, UTC)),
        ("2024-05-01 14:34:56.5 +0200 CEST", datetime(2024, 5, 1, 12, 34, 56, 500000, UTC)),
        ("2024-05-01 12:34:56.1 +0000 UTC m=+0.1", datetime(2024, 5, 1, 12, 34, 56, 100000, UTC)),
    ],
)  # fmt: skip
def test_parse_timestamp(value: str, expected: datetime) -> None:
    parsed = parse_timestamp(value)
    assert parsed == expected
    assert parsed.tzinfo is UTC


@pytest.mark.parametrize(
    "value",
    [
        "",
        "garbage",
        "2024-05-01",
        "2024-05-01T12:34:56",  # no zone
        "2024-05-01T12:34:56.Z",
        "2024-05-01T12:34:5aZ",
        "2024-13-01T12:34:56Z",
        "2024-02-30T12:34:56Z",
        "2024-05-01T12:34:56.1234567890Z",
        "2024-05-01 12:34:56 UTC",
    ],
)
def test_parse_timestamp_rejects(value: str) -> None:
    with pytest.raises(ValueError, match="invalid timestamp"):
        parse_timestamp(value)


def test_datetime_from_unix_nanos() -> None:
    assert datetime_from_unix_nanos(0) == datetime(1970, 1, 1, tzinfo=UTC)
    got = datetime_from_unix_nanos(1714566896123456789)
    assert got == datetime(2024, 5, 1, 12, 34, 56, 123456, UTC)
    assert got.tzinfo is UTC
