"""What no reference client offers: get_many, update_with, revert, try_* and purge_deletes."""

from __future__ import annotations

import asyncio
import inspect
from dataclasses import dataclass
from datetime import timedelta

import pytest

import natskv


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


async def test_get_many_with_a_wildcard_over_1024_keys_falls_back_to_a_scan(
    store: natskv.KVStore,
) -> None:
    await store.put_many([(f"k{i}", b"x") for i in range(1500)])
    entries = await store.get_many(">")
    assert len(entries) == 1500


async def test_get_with_a_default_for_missing_and_deleted_keys(store: natskv.KVStore) -> None:
    assert await store.get("never", default=None) is None
    assert await store.get("never", Counter, default=Counter(0)) == Counter(0)
    rev = await store.put("k", b'{"n": 1}')
    assert await store.get("k", default=None) == b'{"n": 1}'
    assert await store.get("k", Counter, default=None) == Counter(1)
    assert await store.get("k", revision=rev + 100, default=b"") == b""
    await store.delete("k")
    assert await store.get("k", default="gone") == "gone"
    assert await store.get("k", Counter, default=None, consistent=True) is None
    assert await store.get("k", revision=rev, default=None) == b'{"n": 1}'
    await store.put("p", b"v")
    await store.purge("p")
    assert await store.get("p", default=0) == 0
    # without a default they still raise
    with pytest.raises(natskv.KeyDeletedError):
        await store.get("k")
    with pytest.raises(natskv.KeyNotFoundError):
        await store.get("never")
    # and a default is for the key, not for other failures
    await store.put("bad", b"not json")
    with pytest.raises(natskv.DecodeError):
        await store.get("bad", Counter, default=None)


async def test_get_with_a_default_still_raises_for_a_deleted_bucket(
    kv: natskv.KVContext, bucket_name: str
) -> None:
    store = await kv.create_store(natskv.KVConfig(bucket=bucket_name, storage="memory"))
    await kv.delete_store(bucket_name)
    with pytest.raises(natskv.BucketNotFoundError):
        await store.get("k", default=None)


async def test_update_with_retries_until_no_conflict(store: natskv.KVStore) -> None:
    async def bump() -> None:
        for _ in range(20):
            await store.update_with(
                "ctr", lambda c: Counter((c.n if c else 0) + 1), Counter, retries=1000
            )

    await asyncio.gather(*(bump() for _ in range(5)))
    assert await store.get("ctr", Counter) == Counter(100)


async def test_update_with_creates_a_missing_or_deleted_key(store: natskv.KVStore) -> None:
    await store.update_with("k", lambda v: 1 if v is None else v + 1, int)
    assert await store.get("k", int) == 1
    await store.delete("k")
    await store.update_with("k", lambda v: 10 if v is None else v + 1, int)
    assert await store.get("k", int) == 10


async def test_update_with_gives_up_after_retries(store: natskv.KVStore) -> None:
    await store.put("k", b"0")
    calls = 0

    async def interfering(value: bytes | None) -> bytes:
        nonlocal calls
        calls += 1
        await store.put("k", b"other")  # another writer always gets in between
        return b"mine"

    with pytest.raises(natskv.WrongRevisionError):
        await store.update_with("k", interfering, retries=3)
    assert calls == 3
    assert await store.get("k") == b"other"


async def test_revert_writes_an_old_value_as_the_newest_revision(store: natskv.KVStore) -> None:
    first = await store.put("k", b"one")
    await store.put("k", b"two")
    rev = await store.revert("k", first)
    entry = await store.get_entry("k")
    assert entry.value == b"one"
    assert entry.revision == rev


async def test_try_forms_return_expected_failures(store: natskv.KVStore) -> None:
    missing = await store.try_get_entry("nope")
    assert not missing.ok
    assert isinstance(missing.error, natskv.KeyNotFoundError)
    created = await store.try_create("k", b"1")
    assert created.ok
    exists = await store.try_create("k", b"2")
    assert isinstance(exists.error, natskv.KeyExistsError)
    assert exists.error.revision == created.value
    stale = await store.try_update("k", b"3", created.value + 100)
    assert isinstance(stale.error, natskv.WrongRevisionError)
    with pytest.raises(natskv.WrongRevisionError):
        _ = stale.value
    deleted = await store.try_delete("k", revision=created.value)
    assert deleted.ok
    gone = await store.try_get_entry("k")
    assert isinstance(gone.error, natskv.KeyDeletedError)


async def test_try_forms_still_raise_on_bad_input(store: natskv.KVStore) -> None:
    with pytest.raises(natskv.InvalidKeyError):
        await store.try_create("a b", b"1")


async def test_purge_deletes_only_touches_keys_whose_latest_entry_is_a_marker(
    store: natskv.KVStore,
) -> None:
    await store.put("gone", b"1")
    await store.delete("gone")
    await store.put("back", b"1")
    await store.delete("back")
    await store.put("back", b"2")  # deleted, then written again: keeps its value
    await store.put("live", b"1")
    purged = await store.purge_deletes(older_than=timedelta(0))
    assert purged == 1
    assert [e async for e in store.history("gone")] == []
    assert await store.get("back") == b"2"
    assert len([e async for e in store.history("back")]) == 3
    assert await store.get("live") == b"1"


async def test_purge_deletes_keeps_recent_markers(store: natskv.KVStore) -> None:
    await store.put("k", b"1")
    await store.put("k", b"2")
    marker = await store.delete("k")
    await store.purge_deletes()  # default: markers younger than 30 minutes stay
    history = [e async for e in store.history("k")]
    assert [e.revision for e in history] == [marker]
    assert history[0].operation is natskv.KVOperation.DEL


@pytest.mark.parametrize("operation", ["put", "update", "delete"])
async def test_put_update_and_delete_have_no_ttl_parameter(
    nc: natskv.Connection, store: natskv.KVStore, operation: str
) -> None:
    # ADR-48: no per-key TTL on these. The parameter existed only to be refused at run
    # time; now it does not exist, so a type checker refuses it, and Python does
    assert "ttl" not in inspect.signature(getattr(store, operation)).parameters
    assert "ttl" in inspect.signature(store.create).parameters
    assert "ttl" in inspect.signature(store.purge).parameters
    before = nc.msgs_out
    with pytest.raises(TypeError, match="ttl"):
        if operation == "put":
            await store.put("k", b"v", ttl=5)  # type: ignore[call-arg]
        elif operation == "update":
            await store.update("k", b"v", 1, ttl=5)  # type: ignore[call-arg]
        else:
            await store.delete("k", ttl=5)  # type: ignore[call-arg]
    assert nc.msgs_out == before


async def test_per_key_ttl_expires_into_a_marker_that_reads_as_deleted(
    kv: natskv.KVContext, bucket_name: str
) -> None:
    store = await kv.create_store(
        natskv.KVConfig(bucket=bucket_name, history=5, limit_marker_ttl=timedelta(seconds=5))
    )
    try:
        await store.create("session", b"alive", ttl=1)
        assert await store.get("session") == b"alive"
        watcher = store.watch("session", updates_only=True)
        await watcher.start()
        marker = await watcher.next(timeout=10)
        await watcher.stop()
        # the server wrote a limit marker (Nats-Marker-Reason: MaxAge) when the key expired
        assert marker.operation is natskv.KVOperation.PURGE
        with pytest.raises(natskv.KeyDeletedError) as info:
            await store.get("session")
        assert info.value.revision == marker.revision
        assert [k async for k in store.keys()] == []
        # and the key can be created again, race-free, on top of the marker
        assert await store.create("session", b"again") > marker.revision
    finally:
        await kv.delete_store(bucket_name)


async def test_purge_with_ttl_removes_the_marker_later(
    kv: natskv.KVContext, bucket_name: str
) -> None:
    store = await kv.create_store(
        natskv.KVConfig(bucket=bucket_name, limit_marker_ttl=timedelta(seconds=1))
    )
    try:
        await store.put("k", b"v")
        await store.purge("k", ttl=1)
        with pytest.raises(natskv.KeyDeletedError):
            await store.get("k")
        for _ in range(50):
            await asyncio.sleep(0.2)
            try:
                await store.get("k")
            except natskv.KeyDeletedError:
                continue
            except natskv.KeyNotFoundError:
                break
        else:
            pytest.fail("the purge marker with a TTL never went away")
    finally:
        await kv.delete_store(bucket_name)


@pytest.mark.parametrize(
    "filters",
    [["a.*", "a.1"], ["a.>", "a.b.c"], ["x", "x"], [">", "anything"], ["a.*.c", "a.b.*"]],
)
async def test_overlapping_watch_filters_are_rejected_at_the_call(
    nc: natskv.Connection, store: natskv.KVStore, filters: list[str]
) -> None:
    before = nc.msgs_out
    with pytest.raises(natskv.InvalidConfigError, match="overlap"):
        store.watch(filters)
    assert nc.msgs_out == before


async def test_disjoint_watch_filters_are_accepted(store: natskv.KVStore) -> None:
    await store.put("a.1", b"1")
    await store.put("b.2", b"2")
    await store.put("c", b"3")
    async with store.watch(["a.*", "b.>"]) as watcher:
        got = await watcher.initial_values()
    assert sorted(e.key for e in got) == ["a.1", "b.2"]


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
