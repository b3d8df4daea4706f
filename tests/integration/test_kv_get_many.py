"""get_many: many keys (or filters) read at one point in time by batch Direct Get, with
its fallbacks (wildcards over 1024 keys, servers without batch get)."""

from __future__ import annotations

from dataclasses import dataclass

import natskv
from natskv import KVStore


@dataclass
class Counter:
    n: int


async def test_get_many_reads_10000_keys_in_few_round_trips(
    nc: natskv.Connection, store: natskv.KVStore
) -> None:
    await store.put_many([(f"k{i}", b"v%d" % i) for i in range(10_000)])
    before = nc.msgs_out
    entries = await store.get_many([f"k{i}" for i in range(10_000)])
    requests = nc.msgs_out - before
    assert len(entries) == 10_000
    assert entries["k1234"].value == b"v1234"
    # 1024 keys per batch request: 10 requests, not 10,000
    assert requests <= 20


async def test_get_many_leaves_out_missing_and_deleted_keys(store: natskv.KVStore) -> None:
    await store.put("a", b"1")
    await store.put("b", b"2")
    await store.delete("b")
    entries = await store.get_many(["a", "b", "never"])
    assert list(entries) == ["a"]
    with_deleted = await store.get_many(["a", "b"], include_deleted=True)
    assert with_deleted["b"].operation is natskv.KVOperation.DEL
    assert with_deleted["b"].value is None


async def test_get_many_with_filters_and_typed_values(store: natskv.KVStore) -> None:
    for i in range(3):
        await store.put(f"users.{i}", Counter(i))
    await store.put("other", Counter(9))
    entries = await store.get_many("users.*", Counter)
    assert sorted(entries) == ["users.0", "users.1", "users.2"]
    assert entries["users.2"].value == Counter(2)


async def test_get_many_is_a_point_in_time_read(store: natskv.KVStore) -> None:
    await store.put("a", b"a1")
    rev_b = await store.put("b", b"b1")
    await store.put("a", b"a2")
    then = await store.get_many(["a", "b"], up_to_revision=rev_b)
    assert then["a"].value == b"a1"
    assert then["b"].value == b"b1"
    now = await store.get_many(["a", "b"])
    assert now["a"].value == b"a2"


async def test_get_many_of_long_keys_splits_requests_that_would_exceed_max_payload(
    store: KVStore,
) -> None:
    # 300 keys of 3,500 characters: one multi_last request would be over 1 MiB
    keys = [f"{i:04}" + "x" * 3496 for i in range(300)]
    await store.put_many([(k, k[:4].encode()) for k in keys])
    got = await store.get_many(keys)
    assert sorted(got) == keys
    assert got[keys[-1]].value == b"0299"


async def test_get_many_with_a_wildcard_over_1024_keys_falls_back_to_a_scan(
    store: natskv.KVStore,
) -> None:
    await store.put_many([(f"k{i}", b"x") for i in range(1500)])
    entries = await store.get_many(">")
    assert len(entries) == 1500


async def test_get_many_falls_back_on_servers_without_batch_direct_get(
    store: natskv.KVStore,
) -> None:
    await store.put_many([(f"k{i}", b"v%d" % i) for i in range(20)] + [("x.1", b"a")])
    await store.delete("k3")
    store.js._api_level = 0  # what a server before 2.11 reports
    entries = await store.get_many([f"k{i}" for i in range(20)] + ["missing"])
    assert sorted(entries) == sorted(f"k{i}" for i in range(20) if i != 3)
    assert entries["k7"].value == b"v7"
    filtered = await store.get_many("x.*")
    assert list(filtered) == ["x.1"]


async def test_get_many_fallbacks_keep_the_point_in_time(store: natskv.KVStore) -> None:
    first = await store.put_many([(f"k{i}", b"old") for i in range(1500)])
    await store.put_many([(f"k{i}", b"new") for i in range(1500)])
    # a wildcard over 1024 keys falls back to a consumer scan
    then = await store.get_many(">", up_to_revision=first[-1])
    assert len(then) == 1500
    assert {e.value for e in then.values()} == {b"old"}
    # and so does a server without batch direct get
    store.js._api_level = 0
    then = await store.get_many(["k1", "k2"], up_to_revision=first[-1])
    assert {k: e.value for k, e in then.items()} == {"k1": b"old", "k2": b"old"}
