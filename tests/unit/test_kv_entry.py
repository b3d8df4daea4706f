"""KVEntry: a watcher's entries carry Unix nanoseconds that read back as UTC datetimes."""

from __future__ import annotations

import pickle
from datetime import datetime, timezone

from natskv import KVEntry, KVOperation


def test_created_from_unix_nanoseconds_is_an_aware_utc_datetime() -> None:
    ns = 1_795_733_094_949_962_484
    entry = KVEntry("b", "k", b"v", 7, ns, 0, KVOperation.PUT, b"v")
    assert entry.created == datetime(2026, 11, 26, 22, 44, 54, 949962, tzinfo=timezone.utc)
    assert entry.created is entry.created  # converted once


def test_entries_compare_equal_whichever_way_created_was_given() -> None:
    ns = 1_700_000_000_123_456_789
    as_ns = KVEntry("b", "k", b"v", 1, ns, 0, KVOperation.PUT, b"v")
    as_dt = KVEntry("b", "k", b"v", 1, as_ns.created, 0, KVOperation.PUT, b"v")
    assert as_ns == as_dt
    assert pickle.loads(pickle.dumps(as_ns)) == as_dt
