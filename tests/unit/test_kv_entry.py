"""KVEntry: its fields, equality, pickling and cost, and a watcher's entries carrying Unix
nanoseconds that read back as UTC datetimes."""

from __future__ import annotations

import pickle
from datetime import datetime, timezone

from natskv import KVEntry, KVOperation

UTC = timezone.utc
CREATED = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


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


def test_entry_fields_repr_eq() -> None:
    e: KVEntry[bytes] = KVEntry("b", "k", b"v", 3, CREATED, 0, KVOperation.PUT, b"v")
    assert (e.bucket, e.key, e.value, e.revision, e.created, e.delta, e.operation, e.raw) == (
        "b", "k", b"v", 3, CREATED, 0, KVOperation.PUT, b"v",
    )  # fmt: skip
    assert repr(e) == "KVEntry(bucket='b', key='k', revision=3, operation=PUT, value=b'v')"
    assert e == KVEntry("b", "k", b"v", 3, CREATED, 0, KVOperation.PUT, b"v")
    assert e != KVEntry("b", "k", b"v", 4, CREATED, 0, KVOperation.PUT, b"v")
    assert e != KVEntry("b", "k", b"w", 3, CREATED, 0, KVOperation.PUT, b"v")
    assert e != "not an entry"
    assert hash(e) == hash(KVEntry("b", "k", {"unhashable": 1}, 3, CREATED))
    assert pickle.loads(pickle.dumps(e)) == e
    assert not hasattr(e, "__dict__")
    marker = KVEntry[None]("b", "k", None, 9, CREATED, operation=KVOperation.DEL)
    assert marker.raw == b""
    assert repr(marker).endswith("operation=DEL, value=None)")
    assert str(KVOperation.PURGE) == "PURGE"
